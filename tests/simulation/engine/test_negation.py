import pytest

from medtutor.simulation.engine.negation import assess, is_hedged, is_negated, negated_items


@pytest.mark.parametrize("text", [
    "No fever.", "Denies chest pain.", "Non-smoker", "She does not drink alcohol.",
    "Chest pain is absent.", "Negative for blood in the stool.", "Never had surgery.",
])
def test_negated_statements(text):
    assert is_negated(text)


@pytest.mark.parametrize("text", [
    "Reports fever and cough.", "She smokes 10 cigarettes a day.", "No change in the pain since yesterday.",
    "Pain that is not only sharp but constant.",
])
def test_affirmed_statements_and_pseudo_triggers(text):
    assert not is_negated(text)


def test_scope_ends_at_termination_terms():
    text = "He denies fever but reports a productive cough."
    assert is_negated(text, "fever")
    assert not is_negated(text, "cough")
    assert is_negated("Cough present, no haemoptysis", "haemoptysis")
    assert not is_negated("Cough present, no haemoptysis", "cough")


def test_hedging_and_family_experiencer():
    assert is_hedged("Possible pneumonia on the left.")
    assert is_hedged("I think it might be my heart.")
    assert not is_hedged("Pneumonia on the left.")
    assert assess("Her mother has type 2 diabetes.").family
    assert assess("My father had a heart attack at 60.", "heart attack").family


def test_negated_lists_are_split_into_items():
    assert negated_items("Patient denies experiencing any chest pain, palpitations, shortness of breath, "
                         "or recent infections.") == ["chest pain", "palpitations", "shortness of breath",
                                                      "infections"]
    assert negated_items("She reports chest pain.") == []
