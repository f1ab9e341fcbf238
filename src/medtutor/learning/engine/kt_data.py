"""Knowledge-tracing data: response sequences, file loaders and a synthetic BKT generator.

Pure: no Django. Two file formats are read:

* the DKVMN 3-lines-per-student text format (``n`` / tags / responses), where the tag is a skill id
  (ASSISTments) or a problem-step id (Statics2011);
* the ``assist2009_pid`` CSV (``user_id,user_idx,seq,problem_id,problem_idx,skill_idx,correct``), one
  row per response and skill.

A problem tagged with several skills appears in both ASSISTments 2009 files as consecutive rows with
the same response, one per skill. Scoring every such row lets a model see the answer one row before it
predicts it. In the CSV the repeats can be detected (same problem and response as the previous row,
another skill) and are flagged in ``StudentSequence.first_of_group``; in the DKVMN files there is no
problem id, so they cannot be told apart from genuine answers and ``first_of_group`` is ``None``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "KTDataError", "StudentSequence", "FlatResponses", "read_dkvmn", "read_assist2009_pid",
    "read_sequences", "detect_format", "flatten", "split_students", "generate_bkt_sequences",
    "BKTTruth",
]

QMATRIX_NAME = "Qmatrix.csv"
PID_HEADER = ("user_id", "user_idx", "seq", "problem_id", "problem_idx", "skill_idx", "correct")


class KTDataError(ValueError):
    """A knowledge-tracing file is malformed; the message names the file and line."""


@dataclass(frozen=True, eq=False)
class StudentSequence:
    """One student's responses in time order.

    ``skills`` and ``items`` are integer ids (for files whose only id is a skill, ``items`` equals
    ``skills``); ``correct`` holds 0/1. ``first_of_group`` is True where a row is *not* a repeat of the
    previous row's problem and response under another skill; None when that cannot be detected.
    """

    student: str
    skills: np.ndarray
    items: np.ndarray
    correct: np.ndarray
    first_of_group: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.correct)
        if len(self.skills) != n or len(self.items) != n:
            raise KTDataError(f"student {self.student}: skills, items and responses differ in length")
        if self.first_of_group is not None and len(self.first_of_group) != n:
            raise KTDataError(f"student {self.student}: first_of_group has the wrong length")

    def __len__(self) -> int:
        return len(self.correct)

    @classmethod
    def from_lists(cls, student: str, skills: Sequence[int], correct: Sequence[int],
                   items: Sequence[int] | None = None,
                   first_of_group: Sequence[bool] | None = None) -> StudentSequence:
        sk = np.asarray(skills, dtype=np.int64)
        return cls(student=student, skills=sk,
                   items=sk.copy() if items is None else np.asarray(items, dtype=np.int64),
                   correct=np.asarray(correct, dtype=np.int8),
                   first_of_group=None if first_of_group is None else np.asarray(first_of_group, dtype=bool))


@dataclass(frozen=True, eq=False)
class FlatResponses:
    """All responses of many students as parallel arrays, students contiguous and in time order."""

    student: np.ndarray      # int64 index into the sequence list
    position: np.ndarray     # int64 0-based position in the student's sequence
    skill: np.ndarray        # int64
    item: np.ndarray         # int64
    correct: np.ndarray      # int8
    first_of_group: np.ndarray  # bool; all True where repeats cannot be detected
    groups_detectable: bool
    starts: np.ndarray = field(repr=False)  # int64 offset of each student's first row (len = n_students + 1)

    def __len__(self) -> int:
        return len(self.correct)


def flatten(sequences: Sequence[StudentSequence]) -> FlatResponses:
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(starts[-1])
    student = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
    position = np.arange(n, dtype=np.int64) - np.repeat(starts[:-1], lengths)

    def cat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)

    detectable = bool(sequences) and all(s.first_of_group is not None for s in sequences)
    first = (cat([s.first_of_group for s in sequences], bool) if detectable  # type: ignore[misc]
             else np.ones(n, dtype=bool))
    return FlatResponses(student=student, position=position,
                         skill=cat([s.skills for s in sequences], np.int64),
                         item=cat([s.items for s in sequences], np.int64),
                         correct=cat([s.correct for s in sequences], np.int8),
                         first_of_group=first, groups_detectable=detectable, starts=starts)


def _parse_ints(text: str, path: Path, line_no: int) -> list[int]:
    parts = [p for p in text.strip().split(",") if p.strip() != ""]
    try:
        return [int(float(p)) for p in parts]
    except ValueError as error:
        raise KTDataError(f"{path}:{line_no}: expected comma-separated integers ({error})") from None


def read_qmatrix(path: str | Path) -> dict[int, int]:
    """A Q-matrix CSV (one row per tag, 1-based, one 0/1 column per skill): tag -> its skill (1-based).

    Where a tag is a problem step (Statics 2011), the Q-matrix says which skill each step practises;
    a tag with several skills keeps the first."""
    path = Path(path)
    mapping: dict[int, int] = {}
    for row, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cells = [int(float(c)) for c in line.replace("\t", ",").split(",") if c.strip() != ""]
        except ValueError:
            raise KTDataError(f"{path}:{row}: a Q-matrix row must hold 0/1 values") from None
        ones = [i for i, c in enumerate(cells, start=1) if c == 1]
        if not ones:
            raise KTDataError(f"{path}:{row}: tag {row} has no skill")
        mapping[row] = ones[0]
    return mapping


def read_dkvmn(path: str | Path, *, qmatrix: dict[int, int] | None = None) -> list[StudentSequence]:
    """Read a DKVMN 3-lines-per-student file (count, tags, 0/1 responses).

    With a Q-matrix the tags are items (problem steps) and the Q-matrix gives their skills; without
    one, each tag is its own skill."""
    path = Path(path)
    lines = [line for line in path.read_text().splitlines()]
    # Drop trailing blank lines only; blank lines inside a block are an error.
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) % 3:
        raise KTDataError(f"{path}: {len(lines)} lines is not a multiple of 3 (count, tags, responses)")
    sequences: list[StudentSequence] = []
    for block in range(0, len(lines), 3):
        line_no = block + 1
        try:
            n = int(lines[block].strip().rstrip(","))
        except ValueError:
            raise KTDataError(f"{path}:{line_no}: expected a response count, got {lines[block][:40]!r}") from None
        tags = _parse_ints(lines[block + 1], path, line_no + 1)
        answers = _parse_ints(lines[block + 2], path, line_no + 2)
        if len(tags) != n or len(answers) != n:
            raise KTDataError(f"{path}:{line_no}: count says {n} but there are {len(tags)} tags and "
                              f"{len(answers)} responses")
        if any(a not in (0, 1) for a in answers):
            raise KTDataError(f"{path}:{line_no + 2}: responses must be 0 or 1")
        if n == 0:
            continue
        if qmatrix is None:
            sequences.append(StudentSequence.from_lists(f"{path.stem}:{block // 3}", tags, answers))
            continue
        unknown = sorted({t for t in tags if t not in qmatrix})
        if unknown:
            raise KTDataError(f"{path}:{line_no + 1}: tag(s) {unknown[:5]} are not in the Q-matrix")
        sequences.append(StudentSequence(student=f"{path.stem}:{block // 3}",
                                         skills=np.array([qmatrix[t] for t in tags], dtype=np.int64),
                                         items=np.array(tags, dtype=np.int64),
                                         correct=np.array(answers, dtype=np.int64), first_of_group=None))
    return sequences


def read_assist2009_pid(path: str | Path) -> list[StudentSequence]:
    """Read the assist2009_pid CSV; items are ``problem_idx``, skills ``skill_idx``.

    Rows of a student are ordered by ``seq``. A row whose problem and response equal the previous
    row's (of the same student) under a different skill is flagged as a repeat (``first_of_group``
    False).
    """
    path = Path(path)
    rows: dict[str, list[tuple[int, int, int, int]]] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != PID_HEADER:
            raise KTDataError(f"{path}:1: expected header {','.join(PID_HEADER)}")
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(PID_HEADER):
                raise KTDataError(f"{path}:{line_no}: expected {len(PID_HEADER)} fields, got {len(row)}")
            try:
                seq, problem, skill, correct = int(row[2]), int(row[4]), int(row[5]), int(row[6])
            except ValueError:
                raise KTDataError(f"{path}:{line_no}: seq, problem_idx, skill_idx and correct must be integers") from None
            if correct not in (0, 1):
                raise KTDataError(f"{path}:{line_no}: correct must be 0 or 1")
            rows.setdefault(row[0], []).append((seq, problem, skill, correct))
    sequences = []
    for user, user_rows in rows.items():
        user_rows.sort(key=lambda r: r[0])
        problems = np.array([r[1] for r in user_rows], dtype=np.int64)
        skills = np.array([r[2] for r in user_rows], dtype=np.int64)
        correct = np.array([r[3] for r in user_rows], dtype=np.int8)
        repeat = np.zeros(len(user_rows), dtype=bool)
        repeat[1:] = (problems[1:] == problems[:-1]) & (correct[1:] == correct[:-1]) & (skills[1:] != skills[:-1])
        sequences.append(StudentSequence(student=user, skills=skills, items=problems, correct=correct,
                                         first_of_group=~repeat))
    return sequences


def detect_format(path: str | Path) -> str:
    """'pid_csv' when the first line is the assist2009_pid header, else 'dkvmn'."""
    with Path(path).open() as handle:
        first = handle.readline().strip()
    return "pid_csv" if first.startswith("user_id,") else "dkvmn"


def read_sequences(paths: Iterable[str | Path]) -> list[StudentSequence]:
    """Read and concatenate files; all must share one format."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise KTDataError("no files given")
    formats = {detect_format(p) for p in paths}
    if len(formats) > 1:
        raise KTDataError(f"files mix formats: {sorted(formats)}")
    sequences: list[StudentSequence] = []
    for p in paths:
        if formats == {"pid_csv"}:
            sequences.extend(read_assist2009_pid(p))
        else:
            # A Q-matrix beside a DKVMN file (Statics 2011 ships one) maps its tags to skills.
            qmatrix_file = p.parent / QMATRIX_NAME
            sequences.extend(read_dkvmn(p, qmatrix=read_qmatrix(qmatrix_file) if qmatrix_file.exists() else None))
    return sequences


def split_students(sequences: Sequence[StudentSequence], fraction: float, *, salt: str = "kt"
                   ) -> tuple[list[StudentSequence], list[StudentSequence]]:
    """Deterministic split by a hash of the student id: (rest, held) with about ``fraction`` held."""
    held, rest = [], []
    for s in sequences:
        h = int(hashlib.sha256(f"{salt}:{s.student}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held if h < fraction else rest).append(s)
    return rest, held


@dataclass(frozen=True)
class BKTTruth:
    prior: float
    learn: float
    guess: float
    slip: float


def generate_bkt_sequences(truths: Sequence[BKTTruth], *, n_students: int, length: int, seed: int
                           ) -> list[StudentSequence]:
    """Simulate students practising skills (random interleaving) under known BKT parameters."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n_students):
        n_skills = len(truths)
        learned = np.array([rng.random() < t.prior for t in truths])
        skills = rng.integers(0, n_skills, size=length)
        correct = np.zeros(length, dtype=np.int8)
        for i, k in enumerate(skills):
            t = truths[k]
            p = 1 - t.slip if learned[k] else t.guess
            correct[i] = rng.random() < p
            if not learned[k] and rng.random() < t.learn:
                learned[k] = True
        out.append(StudentSequence.from_lists(f"synthetic:{s}", skills.tolist(), correct.tolist()))
    return out
