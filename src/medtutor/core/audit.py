"""Writing and verifying the audit log.

Each record's hash covers its own fields and the previous record's hash, so changing, removing or
reordering any record breaks every later link; `verify_chain` finds the first broken one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from medtutor.core import clock
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.core.prepared import PreparedInsert

GENESIS_HASH = "0" * 64
_LOCK_KEY = 7_201_310  # PostgreSQL advisory lock id of the audit chain


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    """SHA-256 of a value's canonical JSON: how inputs are recorded without storing them."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _record_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()


def _hashed_fields(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "created_at": record.created_at.isoformat(),
        "kind": record.kind,
        "action": record.action,
        "actor_id": record.actor_id,
        "actor_label": record.actor_label,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "model_name": record.model_name,
        "model_version": record.model_version,
        "inputs_digest": record.inputs_digest,
        "output": record.output,
        "explanation": record.explanation,
        "confidence": record.confidence,
        "overrides_id": record.overrides_id,
    }


@functools.cache
def _head_sql() -> str:
    quote, table = connection.ops.quote_name, AuditRecord._meta.db_table
    return f"SELECT {quote('seq')}, {quote('hash')} FROM {quote(table)} ORDER BY {quote('seq')} DESC LIMIT 1"


_INSERT_RECORD = PreparedInsert(AuditRecord)
_LINK_COLUMNS = ("seq", "prev_hash", "hash")


@functools.cache
def _linked_insert_sql() -> tuple[str, tuple[Any, ...]]:
    """PostgreSQL: take the chain's lock, then in a statement of its own (a fresh snapshot, which sees the
    commit of whoever held the lock before) insert the record linked to the head, the link's SHA-256
    computed by the database from the canonical JSON the caller split around the record's seq."""
    quote, table = connection.ops.quote_name, AuditRecord._meta.db_table
    fields = tuple(f for f in _INSERT_RECORD.fields if f.attname not in _LINK_COLUMNS)
    columns = ", ".join(quote(f.column) for f in fields)
    head = f"FROM {quote(table)} ORDER BY {quote('seq')} DESC LIMIT 1"
    sql = (f"SELECT pg_advisory_xact_lock({_LOCK_KEY}); "
           f"INSERT INTO {quote(table)} ({columns}, {quote('seq')}, {quote('prev_hash')}, {quote('hash')}) "
           f"SELECT {', '.join(['%s'] * len(fields))}, link.seq, link.prev, "
           f"encode(sha256(convert_to(link.prev || %s || link.seq::text || %s, 'UTF8')), 'hex') "
           f"FROM (SELECT COALESCE((SELECT {quote('seq')} {head}), 0) + 1 AS seq, "
           f"COALESCE((SELECT {quote('hash')} {head}), %s) AS prev) AS link "
           f"RETURNING {quote(AuditRecord._meta.auto_field.column)}, {quote('seq')}, {quote('prev_hash')}, "
           f"{quote('hash')}")
    return sql, fields


def _append_linked_by_postgresql(record: AuditRecord, cursor: Any) -> bool:
    """One round trip instead of three while every writer of the log waits on the lock (a submission
    storm is limited by how long it is held). False: the record could not be split, use the plain path."""
    marker = str(secrets.randbits(128) | 1 << 127)  # stands in for seq in the canonical JSON
    record.seq = int(marker)
    before, found, after = canonical_json(_hashed_fields(record)).partition(marker)
    if not found or marker in after:
        return False
    sql, fields = _linked_insert_sql()
    cursor.execute(sql, [*PreparedInsert.values(record, connection, fields), before, after, GENESIS_HASH])
    cursor.nextset()
    record.pk, record.seq, record.prev_hash, record.hash = cursor.fetchone()
    record._state.adding, record._state.db = False, connection.alias
    return True


def _append(**fields: Any) -> AuditRecord:
    actor = fields.get("actor")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        fields["actor"] = actor = None
    fields.setdefault("actor_label", actor.get_username() if actor is not None else "")
    # JSON round-trips (tuples become lists, keys become strings) so the stored value hashes the same.
    fields["output"] = json.loads(canonical_json(fields.get("output") or {}))
    record = AuditRecord(created_at=clock.now(), **fields)  # built before the lock, which every writer waits on
    # savepoint=False: inside a caller's transaction (most records are) a failure here must undo the
    # caller's change too, and two savepoint round trips per record were a measurable part of a submission.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and _append_linked_by_postgresql(record, cursor):
            return record
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute(_head_sql())  # after the lock: its snapshot must see the last commit
        head = cursor.fetchone()
        record.seq = head[0] + 1 if head else 1
        record.prev_hash = head[1] if head else GENESIS_HASH
        record.hash = _record_hash(_hashed_fields(record), record.prev_hash)
        _INSERT_RECORD.run(record)  # save(force_insert=True) without compiling the INSERT each time
    return record


def record_action(actor: Any, action: str, *, subject: Any = None, data: dict[str, Any] | None = None) -> AuditRecord:
    """Who did what to which object (imports, edits, role changes, logins)."""
    subject_type, subject_id = _subject(subject)
    return _append(kind=AuditKind.ACTION, action=action, actor=actor, subject_type=subject_type,
                   subject_id=subject_id, output=data or {})


def record_decision(*, model_name: str, model_version: str, subject: Any, inputs: Any, output: Any,
                    explanation: str, confidence: float | None, action: str = "ai.decision",
                    actor: Any = None) -> AuditRecord:
    """An AI decision a user will see: what decided, for whom, on what, with what reasons."""
    if not model_name or not model_version:
        raise ValueError("an AI decision must name its model and version")
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    subject_type, subject_id = _subject(subject)
    return _append(kind=AuditKind.DECISION, action=action, actor=actor, subject_type=subject_type,
                   subject_id=subject_id, model_name=model_name, model_version=model_version,
                   inputs_digest=digest(inputs), output=output, explanation=explanation, confidence=confidence)


def record_decision_if_changed(*, model_name: str, model_version: str, subject: Any, inputs: Any, output: Any,
                               explanation: str, confidence: float | None, action: str,
                               actor: Any = None) -> AuditRecord:
    """As `record_decision`, for outputs shown on every page view (a dashboard's prediction): a new record
    only when the model, its inputs or its output changed since the last one for this subject and action,
    so the log holds every distinct decision a user saw without one record per page load."""
    subject_type, subject_id = _subject(subject)
    last = (AuditRecord.objects.filter(kind=AuditKind.DECISION, action=action, subject_type=subject_type,
                                       subject_id=subject_id).order_by("-seq").first())
    if (last is not None and last.model_name == model_name and last.model_version == model_version
            and last.inputs_digest == digest(inputs) and last.output == json.loads(canonical_json(output))):
        return last
    return record_decision(model_name=model_name, model_version=model_version, subject=subject, inputs=inputs,
                           output=output, explanation=explanation, confidence=confidence, action=action, actor=actor)


def record_override(original: AuditRecord, *, actor: Any, output: Any, reason: str) -> AuditRecord:
    """A human overriding an AI decision: a new record pointing to the old one, never an edit."""
    if original.kind != AuditKind.DECISION:
        raise ValueError("only AI decisions can be overridden")
    if not reason.strip():
        raise ValueError("an override needs a reason")
    return _append(kind=AuditKind.OVERRIDE, action="ai.override", actor=actor,
                   subject_type=original.subject_type, subject_id=original.subject_id,
                   model_name=original.model_name, model_version=original.model_version,
                   inputs_digest=original.inputs_digest, output=output, explanation=reason,
                   confidence=None, overrides=original)


def _subject(subject: Any) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, tuple):
        return str(subject[0]), str(subject[1])
    meta = getattr(subject, "_meta", None)
    if meta is not None:
        return meta.label_lower, str(subject.pk)
    raise TypeError(f"cannot use {subject!r} as an audit subject; pass a model instance or (type, id)")


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""
    last_hash: str = GENESIS_HASH
    checked_at: datetime | None = None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order; report the first record whose link or content does not match."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for record in AuditRecord.objects.order_by("seq").iterator(chunk_size=batch_size):
        if record.seq != expected_seq:
            return ChainReport(False, checked, expected_seq,
                               f"record {expected_seq} is missing (next is {record.seq})", prev_hash, clock.now())
        if record.prev_hash != prev_hash:
            return ChainReport(False, checked, record.seq,
                               "its link to the previous record does not match", prev_hash, clock.now())
        if _record_hash(_hashed_fields(record), prev_hash) != record.hash:
            return ChainReport(False, checked, record.seq,
                               "its content was changed after it was written", prev_hash, clock.now())
        prev_hash = record.hash
        expected_seq += 1
        checked += 1
    return ChainReport(True, checked, None, "", prev_hash, clock.now())
