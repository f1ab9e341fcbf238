"""Moodle GIFT text format.

Supported: // comments, ::title::, $CATEGORY:, [html]/[moodle]/[plain]/[markdown] markers,
escapes \\~ \\= \\# \\{ \\} \\: \\\\ \\n, multiple choice (=right ~wrong, #feedback, ~%n% weights; only
= or 100% is the key), true/false with feedback, short answer (only = answers) and ####general
feedback. Essay ({}), numerical ({#...}), matching (->) and descriptions (no braces) are skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .common import UniqueIds, category_tag, html_to_text, split_lines, stable_id
from .records import ImportBundle, ImportIssue, ItemRecord, OptionRecord, ShortAnswerRecord
from .validation import build_bundle, markup_problem

ESCAPABLE = "~=#{}:\\"
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d+)?)%")
_TF = re.compile(r"(T|TRUE|F|FALSE)\Z", re.I)
_FORMAT = re.compile(r"\s*\[(html|moodle|plain|markdown)\]", re.I)


def unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in ESCAPABLE:
                out.append(nxt)
                i += 2
                continue
            if nxt == "n":
                out.append("\n")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def escape(s: str) -> str:
    """Inverse of unescape (used by the exporter)."""
    out = []
    for c in s.replace("\r\n", "\n"):
        if c in ESCAPABLE:
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        else:
            out.append(c)
    return "".join(out)


def _unescaped(s: str, chars: str, start: int = 0) -> Iterator[int]:
    """Positions of the characters in `chars` that are not preceded by an escaping backslash."""
    i = start
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c in chars:
            yield i
        i += 1


def _find(s: str, chars: str, start: int = 0) -> int:
    return next(_unescaped(s, chars, start), -1)


def _split_feedback(s: str) -> tuple[str, str]:
    i = _find(s, "#")
    return (s, "") if i < 0 else (s[:i], s[i + 1:])


class _Block:
    def __init__(self, line: int, lines: list[str]) -> None:
        self.line, self.raw = line, "\n".join(lines)


def _blocks(text: str) -> Iterator[_Block]:
    current: list[str] = []
    start = 0
    for n, line in enumerate(split_lines(text), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if not stripped:
            if current:
                yield _Block(start, current)
                current = []
            continue
        if not current:
            start = n
        current.append(line)
    if current:
        yield _Block(start, current)


class _Parser:
    def __init__(self) -> None:
        self.issues: list[ImportIssue] = []
        self.items: list[ItemRecord] = []
        self.skipped: Counter[str] = Counter()
        self.ids = UniqueIds()
        self.category: str | None = None

    def issue(self, block: _Block, message: str, record: str | None = None, field: str | None = None) -> None:
        self.issues.append(ImportIssue(message, block.line, record, field))

    def block(self, block: _Block) -> None:
        raw = block.raw.strip()
        if raw.startswith("$CATEGORY:"):
            first, _, rest = raw.partition("\n")
            self.category = category_tag(first[len("$CATEGORY:"):].strip())
            if not rest.strip():
                return
            raw = rest.strip()
            block.line += block.raw.strip().count("\n") - raw.count("\n")
        title = None
        if raw.startswith("::"):
            end = next((i for i in _unescaped(raw, ":", 2) if raw[i + 1:i + 2] == ":"), -1)
            if end < 0:
                self.issue(block, "the title is not closed with '::'", field="title")
                return
            title, raw = unescape(raw[2:end]).strip(), raw[end + 2:]
        fmt = ""  # no marker: plain text, kept verbatim
        m = _FORMAT.match(raw)
        if m:
            fmt, raw = m.group(1).lower(), raw[m.end():]
        ext = self.ids.take(title[:90] if title else stable_id("gift", block.raw.strip()))
        record = f"item '{ext}'"
        open_ = _find(raw, "{")
        if open_ < 0:
            self.skipped["description"] += 1
            return
        close = _find(raw, "}", open_ + 1)
        if close < 0:
            self.issue(block, "the answer section is not closed with '}'", record, "answers")
            return
        after = raw[close + 1:].strip()
        question = raw[:open_].strip() + (f" _____ {after}" if after else "")
        answers = raw[open_ + 1:close].strip()

        def conv(s: str, field: str) -> str:
            problem = markup_problem(s)
            if problem:
                self.issue(block, problem, record, field)
                return ""
            s = unescape(s).strip()
            if fmt == "html" or (fmt == "moodle" and re.search(r"</?[a-z][^<>]*>", s, re.I)):
                return html_to_text(s)
            return s

        stem = conv(question, "question")
        general = ""
        gf = next((i for i in _unescaped(answers, "#") if answers[i:i + 4] == "####"), -1)
        if gf >= 0:
            answers, general = answers[:gf].strip(), answers[gf + 4:]
        explanation = conv(general, "general feedback")
        common = dict(external_id=ext, stem=stem, lead_in="", explanation=explanation,
                      tags=(self.category,) if self.category else (), line=block.line)

        if not answers:
            self.skipped["essay"] += 1
            return
        if answers.startswith("#"):
            self.skipped["numerical"] += 1
            return
        head, fb = _split_feedback(answers)
        if _TF.match(head.strip()):
            parts = [fb] if fb else []
            if fb and _find(fb, "#") >= 0:
                parts = list(_split_feedback(fb))
            wrong = conv(parts[0], "answers") if parts else ""
            right = conv(parts[1], "answers") if len(parts) > 1 else ""
            truth = head.strip().upper().startswith("T")
            options = (OptionRecord("True", right if truth else wrong), OptionRecord("False", wrong if truth else right))
            self.items.append(ItemRecord(options=options, key=0 if truth else 1, **common))  # type: ignore[arg-type]
            return

        marks = list(_unescaped(answers, "=~"))
        if not marks or answers[:marks[0]].strip():
            self.issue(block, "answers must start with '=' (right) or '~' (wrong)", record, "answers")
            return
        tokens = []  # (marker, weight, text, feedback)
        for i, pos in enumerate(marks):
            body = answers[pos + 1:marks[i + 1] if i + 1 < len(marks) else len(answers)].strip()
            weight = None
            wm = _WEIGHT.match(body)
            if wm:
                weight, body = float(wm.group(1)), body[wm.end():].strip()
            text, feedback = _split_feedback(body)
            tokens.append((answers[pos], weight, text, feedback))
        if not any(m == "~" for m, *_ in tokens):
            if any("->" in t for _, _, t, _ in tokens):
                self.skipped["matching"] += 1
                return
            short = tuple(ShortAnswerRecord(conv(t, "answers"), 1.0 if w is None else round(w / 100, 7),
                                            conv(fb, "answers")) for _, w, t, fb in tokens)
            self.items.append(ItemRecord(options=(), key=None, kind="short", answers=short, **common))  # type: ignore[arg-type]
            return
        keys = [i for i, (m, w, _, _) in enumerate(tokens) if (m == "=" and w in (None, 100.0)) or w == 100.0]
        if len(keys) != 1:
            self.issue(block, "no answer is marked right with '=' (multiple-answer questions are not supported)"
                       if not keys else "several answers are marked right; a question needs exactly one",
                       record, "answers")
            return
        options = tuple(OptionRecord(conv(t, "answers"), conv(fb, "answers")) for _, _, t, fb in tokens)
        self.items.append(ItemRecord(options=options, key=keys[0], **common))  # type: ignore[arg-type]


def parse_gift(text: str) -> ImportBundle:
    parser = _Parser()
    for block in _blocks(text):
        parser.block(block)
    notes = [f"skipped {n} {kind} question(s): not supported" for kind, n in sorted(parser.skipped.items())]
    return build_bundle(parser.issues, items=parser.items, notes=notes, skipped=sum(parser.skipped.values()))
