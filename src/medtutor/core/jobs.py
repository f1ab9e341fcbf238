"""Scheduled work that runs exactly once per period across every app server.

Each job has a period; a period's slot (job name + slot start) is claimed by inserting a `JobRun` row
under a unique constraint, committed before the job starts. Every instance may run `medtutor jobs run
--loop`: the first to claim a slot runs it, the others see the constraint and skip. A job that dies
half-way leaves its row unfinished (visible in `medtutor jobs status`) and the next slot runs it
again; every job here is safe to repeat (closing expired attempts, delivering the xAPI outbox).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from medtutor.core import clock
from medtutor.core.models import JobRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], str]          # returns a one-line summary
    enabled: Callable[[], bool] = lambda: True


def _close_expired(now: datetime) -> str:
    from medtutor.assessment.services import close_expired

    return f"closed {close_expired(at=now)} expired attempt(s)"


def _send_xapi(now: datetime) -> str:
    from medtutor.integrations.xapi.outbox import send_pending

    report = send_pending(now)
    return f"xAPI sent {report.sent}, failed {report.failed}, pending {report.pending}"


def _privacy_purge(now: datetime) -> str:
    from medtutor.governance.privacy import purge

    return f"purged: {purge(now).describe()}"


def _xapi_enabled() -> bool:
    from medtutor.integrations.xapi.outbox import enabled

    return enabled()


def _send_lti_scores(now: datetime) -> str:
    from medtutor.integrations.lti.services import send_pending_scores

    report = send_pending_scores(now)
    return f"LTI scores sent {report.sent}, failed {report.failed}, pending {report.pending}"


def _lti_scores_waiting() -> bool:
    from medtutor.integrations.lti.services import scores_pending

    return scores_pending()


def _refresh_analytics(now: datetime) -> str:
    from medtutor.analytics.aggregates import scheduled_refresh

    return scheduled_refresh(now)


JOBS: tuple[Job, ...] = (
    Job("exams.close_expired", timedelta(minutes=1), _close_expired),
    Job("xapi.send", timedelta(minutes=1), _send_xapi, _xapi_enabled),
    Job("lti.send_scores", timedelta(minutes=1), _send_lti_scores, _lti_scores_waiting),
    Job("privacy.purge", timedelta(days=1), _privacy_purge),
    Job("analytics.refresh_aggregates", timedelta(minutes=10), _refresh_analytics),
)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def slot_start(now: datetime, every: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    return epoch + ((now - epoch) // every) * every


def run_due(now: datetime | None = None, jobs: tuple[Job, ...] = JOBS) -> list[JobRun]:
    """Claim and run every job whose current slot nobody has claimed; returns the runs made here."""
    now = now or clock.now()
    made = []
    for job in jobs:
        if not job.enabled():
            continue
        try:
            with transaction.atomic():
                run = JobRun.objects.create(job=job.name, slot=slot_start(now, job.every), instance=instance_name(),
                                            started_at=clock.now())
        except IntegrityError:
            continue  # another instance has this slot
        try:
            summary = job.run(now)
            run.outcome, run.detail = JobRun.Outcome.DONE, summary[:500]
        except Exception as error:  # noqa: BLE001 - recorded and retried next slot, never kills the loop
            logger.exception("job %s failed", job.name)
            run.outcome, run.detail = JobRun.Outcome.FAILED, f"{type(error).__name__}: {error}"[:500]
        run.finished_at = clock.now()
        run.save(update_fields=["outcome", "detail", "finished_at"])
        made.append(run)
    return made
