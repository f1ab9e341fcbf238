import pytest

from medtutor.simulation.engine.case import load_case_file
from medtutor.simulation.engine.diagnosis import match_case_diagnosis, match_diagnosis, rank_in_differential

from .vp_fixtures import ASTHMA_YAML


@pytest.mark.parametrize("answer,name", [
    ("MI", "Myocardial infarction"), ("heart attack", "Acute myocardial infarction"),
    ("DKA", "Diabetic ketoacidosis"), ("diabetic keto-acidosis", "Diabetic ketoacidosis"),
    ("PE", "Pulmonary embolism"), ("embolism, pulmonary", "Pulmonary embolism"),
    ("copd", "Chronic obstructive pulmonary disease"), ("myocardial infraction", "Myocardial infarction"),
    ("probably myasthenia gravis", "Myasthenia gravis"), ("mysthenia gravis", "Myasthenia gravis"),
    ("iron deficiency anaemia", "Iron deficiency anemia"), ("AML", "Acute myelogenous leukemia"),
    ("lymphogranuloma venerum", "Lymphogranuloma venereum"), ("IgA vasculitis", "Henoch-Schonlein purpura"),
    ("Type II diabetes", "Type 2 diabetes mellitus"),
])
def test_matches(answer, name):
    result = match_diagnosis(answer, name)
    assert result.matched, result
    assert 0.82 <= result.score <= 1.0


@pytest.mark.parametrize("answer,name", [
    ("myocarditis", "Myocardial infarction"), ("type 1 diabetes", "Type 2 diabetes mellitus"),
    ("not MI", "Myocardial infarction"), ("pneumonia", "Pulmonary embolism"),
    ("anemia", "Iron deficiency anemia"), ("CML", "Acute myelogenous leukemia"),
    ("hypothyroidism", "Hyperthyroidism"), ("", "Asthma"), ("ulcerative colitis", "Crohn disease"),
])
def test_non_matches(answer, name):
    assert not match_diagnosis(answer, name).matched


def test_case_synonyms_and_differential_rank():
    case = load_case_file(ASTHMA_YAML)[0]
    assert match_case_diagnosis("asthma attak", case).matched
    assert match_case_diagnosis("severe acute asthma", case).matched
    assert rank_in_differential(["anaphylaxis", "acute severe asthma"], case) == 2
    assert rank_in_differential(["pneumothorax"], case) is None
