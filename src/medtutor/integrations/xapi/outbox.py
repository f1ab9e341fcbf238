"""The xAPI outbox: statements are written in the same transaction as the event they describe, and
sent later by `medtutor xapi send` (cron or --loop), with retries and backoff while the LRS is down.

Sending claims a batch by setting `claimed_until` in a short transaction (rows another sender holds
are skipped on PostgreSQL), posts it outside any transaction, then marks it sent. A sender that dies
mid-batch leaves rows whose claim expires; they are sent again and the LRS recognises the same
statement ids (409 counts as delivered).
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime

from django.conf import settings
from django.db import transaction

from medtutor.core import clock
from medtutor.integrations.models import XapiStatement
from medtutor.integrations.outbox import SendReport, claim_due, next_attempt

logger = logging.getLogger(__name__)

BATCH = 100


def enabled() -> bool:
    return bool(settings.XAPI_URL)


def enqueue(statement: dict) -> None:
    """Inside the caller's transaction: the statement is as durable as the event it describes."""
    XapiStatement.objects.get_or_create(statement_id=statement["id"], defaults={
        "payload": statement, "created_at": clock.now(), "next_attempt_at": clock.now()})


def _post(statements: list[dict]) -> None:
    url = settings.XAPI_URL.rstrip("/") + "/statements"
    request = urllib.request.Request(url, data=json.dumps(statements).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"})
    if settings.XAPI_USERNAME:
        token = base64.b64encode(f"{settings.XAPI_USERNAME}:{settings.XAPI_PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            response.read()
    except urllib.error.HTTPError as error:
        if error.code == 409:  # the LRS already holds these ids: delivered earlier, acknowledgement lost
            return
        body = error.read()[:300].decode(errors="replace")
        raise OSError(f"the LRS answered {error.code}: {body}") from None


def send_pending(now: datetime | None = None) -> SendReport:
    """Send what is due; on failure record the error and back off. Never raises for LRS trouble."""
    now = now or clock.now()
    sent = failed = 0
    error = ""
    while True:
        batch = claim_due(XapiStatement, now, BATCH)
        if not batch:
            break
        try:
            if len(batch) == 1:
                _post([batch[0].payload])
            else:
                try:
                    _post([s.payload for s in batch])
                except OSError:
                    # One statement the LRS refuses must not hold back the rest: send them one by one.
                    for statement in batch:
                        _post([statement.payload])
        except OSError as exc:  # connection refused, timeout, 4xx/5xx (urllib's URLError is an OSError)
            error = str(getattr(exc, "reason", exc))[:300]
            with transaction.atomic():
                for statement in batch:
                    statement.attempts += 1
                    statement.last_error = error
                    statement.claimed_until = None
                    statement.next_attempt_at = next_attempt(now, statement.attempts)
                    statement.save(update_fields=["attempts", "last_error", "claimed_until", "next_attempt_at"])
            failed += len(batch)
            logger.warning("xAPI: %d statement(s) not delivered (%s); next try with backoff", len(batch), error)
            break
        XapiStatement.objects.filter(pk__in=[s.pk for s in batch]).update(sent_at=clock.now(), claimed_until=None,
                                                                         last_error="")
        sent += len(batch)
    pending = XapiStatement.objects.filter(sent_at__isnull=True).count()
    return SendReport(sent, failed, pending, error)
