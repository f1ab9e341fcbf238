"""A tiny, hand-made OULAD-shaped dataset (OU download format: quoted fields, CRLF, gzip)."""

from __future__ import annotations

import gzip
from pathlib import Path

COURSES = [("code_module", "code_presentation", "module_presentation_length"),
           ("AAA", "2013J", "200"), ("AAA", "2014B", "200")]

ASSESSMENTS = [("code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight"),
               ("AAA", "2013J", "1", "TMA", "10", "20"), ("AAA", "2013J", "2", "CMA", "30", "30"),
               ("AAA", "2013J", "3", "Exam", "", "100"),
               ("AAA", "2014B", "11", "TMA", "10", "20"), ("AAA", "2014B", "12", "CMA", "30", "30"),
               ("AAA", "2014B", "13", "Exam", "", "100")]

INFO_HEADER = ("code_module", "code_presentation", "id_student", "gender", "region", "highest_education",
               "imd_band", "age_band", "num_of_prev_attempts", "studied_credits", "disability", "final_result")
REG_HEADER = ("code_module", "code_presentation", "id_student", "date_registration", "date_unregistration")
SUB_HEADER = ("id_assessment", "id_student", "date_submitted", "is_banked", "score")

EDU = ["Lower Than A Level", "A Level or Equivalent", "HE Qualification"]
IMD = ["0-10%", "10-20", "50-60%", "90-100%", ""]


def _students(presentation: str, first_id: int, ids: tuple[str, str, str]) -> tuple[list, list, list]:
    """20 students per presentation: good ones pass, poor ones fail; plus the special cases."""
    info, reg, sub = [], [], []
    for k in range(20):
        sid = str(first_id + k)
        good = k % 2 == 0
        result = ("Pass" if k % 4 else "Distinction") if good else ("Fail" if k % 3 else "Withdrawn")
        info.append(("AAA", presentation, sid, "F" if k % 3 else "M", "Scotland", EDU[k % 3], IMD[k % 5],
                     "0-35" if k % 4 else "35-55", str(k % 2 if not good else 0), "60", "Y" if k % 7 == 0 else "N",
                     result))
        unreg = "100" if result == "Withdrawn" else ""
        reg.append(("AAA", presentation, sid, str(-30 + k), unreg))
        if good:
            sub += [(ids[0], sid, "9", "0", str(70 + k)), (ids[1], sid, "29", "0", str(60 + k))]
        elif k % 3:
            sub += [(ids[0], sid, "14", "0", str(30 + k))]
    # a withdrawal before day 0 and a late registration (after day 14)
    early, late = str(first_id + 90), str(first_id + 91)
    info += [("AAA", presentation, early, "M", "Wales", "A Level or Equivalent", "30-40%", "0-35", "0", "120", "N",
              "Withdrawn"),
             ("AAA", presentation, late, "F", "Wales", "HE Qualification", "", "55<=", "0", "60", "N", "Pass")]
    reg += [("AAA", presentation, early, "-60", "-5"), ("AAA", presentation, late, "20", "")]
    sub += [(ids[1], late, "31", "0", "80")]
    return info, reg, sub


def tables() -> dict[str, list[tuple[str, ...]]]:
    info_a, reg_a, sub_a = _students("2013J", 100, ("1", "2", "3"))
    info_b, reg_b, sub_b = _students("2014B", 500, ("11", "12", "13"))
    return {"courses": COURSES, "assessments": ASSESSMENTS,
            "studentInfo": [INFO_HEADER, *info_a, *info_b],
            "studentRegistration": [REG_HEADER, *reg_a, *reg_b],
            "studentAssessment": [SUB_HEADER, *sub_a, *sub_b]}


def encode(rows: list[tuple[str, ...]]) -> bytes:
    return "".join(",".join(f'"{v}"' for v in row) + "\r\n" for row in rows).encode("ascii")


def write(folder: Path, data: dict[str, list[tuple[str, ...]]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (data or tables()).items():
        (folder / f"{name}.csv.gz").write_bytes(gzip.compress(encode(rows), mtime=0))
    return folder
