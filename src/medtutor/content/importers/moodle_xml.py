"""Moodle XML question export files (<quiz><question type=...>).

Read with defusedxml's SAX parser so entity-expansion and external-entity attacks are
refused, and so every question keeps the line number it starts on."""

from __future__ import annotations

import xml.sax
from collections import Counter
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

import defusedxml.sax
from defusedxml import DefusedXmlException

from .common import UniqueIds, category_tag, html_to_text, slugify
from .records import ImportBundle, ImportIssue, InvalidImportFile, ItemRecord, OptionRecord, ShortAnswerRecord
from .validation import build_bundle, markup_problem

HTML_FORMATS = ("html", "moodle_auto_format")
TEXT_FORMATS = ("html", "moodle_auto_format", "plain_text", "markdown")
SUPPORTED = ("multichoice", "truefalse", "shortanswer")


class _Node:
    __slots__ = ("tag", "attrs", "line", "children", "parts")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children: list[_Node] = []
        self.parts: list[str] = []

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def text_of(self, tag: str) -> str:
        """Text of <tag><text>...</text></tag> (or of <tag>...</tag> when it has no <text>)."""
        node = self.child(tag)
        if node is None:
            return ""
        inner = node.child("text")
        return (inner if inner is not None else node).text


class _TreeBuilder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.root: _Node | None = None
        self.stack: list[_Node] = []
        self.locator: Locator | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        line = self.locator.getLineNumber() if self.locator else 0
        node = _Node(name, dict(attrs), line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElement(self, name: str) -> None:
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(content)


def _read_tree(data: bytes) -> _Node:
    builder = _TreeBuilder()
    try:
        defusedxml.sax.parseString(data, builder)
    except xml.sax.SAXParseException as exc:
        line = exc.getLineNumber()
        raise InvalidImportFile(ImportIssue(
            f"XML syntax error: {exc.getMessage()} (line {line}, column {exc.getColumnNumber()})", line=line)) from None
    except DefusedXmlException as exc:
        raise InvalidImportFile(f"the XML uses entity or DTD features that are refused for security ({exc})") from None
    except xml.sax.SAXException as exc:
        raise InvalidImportFile(f"XML error: {exc.getMessage()}") from None
    if builder.root is None:
        raise InvalidImportFile("the XML file is empty")
    return builder.root


class _Reader:
    def __init__(self) -> None:
        self.issues: list[ImportIssue] = []
        self.items: list[ItemRecord] = []
        self.skipped: Counter[str] = Counter()
        self.skipped_lines: dict[str, list[int]] = {}
        self.images = 0

    def text(self, q: _Node, parent: _Node | None, field: str, record: str) -> str:
        """Plain text of a Moodle text element, rejecting dangerous raw markup."""
        if parent is None:
            return ""
        inner = parent.child("text")
        raw = (inner if inner is not None else parent).text
        fmt = parent.attrs.get("format", "html")
        problem = markup_problem(raw)
        if problem:
            self.issues.append(ImportIssue(problem, q.line, record, field))
            return ""
        if "<img" in raw.lower() or parent.child("file") is not None:
            self.images += 1
        if fmt in HTML_FORMATS:
            if fmt == "moodle_auto_format" and "<" not in raw:
                return raw.strip()  # auto format is plain text with line breaks kept
            return html_to_text(raw)
        return raw.strip()

    def skip(self, qtype: str, line: int) -> None:
        self.skipped[qtype] += 1
        self.skipped_lines.setdefault(qtype, []).append(line)


def parse_moodle_xml(data: bytes) -> ImportBundle:
    root = _read_tree(data)
    if root.tag != "quiz":
        raise InvalidImportFile(ImportIssue(f"the root element must be <quiz>, not <{root.tag}>", line=root.line))
    reader = _Reader()
    questions: list[tuple[_Node, str | None]] = []  # (question, category tag)
    category: str | None = None
    for q in root.all("question"):
        qtype = q.attrs.get("type", "")
        if qtype == "category":
            category = category_tag(q.text_of("category"))
        elif qtype in SUPPORTED:
            questions.append((q, category))
        else:
            reader.skip(qtype or "(no type)", q.line)

    # <idnumber> wins; names fill the gaps, suffixed -2, -3 ... in file order when repeated.
    idnumbers = [q.text_of("idnumber").strip() for q, _ in questions]
    ids = UniqueIds({i for i in idnumbers if i})
    for n, ((q, cat), idnumber) in enumerate(zip(questions, idnumbers), start=1):
        ext = idnumber or ids.take(q.text_of("name").strip()[:90] or f"moodle-question-{n}")
        item = _question(reader, q, ext, cat)
        if item is not None:
            reader.items.append(item)

    notes = [f"skipped {count} question(s) of type '{qtype}' (lines {', '.join(map(str, reader.skipped_lines[qtype][:10]))}"
             f"{', ...' if count > 10 else ''}): not supported" for qtype, count in sorted(reader.skipped.items())]
    if reader.images:
        notes.append(f"{reader.images} text(s) referred to images or files, which were not imported")
    return build_bundle(reader.issues, items=reader.items, notes=notes, skipped=sum(reader.skipped.values()))


def _fraction(reader: _Reader, q: _Node, answer: _Node, field: str, record: str) -> float:
    raw = answer.attrs.get("fraction", "0")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        reader.issues.append(ImportIssue(f"fraction {raw[:20]!r} is not a number", q.line, record, field))
        return 0.0
    return value


def _question(reader: _Reader, q: _Node, ext: str, category: str | None) -> ItemRecord | None:
    qtype = q.attrs["type"]
    record = f"item '{ext}'"
    add = lambda msg, field=None: reader.issues.append(ImportIssue(msg, q.line, record, field))  # noqa: E731
    stem = reader.text(q, q.child("questiontext"), "questiontext", record)
    explanation = reader.text(q, q.child("generalfeedback"), "generalfeedback", record)
    tags = [category] if category else []
    tags_node = q.child("tags")
    for tag in tags_node.all("tag") if tags_node is not None else []:
        slug = slugify(tag.text_of("text") if tag.child("text") is not None else tag.text)
        if slug and slug not in tags:
            tags.append(slug)
    answers = []  # (fraction, text, feedback)
    for i, a in enumerate(q.all("answer")):
        field = f"answer[{i + 1}]"
        fraction = _fraction(reader, q, a, field, record)
        text = reader.text(q, a, field, record)
        feedback = reader.text(q, a.child("feedback"), f"{field}.feedback", record)
        answers.append((fraction, text, feedback))
    common = dict(external_id=ext, stem=stem, lead_in="", explanation=explanation, tags=tuple(tags), line=q.line)

    if qtype == "shortanswer":
        return ItemRecord(options=(), key=None, kind="short", **common,  # type: ignore[arg-type]
                          answers=tuple(ShortAnswerRecord(t, round(f / 100, 7), fb) for f, t, fb in answers))
    if qtype == "truefalse":
        by_text = {t.strip().lower(): (f, fb) for f, t, fb in answers}
        if set(by_text) != {"true", "false"}:
            add("a true/false question needs one 'true' and one 'false' answer", "answer")
            return None
        options = (OptionRecord("True", by_text["true"][1]), OptionRecord("False", by_text["false"][1]))
        return ItemRecord(options=options, key=0 if by_text["true"][0] >= 100 else 1, **common)  # type: ignore[arg-type]

    single = q.text_of("single").strip().lower() not in ("false", "0")
    correct = [i for i, (f, _, _) in enumerate(answers) if abs(f - 100) < 1e-6]
    positive = [i for i, (f, _, _) in enumerate(answers) if f > 0]
    if not single and len(positive) > 1:
        add("multiple-answer questions are not supported (several answers have a positive fraction)", "single")
        return None
    if len(correct) != 1:
        add("no answer has fraction 100 (the correct answer)" if not correct else
            "several answers have fraction 100; a single-best-answer question needs exactly one", "answer")
        return None
    options = tuple(OptionRecord(t, fb) for _, t, fb in answers)
    return ItemRecord(options=options, key=correct[0], **common)  # type: ignore[arg-type]
