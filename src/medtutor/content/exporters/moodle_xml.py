"""Moodle XML export: multichoice (single answer) and shortanswer questions.

Texts are written as format="plain_text" inside CDATA so Moodle shows them verbatim
(it escapes plain text on display) and our importer reads them back unchanged."""

from __future__ import annotations

from ..importers.records import ImportBundle, ItemRecord
from .common import question_text


def cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text(tag: str, text: str, indent: str, fmt: bool = True) -> str:
    attr = ' format="plain_text"' if fmt else ""
    return f"{indent}<{tag}{attr}><text>{cdata(text)}</text></{tag}>\n"


def _fraction(score: float) -> str:
    value = f"{score * 100:.7f}".rstrip("0").rstrip(".")
    return value or "0"


def _question(item: ItemRecord) -> str:
    qtype = "shortanswer" if item.kind == "short" else "multichoice"
    out = [f'  <question type="{qtype}">\n']
    out.append(_text("name", item.external_id, "    ", fmt=False))
    out.append(_text("questiontext", question_text(item), "    "))
    out.append(_text("generalfeedback", item.explanation, "    "))
    out.append("    <defaultgrade>1</defaultgrade>\n    <penalty>0.3333333</penalty>\n    <hidden>0</hidden>\n")
    out.append(f"    <idnumber>{cdata(item.external_id)}</idnumber>\n")
    if item.kind == "short":
        out.append("    <usecase>0</usecase>\n")
        for answer in item.answers:
            out.append(f'    <answer fraction="{_fraction(answer.score)}" format="plain_text">\n')
            out.append(f"      <text>{cdata(answer.text)}</text>\n")
            out.append(_text("feedback", answer.feedback, "      "))
            out.append("    </answer>\n")
    else:
        out.append("    <single>true</single>\n    <shuffleanswers>true</shuffleanswers>\n"
                   "    <answernumbering>abc</answernumbering>\n")
        for i, option in enumerate(item.options):
            out.append(f'    <answer fraction="{100 if i == item.key else 0}" format="plain_text">\n')
            out.append(f"      <text>{cdata(option.text)}</text>\n")
            out.append(_text("feedback", option.explanation, "      "))
            out.append("    </answer>\n")
    if item.tags:
        out.append("    <tags>\n")
        out.extend(f"      <tag><text>{cdata(tag)}</text></tag>\n" for tag in item.tags)
        out.append("    </tags>\n")
    out.append("  </question>\n")
    return "".join(out)


def export_moodle_xml(bundle: ImportBundle) -> bytes:
    body = "".join(_question(item) for item in bundle.items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n{body}</quiz>\n'.encode("utf-8")
