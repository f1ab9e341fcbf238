"""Reading the DDXPlus knowledge base and patient files into plain dataclasses.

DDXPlus (Fansi Tchango et al., NeurIPS 2022 Datasets & Benchmarks, arXiv:2205.09148): 49 pathologies,
223 evidences (binary `B`, categorical `C`, multi-choice `M`), synthetic patients with a ground-truth
pathology, an initial complaint and a differential. Schema: ../shared/data/ddxplus/README.md.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import io
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PATIENT_COLUMNS = ("AGE", "DIFFERENTIAL_DIAGNOSIS", "SEX", "PATHOLOGY", "EVIDENCES", "INITIAL_EVIDENCE")


class DdxDataError(ValueError):
    """A knowledge-base or patient file that cannot be used, with the reason (file, line, field)."""


@dataclass(frozen=True)
class Question:
    """One evidence of the knowledge base, asked as a question."""

    code: str
    kind: str  # "B" binary, "C" categorical or numeric scale, "M" multi-choice
    parent: str | None  # a follow-up question is asked only once its parent is answered positive
    text_en: str
    text_fr: str
    is_antecedent: bool
    default: str  # the value of a patient who does not report this evidence
    values: tuple[str, ...] = ()  # C and M: the possible values
    value_en: dict[str, str] = field(default_factory=dict)
    value_fr: dict[str, str] = field(default_factory=dict)

    def value_label(self, value: str, lang: str = "en") -> str:
        labels = self.value_en if lang == "en" else self.value_fr
        return labels.get(value, value)


@dataclass(frozen=True)
class Pathology:
    name: str
    name_en: str
    name_fr: str
    icd10: str
    severity: int  # 1 = most severe .. 5
    evidences: frozenset[str]  # the KB's symptoms and antecedents of this pathology
    symptoms: frozenset[str]


@dataclass(frozen=True)
class KnowledgeBase:
    questions: tuple[Question, ...]
    pathologies: tuple[Pathology, ...]
    digest: str = ""

    def question(self, code: str) -> Question:
        return self._by_code()[code]

    def _by_code(self) -> dict[str, Question]:
        cache = self.__dict__.get("_question_index")
        if cache is None:
            cache = {q.code: q for q in self.questions}
            object.__setattr__(self, "_question_index", cache)
        return cache

    def has_question(self, code: str) -> bool:
        return code in self._by_code()

    def pathology(self, name: str) -> Pathology:
        for p in self.pathologies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Patient:
    """One DDXPlus patient. `evidences` maps a code to True (binary), a value (C) or a frozenset (M)."""

    ident: str
    age: int
    sex: str  # "M" or "F"
    pathology: str
    initial_evidence: str
    evidences: dict[str, object]
    differential: tuple[tuple[str, float], ...]


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise DdxDataError(f"cannot read {path}: {error.strerror or error}") from error


def load_kb(folder: Path) -> KnowledgeBase:
    """The English release (`release_evidences.json`, `release_conditions.json`); it carries the French texts too."""
    folder = Path(folder)
    ev_bytes = _read_bytes(folder / "release_evidences.json")
    co_bytes = _read_bytes(folder / "release_conditions.json")
    try:
        evidences = json.loads(ev_bytes)
        conditions = json.loads(co_bytes)
    except json.JSONDecodeError as error:
        raise DdxDataError(f"knowledge base in {folder} is not valid JSON: {error}") from error
    questions = []
    for code, entry in evidences.items():
        parent = entry.get("code_question")
        # Five parents name evidences that do not exist (an upstream quirk): those questions are roots.
        if parent == code or parent not in evidences:
            parent = None
        meaning = entry.get("value_meaning") or {}
        questions.append(Question(
            code=code, kind=entry["data_type"], parent=parent, text_en=entry["question_en"],
            text_fr=entry["question_fr"], is_antecedent=bool(entry["is_antecedent"]),
            default="0" if entry["data_type"] == "B" else str(entry["default_value"]),
            values=tuple(str(v) for v in entry.get("possible-values") or ()),
            value_en={k: v.get("en", k) for k, v in meaning.items()},
            value_fr={k: v.get("fr", k) for k, v in meaning.items()}))
    pathologies = []
    for name, entry in conditions.items():
        symptoms = frozenset(entry.get("symptoms") or ())
        pathologies.append(Pathology(
            name=name, name_en=entry.get("cond-name-eng", name), name_fr=entry.get("cond-name-fr", name),
            icd10=entry.get("icd10-id", ""), severity=int(entry.get("severity", 3)),
            evidences=symptoms | frozenset(entry.get("antecedents") or ()), symptoms=symptoms))
    digest = hashlib.sha256(ev_bytes + co_bytes).hexdigest()
    return KnowledgeBase(tuple(questions), tuple(pathologies), digest)


def file_digest(path: Path) -> str:
    return hashlib.sha256(_read_bytes(Path(path))).hexdigest()


def _open_text(path: Path) -> io.TextIOBase:
    data = _read_bytes(Path(path))
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return io.StringIO(data.decode("utf-8"))


@dataclass(frozen=True)
class CodeMap:
    """French DDXPlus names -> English KB codes (`kb_fr/fr_to_en_code_map.json`), for the French-coded files."""

    evidences: dict[str, str]
    values: dict[str, dict[str, str]]
    pathologies: dict[str, str]

    def evidence(self, item: str) -> str:
        code, sep, value = item.partition("_@_")
        if code not in self.evidences:
            return item
        english = self.evidences[code]
        return english + sep + self.values.get(code, {}).get(value, value) if sep else english

    def pathology(self, name: str) -> str:
        return self.pathologies.get(name, name)


def load_code_map(path: Path) -> CodeMap:
    try:
        data = json.loads(_read_bytes(Path(path)))
        return CodeMap(dict(data["evidence_fr_to_en"]), {k: dict(v) for k, v in data["value_fr_to_en"].items()},
                       dict(data["pathology_fr_to_en"]))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DdxDataError(f"{Path(path).name}: not a French-to-English code map ({error})") from error


def parse_evidences(items: Iterable[str], kb: KnowledgeBase, code_map: CodeMap | None = None) -> dict[str, object]:
    result: dict[str, object] = {}
    for item in items:
        item = code_map.evidence(str(item)) if code_map else item
        code, _, value = str(item).partition("_@_")
        if not kb.has_question(code):
            raise DdxDataError(f"unknown evidence {code!r}")
        kind = kb.question(code).kind
        if kind == "B":
            result[code] = True
        elif kind == "C":
            result[code] = value
        else:
            result[code] = frozenset(result.get(code, frozenset())) | {value}  # type: ignore[arg-type]
    return result


def load_patients(path: Path, kb: KnowledgeBase, *, limit: int | None = None,
                  code_map: CodeMap | None = None) -> list[Patient]:
    """Patients of a DDXPlus CSV (plain or gzipped); the row index (from 0) is the patient id.
    With `code_map`, French-coded rows (the original release) are translated to the English codes."""
    text = _open_text(path)
    reader = csv.DictReader(text)
    missing = [c for c in PATIENT_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise DdxDataError(f"{Path(path).name}: missing column(s) {', '.join(missing)}")
    names = {p.name for p in kb.pathologies}
    patients = []
    for index, row in enumerate(reader):
        line = index + 2
        if code_map is not None:
            row = {**row, "PATHOLOGY": code_map.pathology(row["PATHOLOGY"]),
                   "INITIAL_EVIDENCE": code_map.evidence(row["INITIAL_EVIDENCE"])}
        try:
            evidences = parse_evidences(ast.literal_eval(row["EVIDENCES"]), kb, code_map)
            differential = tuple((code_map.pathology(str(n)) if code_map else str(n), float(p))
                                 for n, p in ast.literal_eval(row["DIFFERENTIAL_DIAGNOSIS"]))
            age = int(row["AGE"])
        except (ValueError, SyntaxError, TypeError) as error:
            raise DdxDataError(f"{Path(path).name} line {line}: {error}") from error
        if row["PATHOLOGY"] not in names:
            raise DdxDataError(f"{Path(path).name} line {line}: unknown PATHOLOGY {row['PATHOLOGY']!r}")
        if row["SEX"] not in ("M", "F"):
            raise DdxDataError(f"{Path(path).name} line {line}: SEX must be M or F, got {row['SEX']!r}")
        if row["INITIAL_EVIDENCE"] not in evidences:
            raise DdxDataError(f"{Path(path).name} line {line}: INITIAL_EVIDENCE is not among EVIDENCES")
        patients.append(Patient(str(index), age, row["SEX"], row["PATHOLOGY"], row["INITIAL_EVIDENCE"],
                                evidences, differential))
        if limit is not None and len(patients) >= limit:
            break
    if not patients:
        raise DdxDataError(f"{Path(path).name}: no patients")
    return patients


def split_patients(patients: Sequence[Patient], *, test_fraction: float = 0.2,
                   seed: int = 0) -> tuple[list[Patient], list[Patient]]:
    """Train/test by patient with a fixed seed (used when only one file is given)."""
    order = list(range(len(patients)))
    random.Random(seed).shuffle(order)
    n_test = max(1, int(round(len(order) * test_fraction)))
    test_ids = set(order[:n_test])
    train = [p for i, p in enumerate(patients) if i not in test_ids]
    test = [p for i, p in enumerate(patients) if i in test_ids]
    return train, test
