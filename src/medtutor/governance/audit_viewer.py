"""The audit log viewer's logic: filters, keyset pages, streamed exports and chain checks.

- Filters come from a query string and are validated whole: a bad value raises InvalidInput naming the
  field, and nothing is queried.
- Pages are keyset pages on `seq` (the chain's order, unique and indexed): `before=S` shows the records
  older than S, `after=S` those newer. Offsets would make late pages of a large log slow and shift under
  new writes.
- Exports stream the filtered records oldest first, in keyset batches, with each record's hashed fields,
  `prev_hash` and `hash`, so anyone can recompute every hash of an exported slice and check the links
  between consecutive records (`verify_export`).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time as day_time, timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from medtutor.core import clock
from medtutor.core.audit import (
    _hashed_fields,
    _record_hash,
    canonical_json,
    record_action,
    verify_chain,
)
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.governance.oversight_models import ChainCheck

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
EXPORT_BATCH = 1000
MAX_TEXT = 150
# The fields each record's hash covers (core.audit._hashed_fields), then the link and the hash itself.
EXPORT_COLUMNS = ("seq", "created_at", "kind", "action", "actor_id", "actor_label", "subject_type", "subject_id",
                  "model_name", "model_version", "inputs_digest", "output", "explanation", "confidence",
                  "overrides_id", "prev_hash", "hash")
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


# --- filters -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    user: str = ""           # the actor's username, or the label written at the time (survives deletion)
    model: str = ""          # model name
    kind: str = ""           # action / decision / override
    action: str = ""         # exact, or a prefix ending in * ("ddx.*")
    subject_type: str = ""
    subject_id: str = ""
    date_from: date | None = None  # whole days in UTC, both ends included
    date_to: date | None = None

    def apply(self, records: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
        if self.user:
            records = records.filter(Q(actor_label__iexact=self.user) | Q(actor__username__iexact=self.user))
        if self.model:
            records = records.filter(model_name__iexact=self.model)
        if self.kind:
            records = records.filter(kind=self.kind)
        if self.action.endswith("*"):
            records = records.filter(action__startswith=self.action[:-1])
        elif self.action:
            records = records.filter(action=self.action)
        if self.subject_type:
            records = records.filter(subject_type=self.subject_type)
        if self.subject_id:
            records = records.filter(subject_id=self.subject_id)
        if self.date_from:
            records = records.filter(created_at__gte=datetime.combine(self.date_from, day_time.min, tzinfo=UTC))
        if self.date_to and self.date_to < date.max:
            records = records.filter(created_at__lt=datetime.combine(self.date_to + timedelta(days=1), day_time.min,
                                                                     tzinfo=UTC))
        return records

    def params(self) -> dict[str, str]:
        """The filter as query-string parameters (empty ones left out), for links that keep it."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                out[_PARAM_OF.get(f.name, f.name)] = value.isoformat() if isinstance(value, date) else value
        return out

    @property
    def is_empty(self) -> bool:
        return not self.params()


_PARAM_OF = {"date_from": "from", "date_to": "to"}


def _date(params: Mapping[str, str], name: str, problems: list[str]) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name}: {raw[:40]!r} is not a date; use YYYY-MM-DD, e.g. 2025-03-31")
        return None


def parse_filters(params: Mapping[str, str]) -> AuditFilter:
    """The filter a query string asks for; InvalidInput listing every bad field (nothing is queried)."""
    problems: list[str] = []
    text = {}
    for name in ("user", "model", "kind", "action", "subject_type", "subject_id"):
        value = (params.get(name) or "").strip()
        if len(value) > MAX_TEXT:
            problems.append(f"{name}: at most {MAX_TEXT} characters")
            value = ""
        text[name] = value
    if text["kind"] and text["kind"] not in AuditKind.values:
        problems.append(f"kind: choose one of {', '.join(AuditKind.values)}")
    date_from, date_to = _date(params, "from", problems), _date(params, "to", problems)
    if date_from and date_to and date_from > date_to:
        problems.append(f"from: {date_from.isoformat()} is after to ({date_to.isoformat()})")
    if problems:
        raise InvalidInput("; ".join(problems), details=problems)
    return AuditFilter(date_from=date_from, date_to=date_to, **text)


# --- keyset pages ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]  # newest first
    size: int
    older_cursor: int | None    # pass as before= to see the next older page
    newer_cursor: int | None    # pass as after= to see the next newer page


def _positive_int(params: Mapping[str, str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name}: {raw[:30]!r} is not a record number")
    return int(raw)


def page_size(params: Mapping[str, str]) -> int:
    raw = (params.get("size") or "").strip()
    if not raw:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or int(raw) not in PAGE_SIZES:
        raise InvalidInput(f"size: choose one of {', '.join(str(s) for s in PAGE_SIZES)}")
    return int(raw)


def with_links(records: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
    """Each record with its actor, the decision it overrides and the overrides of it (two extra queries)."""
    return records.select_related("actor", "overrides").prefetch_related(
        Prefetch("overridden_by", queryset=AuditRecord.objects.select_related("actor").order_by("seq")))


def page(records: QuerySet[AuditRecord], params: Mapping[str, str]) -> AuditPage:
    """One keyset page of already-filtered records; `before` / `after` in params choose which."""
    size = page_size(params)
    before, after = _positive_int(params, "before"), _positive_int(params, "after")
    if before is not None and after is not None:
        raise InvalidInput("before, after: give one of them, not both")
    if after is not None:
        rows = list(with_links(records.filter(seq__gt=after).order_by("seq"))[:size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = records.filter(seq__lt=rows[-1].seq if rows else after + 1).exists()
    else:
        window = records.filter(seq__lt=before) if before is not None else records
        rows = list(with_links(window.order_by("-seq"))[:size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None and records.filter(seq__gt=rows[0].seq if rows else before - 1).exists()
    # A cursor is the first seq NOT shown on its side, so an empty page still links back.
    oldest_shown = rows[-1].seq if rows else (after + 1 if after is not None else before)
    newest_shown = rows[0].seq if rows else (before - 1 if before is not None else after)
    return AuditPage(rows, size, oldest_shown if has_older else None, newest_shown if has_newer else None)


# --- export ----------------------------------------------------------------------------------------------

def export_row(record: AuditRecord) -> dict[str, Any]:
    return {**_hashed_fields(record), "prev_hash": record.prev_hash, "hash": record.hash}


def iter_records(records: QuerySet[AuditRecord], batch: int = EXPORT_BATCH) -> Iterator[AuditRecord]:
    """Every record of the queryset, oldest first, in keyset batches (no long-lived cursor, no offsets)."""
    last = 0
    while True:
        chunk = list(records.filter(seq__gt=last).order_by("seq")[:batch])
        yield from chunk
        if len(chunk) < batch:
            return
        last = chunk[-1].seq


class _Line:
    """A file-like object that hands back what csv.writer wrote, one row at a time."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> str:
        value = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    if isinstance(value, float):
        return repr(value)
    return value


def export_lines(records: QuerySet[AuditRecord], fmt: str) -> Iterator[str]:
    """The filtered records as CSV (a header, then one row each) or JSON Lines, oldest first."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"format: choose {' or '.join(EXPORT_FORMATS)}")
    if fmt == "jsonl":
        return (json.dumps(export_row(r), ensure_ascii=False, sort_keys=False) + "\n" for r in iter_records(records))
    return _csv_lines(records)


def _csv_lines(records: QuerySet[AuditRecord]) -> Iterator[str]:
    line = _Line()
    writer = csv.writer(line)
    writer.writerow(EXPORT_COLUMNS)
    yield line.take()
    for record in iter_records(records):
        row = export_row(record)
        writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])
        yield line.take()


# --- checking an export ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SliceReport:
    ok: bool
    checked: int
    links_checked: int  # pairs of consecutive records (seq n, n+1) whose link was compared
    problems: tuple[str, ...]


_INT_COLUMNS = ("seq", "actor_id", "overrides_id")


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV export, typed back as the JSON Lines export has them."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = dict(raw)
        for name in _INT_COLUMNS:
            row[name] = int(row[name]) if row[name] else None
        row["confidence"] = float(row["confidence"]) if row["confidence"] else None
        row["output"] = json.loads(row["output"]) if row["output"] else {}
        rows.append(row)
    return rows


def verify_export(rows: Iterable[Mapping[str, Any]]) -> SliceReport:
    """Recompute each exported record's hash, and check the link of each pair of consecutive records.

    A slice cut by filters has gaps; a record whose predecessor is not in the slice is checked on its
    own hash only (its prev_hash is part of that hash, so it cannot be changed either).
    """
    hashed = [c for c in EXPORT_COLUMNS if c not in ("prev_hash", "hash")]
    problems: list[str] = []
    checked = links = 0
    previous: Mapping[str, Any] | None = None
    for row in rows:
        checked += 1
        if _record_hash({k: row[k] for k in hashed}, row["prev_hash"]) != row["hash"]:
            problems.append(f"record {row['seq']}: its content does not match its hash")
        if previous is not None and row["seq"] == previous["seq"] + 1:
            links += 1
            if row["prev_hash"] != previous["hash"]:
                problems.append(f"record {row['seq']}: its link to record {previous['seq']} does not match")
        previous = row
    return SliceReport(not problems, checked, links, tuple(problems))


# --- chain checks ----------------------------------------------------------------------------------------

def run_chain_check(actor: Any) -> ChainCheck:
    """Verify the whole chain now, keep the result (the page shows the last one) and audit the check."""
    started = time.perf_counter()
    report = verify_chain()
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    check = ChainCheck.objects.create(
        checked_at=report.checked_at or clock.now(), checked_by=actor if getattr(actor, "is_authenticated", False)
        else None, ok=report.ok, checked=report.checked, first_broken_seq=report.first_broken_seq,
        reason=report.reason[:300], last_hash=report.last_hash, duration_ms=elapsed_ms)
    record_action(actor, "audit.chain_verified", subject=check,
                  data={"ok": report.ok, "checked": report.checked, "first_broken_seq": report.first_broken_seq})
    return check


def last_chain_check() -> ChainCheck | None:
    return ChainCheck.objects.select_related("checked_by").first()


def records_since(check: ChainCheck | None) -> int | None:
    """How many records were written after the check looked (None when there was no check)."""
    if check is None:
        return None
    return (AuditRecord.objects.filter(seq__gt=check.checked)
            .exclude(subject_type="governance.chaincheck", subject_id=str(check.pk)).count())
