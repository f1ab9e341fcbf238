"""Exams and attempts: the Python API views, the JSON API and the CLI call.

Rules kept here:
- an answer is committed before it is acknowledged, and an autosave is applied only when its client
  sequence number is higher than the last one applied to that item (replays and late arrivals change
  nothing, so any order of the same saves ends in the same state);
- the server owns the clock: each attempt's deadline is fixed at start from the time limit, the
  student's extra time and the close time (or the student's override); an attempt past its deadline
  is submitted on the next access, or by `close_expired`;
- no key, explanation or score leaves here for an open attempt, except a tutor-mode item already
  answered and revealed.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet

from medtutor.accounts.models import Accommodation
from medtutor.assessment import breaks, grading_services
from medtutor.assessment.engine import blueprint as bp
from medtutor.assessment.engine import scoring
from medtutor.assessment.engine.shuffle import attempt_seed, displayed_index, option_order, original_index
from medtutor.assessment.engine.timing import deadline_for, seconds_left
from medtutor.assessment.errors import AnswerLocked, AttemptClosed, DeadlinePassed
from medtutor.assessment.models import (
    Attempt,
    AttemptItem,
    BlueprintRow,
    Exam,
    ExamBuild,
    ExamItem,
    ExamMode,
    ExamOverride,
    SubmitReason,
)
from medtutor.content.models import Competency, Discipline, Item, ItemKind, ItemVersion
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.prepared import PreparedSelect, PreparedUpdate
from medtutor.core.permissions import AUTHORS, STUDENT, has_role

__all__ = [
    "AttemptReport", "Availability", "ItemChange", "MonitorRow", "QuestionView", "Saved", "add_exam_item",
    "attempt_for", "attempt_items", "availability", "item_at", "touch_position", "check_blueprint", "close_expired", "exams_for", "monitor_rows", "move_exam_item",
    "question_view", "refresh", "remove_exam_item", "report", "reveal", "save_exam", "save_response",
    "set_override", "start_attempt", "submit_attempt", "visible_exam",
]

logger = logging.getLogger(__name__)

LETTERS = "ABCDEFGHIJ"
MAX_NOTE_CHARS = 5000
MAX_SEQ = 2**53


# --- exams ---------------------------------------------------------------------------------------

def save_exam(exam: Exam, *, actor: Any, blueprint_rows: list[dict[str, Any]] | None = None,
              cohorts: Any = None) -> Exam:
    """Create or update an exam (its fields already set), its blueprint and cohorts, in one transaction.

    A blueprint the bank cannot fill is refused (`BlueprintShortfall`) and nothing is saved.
    """
    is_new = exam.pk is None
    now = clock.now()
    with transaction.atomic():
        if is_new:
            exam.created_at = now
            exam.created_by = actor if getattr(actor, "is_authenticated", False) else None
        exam.updated_at = now
        exam.save()
        if cohorts is not None:
            exam.cohorts.set(cohorts)
        if blueprint_rows is not None:
            exam.blueprint_rows.all().delete()
            BlueprintRow.objects.bulk_create([
                BlueprintRow(exam=exam, competency=row["competency"], difficulty=row.get("difficulty") or "",
                             count=row["count"]) for row in blueprint_rows])
        if exam.build == ExamBuild.BLUEPRINT:
            check_blueprint(exam)
        audit.record_action(actor, "exam.created" if is_new else "exam.edited", subject=exam, data={
            "title": exam.title, "mode": exam.mode, "build": exam.build,
            "time_limit_minutes": exam.time_limit_minutes, "items": exam.item_count(),
            "cohorts": sorted(c.code for c in exam.cohorts.all())})
    return exam


def _engine_rows(exam: Exam) -> list[bp.BlueprintRow]:
    return [bp.BlueprintRow(r.competency.code, r.difficulty or None, r.count)
            for r in exam.blueprint_rows.select_related("competency")]


def _pool(rows: list[bp.BlueprintRow]) -> list[bp.PoolItem]:
    if not rows:
        return []
    where = Q()
    for row in rows:
        where |= Q(competency__code=row.competency_code) | Q(competency__code__startswith=row.competency_code + ".")
    items = (Item.objects.active().filter(kind=ItemKind.SINGLE).filter(where)
             .values_list("pk", "competency__code", "difficulty"))
    return [bp.PoolItem(pk, code, difficulty or None) for pk, code, difficulty in items]


def check_blueprint(exam: Exam) -> None:
    rows = _engine_rows(exam)
    if not rows:
        raise InvalidInput("a blueprint exam needs at least one row (a competency and a count)")
    bp.assemble(rows, _pool(rows), rng=random.Random(0))


def add_exam_item(exam: Exam, item_id: int, *, actor: Any) -> ExamItem:
    item = Item.objects.active().filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"there is no question {item_id}")
    if item.kind not in (ItemKind.SINGLE, ItemKind.SHORT):
        raise InvalidInput("only single-best-answer and short-answer questions can be added to exams")
    with transaction.atomic():
        existing = exam.exam_items.filter(item=item).first()
        if existing is not None:
            return existing
        last = exam.exam_items.order_by("-position").values_list("position", flat=True).first() or 0
        added = ExamItem.objects.create(exam=exam, item=item, position=last + 1)
        _touch(exam, actor, "added", item.external_id)
    return added


def remove_exam_item(exam: Exam, item_id: int, *, actor: Any) -> None:
    with transaction.atomic():
        deleted, _ = exam.exam_items.filter(item_id=item_id).delete()
        if deleted:
            _touch(exam, actor, "removed", str(item_id))


def move_exam_item(exam: Exam, item_id: int, offset: int, *, actor: Any) -> None:
    with transaction.atomic():
        rows = list(exam.exam_items.order_by("position", "id"))
        index = next((i for i, r in enumerate(rows) if r.item_id == item_id), None)
        if index is None:
            raise NotFound(f"question {item_id} is not in this exam")
        target = max(0, min(len(rows) - 1, index + offset))
        rows.insert(target, rows.pop(index))
        for position, row in enumerate(rows, 1):
            row.position = position
        ExamItem.objects.bulk_update(rows, ["position"])
        _touch(exam, actor, "moved", str(item_id))


def _touch(exam: Exam, actor: Any, change: str, what: str) -> None:
    exam.updated_at = clock.now()
    exam.save(update_fields=["updated_at"])
    audit.record_action(actor, "exam.edited", subject=exam, data={"items": change, "item": what})


def set_override(exam: Exam, student: Any, *, extra_attempts: int, closes_at: datetime | None, reason: str,
                 actor: Any) -> ExamOverride:
    """Give one student more attempts or another deadline; their open attempt's deadline follows."""
    if not has_role(student, STUDENT):
        raise InvalidInput("overrides are for student accounts")
    now = clock.now()
    with transaction.atomic():
        override, _ = ExamOverride.objects.update_or_create(
            exam=exam, student=student, defaults={
                "extra_attempts": extra_attempts, "closes_at": closes_at, "reason": reason,
                "updated_by": actor if getattr(actor, "is_authenticated", False) else None, "updated_at": now})
        for attempt in Attempt.objects.select_for_update().open().filter(exam=exam, student=student):
            attempt.deadline_at = breaks.with_breaks(attempt, _deadline(exam, student, attempt.started_at, override))
            attempt.save(update_fields=["deadline_at"])
        audit.record_action(actor, "exam.override.set", subject=exam, data={
            "student_id": student.pk, "extra_attempts": extra_attempts,
            "closes_at": closes_at.isoformat() if closes_at else None})
    return override


# --- who may sit what ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Availability:
    can_start: bool
    reason: str
    attempts_used: int
    attempts_allowed: int
    closes_at: datetime | None
    open_attempt: Attempt | None


def _assigned(student: Any) -> Q:
    return Q(cohorts__isnull=True) | Q(cohorts__members=student)


def exams_for(user: Any) -> QuerySet[Exam]:
    """Faculty see every exam; a student sees exams assigned to one of their cohorts, or to nobody in particular."""
    if has_role(user, *AUTHORS):
        return Exam.objects.all()
    return Exam.objects.filter(_assigned(user)).distinct()


def visible_exam(user: Any, exam_id: int) -> Exam:
    exam = exams_for(user).filter(pk=exam_id).first()
    if exam is None:
        raise NotFound(f"there is no exam {exam_id}")
    return exam


def _override(exam: Exam, student: Any) -> ExamOverride | None:
    return ExamOverride.objects.filter(exam=exam, student=student).first()


def _closes_at(exam: Exam, override: ExamOverride | None) -> datetime | None:
    if override is not None and override.closes_at is not None:
        return override.closes_at
    return exam.closes_at


def _extra_time_percent(student: Any) -> int:
    found = Accommodation.objects.filter(user=student).values_list("extra_time_percent", flat=True).first()
    return int(found or 0)


def _deadline(exam: Exam, student: Any, started_at: datetime, override: ExamOverride | None) -> datetime | None:
    return deadline_for(started_at, time_limit_minutes=exam.time_limit_minutes,
                        extra_time_percent=_extra_time_percent(student), closes_at=_closes_at(exam, override))


def availability(exam: Exam, student: Any, *, at: datetime | None = None) -> Availability:
    at = at or clock.now()
    override = _override(exam, student)
    closes_at = _closes_at(exam, override)
    attempts = Attempt.objects.filter(exam=exam, student=student)
    used = attempts.count()
    allowed = exam.max_attempts + (override.extra_attempts if override else 0)
    open_attempt = attempts.open().first()
    if open_attempt is not None and (open_attempt.deadline_at is None or at < open_attempt.deadline_at):
        return Availability(False, "you have an attempt in progress", used, allowed, closes_at, open_attempt)
    reason = ""
    if exam.opens_at and at < exam.opens_at:
        reason = "this exam has not opened yet"
    elif closes_at and at >= closes_at:
        reason = "this exam has closed"
    elif used >= allowed:
        reason = f"you have used all {allowed} attempt{'s' if allowed != 1 else ''}"
    elif exam.item_count() == 0:
        reason = "this exam has no questions yet"
    return Availability(not reason, reason, used, allowed, closes_at, None)


# --- attempts ------------------------------------------------------------------------------------

def start_attempt(student: Any, exam_id: int, *, at: datetime | None = None) -> Attempt:
    """The open attempt if there is one (a second tab, a double click), else a new one with its own form."""
    at = at or clock.now()
    if not has_role(student, STUDENT):
        raise InvalidInput("only students sit exams")
    exam = visible_exam(student, exam_id)
    for attempt in Attempt.objects.open().filter(exam=exam, student=student):
        if refresh(attempt, at=at).submitted_at is None:
            return attempt
    status = availability(exam, student, at=at)
    if not status.can_start:
        raise AttemptClosed(f"you cannot start this exam: {status.reason}")
    number = status.attempts_used + 1
    seed = attempt_seed(exam.pk, student.pk, number)
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                exam=exam, student=student, number=number, mode=exam.mode, seed=seed, started_at=at,
                deadline_at=_deadline(exam, student, at, _override(exam, student)))
            if exam.mode == ExamMode.ADAPTIVE:  # one item at a time, chosen as the student answers
                from medtutor.assessment.cat_services import draw_first_item

                draw_first_item(exam, attempt)
            else:
                _draw_form(exam, attempt)
    except IntegrityError:  # the same student started it from another tab at the same moment
        existing = Attempt.objects.open().filter(exam=exam, student=student).first()
        if existing is None:
            raise
        return existing
    logger.info("attempt %s started (exam %s, learner %s)", attempt.pk, exam.pk, student.pk)
    return attempt


def _draw_form(exam: Exam, attempt: Attempt) -> None:
    rng = random.Random(attempt.seed)
    if exam.build == ExamBuild.BLUEPRINT:
        rows = _engine_rows(exam)
        item_ids = bp.assemble(rows, _pool(rows), rng=rng)
    else:
        item_ids = list(exam.exam_items.filter(item__retired_at__isnull=True).order_by("position", "id")
                        .values_list("item_id", flat=True))
        if exam.shuffle_items:
            rng.shuffle(item_ids)
    items = Item.objects.select_related("current_version").in_bulk(item_ids)  # one query, not one per item
    rows_out = []
    for item_id in item_ids:
        version = items[item_id].current_version
        if version is None:
            continue
        rows_out.append(AttemptItem(
            attempt=attempt, position=len(rows_out) + 1, item_version=version,
            option_order=option_order(len(version.options), seed=attempt.seed, item_id=item_id,
                                      shuffle=exam.shuffle_options)))
    if not rows_out:
        raise InvalidInput("this exam has no questions yet")
    AttemptItem.objects.bulk_create(rows_out)


def attempt_for(user: Any, attempt_id: int, *, for_writing: bool = False) -> Attempt:
    """The student's own attempt; faculty may read any. Anything else is reported as absent (404).

    Every page of a sitting starts here: the attempt and its exam are two prepared reads, and the
    student is the signed-in user when it is their own (faculty's pages read the student when shown)."""
    attempt = _ATTEMPT_BY_ID.first(attempt_id)
    if attempt is None:
        raise NotFound(f"there is no attempt {attempt_id}")
    own = attempt.student_id == getattr(user, "pk", None) and has_role(user, STUDENT)
    if not own and (for_writing or not has_role(user, *AUTHORS)):
        raise NotFound(f"there is no attempt {attempt_id}")
    attempt.exam = _EXAM_BY_ID.first(attempt.exam_id)
    if own:
        attempt.student = user
    return attempt


def _is_past(attempt: Attempt, at: datetime) -> bool:
    return attempt.deadline_at is not None and at >= attempt.deadline_at


def refresh(attempt: Attempt, *, at: datetime | None = None) -> Attempt:
    """Submit the attempt if its deadline has passed (lazily, on any access). Returns it up to date."""
    at = at or clock.now()
    if attempt.submitted_at is None and _is_past(attempt, at):
        with transaction.atomic():
            locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
            if locked.submitted_at is None:
                _finalize(locked, reason=SubmitReason.DEADLINE, at=locked.deadline_at, actor=None)
        attempt.refresh_from_db()
    return attempt


def close_expired(*, at: datetime | None = None, exam: Exam | None = None) -> int:
    """Submit every open attempt whose deadline has passed; returns how many. Safe to run at any time."""
    at = at or clock.now()
    due = Attempt.objects.open().filter(deadline_at__lte=at)
    if exam is not None:
        due = due.filter(exam=exam)
    closed = 0
    for attempt_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
            if attempt.submitted_at is None and _is_past(attempt, at):
                _finalize(attempt, reason=SubmitReason.DEADLINE, at=attempt.deadline_at, actor=None)
                closed += 1
    return closed


def _scored_items(attempt: Attempt) -> list[tuple[AttemptItem, scoring.ScoredItem]]:
    items = attempt.items.select_related("item_version__item__competency", "item_version__item__discipline",
                                         "item_version__objective")
    return [(ai, scoring.ScoredItem(
        position=ai.position, **_key_and_choice(ai),
        competency=ai.item_version.item.competency.code if ai.item_version.item.competency else "",
        discipline=ai.item_version.item.discipline.code if ai.item_version.item.discipline else "",
        seconds_spent=ai.time_spent_ms / 1000)) for ai in items]


def _key_and_choice(ai: AttemptItem) -> dict[str, int | None]:
    if grading_services.is_short(ai.item_version):
        key, chosen = grading_services.scored_choice(ai)
        return {"key_index": key, "chosen_index": chosen}
    return {"key_index": ai.item_version.key_index, "chosen_index": ai.chosen_index}


# The hot statements of a sitting (autosave, submission), compiled once: the ORM spent more CPU building
# them than PostgreSQL spent running them (core.prepared).
_LOCK_ATTEMPT = PreparedSelect(Attempt, by=("id",), for_update=True)
_LOCK_ITEM = PreparedSelect(AttemptItem, by=("attempt", "position"), for_update=True)
_ATTEMPT_BY_ID = PreparedSelect(Attempt, by=("id",))
_EXAM_BY_ID = PreparedSelect(Exam, by=("id",))
_ITEM_AT = PreparedSelect(AttemptItem, by=("attempt", "position"))
_VERSION_BY_ID = PreparedSelect(ItemVersion, by=("id",))
_WRITE_SAVE = PreparedUpdate(AttemptItem, fields=("chosen_index", "is_flagged", "note", "struck", "answered_at",
                                                  "time_spent_ms", "last_seq"))


# What scoring at submission reads of each item: the key and the choice, not the texts or the
# classification (the report reads those), as plain rows: a deadline storm submits hundreds of attempts a
# second, and building two model instances per item cost more than the query.
_FINALIZE_COLUMNS = ("pk", "position", "chosen_index", "answered_at", "is_correct", "item_version__key_index",
                     "item_version__options", "item_version__answers", "item_version__rubric")


def _finalize(attempt: Attempt, *, reason: str, at: datetime, actor: Any) -> None:
    """Score and close a locked, open attempt (inside the caller's transaction)."""
    rows = list(attempt.items.order_by().values_list(*_FINALIZE_COLUMNS))
    scored, stored, any_short = [], [], False
    for pk, position, chosen, answered_at, is_correct, key, options, answers, rubric in rows:
        if grading_services.is_short_columns(options, answers, rubric):
            any_short = True
            key, chosen = grading_services.scored_choice_columns(is_correct, answered_at)
        scored.append(scoring.ScoredItem(position=position, key_index=key, chosen_index=chosen))
        stored.append((pk, is_correct))
    result = scoring.score(scored)
    # One UPDATE per value instead of a CASE per row: the same rows end in the same state.
    changed: dict[bool, list[int]] = {True: [], False: []}
    for (pk, is_correct), item_score in zip(stored, result.items, strict=True):
        if is_correct is not item_score.is_correct:
            changed[item_score.is_correct].append(pk)
    for value, pks in changed.items():
        if pks:
            AttemptItem.objects.filter(pk__in=pks).update(is_correct=value)
    if attempt.paused_until is not None:
        breaks.end_open_break(attempt, at)
    attempt.submitted_at = at
    attempt.submit_reason = reason
    attempt.score_correct = result.correct + grading_services.grade_attempt(attempt, at=at, any_short=any_short)
    attempt.score_total = result.total
    attempt.save(update_fields=["submitted_at", "submit_reason", "score_correct", "score_total"])
    audit.record_action(actor, "exam.attempt.submitted", subject=attempt, data={
        "exam_id": attempt.exam_id, "student_id": attempt.student_id, "reason": reason,
        "correct": result.correct, "total": result.total, "answered": result.answered})
    logger.info("attempt %s submitted (%s)", attempt.pk, reason)


def submit_attempt(user: Any, attempt_id: int, *, at: datetime | None = None, stopping_rule: bool = False) -> Attempt:
    """Submit by hand. Submitting twice returns the same result; past the deadline it closes as auto-submitted.
    An adaptive exam ends by its stopping rule (`stopping_rule=True`, the CAT's own call), not by hand."""
    at = at or clock.now()
    with transaction.atomic():
        attempt = _locked_own_attempt(user, attempt_id)
        if attempt.submitted_at is None:
            if _is_past(attempt, at):
                _finalize(attempt, reason=SubmitReason.DEADLINE, at=attempt.deadline_at, actor=None)
            elif attempt.mode == ExamMode.ADAPTIVE and not stopping_rule:
                raise AnswerLocked("an adaptive exam ends when its stopping rule is met; answer the current question")
            else:
                _finalize(attempt, reason=SubmitReason.MANUAL, at=at, actor=user)
    return attempt


@dataclass(frozen=True, slots=True)
class ItemChange:
    """The whole state of one item as the client sees it, displayed option indices."""
    seq: int
    choice: int | None = None
    is_flagged: bool = False
    note: str = ""
    struck: tuple[int, ...] = ()
    item_ms: int | None = None  # time this client has spent on the item in total
    text: str | None = None  # a short-answer item's text (None: unchanged)


@dataclass(frozen=True, slots=True)
class Saved:
    item: AttemptItem
    status: str  # "saved", "duplicate" (this seq was applied already) or "stale" (a newer one was)

    @property
    def applied(self) -> bool:
        return self.status == "saved"


def _valid_seq(seq: Any) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < MAX_SEQ:
        raise InvalidInput("the save has no valid sequence number; reload the page")
    return seq


def _locked_own_attempt(user: Any, attempt_id: int) -> Attempt:
    """Lock the student's own attempt row. The owner check of attempt_for(for_writing=True), on the locked
    row itself: one query less per autosave and per submission."""
    attempt = _LOCK_ATTEMPT.first(attempt_id)
    if attempt is None or attempt.student_id != getattr(user, "pk", None) or not has_role(user, STUDENT):
        raise NotFound(f"there is no attempt {attempt_id}")
    return attempt


def _locked_open_attempt(user: Any, attempt_id: int, at: datetime) -> tuple[Attempt, bool]:
    """Lock the attempt row; close it if its deadline passed. Returns (attempt, just_expired)."""
    attempt = _locked_own_attempt(user, attempt_id)
    if attempt.submitted_at is not None:
        raise AttemptClosed("this attempt has been submitted; answers can no longer change")
    if _is_past(attempt, at):
        _finalize(attempt, reason=SubmitReason.DEADLINE, at=attempt.deadline_at, actor=None)
        return attempt, True
    return attempt, False


def _late(attempt: Attempt) -> DeadlinePassed:
    ended = attempt.deadline_at.strftime("%H:%M:%S UTC") if attempt.deadline_at else "its deadline"
    return DeadlinePassed(f"Time is up: the exam ended at {ended} and was submitted automatically. "
                          "This answer arrived after the deadline and was not saved.")


def save_response(user: Any, attempt_id: int, position: int, change: ItemChange, *,
                  at: datetime | None = None) -> Saved:
    """Apply one autosave, committed before returning. Replays and late arrivals change nothing."""
    at = at or clock.now()
    seq = _valid_seq(change.seq)
    with transaction.atomic():
        attempt, expired = _locked_open_attempt(user, attempt_id, at)
        if not expired:
            breaks.refuse_if_paused(attempt, at)
            if attempt.mode == ExamMode.ADAPTIVE:
                raise AnswerLocked("adaptive exams take one final answer per question, on the question page")
            # The item version is read only for a short answer's text (lazily, below).
            ai = _LOCK_ITEM.first(attempt.pk, position)
            if ai is None:
                raise NotFound(f"this attempt has no question {position}")
            if seq <= ai.last_seq:
                return Saved(ai, "duplicate" if seq == ai.last_seq else "stale")
            n_options = len(ai.option_order)
            chosen = None if change.choice is None else original_index(ai.option_order, change.choice)
            if ai.is_revealed and chosen != ai.chosen_index:
                raise AnswerLocked("the answer to this question is locked: its feedback has been shown")
            struck = sorted({original_index(ai.option_order, d) for d in change.struck})
            if len(change.note) > MAX_NOTE_CHARS:
                raise InvalidInput(f"a note can hold up to {MAX_NOTE_CHARS} characters")
            if chosen != ai.chosen_index:
                ai.answered_at = at if chosen is not None else None
            ai.chosen_index = chosen
            ai.is_flagged = bool(change.is_flagged)
            ai.note = change.note
            ai.struck = struck if n_options else []
            if change.item_ms is not None and change.item_ms > ai.time_spent_ms:
                ceiling = max(0, int((at - attempt.started_at).total_seconds() * 1000))
                ai.time_spent_ms = min(int(change.item_ms), ceiling)
            if change.text is not None and grading_services.is_short(ai.item_version):
                grading_services.save_text(ai, change.text, at=at)
            ai.last_seq = seq
            _WRITE_SAVE.run(ai)
            if attempt.last_position != position:
                Attempt.objects.filter(pk=attempt.pk).update(last_position=position)
            return Saved(ai, "saved")
    raise _late(attempt)


def reveal(user: Any, attempt_id: int, position: int, *, at: datetime | None = None) -> AttemptItem:
    """Tutor mode: lock the item's answer and show its key and explanations. Idempotent."""
    at = at or clock.now()
    with transaction.atomic():
        attempt, expired = _locked_open_attempt(user, attempt_id, at)
        if not expired:
            if not attempt.is_tutor:
                raise InvalidInput("feedback comes after submission in a timed exam")
            breaks.refuse_if_paused(attempt, at)
            ai = attempt.items.select_for_update().select_related("item_version").filter(position=position).first()
            if ai is None:
                raise NotFound(f"this attempt has no question {position}")
            if grading_services.is_short(ai.item_version):  # graded now, provisionally if the grader is unsure
                grading_services.reveal_short(ai, at=at)
                return ai
            if ai.chosen_index is None:
                raise InvalidInput("choose an answer first")
            if ai.revealed_at is None:
                ai.revealed_at = at
                ai.is_correct = scoring.is_correct(ai.item_version.key_index, ai.chosen_index)
                ai.save(update_fields=["revealed_at", "is_correct"])
            return ai
    raise _late(attempt)


def touch_position(attempt: Attempt, position: int) -> None:
    """Remember where the student is, so a closed browser resumes there."""
    if attempt.last_position != position:
        Attempt.objects.filter(pk=attempt.pk, submitted_at__isnull=True).update(last_position=position)
        attempt.last_position = position


# --- what a page or an API response may show --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OptionView:
    index: int           # displayed position
    letter: str
    text: str
    is_chosen: bool
    is_struck: bool
    # Only for a revealed item or a submitted attempt:
    is_key: bool = False
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class QuestionView:
    position: int
    total: int
    stem: str
    lead_in: str
    image_name: str
    options: tuple[OptionView, ...]
    is_flagged: bool
    note: str
    last_seq: int
    time_spent_ms: int
    is_answered: bool
    is_revealed: bool
    is_correct: bool | None = None
    key_letter: str = ""
    explanation: str = ""
    objective: str = ""
    objective_competency: str = ""
    short: Any = None  # grading_services.ShortView for a short-answer item


def question_view(attempt: Attempt, ai: AttemptItem, *, total: int) -> QuestionView:
    """An item as the student may see it now. Keys and explanations only once revealed or submitted."""
    version = ai.item_version
    show = ai.is_revealed or attempt.is_submitted
    chosen = ai.chosen_displayed
    struck = set(ai.struck_displayed)
    options = []
    for d, original in enumerate(ai.option_order):
        option = version.options[original]
        options.append(OptionView(
            index=d, letter=LETTERS[d], text=option["text"], is_chosen=d == chosen, is_struck=d in struck,
            is_key=show and original == version.key_index,
            explanation=(option.get("explanation") or "") if show else ""))
    extra: dict[str, Any] = {}
    if show:
        key_d = displayed_index(ai.option_order, version.key_index)
        objective = version.objective
        extra = {"is_correct": scoring.is_correct(version.key_index, ai.chosen_index),
                 "key_letter": LETTERS[key_d] if key_d is not None else "", "explanation": version.explanation,
                 "objective": objective.text if objective else "",
                 "objective_competency": objective.competency.name if objective else ""}
    return QuestionView(
        position=ai.position, total=total, stem=version.stem, lead_in=version.lead_in,
        image_name=version.image.name if version.image else "", options=tuple(options),
        is_flagged=ai.is_flagged, note=ai.note, last_seq=ai.last_seq, time_spent_ms=ai.time_spent_ms,
        is_answered=ai.is_answered, is_revealed=ai.is_revealed, short=grading_services.short_view(attempt, ai),
        **extra)


def attempt_items(attempt: Attempt) -> list[AttemptItem]:
    return list(attempt.items.select_related("item_version__objective__competency"))


# What the navigator and the submit page show of each item (answered, flagged): no question texts.
_NAVIGATOR_FIELDS = ("id", "attempt_id", "position", "chosen_index", "is_flagged", "answered_at", "option_order")


def navigator_items(attempt: Attempt) -> list[AttemptItem]:
    """The attempt's items, light: a question page loads only its own item's text (item_at)."""
    return list(attempt.items.only(*_NAVIGATOR_FIELDS).order_by("position"))


def item_at(attempt: Attempt, position: int) -> AttemptItem:
    """The item and its version in two prepared reads (the question page's hot path); the learning
    objective, shown only with feedback, is read when shown."""
    ai = _ITEM_AT.first(attempt.pk, position)
    if ai is None:
        raise NotFound(f"this attempt has no question {position}")
    ai.item_version = _VERSION_BY_ID.first(ai.item_version_id)
    return ai


# --- the score report ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    label: str
    correct: int
    total: int
    percent: float


@dataclass(frozen=True, slots=True)
class ReviewItem:
    view: QuestionView
    competency: str
    discipline: str
    seconds: int
    is_correct: bool
    is_answered: bool


@dataclass(frozen=True, slots=True)
class AttemptReport:
    attempt: Attempt
    correct: int
    total: int
    answered: int
    percent: float
    percentile: float | None
    cohort_size: int
    by_competency: tuple[BreakdownRow, ...]
    by_discipline: tuple[BreakdownRow, ...]
    seconds_total: int
    items: tuple[ReviewItem, ...] = field(default_factory=tuple)


def _rows(breakdowns: tuple[scoring.Breakdown, ...], names: dict[str, str], blank: str) -> tuple[BreakdownRow, ...]:
    return tuple(BreakdownRow(b.key, names.get(b.key, b.key) if b.key else blank, b.correct, b.total,
                              round(b.percent, 1)) for b in breakdowns)


def report(attempt: Attempt) -> AttemptReport:
    if not attempt.is_submitted:
        raise AttemptClosed("the score report is ready once the attempt is submitted")
    pairs = _scored_items(attempt)
    result = scoring.score([s for _, s in pairs])
    peers = [100.0 * c / t for c, t in Attempt.objects.submitted().filter(exam_id=attempt.exam_id, score_total__gt=0)
             .values_list("score_correct", "score_total")]
    competency_names = {c.code: (f"{c.parent.name} › {c.name}" if c.parent else c.name)
                        for c in Competency.objects.select_related("parent")
                        .filter(code__in={s.competency for _, s in pairs})}
    discipline_names = dict(Discipline.objects.filter(code__in={s.discipline for _, s in pairs})
                            .values_list("code", "name"))
    total = len(pairs)
    items = []
    for (ai, scored), item_score in zip(pairs, result.items, strict=True):
        items.append(ReviewItem(
            view=question_view(attempt, ai, total=total),
            competency=competency_names.get(scored.competency, scored.competency or "Unclassified"),
            discipline=discipline_names.get(scored.discipline, scored.discipline or "—"),
            seconds=round(scored.seconds_spent), is_correct=item_score.is_correct,
            is_answered=item_score.is_answered))
    return AttemptReport(
        attempt=attempt, correct=result.correct, total=result.total, answered=result.answered,
        percent=round(result.percent, 1),
        percentile=(round(p, 1) if (p := scoring.percentile_rank(result.percent, peers)) is not None else None),
        cohort_size=len(peers),
        by_competency=_rows(result.by_competency, competency_names, "Unclassified"),
        by_discipline=_rows(result.by_discipline, discipline_names, "No discipline"),
        seconds_total=round(result.seconds_total), items=tuple(items))


# --- monitoring ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MonitorRow:
    attempt: Attempt
    answered: int
    flagged: int
    total: int
    seconds_left: int | None


def monitor_rows(exam: Exam, *, at: datetime | None = None) -> list[MonitorRow]:
    """Attempts in progress now (expired ones are submitted first)."""
    at = at or clock.now()
    close_expired(at=at, exam=exam)
    attempts = (Attempt.objects.open().filter(exam=exam).select_related("student")
                .annotate(n_answered=Count("items", filter=Q(items__chosen_index__isnull=False)),
                          n_flagged=Count("items", filter=Q(items__is_flagged=True)),
                          n_items=Count("items")).order_by("started_at"))
    return [MonitorRow(a, a.n_answered, a.n_flagged, a.n_items, seconds_left(a.deadline_at, at)) for a in attempts]
