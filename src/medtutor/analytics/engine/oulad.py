"""Read the Open University Learning Analytics Dataset (OULAD) into the early-warning dataclasses.

Pure: the standard library's csv and gzip only. Reads the OU download format (every field quoted, CRLF,
missing = empty field) and the UCI copy (missing = `?`), as `<table>.csv.gz` or `<table>.csv`.

How the README's quirks are handled:
- negative days mean "before the start" and are kept (registrations, withdrawals, banked submissions);
- an empty `date_registration` → registration day unknown (the learner counts as registered);
- an empty `date_unregistration` → not withdrawn (a `Withdrawn` result without a date stays in the
  data, labelled positive; it is counted in the notes);
- an exam with an empty `date` falls at the end of the presentation → due day = course length;
- empty `imd_band` → its own group `missing`; `10-20` (no `%`) → `10-20%`; the spreadsheet damage
  `Oct-20` / `20-Oct` → `10-20%`, counted in the notes;
- an empty `score` → unknown score (the submission still counts).
Anything that cannot be used raises OuladDataError naming the file, line and column.
`vle` is not needed (no clickstream is available) and is not read.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .features import AssessmentDue, Course, Enrolment, Submission

TABLES: dict[str, tuple[str, ...]] = {
    "courses": ("code_module", "code_presentation", "module_presentation_length"),
    "assessments": ("code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight"),
    "studentInfo": ("code_module", "code_presentation", "id_student", "gender", "region", "highest_education",
                    "imd_band", "age_band", "num_of_prev_attempts", "studied_credits", "disability", "final_result"),
    "studentRegistration": ("code_module", "code_presentation", "id_student", "date_registration",
                            "date_unregistration"),
    "studentAssessment": ("id_assessment", "id_student", "date_submitted", "is_banked", "score"),
}
RESULTS = ("Distinction", "Pass", "Fail", "Withdrawn")
POSITIVE_RESULTS = frozenset({"Fail", "Withdrawn"})
EDUCATION_LEVELS = {"No Formal quals": 0, "Lower Than A Level": 1, "A Level or Equivalent": 2,
                    "HE Qualification": 3, "Post Graduate Qualification": 4}
IMD_BANDS = ("0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%", "60-70%", "70-80%", "80-90%", "90-100%")
MISSING_GROUP = "missing"
SUBGROUP_ATTRIBUTES = ("gender", "age_band", "disability", "imd_band")


class OuladDataError(ValueError):
    """A file of the dataset cannot be used; the message names the file, line and column."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: str | None = None) -> None:
        self.file, self.line, self.column, self.reason = file, line, column, message
        where = ", ".join(part for part in (
            file, f"line {line}" if line is not None else None,
            f"column {column!r}" if column is not None else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class OuladData:
    courses: dict[tuple[str, str], Course]
    enrolments: tuple[Enrolment, ...]
    submissions: dict[tuple[str, str, str], tuple[Submission, ...]]
    notes: tuple[str, ...]

    @property
    def presentations(self) -> tuple[str, ...]:
        return tuple(sorted({p for _, p in self.courses}))

    def select(self, presentations: Iterable[str]) -> "OuladData":
        """Only the given presentations (e.g. 2013B, 2013J); unknown ones raise OuladDataError."""
        wanted = set(presentations)
        unknown = wanted - set(self.presentations)
        if unknown:
            raise OuladDataError(f"no presentation {', '.join(sorted(unknown))} in the data "
                                 f"(it has {', '.join(self.presentations) or 'none'})")
        return replace(self,
                       courses={k: c for k, c in self.courses.items() if k[1] in wanted},
                       enrolments=tuple(e for e in self.enrolments if e.presentation_id in wanted),
                       submissions={k: s for k, s in self.submissions.items() if k[1] in wanted})


def is_positive(outcome: str | None) -> bool:
    """The early-warning label: the enrolment ended in Fail or Withdrawn."""
    return outcome in POSITIVE_RESULTS


class _Table:
    def __init__(self, folder: Path, name: str) -> None:
        self.columns = TABLES[name]
        for candidate in (folder / f"{name}.csv.gz", folder / f"{name}.csv"):
            if candidate.is_file():
                self.path = candidate
                break
        else:
            raise OuladDataError(f"missing table: neither {name}.csv.gz nor {name}.csv is in {folder}",
                                 file=f"{name}.csv.gz")
        self.file = self.path.name

    def rows(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        """(line number, {column: value or None}) for each data row."""
        try:
            raw = self.path.read_bytes()
            if self.path.suffix == ".gz":
                raw = gzip.decompress(raw)
            text = raw.decode("utf-8-sig")
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise OuladDataError(f"cannot read the file ({error})", file=self.file) from None
        except UnicodeDecodeError as error:
            raise OuladDataError(f"not UTF-8 text ({error.reason} at byte {error.start})", file=self.file) from None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
        except StopIteration:
            raise OuladDataError("the file is empty (no header line)", file=self.file, line=1) from None
        header = [h.strip() for h in header]
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise OuladDataError(f"the header lacks {', '.join(missing)} (it has {', '.join(header)})",
                                 file=self.file, line=1, column=missing[0])
        positions = [(c, header.index(c)) for c in self.columns]
        try:
            for fields in reader:
                if not fields or fields == [""]:
                    continue
                line = reader.line_num
                if len(fields) < len(header):
                    raise OuladDataError(f"{len(fields)} fields where the header has {len(header)}",
                                         file=self.file, line=line)
                row: dict[str, str | None] = {}
                for column, i in positions:
                    value = fields[i].strip()
                    row[column] = None if value in ("", "?") else value
                yield line, row
        except csv.Error as error:
            raise OuladDataError(f"malformed CSV ({error})", file=self.file, line=reader.line_num) from None

    def error(self, message: str, line: int, column: str | None = None) -> OuladDataError:
        return OuladDataError(message, file=self.file, line=line, column=column)

    def required(self, row: dict[str, str | None], column: str, line: int) -> str:
        value = row[column]
        if value is None:
            raise self.error("value is missing", line, column)
        return value

    def integer(self, row: dict[str, str | None], column: str, line: int, *, optional: bool = False,
                minimum: int | None = None) -> int | None:
        value = row[column]
        if value is None:
            if optional:
                return None
            raise self.error("value is missing", line, column)
        try:
            number = float(value)
        except ValueError:
            raise self.error(f"{value!r} is not a whole number of days/count", line, column) from None
        if number != number or number != int(number):
            raise self.error(f"{value!r} is not a whole number", line, column)
        if minimum is not None and number < minimum:
            raise self.error(f"{value!r} is below {minimum}", line, column)
        return int(number)

    def number(self, row: dict[str, str | None], column: str, line: int, *, optional: bool = False,
               low: float | None = None, high: float | None = None) -> float | None:
        value = row[column]
        if value is None:
            if optional:
                return None
            raise self.error("value is missing", line, column)
        try:
            number = float(value)
        except ValueError:
            raise self.error(f"{value!r} is not a number", line, column) from None
        if number != number or (low is not None and number < low) or (high is not None and number > high):
            raise self.error(f"{value!r} is outside {low}..{high}", line, column)
        return number


def _imd(value: str | None, table: _Table, line: int, notes: Counter[str]) -> str:
    if value is None:
        return MISSING_GROUP
    if value in IMD_BANDS:
        return value
    if value == "10-20":
        return "10-20%"  # every copy, the authors' included, writes this one band without '%'
    if value.lower() in ("oct-20", "20-oct"):
        notes["imd_band values damaged by a spreadsheet (Oct-20) read as 10-20%"] += 1
        return "10-20%"
    raise table.error(f"unknown imd_band {value!r} (expected one of {', '.join(IMD_BANDS)}, 10-20 or empty)",
                      line, "imd_band")


def load_oulad(folder: str | Path, presentations: Sequence[str] | None = None) -> OuladData:
    """Read the five tables the early-warning model uses from `folder` (vle is not needed).

    `presentations` keeps only those presentations (an unknown one raises OuladDataError). Validates
    everything before returning; raises OuladDataError at the first row that cannot be used.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise OuladDataError(f"no such folder: {folder}")
    tables = {name: _Table(folder, name) for name in TABLES}  # every table must exist before reading any
    wanted = set(presentations) if presentations is not None else None
    notes: Counter[str] = Counter()

    t = tables["courses"]
    lengths: dict[tuple[str, str], int] = {}
    for line, row in t.rows():
        key = (t.required(row, "code_module", line), t.required(row, "code_presentation", line))
        if key in lengths:
            raise t.error(f"module-presentation {key[0]} {key[1]} appears twice", line, "code_module")
        length = t.integer(row, "module_presentation_length", line, minimum=1)
        assert length is not None
        lengths[key] = length
    if not lengths:
        raise OuladDataError("no module-presentations in the table", file=t.file)
    present = {p for _, p in lengths}
    if wanted is not None and wanted - present:
        raise OuladDataError(f"no presentation {', '.join(sorted(wanted - present))} in {folder} "
                             f"(it has {', '.join(sorted(present))})", file=t.file)

    def keep(presentation: str) -> bool:
        return wanted is None or presentation in wanted

    t = tables["assessments"]
    schedule: dict[tuple[str, str], list[AssessmentDue]] = defaultdict(list)
    assessment_course: dict[str, tuple[str, str] | None] = {}
    for line, row in t.rows():
        key = (t.required(row, "code_module", line), t.required(row, "code_presentation", line))
        if key not in lengths:
            raise t.error(f"unknown module-presentation {key[0]} {key[1]} (not in courses)", line, "code_module")
        aid = t.required(row, "id_assessment", line)
        if aid in assessment_course:
            raise t.error(f"assessment {aid} appears twice", line, "id_assessment")
        kind = t.required(row, "assessment_type", line)
        due = t.integer(row, "date", line, optional=True)
        if due is None:  # exams without a date fall at the end of the presentation
            due = lengths[key]
            notes[f"assessments without a date ({'exams' if kind.lower() == 'exam' else 'not exams'}) "
                  "set to the end of the presentation"] += 1 if keep(key[1]) else 0
        weight = t.number(row, "weight", line, low=0.0)
        assert weight is not None
        assessment_course[aid] = key if keep(key[1]) else None
        if keep(key[1]):
            schedule[key].append(AssessmentDue(aid, kind, due, weight))
    courses = {key: Course(key[0], key[1], length, tuple(sorted(schedule.get(key, ()), key=lambda a: (a.due_day, a.assessment_id))))
               for key, length in lengths.items() if keep(key[1])}

    t = tables["studentInfo"]
    info: dict[tuple[str, str, str], tuple[int, Enrolment]] = {}
    for line, row in t.rows():
        key = (t.required(row, "code_module", line), t.required(row, "code_presentation", line))
        if key not in lengths:
            raise t.error(f"unknown module-presentation {key[0]} {key[1]} (not in courses)", line, "code_module")
        student = t.required(row, "id_student", line)
        if not keep(key[1]):
            continue
        if (*key, student) in info:
            raise t.error(f"student {student} appears twice in {key[0]} {key[1]}", line, "id_student")
        result = row["final_result"]
        if result is not None and result not in RESULTS:
            raise t.error(f"unknown final_result {result!r} (expected {', '.join(RESULTS)})", line, "final_result")
        if result is None:
            notes["enrolments without a final_result (kept, not labelled)"] += 1
        education = row["highest_education"]
        level = EDUCATION_LEVELS.get(education) if education is not None else None
        if education is not None and level is None:
            raise t.error(f"unknown highest_education {education!r}", line, "highest_education")
        imd = _imd(row["imd_band"], t, line, notes)
        if imd == MISSING_GROUP:
            notes["enrolments with an empty imd_band (own group 'missing')"] += 1
        attributes = {
            "gender": row["gender"] or MISSING_GROUP,
            "age_band": row["age_band"] or MISSING_GROUP,
            "disability": row["disability"] or MISSING_GROUP,
            "imd_band": imd,
            "region": row["region"] or MISSING_GROUP,
            "highest_education": education or MISSING_GROUP,
        }
        enrolment = Enrolment(
            learner_id=student, course_id=key[0], presentation_id=key[1], registration_day=None,
            withdrawal_day=None, course_length=lengths[key], attributes=attributes,
            prior_attempts=t.integer(row, "num_of_prev_attempts", line, optional=True, minimum=0) or 0,
            credits=t.number(row, "studied_credits", line, optional=True, low=0.0),
            prior_education=float(level) if level is not None else None, outcome=result)
        info[enrolment.key] = (line, enrolment)

    t = tables["studentRegistration"]
    registered: set[tuple[str, str, str]] = set()
    enrolments: dict[tuple[str, str, str], Enrolment] = {}
    for line, row in t.rows():
        course = (t.required(row, "code_module", line), t.required(row, "code_presentation", line))
        if course not in lengths:
            raise t.error(f"unknown module-presentation {course[0]} {course[1]} (not in courses)", line, "code_module")
        key = (*course, t.required(row, "id_student", line))
        if not keep(course[1]):
            continue
        if key not in info:
            raise t.error(f"student {key[2]} of {key[0]} {key[1]} is not in studentInfo", line, "id_student")
        if key in registered:
            raise t.error(f"student {key[2]} appears twice in {key[0]} {key[1]}", line, "id_student")
        registered.add(key)
        reg = t.integer(row, "date_registration", line, optional=True)
        unreg = t.integer(row, "date_unregistration", line, optional=True)
        if reg is None:
            notes["enrolments without a registration date (counted as registered from the start)"] += 1
        if reg is not None and unreg is not None and unreg < reg:
            notes["withdrawal dates before the registration date (kept as given)"] += 1
        enrolment = info[key][1]
        if enrolment.outcome == "Withdrawn" and unreg is None:
            notes["Withdrawn enrolments without a withdrawal date (kept in every day's cohort)"] += 1
        if enrolment.outcome not in ("Withdrawn", None) and unreg is not None:
            notes[f"{enrolment.outcome} enrolments with a withdrawal date (excluded after that date)"] += 1
        enrolments[key] = replace(enrolment, registration_day=reg, withdrawal_day=unreg)
    for key, (line, enrolment) in info.items():
        if key not in enrolments:
            notes["enrolments without a studentRegistration row (registration unknown, not withdrawn)"] += 1
            enrolments[key] = enrolment

    t = tables["studentAssessment"]
    submissions: dict[tuple[str, str, str], list[Submission]] = defaultdict(list)
    for line, row in t.rows():
        aid = t.required(row, "id_assessment", line)
        if aid not in assessment_course:
            raise t.error(f"unknown assessment {aid} (not in assessments)", line, "id_assessment")
        course = assessment_course[aid]
        if course is None:
            continue
        student = t.required(row, "id_student", line)
        key = (*course, student)
        if key not in enrolments:
            raise t.error(f"student {student} is not enrolled on {course[0]} {course[1]}", line, "id_student")
        submitted = t.integer(row, "date_submitted", line)
        assert submitted is not None
        banked_value = row["is_banked"]
        if banked_value not in (None, "0", "1", "TRUE", "FALSE", "True", "False"):
            raise t.error(f"is_banked {banked_value!r} is not 0 or 1", line, "is_banked")
        score = t.number(row, "score", line, optional=True, low=0.0, high=100.0)
        if score is None:
            notes["submissions without a score (counted as submitted, score unknown)"] += 1
        submissions[key].append(Submission(aid, submitted, score, banked_value in ("1", "TRUE", "True")))

    ordered = tuple(enrolments[k] for k in sorted(enrolments, key=lambda k: (k[1], k[0], _sort_id(k[2]))))
    return OuladData(courses=courses, enrolments=ordered,
                     submissions={k: tuple(v) for k, v in submissions.items()},
                     notes=tuple(f"{text}: {count}" for text, count in sorted(notes.items()) if count))


def _sort_id(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)
