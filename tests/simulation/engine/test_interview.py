import time

import pytest

from medtutor.simulation.engine.case import load_case_file
from medtutor.simulation.engine.interview import Interviewer, answer

from .vp_fixtures import ASTHMA_YAML, doc_example_yaml


@pytest.fixture(scope="module")
def asthma():
    return load_case_file(ASTHMA_YAML)[0]


@pytest.fixture(scope="module")
def colic():
    return load_case_file(doc_example_yaml())[0]


def test_answers_only_what_was_asked(colic):
    reply = answer(colic, "when did the pain start?")
    assert reply.intent == "onset" and reply.fact_ids == ("history-0",)
    assert "three hours ago" in reply.text
    reply = answer(colic, "does the pain go anywhere else?")
    assert reply.fact_ids == ("history-2",) and "groin" in reply.text
    smoking = answer(colic, "Do you smoke?")
    assert smoking.text == "No, I don't smoke." and smoking.kind == "negative"
    assert "roofer" not in smoking.text


def test_pertinent_negatives_and_positives(asthma, colic):
    assert answer(colic, "any fever?").text == "No, no fever."
    chest = answer(asthma, "Any chest pain?")
    assert chest.kind == "negative" and chest.text == "No, no chest pain."
    assert "leg swelling" not in chest.text
    cough = answer(asthma, "have you got a cough")
    assert cough.kind == "answer" and "cough at night" in cough.text.lower()
    assert answer(asthma, "any allergies").text.startswith("No, ")


def test_not_sure_when_the_case_has_nothing(asthma):
    reply = answer(asthma, "have you travelled anywhere recently?")
    assert reply.kind == "unknown" and reply.fact_ids == ()
    assert "not sure" in reply.text.lower() or "don't know" in reply.text.lower()
    reply = answer(asthma, "any blood in your urine?")
    assert reply.kind == "unknown" and reply.fact_ids == ()


def test_third_person_facts_come_back_in_first_person(asthma):
    assert "I drink about six units at the weekend." in answer(asthma, "how much do you drink?").text
    assert "I work part time" in answer(asthma, "what do you do for work?").text
    assert answer(asthma, "what brings you in today?").text == asthma.opening_statement


@pytest.mark.parametrize("question,kind", [
    ("", "empty"), ("    ", "empty"), ("?!", "empty"), ("\x00", "empty"),
    ("¿Dónde le duele?", "not_english"), ("胸の痛みはありますか", "not_english"),
    ("asdkjh qwe zxcvbn", "unknown"), ("Hello", "greeting"), ("Can I listen to your chest?", "smalltalk"),
])
def test_odd_questions_get_a_sensible_reply(asthma, question, kind):
    reply = answer(asthma, question)
    assert reply.text and reply.kind == kind


def test_caps_typos_and_very_long_questions(asthma):
    assert answer(asthma, "DO YOU SMOKE").kind == "negative"
    assert "last night" in answer(asthma, "wen did it strat").text
    long_q = "when did it start? " + "blah " * 5000
    reply = answer(asthma, long_q)
    assert reply.text


def test_same_question_same_answer_and_fast(asthma):
    iv = Interviewer(asthma)
    iv.ask("warm up")
    start = time.perf_counter()
    replies = [iv.ask("any fever?") for _ in range(20)]
    per_turn_ms = (time.perf_counter() - start) * 1000 / 20
    assert len({r.text for r in replies}) == 1
    assert per_turn_ms < 200       # generous on a shared CI machine; the bench checks p95 < 50 ms


def test_optional_semantic_backend_is_used_and_failures_ignored(asthma):
    calls = []

    def backend(question, texts):
        calls.append(question)
        return [1.0 if "inhaler helped" in t else 0.0 for t in texts]

    reply = Interviewer(asthma, semantic=backend).ask("did anything help?")
    assert calls and "inhaler" in reply.text

    def broken(question, texts):
        raise RuntimeError("model not available")

    assert Interviewer(asthma, semantic=broken).ask("did anything help?").text


def test_one_statement_per_symptom_named(asthma):
    reply = answer(asthma, "any cough or wheeze?")
    assert set(reply.fact_ids) == {"ros-respiratory-pos-0", "ros-respiratory-pos-1"}
    both = answer(asthma, "any chest pain or leg swelling?")
    assert both.text == "No, no chest pain. No leg swelling."


def test_mixed_answer_puts_the_pertinent_negative_last(asthma):
    reply = answer(asthma, "do you cough up blood or feel wheezy?")
    assert reply.text.startswith("Yes. Wheezy") and reply.text.endswith("But no coughing up blood.")


def test_opening_statement_can_answer_again_without_the_greeting(asthma):
    reply = answer(asthma, "How is your breathing?")
    assert reply.fact_ids == ("opening",)
    assert reply.text == "I can't get my breath, it's getting worse."


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ASTHMA = load_case_file(ASTHMA_YAML)[0]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gets_a_reply_never_an_exception(question):
    reply = Interviewer(_ASTHMA).ask(question)
    assert reply.text.strip()
    assert reply.kind in {"answer", "negative", "unknown", "greeting", "opening", "smalltalk", "empty",
                          "not_english"}
    assert reply.explanation != "" and not reply.explanation.startswith("internal error")
    assert set(reply.fact_ids) <= {f.id for f in _ASTHMA.facts()} | {"opening"}
