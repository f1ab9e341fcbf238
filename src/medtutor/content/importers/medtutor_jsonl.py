"""medtutor's own JSON Lines format (docs/content-format.md)."""

from __future__ import annotations

from typing import Any

from .common import Fields, iter_json_records
from .records import (
    CardRecord,
    CompetencyRecord,
    DisciplineRecord,
    ImportBundle,
    ImportIssue,
    ItemRecord,
    ObjectiveRecord,
    OptionRecord,
    ShortAnswerRecord,
)
from .validation import build_bundle

ITEM_FIELDS = {"type", "id", "stem", "lead_in", "options", "key", "kind", "answers", "explanation",
               "competency", "discipline", "objective", "tags", "difficulty", "source", "licence", "image"}
CARD_FIELDS = {"type", "id", "kind", "front", "back", "competency", "tags", "item"}
COMPETENCY_FIELDS = {"type", "code", "name", "parent", "kind", "weight", "objectives", "staff_only"}
DISCIPLINE_FIELDS = {"type", "code", "name"}
TYPES = ("discipline", "competency", "item", "card")


def parse_medtutor(text: str) -> ImportBundle:
    issues: list[ImportIssue] = []
    disciplines: list[tuple[DisciplineRecord, int | None]] = []
    competencies: list[CompetencyRecord] = []
    items: list[ItemRecord] = []
    cards: list[CardRecord] = []
    for line, obj in iter_json_records(text, issues):
        rtype = obj.get("type")
        if not isinstance(rtype, str) or rtype not in TYPES:
            shown = repr(rtype)[:40] if "type" in obj else "missing"
            issues.append(ImportIssue(f"unknown record type {shown}; expected one of {', '.join(TYPES)}",
                                      line, None, "type"))
            continue
        if rtype == "item":
            items.append(_item(obj, issues, line))
        elif rtype == "card":
            cards.append(_card(obj, issues, line))
        elif rtype == "competency":
            competencies.append(_competency(obj, issues, line))
        else:
            f = Fields(obj, issues, line, _label("discipline", obj.get("code")))
            f.unknown(DISCIPLINE_FIELDS)
            disciplines.append((DisciplineRecord(f.text("code", required=True), f.text("name", required=True)), line))
    return build_bundle(issues, disciplines=disciplines, competencies=competencies, items=items, cards=cards)


def _label(kind: str, key: Any) -> str:
    return f"{kind} '{key}'" if isinstance(key, str) and key else kind


def _item(obj: dict[str, Any], issues: list[ImportIssue], line: int | None) -> ItemRecord:
    f = Fields(obj, issues, line, _label("item", obj.get("id")))
    f.unknown(ITEM_FIELDS)
    kind = f.text("kind", default="single")
    options = []
    for i, o in enumerate(f.object_list("options")):
        of = Fields(o, issues, line, f.record)
        for name in o:
            if name not in ("text", "explanation"):
                of.issue("unknown field (check the spelling)", f"options[{i}].{name}")
        options.append(OptionRecord(_sub(of, o, "text", i, "options", True), _sub(of, o, "explanation", i, "options")))
    answers = []
    for i, a in enumerate(f.object_list("answers")):
        af = Fields(a, issues, line, f.record)
        for name in a:
            if name not in ("text", "score", "feedback"):
                af.issue("unknown field (check the spelling)", f"answers[{i}].{name}")
        score = a.get("score", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            af.issue("must be a number between 0 and 1", f"answers[{i}].score")
            score = 1.0
        answers.append(ShortAnswerRecord(_sub(af, a, "text", i, "answers", True), float(score),
                                         _sub(af, a, "feedback", i, "answers")))
    return ItemRecord(
        external_id=f.text("id", required=True),
        stem=f.text("stem", required=True),
        lead_in=f.text("lead_in"),
        options=tuple(options),
        key=f.integer("key"),
        kind=kind,
        answers=tuple(answers),
        explanation=f.text("explanation"),
        competency=f.optional_text("competency"),
        discipline=f.optional_text("discipline"),
        objective=f.optional_text("objective"),
        tags=f.text_list("tags"),
        difficulty=f.optional_text("difficulty"),
        source=f.text("source"),
        licence=f.text("licence"),
        image=f.optional_text("image"),
        line=line,
    )


def _sub(f: Fields, obj: dict[str, Any], name: str, i: int, parent: str, required: bool = False) -> str:
    value = obj.get(name, None if required else "")
    if not isinstance(value, str):
        missing = required and name not in obj
        f.issue("required field is missing" if missing else "must be a string", f"{parent}[{i}].{name}")
        return ""
    return value


def _card(obj: dict[str, Any], issues: list[ImportIssue], line: int | None) -> CardRecord:
    f = Fields(obj, issues, line, _label("card", obj.get("id")))
    f.unknown(CARD_FIELDS)
    return CardRecord(
        external_id=f.text("id", required=True),
        kind=f.text("kind", required=True),
        front=f.text("front", required=True),
        back=f.text("back"),
        competency=f.optional_text("competency"),
        tags=f.text_list("tags"),
        item=f.optional_text("item"),
        line=line,
    )


def _competency(obj: dict[str, Any], issues: list[ImportIssue], line: int | None) -> CompetencyRecord:
    f = Fields(obj, issues, line, _label("competency", obj.get("code")))
    f.unknown(COMPETENCY_FIELDS)
    objectives = []
    for i, o in enumerate(f.object_list("objectives")):
        of = Fields(o, issues, line, f.record)
        for name in o:
            if name not in ("code", "text"):
                of.issue("unknown field (check the spelling)", f"objectives[{i}].{name}")
        objectives.append(ObjectiveRecord(_sub(of, o, "code", i, "objectives", True),
                                          _sub(of, o, "text", i, "objectives", True)))
    return CompetencyRecord(
        code=f.text("code", required=True),
        name=f.text("name", required=True),
        parent=f.optional_text("parent"),
        kind=f.text("kind", required=True),
        weight=f.number("weight", default=1.0),
        objectives=tuple(objectives),
        staff_only=f.optional_flag("staff_only"),
        line=line,
    )
