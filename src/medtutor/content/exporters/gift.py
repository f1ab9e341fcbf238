"""GIFT export: multiple choice (one = answer) and short answer questions."""

from __future__ import annotations

from ..importers.gift import escape
from ..importers.records import ImportBundle, ItemRecord
from .common import question_text


def _weight(score: float) -> str:
    if score == 1.0:
        return ""
    value = f"{score * 100:.5f}".rstrip("0").rstrip(".")
    return f"%{value or '0'}%"


def _fb(text: str) -> str:
    return f"#{escape(text)}" if text else ""


def _question(item: ItemRecord) -> str:
    lines = [f"::{escape(item.external_id)}::[plain]{escape(question_text(item))}{{"]
    if item.kind == "short":
        lines += [f"\t={_weight(a.score)}{escape(a.text)}{_fb(a.feedback)}" for a in item.answers]
    else:
        lines += [f"\t{'=' if i == item.key else '~'}{escape(o.text)}{_fb(o.explanation)}"
                  for i, o in enumerate(item.options)]
    if item.explanation:
        lines.append(f"\t####{escape(item.explanation)}")
    lines.append("}")
    return "\n".join(lines)


def export_gift(bundle: ImportBundle) -> bytes:
    header = "// Exported by medtutor. Item ids are the question titles.\n\n"
    return (header + "\n\n".join(_question(i) for i in bundle.items) + "\n").encode("utf-8")
