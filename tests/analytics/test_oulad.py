"""The OULAD reader: the fixture, the README's quirks, clear errors, and the real folder's counts."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from medtutor.analytics.engine.oulad import OuladDataError, load_oulad

from .oulad_fixture import encode, tables, write

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "learning_analytics" / "oulad"


def test_fixture_loads_with_quirks(tmp_path):
    data = load_oulad(write(tmp_path))
    assert data.presentations == ("2013J", "2014B") and len(data.enrolments) == 44
    assert data.courses["AAA", "2013J"].assessments[-1].due_day == 200  # exam without a date: the end
    imd = Counter(e.attributes["imd_band"] for e in data.enrolments)
    assert "10-20%" in imd and "10-20" not in imd and imd["missing"] > 0
    early = next(e for e in data.enrolments if e.learner_id == "190")
    assert early.withdrawal_day == -5 and early.registration_day == -60 and early.outcome == "Withdrawn"
    assert any("imd_band" in note for note in data.notes)
    only = load_oulad(tmp_path, ["2014B"])
    assert {e.presentation_id for e in only.enrolments} == {"2014B"} and len(only.enrolments) == 22


def test_question_marks_are_missing_values(tmp_path):
    t = tables()
    t["studentRegistration"][1] = (*t["studentRegistration"][1][:3], "?", "?")
    t["studentInfo"][1] = (*t["studentInfo"][1][:6], "?", *t["studentInfo"][1][7:])
    data = load_oulad(write(tmp_path, t))
    first = next(e for e in data.enrolments if e.learner_id == "100")
    assert first.registration_day is None and first.withdrawal_day is None
    assert first.attributes["imd_band"] == "missing"


def test_missing_table_is_named(tmp_path):
    write(tmp_path)
    (tmp_path / "studentRegistration.csv.gz").unlink()
    with pytest.raises(OuladDataError, match="missing table.*studentRegistration"):
        load_oulad(tmp_path)


def test_bad_date_names_file_line_and_column(tmp_path):
    t = tables()
    t["studentRegistration"][3] = (*t["studentRegistration"][3][:3], "soon", "")
    with pytest.raises(OuladDataError) as error:
        load_oulad(write(tmp_path, t))
    assert (error.value.file, error.value.line, error.value.column) == ("studentRegistration.csv.gz", 4,
                                                                         "date_registration")
    assert "studentRegistration.csv.gz, line 4, column 'date_registration'" in str(error.value)


def test_unknown_module_is_an_error(tmp_path):
    t = tables()
    t["studentInfo"][2] = ("ZZZ", *t["studentInfo"][2][1:])
    with pytest.raises(OuladDataError, match="unknown module-presentation ZZZ 2013J") as error:
        load_oulad(write(tmp_path, t))
    assert error.value.file == "studentInfo.csv.gz" and error.value.line == 3


def test_other_unusable_input(tmp_path):
    t = tables()
    t["studentAssessment"].append(("999", "100", "5", "0", "50"))
    with pytest.raises(OuladDataError, match="unknown assessment 999"):
        load_oulad(write(tmp_path / "a", t))
    t = tables()
    t["studentInfo"][0] = tuple(c for c in t["studentInfo"][0] if c != "final_result")
    with pytest.raises(OuladDataError, match="header lacks final_result"):
        load_oulad(write(tmp_path / "b", t))
    write(tmp_path / "c")
    (tmp_path / "c" / "courses.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(OuladDataError, match="courses.csv.gz"):
        load_oulad(tmp_path / "c")
    with pytest.raises(OuladDataError, match="no presentation 2099B"):
        load_oulad(write(tmp_path / "d"), ["2099B"])
    with pytest.raises(OuladDataError, match="no such folder"):
        load_oulad(tmp_path / "nowhere")


def test_plain_csv_and_spreadsheet_damage(tmp_path):
    t = tables()
    t["studentInfo"][1] = (*t["studentInfo"][1][:6], "Oct-20", *t["studentInfo"][1][7:])
    write(tmp_path, t)
    (tmp_path / "courses.csv.gz").unlink()
    (tmp_path / "courses.csv").write_bytes(gzip.decompress(gzip.compress(encode(t["courses"]))))
    data = load_oulad(tmp_path)
    assert next(e for e in data.enrolments if e.learner_id == "100").attributes["imd_band"] == "10-20%"


@pytest.mark.skipif(not REAL.exists(), reason="OULAD folder not present")
def test_real_folder_counts_match_the_readme():
    data = load_oulad(REAL)
    assert len(data.enrolments) == 21333
    assert Counter(e.presentation_id for e in data.enrolments) == {"2013B": 4684, "2013J": 8845, "2014B": 7804}
    assert Counter(e.outcome for e in data.enrolments) == {"Pass": 8068, "Withdrawn": 6330, "Fail": 5075,
                                                             "Distinction": 1860}
    assert sum(1 for e in data.enrolments if e.attributes["imd_band"] == "missing") == 716
    assert sum(1 for e in data.enrolments if e.withdrawal_day is not None and e.withdrawal_day <= 0) == 2200
