"""Rest breaks: a student with the rest-break accommodation pauses a timed attempt's clock.

The server owns the clock. A pause is granted, when it starts, the most seconds it may stop the
clock (the break time left in the attempt, never past the exam's close time), and the attempt's
deadline moves to `deadline + granted` at once, so auto-submission stays right even when the student
never comes back. Resuming sets the deadline to `deadline + seconds actually paused`. A pause that
runs out of break time ends by itself: the clock runs again and the questions come back.

While paused the questions are hidden (pages and API) and saves are refused with a clear message.
Every pause and resume is committed in one transaction with its audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from medtutor.accounts.models import Accommodation
from medtutor.assessment.engine import timing
from medtutor.assessment.models import Attempt, AttemptBreak
from medtutor.core import audit, clock
from medtutor.core.errors import DomainError, InvalidInput, PermissionDenied

__all__ = ["AttemptPaused", "BreakState", "NoBreakTimeLeft", "allowance_seconds", "end_open_break", "pause",
           "refuse_if_paused", "resume", "state", "with_breaks"]

NOT_ACCOMMODATED = ("Pausing the exam clock is a rest-break accommodation, and your account does not have "
                    "one. If you need rest breaks, ask your program's accommodation office or your faculty.")


class AttemptPaused(DomainError):
    """A save or a reveal arrived while the attempt is paused for a rest break."""
    status = 409
    code = "attempt_paused"


class NoBreakTimeLeft(DomainError):
    status = 409
    code = "no_break_time_left"


@dataclass(frozen=True, slots=True)
class BreakState:
    allowed: bool                 # the student has the accommodation and the attempt has a clock
    allowance_seconds: int        # break time for the whole attempt
    used_seconds: int             # paused so far, the open pause included
    left_seconds: int
    is_paused: bool
    paused_since: datetime | None = None
    resumes_at: datetime | None = None       # when an open pause runs out by itself
    exam_seconds_left: int | None = None     # frozen while paused
    pauses: int = 0

    @property
    def can_pause(self) -> bool:
        return self.allowed and not self.is_paused and self.left_seconds > 0

    def as_dict(self) -> dict[str, Any]:
        return {"paused": self.is_paused, "break_seconds_left": self.left_seconds,
                "break_seconds_used": self.used_seconds, "break_allowance_seconds": self.allowance_seconds,
                "exam_seconds_left": self.exam_seconds_left,
                "resumes_at": self.resumes_at.isoformat() if self.resumes_at else None}


def allowance_seconds(student: Any) -> int | None:
    """Break seconds per attempt, or None when the student has no rest-break accommodation."""
    row = Accommodation.objects.filter(user=student).values_list("rest_breaks", "rest_break_minutes").order_by().first()
    if row is None or not row[0]:
        return None
    return int(row[1] or 0) * 60


def _open_break(attempt: Attempt, *, lock: bool = False) -> AttemptBreak | None:
    rows = AttemptBreak.objects.filter(attempt=attempt, ended_at__isnull=True)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def _is_running(open_break: AttemptBreak | None, at: datetime) -> bool:
    return open_break is not None and at < timing.pause_ends_at(open_break.started_at, open_break.granted_seconds)


def state(attempt: Attempt, *, at: datetime | None = None) -> BreakState:
    """Where the attempt's breaks stand now (read-only: an expired pause counts as ended)."""
    at = at or clock.now()
    allowance = allowance_seconds(attempt.student_id)
    # Without the accommodation and with no pause open there is nothing to show or count: no query.
    rows = [] if allowance is None and attempt.paused_until is None else list(AttemptBreak.objects.filter(attempt=attempt))
    open_break = next((b for b in rows if b.ended_at is None), None)
    used = sum(b.used_seconds for b in rows if b.ended_at is not None)
    running = _is_running(open_break, at) and not attempt.is_submitted
    if open_break is not None:
        used += timing.pause_used(open_break.started_at, open_break.granted_seconds, at)
    allowed = allowance is not None and attempt.deadline_at is not None and not attempt.is_submitted
    total = allowance or 0
    exam_left = None
    if running:
        exam_left = timing.seconds_left(open_break.deadline_before, open_break.started_at)
    elif open_break is not None:  # ran out unattended, not yet booked: the clock runs from the grant's end
        exam_left = timing.seconds_left(timing.shift_deadline(open_break.deadline_before, open_break.granted_seconds), at)
    elif attempt.deadline_at is not None:
        exam_left = timing.seconds_left(attempt.deadline_at, at)
    return BreakState(
        allowed=allowed, allowance_seconds=total, used_seconds=used,
        left_seconds=timing.break_allowance_left(total, used), is_paused=running,
        paused_since=open_break.started_at if running else None,
        resumes_at=timing.pause_ends_at(open_break.started_at, open_break.granted_seconds) if running else None,
        exam_seconds_left=exam_left, pauses=len(rows))


def _close(open_break: AttemptBreak, attempt: Attempt, at: datetime, *, ended_by: str) -> None:
    """End a pause (inside the caller's transaction, the attempt row locked) and fix the deadline."""
    ends = timing.pause_ends_at(open_break.started_at, open_break.granted_seconds)
    open_break.used_seconds = timing.pause_used(open_break.started_at, open_break.granted_seconds, at)
    open_break.ended_at = min(at, ends)
    open_break.ended_by = "allowance" if at >= ends and ended_by == "student" else ended_by
    open_break.save(update_fields=["used_seconds", "ended_at", "ended_by"])
    attempt.paused_until = None
    if attempt.submitted_at is None:
        attempt.deadline_at = timing.shift_deadline(open_break.deadline_before, open_break.used_seconds)
        attempt.save(update_fields=["deadline_at", "paused_until"])
    else:
        attempt.save(update_fields=["paused_until"])


def end_open_break(attempt: Attempt, at: datetime) -> None:
    """Called when an attempt is submitted: an open pause ends then (the deadline no longer matters)."""
    open_break = _open_break(attempt, lock=True)
    if open_break is not None:
        _close(open_break, attempt, at, ended_by="submit")


def refuse_if_paused(attempt: Attempt, at: datetime) -> None:
    """Saves and reveals call this with the attempt locked: nothing is answered during a break."""
    if attempt.paused_until is not None and at < attempt.paused_until:
        raise AttemptPaused("The exam is paused for a rest break: resume it to answer. This change was not saved.")


def _closes_at(attempt: Attempt) -> datetime | None:
    from medtutor.assessment.models import ExamOverride

    override = ExamOverride.objects.filter(exam_id=attempt.exam_id, student_id=attempt.student_id).first()
    if override is not None and override.closes_at is not None:
        return override.closes_at
    return attempt.exam.closes_at


def _locked(user: Any, attempt_id: int, at: datetime) -> Attempt:
    from medtutor.assessment import services

    attempt, expired = services._locked_open_attempt(user, attempt_id, at)  # noqa: SLF001 - same app
    if expired:
        raise services._late(attempt)  # noqa: SLF001
    return attempt


def pause(user: Any, attempt_id: int, *, at: datetime | None = None) -> BreakState:
    """Stop the clock for a rest break. Pausing a paused attempt changes nothing."""
    at = at or clock.now()
    with transaction.atomic():
        attempt = _locked(user, attempt_id, at)
        allowance = allowance_seconds(attempt.student)
        if allowance is None:
            raise PermissionDenied(NOT_ACCOMMODATED)
        if attempt.deadline_at is None:
            raise InvalidInput("this exam has no time limit, so there is no clock to pause")
        open_break = _open_break(attempt, lock=True)
        if _is_running(open_break, at):
            return state(attempt, at=at)
        if open_break is not None:  # ran out unattended: book it (the clock restarted by itself) first
            _close(open_break, attempt, at, ended_by="allowance")
            audit.record_action(None, "exam.attempt.resumed", subject=attempt, data={
                "exam_id": attempt.exam_id, "student_id": attempt.student_id,
                "paused_seconds": open_break.used_seconds, "ended_by": "allowance",
                "deadline_at": attempt.deadline_at.isoformat()})
        used = sum(AttemptBreak.objects.filter(attempt=attempt).values_list("used_seconds", flat=True))
        left = timing.break_allowance_left(allowance, used)
        if left <= 0:
            raise NoBreakTimeLeft(f"you have used all {allowance // 60} minutes of rest-break time for this exam")
        grant = timing.pause_grant(allowance_left_seconds=left, deadline=attempt.deadline_at,
                                   closes_at=_closes_at(attempt))
        if grant <= 0:
            raise NoBreakTimeLeft("a break cannot stop the clock: the exam closes when your time runs out")
        AttemptBreak.objects.create(attempt=attempt, started_at=at, deadline_before=attempt.deadline_at,
                                    granted_seconds=grant)
        deadline_before = attempt.deadline_at
        attempt.deadline_at = timing.shift_deadline(deadline_before, grant)
        attempt.paused_until = timing.pause_ends_at(at, grant)
        attempt.save(update_fields=["deadline_at", "paused_until"])
        audit.record_action(user, "exam.attempt.paused", subject=attempt, data={
            "exam_id": attempt.exam_id, "student_id": attempt.student_id, "granted_seconds": grant,
            "break_seconds_used_before": used, "allowance_seconds": allowance,
            "deadline_before": deadline_before.isoformat()})
        return state(attempt, at=at)


def resume(user: Any, attempt_id: int, *, at: datetime | None = None) -> BreakState:
    """Start the clock again. Resuming a running attempt changes nothing."""
    at = at or clock.now()
    with transaction.atomic():
        attempt = _locked(user, attempt_id, at)
        open_break = _open_break(attempt, lock=True)
        if open_break is None:
            return state(attempt, at=at)
        _close(open_break, attempt, at, ended_by="student")
        audit.record_action(user, "exam.attempt.resumed", subject=attempt, data={
            "exam_id": attempt.exam_id, "student_id": attempt.student_id,
            "paused_seconds": open_break.used_seconds, "ended_by": open_break.ended_by,
            "deadline_at": attempt.deadline_at.isoformat() if attempt.deadline_at else None})
        return state(attempt, at=at)


def with_breaks(attempt: Attempt, base_deadline: datetime | None) -> datetime | None:
    """A recomputed deadline (an override changed) plus the breaks taken; an open pause is rebased on it.

    Call with the attempt row locked.
    """
    if base_deadline is None:
        return None
    rows = list(AttemptBreak.objects.select_for_update().filter(attempt=attempt))
    closed = sum(b.used_seconds for b in rows if b.ended_at is not None)
    deadline = timing.shift_deadline(base_deadline, closed)
    open_break = next((b for b in rows if b.ended_at is None), None)
    if open_break is None:
        return deadline
    open_break.deadline_before = deadline
    open_break.save(update_fields=["deadline_before"])
    return timing.shift_deadline(deadline, open_break.granted_seconds)
