import json

import pytest

from medtutor.simulation.engine.case import (
    MAX_TEXT, CaseValidationError, case_to_dict, load_case, load_case_file, validate_case,
)

from .vp_fixtures import ASTHMA_YAML, doc_example_yaml


def test_documented_example_loads_and_round_trips():
    cases = load_case_file(doc_example_yaml())
    assert [c.id for c in cases] == ["renal-colic-01"]
    case = cases[0]
    assert load_case(case_to_dict(case)) == case
    assert case.diagnosis.synonyms == ("renal colic", "kidney stone", "urolithiasis")
    assert case.test("urine dip").name == "Urinalysis"
    assert {f.id for f in case.key_facts()} >= {"history-0", "history-6"}


def test_fact_ids_topics_and_negatives_are_stable():
    case = load_case_file(ASTHMA_YAML)[0]
    facts = {f.id: f for f in case.facts()}
    assert facts["social-smoking-0"].topic == "smoking" and facts["social-smoking-0"].negative
    assert facts["ros-cardiovascular-neg-1"].text == "No leg swelling"
    assert facts["ros-cardiovascular-neg-1"].negative
    assert facts["ros-respiratory-pos-0"].topic == "ros_respiratory"
    assert facts["med-1"].topic == "medications"
    assert case.exam_systems() == ("vitals", "respiratory")


def test_json_file_and_cases_wrapper(tmp_path):
    data = case_to_dict(load_case_file(ASTHMA_YAML)[0])
    second = dict(data, id="asthma-02")
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"cases": [data, second]}), encoding="utf-8")
    assert [c.id for c in load_case_file(path)] == ["asthma-01", "asthma-02"]


def _problems(text):
    with pytest.raises(CaseValidationError) as info:
        load_case_file(text)
    return [str(p) for p in info.value.problems]


def test_unknown_keys_missing_sections_and_bad_values_are_all_reported():
    problems = _problems("""
id: Not A Slug
title: ""
colour: blue
demographics: {age: 300, sex: robot}
history:
  - {topic: smoker, text: "I smoke"}
  - {topic: onset, text: ""}
tests:
  - {name: FBC, category: blood, result: "normal", surprise: 1}
""")
    joined = "\n".join(problems)
    assert "colour: unknown key" in joined
    for section in ("setting", "chief_complaint", "opening_statement", "diagnosis"):
        assert f"{section}: is required" in joined
    assert "id: must be a slug" in joined
    assert "demographics.age: must be between" in joined
    assert "demographics.sex: must be one of" in joined
    assert "history[0].topic: unknown topic 'smoker'" in joined
    assert "history[1].text: is empty" in joined
    assert "tests[0].surprise: unknown key" in joined
    assert "tests[0].category: must be one of" in joined


def test_huge_text_is_rejected_with_its_location():
    big = "x" * (MAX_TEXT + 1)
    problems = _problems(ASTHMA_YAML.replace('"It started last night after I went to a party with smokers."',
                                             json.dumps(big)))
    assert any(p.startswith("history[0].text: is too long") for p in problems)


def test_one_bad_case_rejects_the_whole_file():
    good = case_to_dict(load_case_file(ASTHMA_YAML)[0])
    bad = dict(good, id="asthma-02", history=[{"topic": "onset"}])
    dup = dict(good)
    with pytest.raises(CaseValidationError) as info:
        load_case_file(json.dumps([good, bad, dup]))
    text = [str(p) for p in info.value.problems]
    assert "cases[1].history[0].text: is required" in text
    assert any(p.startswith("cases[2].id: duplicate case id") for p in text)


@pytest.mark.parametrize("text,expected", [
    ("", "file: is empty"),
    ("[]", "cases: contains no cases"),
    ("id: [unclosed", "invalid YAML"),
    ("- just a string", "cases[0]: must be a mapping"),
])
def test_empty_and_malformed_files(text, expected):
    assert any(expected in p for p in _problems(text))


def test_validate_case_returns_problems_without_raising():
    assert validate_case(case_to_dict(load_case_file(ASTHMA_YAML)[0])) == []
    assert validate_case({"id": "x"})  # missing sections
