"""Import question banks and outlines from files, without Django.

`parse(data, fmt)` returns an ImportBundle of plain records or raises InvalidImportFile
listing every problem (with line, record and field); it raises nothing else for any bytes.
"""

from __future__ import annotations

from .common import MAX_IMPORT_BYTES, check_size, decode
from .csv_format import parse_csv
from .datasets import parse_dataset
from .detect import detect_format
from .gift import parse_gift
from .medtutor_jsonl import parse_medtutor
from .moodle_xml import parse_moodle_xml
from .qti import parse_qti
from .records import (
    CardRecord,
    CompetencyRecord,
    DisciplineRecord,
    ImportBundle,
    ImportIssue,
    InvalidImportFile,
    ItemRecord,
    ObjectiveRecord,
    OptionRecord,
    ShortAnswerRecord,
)
from .validation import validate_item

FORMATS = ("medtutor", "medqa", "medmcqa", "pubmedqa", "moodlexml", "gift", "csv", "qti")

__all__ = [
    "FORMATS", "MAX_IMPORT_BYTES", "detect_format", "parse", "parse_upload", "validate_item",
    "CardRecord", "CompetencyRecord", "DisciplineRecord", "ImportBundle", "ImportIssue",
    "InvalidImportFile", "ItemRecord", "ObjectiveRecord", "OptionRecord", "ShortAnswerRecord",
]


def parse_unguarded(data: bytes, fmt: str) -> ImportBundle:
    """parse() without the last-resort guard (tests use it so that bugs surface)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "qti":  # a zip package or XML: bytes, not text
        check_size(data)
        return parse_qti(data)
    text = decode(data)
    if fmt == "medtutor":
        return parse_medtutor(text)
    if fmt in ("medqa", "medmcqa", "pubmedqa"):
        return parse_dataset(text, fmt)
    if fmt == "moodlexml":
        return parse_moodle_xml(data)
    if fmt == "gift":
        return parse_gift(text)
    return parse_csv(text)


def parse(data: bytes, fmt: str, *, filename: str = "") -> ImportBundle:
    """Parse and validate a whole file; raise InvalidImportFile with every issue found.

    Raises ValueError only for an unknown `fmt` (a programming error, not bad input).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        return parse_unguarded(data, fmt)
    except InvalidImportFile:
        raise
    except (Exception, RecursionError) as exc:  # last resort: a reader bug must not become a 500
        name = f" {filename}" if filename else ""
        raise InvalidImportFile(f"the file{name} could not be read as {fmt} ({type(exc).__name__}: {exc})") from exc


def parse_upload(data: bytes, *, filename: str = "", fmt: str | None = None) -> tuple[str, ImportBundle]:
    """What every door (web form, API, CLI) does with a file: size check, format, parse.

    The size is checked before the format is guessed, so a huge file is reported as huge.
    """
    check_size(data)
    if fmt is not None and fmt not in FORMATS:
        raise InvalidImportFile(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    fmt = fmt or detect_format(filename, data[:4096])
    return fmt, parse(data, fmt, filename=filename)
