"""Lossless export to medtutor JSON Lines (docs/content-format.md)."""

from __future__ import annotations

import json
from typing import Any

from ..importers.records import CardRecord, CompetencyRecord, ImportBundle, ItemRecord


def _line(obj: dict[str, Any]) -> str:
    # ensure_ascii=False keeps the file readable; lone surrogates never reach here (validated).
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _competency(c: CompetencyRecord) -> dict[str, Any]:
    obj = {"type": "competency", "code": c.code, "name": c.name, "parent": c.parent, "kind": c.kind,
           "weight": c.weight, "objectives": [{"code": o.code, "text": o.text} for o in c.objectives]}
    if c.staff_only is not None:
        obj["staff_only"] = c.staff_only
    return obj


def _item(i: ItemRecord) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "item", "id": i.external_id, "stem": i.stem, "lead_in": i.lead_in}
    if i.kind != "single":
        obj["kind"] = i.kind
    if i.options or i.kind == "single":
        obj["options"] = [{"text": o.text, "explanation": o.explanation} for o in i.options]
    if i.key is not None:
        obj["key"] = i.key
    if i.answers:
        obj["answers"] = [{"text": a.text, "score": a.score, "feedback": a.feedback} for a in i.answers]
    optional = {"explanation": i.explanation, "competency": i.competency, "discipline": i.discipline,
                "objective": i.objective, "tags": list(i.tags), "difficulty": i.difficulty,
                "source": i.source, "licence": i.licence, "image": i.image}
    obj.update({k: v for k, v in optional.items() if v not in (None, "", [])})
    return obj


def _card(c: CardRecord) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "card", "id": c.external_id, "kind": c.kind, "front": c.front, "back": c.back,
                           "competency": c.competency, "tags": list(c.tags)}
    if c.item is not None:
        obj["item"] = c.item
    return obj


def export_medtutor(bundle: ImportBundle) -> bytes:
    lines = [_line({"type": "discipline", "code": d.code, "name": d.name}) for d in bundle.disciplines]
    lines += [_line(_competency(c)) for c in bundle.competencies]
    lines += [_line(_item(i)) for i in bundle.items]
    lines += [_line(_card(c)) for c in bundle.cards]
    return "".join(line + "\n" for line in lines).encode("utf-8")
