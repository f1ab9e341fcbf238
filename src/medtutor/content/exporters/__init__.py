"""Export an ImportBundle to a file format, without Django.

medtutor JSON Lines is lossless (outline, items, cards). Moodle XML, GIFT, CSV and QTI 2.1 carry
items only; Moodle XML and GIFT join stem and lead-in (they have no lead-in) and CSV
cannot hold short-answer items (ExportError).
"""

from __future__ import annotations

from collections.abc import Callable

from ..importers.records import ImportBundle
from .csv_format import export_csv
from .errors import ExportError
from .gift import export_gift
from .medtutor_jsonl import export_medtutor
from .moodle_xml import export_moodle_xml
from .qti import export_qti

EXPORT_FORMATS = ("medtutor", "csv", "moodlexml", "gift", "qti")
CONTENT_TYPES = {"medtutor": "application/x-ndjson", "csv": "text/csv", "moodlexml": "application/xml",
                 "gift": "text/plain", "qti": "application/zip"}
EXTENSIONS = {"medtutor": ".jsonl", "csv": ".csv", "moodlexml": ".xml", "gift": ".gift", "qti": "-qti21.zip"}

_EXPORTERS: dict[str, Callable[[ImportBundle], bytes]] = {
    "medtutor": export_medtutor, "csv": export_csv, "moodlexml": export_moodle_xml, "gift": export_gift,
    "qti": export_qti,
}

__all__ = ["EXPORT_FORMATS", "CONTENT_TYPES", "EXTENSIONS", "ExportError", "export"]


def export(bundle: ImportBundle, fmt: str) -> bytes:
    """Serialise the bundle; ValueError for an unknown format, ExportError for unrepresentable records."""
    if fmt not in _EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    return _EXPORTERS[fmt](bundle)
