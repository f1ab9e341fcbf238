"""CSV export (items only; single-best-answer items with up to 10 options)."""

from __future__ import annotations

import csv
import io

from ..importers.csv_format import COLUMNS, LETTERS, TAG_SEPARATOR, guard_cell
from ..importers.records import ImportBundle, ItemRecord
from .errors import ExportError


def _row(item: ItemRecord) -> list[str]:
    cells = {"id": item.external_id, "stem": item.stem, "lead_in": item.lead_in,
             "key": LETTERS[item.key].upper() if item.key is not None else "",
             "explanation": item.explanation, "competency": item.competency or "",
             "discipline": item.discipline or "", "objective": item.objective or "",
             "tags": f"{TAG_SEPARATOR} ".join(item.tags), "difficulty": item.difficulty or "",
             "source": item.source, "licence": item.licence, "image": item.image or ""}
    for letter, option in zip(LETTERS, item.options):
        cells[f"option_{letter}"] = option.text
        cells[f"explanation_{letter}"] = option.explanation
    return [guard_cell(cells.get(column, "")) for column in COLUMNS]


def export_csv(bundle: ImportBundle) -> bytes:
    unsupported = [i.external_id for i in bundle.items if i.kind != "single" or len(i.options) > len(LETTERS)]
    if unsupported:
        raise ExportError(f"CSV holds only single-best-answer items with up to {len(LETTERS)} options; "
                          f"not exportable: {', '.join(unsupported[:10])}" + (" ..." if len(unsupported) > 10 else ""))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in bundle.items:
        writer.writerow(_row(item))
    # A BOM makes Excel open the file as UTF-8; the importer accepts it.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
