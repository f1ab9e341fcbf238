"""Plain records produced by every importer and consumed by every exporter (no Django)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DisciplineRecord",
    "ObjectiveRecord",
    "CompetencyRecord",
    "OptionRecord",
    "ShortAnswerRecord",
    "ItemRecord",
    "CardRecord",
    "ImportBundle",
    "ImportIssue",
    "InvalidImportFile",
    "MAX_REPORTED_ISSUES",
]

MAX_REPORTED_ISSUES = 200


@dataclass(frozen=True, slots=True)
class DisciplineRecord:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ObjectiveRecord:
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class CompetencyRecord:
    code: str
    name: str
    parent: str | None
    kind: str  # "system" (root) or "topic"
    weight: float = 1.0
    objectives: tuple[ObjectiveRecord, ...] = ()
    # True: for faculty and administrators only; None: not stated (a new node is for everyone, an
    # existing one keeps its setting, so re-importing an older file never shows staff content to students).
    staff_only: bool | None = None
    # Provenance only: excluded from equality so round trips compare content.
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OptionRecord:
    text: str
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class ShortAnswerRecord:
    text: str
    score: float  # 0..1, 1 = fully correct
    feedback: str = ""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    external_id: str
    stem: str
    lead_in: str
    options: tuple[OptionRecord, ...]
    key: int | None  # 0-based index into options; None for short-answer items
    kind: str = "single"  # "single" or "short"
    answers: tuple[ShortAnswerRecord, ...] = ()
    explanation: str = ""
    competency: str | None = None
    discipline: str | None = None
    objective: str | None = None
    tags: tuple[str, ...] = ()
    difficulty: str | None = None
    source: str = ""
    licence: str = ""
    image: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CardRecord:
    external_id: str
    kind: str  # "basic" or "cloze"
    front: str
    back: str = ""
    competency: str | None = None
    tags: tuple[str, ...] = ()
    item: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ImportBundle:
    """Everything one file contained.

    `notes` are human-readable remarks that did not stop the import (e.g. skipped
    question types); `skipped` counts the records that were left out. Neither takes
    part in equality, so a re-parsed export compares equal to the original.
    """

    disciplines: tuple[DisciplineRecord, ...] = ()
    competencies: tuple[CompetencyRecord, ...] = ()
    items: tuple[ItemRecord, ...] = ()
    cards: tuple[CardRecord, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    skipped: int = field(default=0, compare=False)

    def counts(self) -> dict[str, int]:
        return {
            "disciplines": len(self.disciplines),
            "competencies": len(self.competencies),
            "objectives": sum(len(c.objectives) for c in self.competencies),
            "items": len(self.items),
            "cards": len(self.cards),
            "skipped": self.skipped,
        }


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem in an import file; `record` is a label such as "item 'q-7'"."""

    message: str
    line: int | None = None
    record: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record:
            where.append(self.record)
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InvalidImportFile(Exception):
    """The file cannot be imported; `issues` lists every problem found (capped)."""

    def __init__(self, issues: list[ImportIssue] | ImportIssue | str) -> None:
        if isinstance(issues, str):
            issues = [ImportIssue(issues)]
        elif isinstance(issues, ImportIssue):
            issues = [issues]
        issues = list(issues) or [ImportIssue("the file could not be imported")]
        total = len(issues)
        if total > MAX_REPORTED_ISSUES:
            issues = issues[:MAX_REPORTED_ISSUES] + [
                ImportIssue(f"...and {total - MAX_REPORTED_ISSUES} more problems")
            ]
        self.issues: list[ImportIssue] = issues
        self.total: int = total
        head = "; ".join(str(i) for i in issues[:3])
        more = f" (and {total - 3} more)" if total > 3 else ""
        noun = "problem" if total == 1 else "problems"
        super().__init__(f"{total} {noun} in the import file: {head}{more}")
