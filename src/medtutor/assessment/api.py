"""Exam routes of the JSON API (mounted by medtutor.api): start, autosave, reveal, submit, report.

An open timed attempt's responses carry option texts only: no key, explanation or score. Fields
with no value are left out (`exclude_none`), so a hidden field is absent rather than null.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from medtutor.assessment import breaks, services
from medtutor.assessment.engine.timing import seconds_left
from medtutor.assessment.models import Attempt
from medtutor.core import clock
from medtutor.core.permissions import EVERYONE, STUDENT, has_role

router = Router(tags=["exams"])


def _require(request: HttpRequest, *roles: str) -> None:
    if not has_role(request.auth, *roles):
        raise HttpError(403, f"this needs a {' or '.join(roles)} account")


class ExamOut(Schema):
    id: int
    title: str
    mode: str
    time_limit_minutes: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    can_start: bool | None = None
    reason: str = ""
    attempts_used: int | None = None
    attempts_allowed: int | None = None
    open_attempt_id: int | None = None


class OptionOut(Schema):
    index: int
    letter: str
    text: str
    is_struck: bool
    is_key: bool | None = None       # only once revealed (tutor) or submitted
    explanation: str | None = None


class AttemptItemOut(Schema):
    position: int
    stem: str
    lead_in: str
    options: list[OptionOut]
    choice: int | None
    is_flagged: bool
    note: str
    seq: int
    is_revealed: bool
    is_correct: bool | None = None
    explanation: str | None = None
    objective: str | None = None
    text: str | None = None  # a short-answer item's saved text (its grade is on the report page)


class AttemptOut(Schema):
    id: int
    exam_id: int
    mode: str
    number: int
    started_at: datetime
    deadline_at: datetime | None
    seconds_left: int | None
    submitted_at: datetime | None
    submit_reason: str
    score_correct: int | None = None
    score_total: int | None = None
    paused: bool = False  # a rest break: the items are left out until it ends
    items: list[AttemptItemOut]


class SaveIn(Schema):
    seq: int = Field(ge=1, lt=2**53)
    choice: int | None = Field(default=None, ge=0, le=9)
    is_flagged: bool = False
    note: str = Field(default="", max_length=services.MAX_NOTE_CHARS)
    struck: list[int] = Field(default_factory=list, max_length=10)
    item_ms: int | None = Field(default=None, ge=0, le=10**10)
    text: str | None = Field(default=None, max_length=5000)  # a short-answer item's text


class SaveOut(Schema):
    status: str
    position: int
    seq: int
    choice: int | None
    is_flagged: bool


class BreakdownOut(Schema):
    key: str
    label: str
    correct: int
    total: int
    percent: float


class ReportOut(Schema):
    attempt: AttemptOut
    correct: int
    total: int
    percent: float
    percentile: float | None
    cohort_size: int
    by_competency: list[BreakdownOut]
    by_discipline: list[BreakdownOut]


def _item(view: services.QuestionView, seq: int) -> dict:
    show = view.is_correct is not None  # set only once the item is revealed or the attempt submitted
    return {
        "position": view.position, "stem": view.stem, "lead_in": view.lead_in,
        "options": [{"index": o.index, "letter": o.letter, "text": o.text, "is_struck": o.is_struck,
                     **({"is_key": o.is_key, "explanation": o.explanation} if show else {})} for o in view.options],
        "choice": next((o.index for o in view.options if o.is_chosen), None), "is_flagged": view.is_flagged,
        "note": view.note, "seq": seq, "is_revealed": view.is_revealed,
        **({"text": view.short.text} if view.short is not None else {}),
        **({"is_correct": view.is_correct, "explanation": view.explanation, "objective": view.objective or None}
           if show else {})}


def _attempt(attempt: Attempt) -> dict:
    items = services.attempt_items(attempt)
    submitted = attempt.is_submitted
    paused = not submitted and breaks.state(attempt).is_paused
    return {
        "id": attempt.pk, "exam_id": attempt.exam_id, "mode": attempt.mode, "number": attempt.number,
        "started_at": attempt.started_at, "deadline_at": attempt.deadline_at,
        "seconds_left": None if submitted else seconds_left(attempt.deadline_at, clock.now()),
        "submitted_at": attempt.submitted_at, "submit_reason": attempt.submit_reason,
        "score_correct": attempt.score_correct if submitted else None,
        "score_total": attempt.score_total if submitted else None, "paused": paused,
        "items": [] if paused else [_item(services.question_view(attempt, ai, total=len(items)), ai.last_seq)
                                    for ai in items]}


@router.get("/exams", response=list[ExamOut])
def list_exams(request: HttpRequest):
    _require(request, *EVERYONE)
    user = request.auth
    out = []
    for exam in services.exams_for(user):
        row = {"id": exam.pk, "title": exam.title, "mode": exam.mode, "time_limit_minutes": exam.time_limit_minutes,
               "opens_at": exam.opens_at, "closes_at": exam.closes_at}
        if has_role(user, STUDENT):
            status = services.availability(exam, user)
            row |= {"can_start": status.can_start, "reason": status.reason, "attempts_used": status.attempts_used,
                    "attempts_allowed": status.attempts_allowed, "closes_at": status.closes_at,
                    "open_attempt_id": status.open_attempt.pk if status.open_attempt else None}
        out.append(row)
    return out


@router.post("/exams/{exam_id}/attempts", response={201: AttemptOut, 200: AttemptOut}, exclude_none=True)
def start(request: HttpRequest, exam_id: int):
    """Start an attempt, or get the one already open (200)."""
    _require(request, STUDENT)
    before = set(Attempt.objects.open().filter(exam_id=exam_id, student=request.auth).values_list("pk", flat=True))
    attempt = services.start_attempt(request.auth, exam_id)
    return Status(200 if attempt.pk in before else 201, _attempt(attempt))


@router.get("/attempts/{attempt_id}", response=AttemptOut, exclude_none=True)
def get_attempt(request: HttpRequest, attempt_id: int):
    _require(request, *EVERYONE)
    return _attempt(services.refresh(services.attempt_for(request.auth, attempt_id)))


@router.put("/attempts/{attempt_id}/items/{position}", response=SaveOut)
def save_item(request: HttpRequest, attempt_id: int, position: int, body: SaveIn):
    _require(request, STUDENT)
    saved = services.save_response(request.auth, attempt_id, position, services.ItemChange(
        seq=body.seq, choice=body.choice, is_flagged=body.is_flagged, note=body.note, struck=tuple(body.struck),
        item_ms=body.item_ms, text=body.text))
    item = saved.item
    return {"status": saved.status, "position": item.position, "seq": item.last_seq,
            "choice": item.chosen_displayed, "is_flagged": item.is_flagged}


@router.post("/attempts/{attempt_id}/items/{position}/reveal", response=AttemptItemOut, exclude_none=True)
def reveal_item(request: HttpRequest, attempt_id: int, position: int):
    _require(request, STUDENT)
    item = services.reveal(request.auth, attempt_id, position)
    attempt = services.attempt_for(request.auth, attempt_id)
    return _item(services.question_view(attempt, item, total=attempt.items.count()), item.last_seq)


class BreakOut(Schema):
    paused: bool
    break_seconds_left: int
    break_seconds_used: int
    break_allowance_seconds: int
    exam_seconds_left: int | None
    resumes_at: datetime | None


@router.post("/attempts/{attempt_id}/pause", response=BreakOut)
def pause_attempt(request: HttpRequest, attempt_id: int):
    """Rest break (an accommodation): stop the clock and hide the items; 403 without the accommodation."""
    _require(request, STUDENT)
    return breaks.pause(request.auth, attempt_id).as_dict()


@router.post("/attempts/{attempt_id}/resume", response=BreakOut)
def resume_attempt(request: HttpRequest, attempt_id: int):
    """End a rest break: the clock runs again."""
    _require(request, STUDENT)
    return breaks.resume(request.auth, attempt_id).as_dict()


@router.post("/attempts/{attempt_id}/submit", response=AttemptOut, exclude_none=True)
def submit(request: HttpRequest, attempt_id: int):
    _require(request, STUDENT)
    return _attempt(services.submit_attempt(request.auth, attempt_id))


@router.get("/attempts/{attempt_id}/report", response=ReportOut, exclude_none=True)
def attempt_report(request: HttpRequest, attempt_id: int):
    _require(request, *EVERYONE)
    attempt = services.refresh(services.attempt_for(request.auth, attempt_id))
    result = services.report(attempt)
    return {"attempt": _attempt(attempt), "correct": result.correct, "total": result.total,
            "percent": result.percent, "percentile": result.percentile, "cohort_size": result.cohort_size,
            "by_competency": [vars_of(r) for r in result.by_competency],
            "by_discipline": [vars_of(r) for r in result.by_discipline]}


def vars_of(row: services.BreakdownRow) -> dict:
    return {"key": row.key, "label": row.label, "correct": row.correct, "total": row.total, "percent": row.percent}

