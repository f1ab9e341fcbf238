"""The one set of content rules every importer applies (records are validated after
each format has been read, so formats only check their own syntax)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

from .records import (
    CardRecord,
    CompetencyRecord,
    DisciplineRecord,
    ImportBundle,
    ImportIssue,
    InvalidImportFile,
    ItemRecord,
)

DIFFICULTIES = ("easy", "medium", "hard")
ITEM_KINDS = ("single", "short")
CARD_KINDS = ("basic", "cloze")
COMPETENCY_KINDS = ("system", "topic")
MIN_OPTIONS, MAX_OPTIONS = 2, 10

# Maximum lengths in characters.
MAX_STEM = 20_000
MAX_LEAD_IN = 2_000
MAX_OPTION = 2_000
MAX_EXPLANATION = 20_000
MAX_ID = 100  # Moodle idnumber is at most 100 characters
MAX_CODE = 100
MAX_NAME = 300
MAX_TAG = 100
MAX_SHORT = 500  # source, licence, image path

CODE_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
CLOZE_RE = re.compile(r"\{\{c\d+::.+?\}\}", re.S)

# Markup that could run script if a renderer ever forgot to escape. Plain "<" / ">"
# (e.g. "pH < 7.2") is fine: the web layer escapes text on render.
_DANGEROUS = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style)\b"
    r"|(javascript|vbscript)\s*:"
    r"|<[a-z][^<>]*?[\s/\"']on[a-z]+\s*=",  # [^<>] keeps this linear on long texts
    re.I,
)
# C0 controls (other than tab/newline/CR), NUL, lone surrogates and non-characters break
# PostgreSQL text columns, XML export or UTF-8 encoding.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text_problem(value: str, max_len: int, *, required: bool = False) -> str | None:
    """Why this text is unacceptable, or None."""
    if required and not value.strip():
        return "must not be empty"
    if len(value) > max_len:
        return f"is too long ({len(value)} characters; the limit is {max_len})"
    bad = _BAD_CHARS.search(value)
    if bad:
        return f"contains a control character (U+{ord(bad.group()):04X}) at position {bad.start() + 1}"
    return markup_problem(value)


def markup_problem(value: str) -> str | None:
    """Like text_problem, but only the dangerous-markup rule (for raw HTML before conversion)."""
    danger = _DANGEROUS.search(value)
    if danger:
        return (f"contains markup that is not allowed ({danger.group()[:30]!r}); "
                "remove scripts, frames, styles and event handlers")
    return None


def has_duplicate_texts(texts: Iterable[str]) -> bool:
    seen = [t.strip() for t in texts]
    return len(set(seen)) != len(seen)


def _label(kind: str, key: str) -> str:
    return f"{kind} '{key}'" if key else kind


Add = Callable[[str, str | None], None]


def _adder(out: list[ImportIssue], line: int | None, record: str) -> Add:
    def add(message: str, field: str | None = None) -> None:
        out.append(ImportIssue(message, line, record, field))

    return add


def _text(add: Add, value: str, field: str, max_len: int, required: bool = False) -> None:
    problem = text_problem(value, max_len, required=required)
    if problem:
        add(problem, field)


def _code(add: Add, value: str | None, field: str, required: bool = False) -> None:
    if value is None:
        if required:
            add("required field is missing", field)
        return
    if len(value) > MAX_CODE or not CODE_RE.match(value):
        add(f"code {value[:60]!r} is invalid: use lowercase letters, digits, '.', '-' or '_' "
            f"(at most {MAX_CODE} characters)", field)


def _tags(add: Add, tags: tuple[str, ...]) -> None:
    for tag in tags:
        if not tag.strip() or tag != tag.strip() or ";" in tag:
            add(f"tag {tag[:60]!r} is invalid: tags must be non-empty, without surrounding spaces or ';'", "tags")
        else:
            _text(add, tag, "tags", MAX_TAG)
    if len(set(tags)) != len(tags):
        add("lists the same tag twice", "tags")


def _letter(i: int) -> str:
    return chr(ord("A") + i) if 0 <= i < 26 else "?"


def validate_item(item: ItemRecord) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    add = _adder(out, item.line, _label("item", item.external_id))
    _text(add, item.external_id, "id", MAX_ID, required=True)
    _text(add, item.stem, "stem", MAX_STEM, required=True)
    _text(add, item.lead_in, "lead_in", MAX_LEAD_IN)
    _text(add, item.explanation, "explanation", MAX_EXPLANATION)
    _text(add, item.source, "source", MAX_SHORT)
    _text(add, item.licence, "licence", MAX_SHORT)
    _code(add, item.competency, "competency")
    _code(add, item.discipline, "discipline")
    _code(add, item.objective, "objective")
    _tags(add, item.tags)
    if item.difficulty is not None and item.difficulty not in DIFFICULTIES:
        add(f"unknown difficulty {item.difficulty[:40]!r}; use easy, medium or hard", "difficulty")
    if item.image is not None:
        _text(add, item.image, "image", MAX_SHORT, required=True)
        if re.match(r"^([a-z][a-z0-9+.-]*:|/|\\)", item.image, re.I) or ".." in re.split(r"[/\\]", item.image):
            add("image must be a path relative to the import file (no '..', no URL)", "image")
    if item.kind == "single":
        _check_single(add, item)
    elif item.kind == "short":
        _check_short(add, item)
    else:
        add(f"unknown kind {item.kind[:40]!r}; use single or short", "kind")
    return out


def _check_single(add: Add, item: ItemRecord) -> None:
    n = len(item.options)
    if not MIN_OPTIONS <= n <= MAX_OPTIONS:
        add(f"an item needs {MIN_OPTIONS} to {MAX_OPTIONS} options, found {n}", "options")
    for i, option in enumerate(item.options):
        _text(add, option.text, f"options[{i}].text", MAX_OPTION, required=True)
        _text(add, option.explanation, f"options[{i}].explanation", MAX_EXPLANATION)
    if has_duplicate_texts(o.text for o in item.options):
        add("two options have the same text; option texts must differ", "options")
    if item.key is None:
        add("required field is missing (the index of the correct option)", "key")
    elif n and not 0 <= item.key < n:
        add(f"key {item.key} (option {_letter(item.key)}) is not among the {n} options "
            f"(keys are 0-based: 0 to {n - 1})", "key")
    if item.answers:
        add("only short-answer items (kind 'short') have answers", "answers")


def _check_short(add: Add, item: ItemRecord) -> None:
    if item.options or item.key is not None:
        add("short-answer items have answers, not options or a key", "options")
    if not item.answers:
        add("a short-answer item needs at least one answer", "answers")
    for i, answer in enumerate(item.answers):
        _text(add, answer.text, f"answers[{i}].text", MAX_OPTION, required=True)
        _text(add, answer.feedback, f"answers[{i}].feedback", MAX_EXPLANATION)
        if not (math.isfinite(answer.score) and 0.0 <= answer.score <= 1.0):
            add(f"score {answer.score} must be between 0 and 1", f"answers[{i}].score")
    if item.answers and not any(a.score == 1.0 for a in item.answers):
        add("at least one answer must have score 1 (fully correct)", "answers")
    if has_duplicate_texts(a.text for a in item.answers):
        add("two answers have the same text", "answers")


def validate_card(card: CardRecord) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    add = _adder(out, card.line, _label("card", card.external_id))
    _text(add, card.external_id, "id", MAX_ID, required=True)
    _text(add, card.front, "front", MAX_STEM, required=True)
    _text(add, card.back, "back", MAX_EXPLANATION, required=card.kind == "basic")
    _code(add, card.competency, "competency")
    if card.item is not None:
        _text(add, card.item, "item", MAX_ID, required=True)
    _tags(add, card.tags)
    if card.kind == "cloze":
        if not CLOZE_RE.search(card.front):
            add("a cloze card's front needs at least one deletion like {{c1::answer}}", "front")
    elif card.kind != "basic":
        add(f"unknown kind {card.kind[:40]!r}; use basic or cloze", "kind")
    return out


def validate_competency(comp: CompetencyRecord) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    add = _adder(out, comp.line, _label("competency", comp.code))
    _code(add, comp.code, "code", required=True)
    _text(add, comp.name, "name", MAX_NAME, required=True)
    _code(add, comp.parent, "parent")
    if comp.kind not in COMPETENCY_KINDS:
        add(f"unknown kind {comp.kind[:40]!r}; use system or topic", "kind")
    elif comp.kind == "system" and comp.parent is not None:
        add("a system is a root of the outline and has no parent", "parent")
    elif comp.kind == "topic" and comp.parent is None:
        add("a topic needs a parent", "parent")
    if comp.parent is not None and not comp.code.startswith(comp.parent + "."):
        add(f"code {comp.code!r} must start with its parent's code followed by a dot ({comp.parent}.)", "code")
    if not (math.isfinite(comp.weight) and comp.weight >= 0):
        add("weight must be a number of at least 0", "weight")
    for i, objective in enumerate(comp.objectives):
        _code(add, objective.code, f"objectives[{i}].code", required=True)
        _text(add, objective.text, f"objectives[{i}].text", MAX_OPTION, required=True)
    return out


def validate_discipline(disc: DisciplineRecord, line: int | None = None) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    add = _adder(out, line, _label("discipline", disc.code))
    _code(add, disc.code, "code", required=True)
    _text(add, disc.name, "name", MAX_NAME, required=True)
    return out


def _duplicates(out: list[ImportIssue], kind: str, field: str, keyed: Iterable[tuple[str, int | None]]) -> None:
    first: dict[str, int | None] = {}
    for key, line in keyed:
        if key in first:
            where = f" (first at line {first[key]})" if first[key] is not None else ""
            out.append(ImportIssue(f"duplicate {field} {key[:80]!r} within the file{where}", line,
                                   _label(kind, key), field))
        else:
            first[key] = line


# Format-level field names that stand for a shared field, so that one mistake is reported once.
_FIELD_ALIASES = {"answer_idx": "key", "final_decision": "key", "cop": "key", "questiontext": "stem",
                  "question": "stem", "contexts": "stem"}


def _root(field: str) -> str:
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    return _FIELD_ALIASES.get(root, root)


def _new_problems(reported: list[ImportIssue], found: list[ImportIssue]) -> list[ImportIssue]:
    """Drop record-level issues about a field whose raw value was already reported on that line."""
    seen = {(i.line, _root(i.field)) for i in reported if i.field and i.line is not None}
    return [i for i in found if not (i.field and (i.line, _root(i.field)) in seen)]


def build_bundle(
    issues: list[ImportIssue],
    *,
    disciplines: Iterable[tuple[DisciplineRecord, int | None]] = (),
    competencies: Iterable[CompetencyRecord] = (),
    items: Iterable[ItemRecord] = (),
    cards: Iterable[CardRecord] = (),
    notes: Iterable[str] = (),
    skipped: int = 0,
) -> ImportBundle:
    """Validate every record and the file as a whole; raise with all issues or return the bundle."""
    discs, comps, its, crds = list(disciplines), list(competencies), list(items), list(cards)
    found: list[ImportIssue] = []
    for disc, line in discs:
        found += validate_discipline(disc, line)
    for comp in comps:
        found += validate_competency(comp)
    for item in its:
        found += validate_item(item)
    for card in crds:
        found += validate_card(card)
    out = list(issues) + _new_problems(issues, found)
    _duplicates(out, "discipline", "code", ((d.code, ln) for d, ln in discs))
    _duplicates(out, "competency", "code", ((c.code, c.line) for c in comps))
    _duplicates(out, "objective", "code", ((o.code, c.line) for c in comps for o in c.objectives))
    _duplicates(out, "item", "id", ((i.external_id, i.line) for i in its))
    _duplicates(out, "card", "id", ((c.external_id, c.line) for c in crds))
    if out:
        # Report in file order so the first problems shown are the first in the file.
        out.sort(key=lambda i: i.line or 0)
        raise InvalidImportFile(out)
    if not (discs or comps or its or crds or skipped):
        raise InvalidImportFile("the file contains no records")
    return ImportBundle(
        disciplines=tuple(d for d, _ in discs),
        competencies=tuple(comps),
        items=tuple(its),
        cards=tuple(crds),
        notes=tuple(notes),
        skipped=skipped,
    )
