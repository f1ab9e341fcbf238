"""Spreadsheet-friendly CSV: one single-best-answer item per row, header row required."""

from __future__ import annotations

import csv
import io
import re
import string
from typing import NoReturn

from .records import ImportBundle, ImportIssue, InvalidImportFile, ItemRecord, OptionRecord
from .validation import MAX_OPTIONS, build_bundle

LETTERS = string.ascii_lowercase[:MAX_OPTIONS]  # a..j
COLUMNS = (
    ("id", "stem", "lead_in")
    + tuple(f"option_{c}" for c in LETTERS)
    + tuple(f"explanation_{c}" for c in LETTERS)
    + ("key", "explanation", "competency", "discipline", "objective", "tags", "difficulty",
       "source", "licence", "image")
)
REQUIRED = ("id", "stem", "option_a", "option_b", "key")
TAG_SEPARATOR = ";"

# Spreadsheets run cells that start with these as formulas; the exporter prefixes such
# cells with one apostrophe and the importer removes exactly one again (exact round trip).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_GUARDED = re.compile(r"'+[=+\-@\t\r]")


def guard_cell(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def unguard_cell(value: str) -> str:
    return value[1:] if _GUARDED.match(value) else value


def parse_csv(text: str) -> ImportBundle:
    issues: list[ImportIssue] = []
    # Spreadsheets in some locales save ';' or tab separated files; the header row
    # (plain column names) tells which separator is used.
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header_row = next(reader, None)
    except csv.Error as exc:
        raise_one(f"the header row is not valid CSV ({exc})", 1)
    if header_row is None or not any(h.strip() for h in header_row):
        raise_one("the file is empty; the first row must be a header with column names", 1)
    header = [h.strip().lower() for h in header_row]
    if not set(header) & set(COLUMNS):
        raise_one("the first row must be a header naming the columns (id, stem, lead_in, option_a, ..., key); "
                  "none of its cells is a known column name", 1)
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    doubled = sorted({h for h in header if header.count(h) > 1})
    if missing:
        issues.append(ImportIssue(f"the header row lacks the column(s) {', '.join(missing)} "
                                  "(the first row must name the columns)", 1))
    for h in unknown:
        issues.append(ImportIssue(f"unknown column {h[:40]!r}; allowed columns: {', '.join(COLUMNS)}", 1, None, h[:40]))
    for h in doubled:
        issues.append(ImportIssue(f"column {h!r} appears more than once", 1, None, h))
    if issues:
        raise_all(issues)

    items: list[ItemRecord] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            issues.append(ImportIssue(f"invalid CSV ({exc}); a quoted cell may lack its closing quote", reader.line_num))
            break  # the reader cannot resynchronise after a quoting error
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            issues.append(ImportIssue(f"the row has {len(row)} cells but the header has {len(header)} columns", start))
            continue
        cells = {h: unguard_cell(v).strip() for h, v in zip(header, row)}
        items.append(_item(cells, start, issues))
    return build_bundle(issues, items=items)


def _item(cells: dict[str, str], line: int, issues: list[ImportIssue]) -> ItemRecord:
    ext = cells.get("id", "")
    record = f"item '{ext}'" if ext else None
    options, last = [], -1
    for i, c in enumerate(LETTERS):
        text, expl = cells.get(f"option_{c}", ""), cells.get(f"explanation_{c}", "")
        if text:
            if last != i - 1:
                issues.append(ImportIssue(f"option_{c} is filled but option_{LETTERS[i - 1]} is empty; "
                                          "fill options from A without gaps", line, record, f"option_{c}"))
            options.append(OptionRecord(text, expl))
            last = i
        elif expl:
            issues.append(ImportIssue(f"explanation_{c} is filled but option_{c} is empty", line, record,
                                      f"explanation_{c}"))
    raw_key = cells.get("key", "").upper()
    key = None
    if len(raw_key) == 1 and raw_key.lower() in LETTERS:
        key = LETTERS.index(raw_key.lower())
    elif raw_key:
        issues.append(ImportIssue(f"key {raw_key[:10]!r} must be a letter from A to J", line, record, "key"))
        key = 0  # reported above; 0 keeps the shared "missing key" check from repeating it
    tags = tuple(t.strip() for t in cells.get("tags", "").split(TAG_SEPARATOR) if t.strip())
    return ItemRecord(
        external_id=ext, stem=cells.get("stem", ""), lead_in=cells.get("lead_in", ""),
        options=tuple(options), key=key, explanation=cells.get("explanation", ""),
        competency=cells.get("competency") or None, discipline=cells.get("discipline") or None,
        objective=cells.get("objective") or None, tags=tags, difficulty=cells.get("difficulty") or None,
        source=cells.get("source", ""), licence=cells.get("licence", ""), image=cells.get("image") or None,
        line=line,
    )


def raise_one(message: str, line: int) -> NoReturn:
    raise InvalidImportFile(ImportIssue(message, line))


def raise_all(issues: list[ImportIssue]) -> NoReturn:
    raise InvalidImportFile(issues)
