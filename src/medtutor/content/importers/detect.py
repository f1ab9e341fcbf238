"""Guess an import file's format from its name and first bytes."""

from __future__ import annotations

import json
import re
from typing import Any

from .records import InvalidImportFile

_EXTENSIONS = {".xml": "moodlexml", ".gift": "gift", ".txt": "gift", ".csv": "csv", ".tsv": "csv"}
_JSON_EXTENSIONS = (".jsonl", ".json", ".ndjson")


def _first_record(head: str) -> dict[str, Any] | None:
    text = head.lstrip()
    decoder = json.JSONDecoder()
    first_line = text.split("\n", 1)[0]
    try:
        obj = json.loads(first_line)
        if isinstance(obj, dict):
            return obj
    except (ValueError, RecursionError):
        pass
    # One JSON document: an array of records or an object of records keyed by id.
    m = re.match(r'\[\s*|\{\s*"[^"\\]*"\s*:\s*', text)
    if m:
        try:
            obj, _ = decoder.raw_decode(text, m.end())
        except (ValueError, RecursionError):
            # The head may cut the first record short: its field names still tell the format.
            names = re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', text[m.end():])
            return {n.lower(): None for n in names} or None
        if isinstance(obj, dict):
            return obj
    return None


def detect_json_format(record: dict[str, Any]) -> str | None:
    keys = set(record)
    if "type" in keys:
        return "medtutor"
    if keys & {"final_decision", "pmid", "contexts", "long_answer"}:
        return "pubmedqa"
    if keys & {"options_5", "answer_idx_5", "meta_info", "metamap_phrases"}:
        return "medqa"
    if {"opa", "cop"} <= keys:
        return "medmcqa"
    if {"question", "options", "answer_idx"} <= keys:
        ident = record.get("id")
        if isinstance(ident, str) and ident.lower().startswith("medqa"):
            return "medqa"
        return "medmcqa"
    return None


def detect_format(filename: str, head: bytes) -> str:
    """One of FORMATS, from the file name and its first bytes (a few KB are enough)."""
    name = filename.lower().strip()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if ext == ".zip" or head[:4] == b"PK\x03\x04":
        return "qti"
    if ext == ".xml" and b"<assessmentItem" in head[:4096]:
        return "qti"
    text = head[:65536].decode("utf-8", errors="replace").removeprefix("\ufeff")
    stripped = text.lstrip()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if ext in _JSON_EXTENSIONS or (not ext and stripped[:1] in ("{", "[")):
        record = _first_record(text)
        if record is None:
            raise InvalidImportFile(f"cannot tell the format of {filename or 'the file'}: "
                                    "its first line is not a complete JSON object")
        fmt = detect_json_format(record)
        if fmt is None:
            shown = ", ".join(sorted(record)[:8]) or "none"
            raise InvalidImportFile(f"cannot tell the format of {filename or 'the file'}: the first record has "
                                    f"the fields {shown}, which match no known format (medtutor records have a "
                                    "'type'; MedQA, MedMCQA and PubMedQA have their own fields)")
        return fmt
    if not ext and stripped[:5] in ("<?xml", "<quiz"):
        return "moodlexml"
    raise InvalidImportFile(f"cannot tell the format of {filename or 'the file'}: use a .jsonl, .json, .xml, "
                            ".gift, .txt or .csv file, or choose the format explicitly")
