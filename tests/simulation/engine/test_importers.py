import csv
import io
import json

from medtutor.simulation.engine.importers import (
    import_craftmd_csv, import_jsonl, import_path, parse_demographics,
)
from tests.conftest import shared_data


def _check_accounted(report, expected_records):
    assert len(report.results) == expected_records
    assert report.imported + report.reported == expected_records
    for result in report.results:
        assert (result.case is not None) != bool(result.problems), result.label


def test_agentclinic_medqa_every_record_imports():
    path = shared_data("cases", "agentclinic", "agentclinic_medqa.dev.jsonl")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = import_path(path)
    _check_accounted(report, len(lines))
    assert report.imported == len(lines)
    case = report.cases[0]
    assert case.diagnosis.name == "Myasthenia gravis"
    assert case.demographics.age_years == 35 and case.demographics.sex == "female"
    assert any(f.topic == "smoking" and f.negative for f in case.facts())
    assert any(f.text == "No chest pain." and f.negative for f in case.facts())
    assert "vitals" in case.exam_systems() and "neurological" in case.exam_systems()
    assert case.test("Electromyography") is not None
    assert len({c.id for c in report.cases}) == len(report.cases)


def test_agentclinic_nejm_records_import_or_are_reported():
    path = shared_data("cases", "agentclinic", "agentclinic_nejm_extended.jsonl")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = import_path(path)
    _check_accounted(report, len(lines))
    assert report.imported >= 0.95 * len(lines)
    case = report.cases[0]
    assert case.diagnosis.name == "Exogenous ochronosis"
    assert len(case.differential) == 4
    assert any("hydroquinone" in f.text for f in case.history)
    assert all(not f.text.lower().startswith("for your role") for f in case.history)


def test_craftmd_subset_rows_are_split_into_facts():
    path = shared_data("cases", "craftmd", "usmle_and_derm_dataset.dev.csv")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    buf = io.StringIO()
    csv.writer(buf).writerows(rows[:121])            # header + 120 rows keep the test fast
    report = import_craftmd_csv(buf.getvalue(), "subset")
    _check_accounted(report, 120)
    assert report.imported >= 100
    case = report.cases[0]
    assert case.diagnosis.name == "Lymphogranuloma venereum"
    negatives = {f.text for f in case.facts() if f.negative}
    assert "No fever." in negatives and "No dysuria." in negatives
    for result in report.results:
        if not result.ok:
            assert "not for the diagnosis" in result.problems[0] or result.problems


def test_bad_records_are_reported_with_reasons():
    good = json.dumps({"OSCE_Examination": {"Patient_Actor": {"Demographics": "40-year-old man",
                       "History": "Two days of cough."}, "Correct_Diagnosis": "Pneumonia"}})
    text = "\n".join([
        good,
        "{not json",
        json.dumps({"something": "else"}),
        json.dumps({"OSCE_Examination": {"Patient_Actor": {}}}),
        json.dumps({"question": "q", "patient_info": "I have a rash.", "physical_exams": "",
                    "answers": [{"text": "A", "correct": True}, {"text": "B", "correct": True}]}),
        good,
    ])
    report = import_jsonl(text, "bad.jsonl")
    _check_accounted(report, 6)
    reasons = [r.problems[0] if r.problems else "" for r in report.results]
    assert report.results[0].ok
    assert reasons[1].startswith("invalid JSON")
    assert reasons[2].startswith("unknown record shape")
    assert "Correct_Diagnosis" in reasons[3]
    assert "exactly one correct answer" in reasons[4]
    assert reasons[5].startswith("duplicate of line 1")


def test_craftmd_missing_columns_and_empty_rows():
    report = import_craftmd_csv("a,b\n1,2\n", "x.csv")
    assert report.imported == 0 and "lacks column" in report.results[0].problems[0]
    report = import_craftmd_csv("case_vignette,answer\n,Asthma\n", "y.csv")
    assert report.results[0].problems == ["case_vignette is empty"]


def test_unsupported_and_unreadable_files(tmp_path):
    path = tmp_path / "cases.txt"
    path.write_text("hello")
    assert "unsupported file type" in import_path(path).results[0].problems[0]
    assert "cannot read" in import_path(tmp_path / "missing.jsonl").results[0].problems[0]


def test_parse_demographics():
    assert parse_demographics("35-year-old female") == (35.0, "female")
    assert parse_demographics("A 6-month-old boy") == (0.5, "male")
    assert parse_demographics("newborn") == (0.0, "unknown")


def test_patient_scripts_become_first_person_statements():
    from medtutor.simulation.engine.textmatch import to_first_person, to_first_person_second

    assert to_first_person_second("For your role as a patient, you are a 55-year-old woman who has "
                                  "noticed your skin darkening.") == "I have noticed my skin darkening."
    script = ("For the patient actor, you should be aware of the following symptoms: - You are a 50-year-old "
              "man. - **Symptom Duration**: You have had a cough for months.")
    assert to_first_person_second(script) == "I am a 50-year-old man. I have had a cough for months."
    assert to_first_person("Non-smoker, drinks wine occasionally.") == "I don't smoke. I drink wine occasionally."
    assert to_first_person("The patient reports a 1-month history of double vision.") == \
        "I've had double vision for 1 month."
    assert to_first_person("He played football and is currently retired.") == \
        "I played football and am currently retired."
