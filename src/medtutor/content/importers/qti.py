"""IMS QTI 2.1 import: a content package (zip with imsmanifest.xml) or one assessmentItem XML file.

Reads choiceInteraction items with one correct choice and textEntryInteraction items (accepted
answers and their scores from the mapping, else the correct response). Other interactions are
skipped with a note. Every problem is reported with the file it is in; nothing imports unless all
is well. XML is read with defusedxml (no entities, no DTDs); the zip is checked for unsafe names,
too many members and zip-bomb ratios before anything is decompressed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from .common import MAX_IMPORT_BYTES
from .records import ImportBundle, ImportIssue, InvalidImportFile, ItemRecord, OptionRecord, ShortAnswerRecord
from .validation import build_bundle

MAX_MEMBERS = 20_000
MAX_RATIO = 100
KEYWORD_FIELDS = ("competency", "discipline", "objective", "difficulty", "source", "licence")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: Element, name: str) -> list[Element]:
    return [child for child in node if _local(child.tag) == name]


def _find(node: Element, name: str) -> Element | None:
    return next((n for n in node.iter() if _local(n.tag) == name), None)


def _find_all(node: Element, name: str) -> list[Element]:
    return [n for n in node.iter() if _local(n.tag) == name]


def _text(node: Element | None, *, skip: tuple[str, ...] = ()) -> str:
    """Visible text with paragraphs as blank lines and <br/> as line breaks; `skip` drops sub-elements."""
    if node is None:
        return ""
    parts: list[str] = []

    def walk(element: Element) -> None:
        name = _local(element.tag)
        if name in skip:
            if element.tail:
                parts.append(element.tail)
            return
        if name == "br":
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
        if name in ("p", "div", "li"):
            parts.append("\n\n")
        if element.tail and element is not node:
            parts.append(element.tail)

    walk(node)
    text = re.sub(r"[ \t]+", " ", "".join(parts))
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _parse_xml(data: bytes, where: str) -> Element:
    try:
        return safe_xml.fromstring(data)
    except DefusedXmlException as error:
        raise InvalidImportFile(ImportIssue(f"{where}: entity or DTD features are refused for security ({error})")) from None
    except safe_xml.ParseError as error:
        raise InvalidImportFile(ImportIssue(f"{where}: XML syntax error ({error})")) from None


def _metadata(manifest: Element | None) -> dict[str, tuple[str | None, dict[str, str], list[str]]]:
    """href -> (our external id, keyword fields, tags) from the manifest's LOM metadata."""
    found: dict[str, tuple[str | None, dict[str, str], list[str]]] = {}
    if manifest is None:
        return found
    for resource in _find_all(manifest, "resource"):
        href = resource.get("href", "")
        identifier = _find(resource, "entry")
        fields: dict[str, str] = {}
        tags: list[str] = []
        for keyword in _find_all(resource, "keyword"):
            word = _text(keyword)
            name, _, value = word.partition(":")
            if name == "tag" and value:
                tags.append(value)
            elif name in KEYWORD_FIELDS and value:
                fields[name] = value
        found[href] = (_text(identifier) or None, fields, tags)
    return found


def _item(root: Element, where: str, meta: tuple[str | None, dict[str, str], list[str]] | None,
          issues: list[ImportIssue], skipped: Counter[str]) -> ItemRecord | None:
    if _local(root.tag) != "assessmentItem":
        issues.append(ImportIssue(f"{where}: the root element is <{_local(root.tag)}>, not <assessmentItem>"))
        return None
    external_id = (meta[0] if meta and meta[0] else None) or root.get("title") or root.get("identifier") or where
    record = f"item '{external_id}'"
    body = _find(root, "itemBody")
    if body is None:
        issues.append(ImportIssue(f"{where}: no <itemBody>", record=record))
        return None
    fields, tags = (meta[1], meta[2]) if meta else ({}, [])
    explanation = _text(_find(root, "modalFeedback"))
    common = dict(external_id=external_id[:200], explanation=explanation, tags=tuple(tags),
                  competency=fields.get("competency"), discipline=fields.get("discipline"),
                  objective=fields.get("objective"), difficulty=fields.get("difficulty"),
                  source=fields.get("source", ""), licence=fields.get("licence", ""))
    choice = _find(body, "choiceInteraction")
    entry = _find(body, "textEntryInteraction")
    correct = [_text(v) for v in _find_all(_find(root, "correctResponse") or Element("x"), "value")]
    if choice is not None:
        choices = _children(choice, "simpleChoice")
        ids = [c.get("identifier", "") for c in choices]
        if len(correct) != 1 or correct[0] not in ids:
            issues.append(ImportIssue(f"{where}: a single-answer question needs exactly one correct choice "
                                      f"(found {', '.join(correct) or 'none'})", record=record, field="correctResponse"))
            return None
        options = tuple(OptionRecord(_text(c, skip=("feedbackInline", "feedbackBlock")),
                                     _text(_find(c, "feedbackInline"))) for c in choices)
        stem = _text(body, skip=("choiceInteraction",))
        return ItemRecord(stem=stem, lead_in=_text(_find(choice, "prompt")), options=options,
                          key=ids.index(correct[0]), **common)  # type: ignore[arg-type]
    if entry is not None:
        mapping = _find_all(root, "mapEntry")
        answers = tuple(ShortAnswerRecord(m.get("mapKey", ""), float(m.get("mappedValue", "0") or 0))
                        for m in mapping) or tuple(ShortAnswerRecord(text, 1.0) for text in correct)
        if not answers:
            issues.append(ImportIssue(f"{where}: a short-answer question without any accepted answer", record=record))
            return None
        stem = _text(body)  # QTI has no separate lead-in for text entry: stem and prompt share the body
        return ItemRecord(stem=stem, lead_in="", options=(), key=None, kind="short", answers=answers,
                          **common)  # type: ignore[arg-type]
    interaction = next((_local(n.tag) for n in body.iter() if _local(n.tag).endswith("Interaction")), "none")
    skipped[interaction] += 1
    return None


def _safe_zip(data: bytes) -> zipfile.ZipFile:
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidImportFile("not a QTI package: the file is not a zip archive") from None
    members = package.infolist()
    if len(members) > MAX_MEMBERS:
        raise InvalidImportFile(f"the package holds {len(members)} files; at most {MAX_MEMBERS}")
    total = 0
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
            raise InvalidImportFile(f"unsafe file name in the package: {member.filename!r}")
        if member.file_size > 1024**2 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise InvalidImportFile(f"{member.filename!r} expands too much: refused as a possible zip bomb")
        total += member.file_size
    if total > MAX_IMPORT_BYTES:
        raise InvalidImportFile(f"the package expands to more than {MAX_IMPORT_BYTES // 1024**2} MB")
    return package


def parse_qti(data: bytes) -> ImportBundle:
    issues: list[ImportIssue] = []
    skipped: Counter[str] = Counter()
    items: list[ItemRecord] = []
    if data[:2] == b"PK":
        package = _safe_zip(data)
        names = set(package.namelist())
        manifest = _parse_xml(package.read("imsmanifest.xml"), "imsmanifest.xml") if "imsmanifest.xml" in names else None
        meta = _metadata(manifest)
        hrefs = [r.get("href", "") for r in _find_all(manifest, "resource")
                 if "imsqti_item" in r.get("type", "")] if manifest is not None else []
        hrefs = hrefs or sorted(n for n in names if n.endswith(".xml") and n not in ("imsmanifest.xml",))
        for href in hrefs:
            if href not in names:
                issues.append(ImportIssue(f"the manifest lists {href!r}, which is not in the package"))
                continue
            root = _parse_xml(package.read(href), href)
            if _local(root.tag) == "assessmentTest":
                continue
            item = _item(root, href, meta.get(href), issues, skipped)
            if item is not None:
                items.append(item)
    else:
        item = _item(_parse_xml(data, "the file"), "the file", None, issues, skipped)
        if item is not None:
            items.append(item)
    notes = [f"skipped {n} question(s) with a {kind}: not supported" for kind, n in sorted(skipped.items())]
    if not items and not issues:
        issues.append(ImportIssue("no questions found in the QTI file"))
    return build_bundle(issues, items=items, notes=notes, skipped=sum(skipped.values()))
