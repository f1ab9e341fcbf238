"""Helpers shared by the format readers: decoding, JSON lines, typed field access, text."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from .records import ImportIssue, InvalidImportFile

MAX_IMPORT_BYTES = 25 * 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_size(data: bytes) -> None:
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidImportFile(
            f"file is {_mb(len(data))}; the limit is {MAX_IMPORT_BYTES // (1024 * 1024)} MB"
        )


def decode(data: bytes) -> str:
    """Check size and UTF-8; return the text without BOM (raises InvalidImportFile)."""
    check_size(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidImportFile(
            ImportIssue(
                f"not valid UTF-8 at line {line} (byte {exc.start}); save the file as UTF-8",
                line=line,
            )
        ) from None
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    # Only "\n" ends a line: str.splitlines() would also split on U+2029 etc.,
    # which real datasets (PubMedQA) contain inside JSON strings.
    return [ln.removesuffix("\r") for ln in text.split("\n")]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def loads(text: str) -> Any:
    """json.loads without NaN/Infinity; raises ValueError (incl. too-deep nesting)."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno}); each line must be one complete JSON object"
    return f"invalid JSON ({exc}); each line must be one complete JSON object"


def iter_json_records(text: str, issues: list[ImportIssue]) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """Yield (line, object) for JSON Lines; also accepts one JSON array of objects
    or one object mapping ids to objects (as in PubMedQA's ori_pqal.json)."""
    stripped = text.lstrip()
    if stripped[:1] == "[" or (stripped[:1] == "{" and "\n" in stripped.strip() and _is_one_document(stripped)):
        try:
            doc = loads(stripped)
        except ValueError:
            doc = None  # fall back to line-by-line reading for a precise line number
        if isinstance(doc, list):
            for n, obj in enumerate(doc, start=1):
                if isinstance(obj, dict):
                    yield None, obj
                else:
                    issues.append(ImportIssue(f"entry {n} of the array is not a JSON object"))
            return
        if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
            for key, obj in doc.items():
                yield None, {"_key": key, **obj}
            return
    for line, raw in enumerate(split_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
        except ValueError as exc:
            issues.append(ImportIssue(json_error(exc), line=line))
            continue
        if not isinstance(obj, dict):
            issues.append(ImportIssue(f"expected a JSON object, found {json_type(obj)}", line=line))
            continue
        yield line, obj


def _is_one_document(text: str) -> bool:
    # A multi-line file whose first line is not a complete JSON value is one document.
    first = text.split("\n", 1)[0]
    try:
        loads(first)
    except ValueError:
        return True
    return False


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Fields:
    """Typed access to one JSON object's fields, recording problems instead of raising."""

    def __init__(self, obj: dict[str, Any], issues: list[ImportIssue], line: int | None, record: str | None):
        self.obj, self.issues, self.line, self.record = obj, issues, line, record

    def issue(self, message: str, field: str | None = None) -> None:
        self.issues.append(ImportIssue(message, self.line, self.record, field))

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.obj:
            if required:
                self.issue("required field is missing", name)
            return None
        return self.obj[name]

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self._get(name, required)
        if value is None:
            if name in self.obj and required:
                self.issue("must be a string, not null", name)
            return default
        if not isinstance(value, str):
            self.issue(f"must be a string, not {json_type(value)}", name)
            return default
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, str):
            self.issue(f"must be a string or null, not {json_type(value)}", name)
            return None
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.issue(f"must be a whole number, not {json_type(value)}", name)
            return None
        return value

    def number(self, name: str, *, default: float) -> float:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.issue(f"must be a number, not {json_type(value)}", name)
            return default
        return float(value)

    def optional_flag(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.issue(f"must be true or false, not {json_type(value)}", name)
            return None
        return value

    def text_list(self, name: str) -> tuple[str, ...]:
        value = self._get(name, False)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.issue("must be a list of strings", name)
            return ()
        return tuple(value)

    def object_list(self, name: str, *, required: bool = False) -> list[dict[str, Any]]:
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.issue("must be a list of objects", name)
            return []
        return value

    def object(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.issue(f"must be an object, not {json_type(value)}", name)
            return None
        return value

    def unknown(self, allowed: set[str]) -> None:
        for name in self.obj:
            if name not in allowed:
                self.issue("unknown field (check the spelling)", name)


def slugify(value: str) -> str:
    """'Step 2&3' -> 'step2-3'-style lowercase ASCII slug ('' if nothing is left)."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").lower()
    value = re.sub(r"[^a-z0-9]+", "-", value).strip("-")
    return value[:100].strip("-")


def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{prefix}-{digest}"


def category_tag(path: str) -> str | None:
    """Tag for a Moodle/GIFT category path: its last segment, slugified ('$course$/top/Heart failure' -> 'heart-failure')."""
    parts = [p.strip() for p in path.split("/")]
    parts = [p for p in parts if p and p != "top" and not (p.startswith("$") and p.endswith("$"))]
    return (slugify(parts[-1]) or None) if parts else None


class UniqueIds:
    """Makes names unique deterministically: 'x', 'x-2', 'x-3', ..."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self.used: set[str] = set(reserved or ())

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.used:
            n += 1
            candidate = f"{wanted}-{n}"
        self.used.add(candidate)
        return candidate


# --- HTML to plain text -------------------------------------------------------------------

_BLOCK = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
          "blockquote", "pre", "section", "article", "header", "footer", "dl", "dt", "dd"}
_SKIP = {"script", "style", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            # HTML collapses source whitespace; line breaks come only from tags.
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Strip tags, unescape entities, keep paragraph and line breaks."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r" {2,}", " ", ln).strip() for ln in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
