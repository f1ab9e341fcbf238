"""What the durable outboxes (xAPI statements, LTI scores) share: claiming a due batch so several
senders never post the same rows at once, exponential backoff after a failure, and the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models, transaction

CLAIM = timedelta(seconds=120)       # a sender that dies mid-batch releases its rows after this
FIRST_RETRY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    pending: int
    error: str = ""


def claim_due(model: type[models.Model], now: datetime, batch: int) -> list:
    """Rows of `model` due now and not claimed by another sender, claimed for CLAIM (skipping rows
    another sender holds on PostgreSQL)."""
    with transaction.atomic():
        due = (model.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
               .exclude(claimed_until__gt=now).order_by("id"))
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:batch])
        model.objects.filter(pk__in=[r.pk for r in rows]).update(claimed_until=now + CLAIM)
    return rows


def next_attempt(now: datetime, attempts: int) -> datetime:
    """When to try again after `attempts` failures: 30 s, 1 min, 2 min, … at most an hour."""
    return now + min(FIRST_RETRY * 2 ** (attempts - 1), MAX_BACKOFF)
