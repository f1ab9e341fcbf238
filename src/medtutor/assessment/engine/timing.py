"""The server's clock rules: when an attempt must end."""

from __future__ import annotations

from datetime import datetime, timedelta

from medtutor.core.clock import require_utc

__all__ = ["deadline_for", "seconds_left"]


def deadline_for(started_at: datetime, *, time_limit_minutes: int | None, extra_time_percent: int = 0,
                 closes_at: datetime | None = None) -> datetime | None:
    """start + limit × (1 + extra/100), never after `closes_at`; None when neither bounds it.

    `closes_at` is the exam's close time, or a per-student override's deadline when one is set.
    """
    require_utc(started_at)
    if closes_at is not None:
        require_utc(closes_at)
    ends = None
    if time_limit_minutes:
        extra = max(0, extra_time_percent)
        ends = started_at + timedelta(seconds=time_limit_minutes * 60 * (100 + extra) / 100)
    if closes_at is not None and (ends is None or closes_at < ends):
        ends = closes_at
    return ends


def seconds_left(deadline: datetime | None, at: datetime) -> int | None:
    if deadline is None:
        return None
    return max(0, int((deadline - at).total_seconds()))
