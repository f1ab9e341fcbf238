"""The server's clock rules: when an attempt must end."""

from __future__ import annotations

from datetime import datetime, timedelta

from medtutor.core.clock import require_utc

__all__ = ["break_allowance_left", "deadline_for", "pause_ends_at", "pause_grant", "pause_used", "seconds_left",
           "shift_deadline"]


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


# --- rest breaks (an accommodation): paused time does not count, up to the allowance ---------------
#
# A pause is granted, when it starts, the most seconds it may stop the clock: the break time left
# in the attempt, and never so much that the attempt would end after the exam's close time. While
# the pause is open the deadline sits at `deadline + granted` (so a student who never comes back is
# still submitted on time); on resume it becomes `deadline + seconds actually paused`.

def break_allowance_left(allowance_seconds: int, used_seconds: int) -> int:
    return max(0, allowance_seconds - max(0, used_seconds))


def pause_grant(*, allowance_left_seconds: int, deadline: datetime, closes_at: datetime | None = None) -> int:
    """Seconds a pause starting now may stop the clock: the break time left, capped by the close time."""
    require_utc(deadline)
    grant = max(0, allowance_left_seconds)
    if closes_at is not None:
        require_utc(closes_at)
        grant = min(grant, max(0, int((closes_at - deadline).total_seconds())))
    return grant


def pause_used(started_at: datetime, granted_seconds: int, at: datetime) -> int:
    """Whole seconds a pause begun at `started_at` has stopped the clock by `at` (at most its grant)."""
    require_utc(started_at)
    require_utc(at)
    return max(0, min(granted_seconds, int((at - started_at).total_seconds())))


def pause_ends_at(started_at: datetime, granted_seconds: int) -> datetime:
    """When an unattended pause runs out and the clock starts again by itself."""
    return require_utc(started_at) + timedelta(seconds=max(0, granted_seconds))


def shift_deadline(deadline: datetime, seconds: int) -> datetime:
    return require_utc(deadline) + timedelta(seconds=max(0, seconds))
