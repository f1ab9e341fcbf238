"""Contests: a student asks a person to review an AI decision about them; faculty decide.

Which decisions are "about" a student. Features record decisions in three ways (core.audit):
- about the student directly: subject ("accounts.user", id) — practice selection, the dashboard's
  mastery and predicted score, study plans;
- about a row the student owns: short-answer grades (assessment.ShortAnswerResponse via its attempt),
  adaptive-exam ability (assessment.Attempt), virtual-patient debriefs (simulation.Session), DDx trainer
  sessions, card plans and memory fits (learning.DeckSettings), early-warning flags
  (analytics.EarlyWarningFlag);
- made for the student while they used a tool: actor = the student (DDx predictions, imaging reads,
  risk-lab predictions).
`decisions_about` is the one query for all three; a student may contest only what it returns.

Who reviews: faculty review contests of students in a cohort they belong to; administrators all.
Creating a contest and deciding it are audited; deciding "changed" is a human override of the decision
(core.audit.record_override), the other outcomes are actions. The student's reason stays out of the
audit log (the log cannot be edited, so it cannot be scrubbed when the student's data is deleted).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from medtutor.core import clock
from medtutor.core.audit import record_action, record_override
from medtutor.core.errors import InvalidInput, NotFound, PermissionDenied
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.core.permissions import ADMIN, FACULTY, STUDENT, has_role
from medtutor.governance.oversight_models import Contest, ContestStatus

MAX_REASON = 2000
MAX_RESPONSE = 4000
MAX_CORRECTED = 500

# subject_type -> the lookup from that row to the student it is about
OWNED_SUBJECTS = {
    "assessment.shortanswerresponse": "attempt_item__attempt__student",
    "assessment.attempt": "student",
    "simulation.session": "student",
    "decision.trainersession": "learner",
    "learning.decksettings": "learner",
    "learning.studyplan": "learner",
    "analytics.earlywarningflag": "student",
}

# What each kind of decision is, in a student's words (by audit action; unknown ones show the action).
DECISION_LABELS = {
    "asag.grade": "Short-answer grade",
    "exam.adaptive.ability": "Adaptive exam: ability estimate",
    "vp.debrief": "Virtual patient: debrief score",
    "practice.next_question": "Practice: choice of your next question",
    "dashboard.prediction": "Dashboard: mastery and predicted exam score",
    "plan.saved": "Study plan",
    "cards.catchup.plan": "Cards: catch-up plan",
    "cards.memory.personalise": "Cards: personal memory model",
    "ddx.start": "DDx trainer: first differential",
    "ddx.answer": "DDx trainer: differential after an answer",
    "ddx.engine": "DDx trainer: the engine's own interview",
    "ddx.predict": "DDx engine prediction",
    "decision.predict": "Risk model prediction",
    "decision.imaging.predict": "Imaging lab: the model's read of a film",
    "analytics.early_warning.flag": "Early warning: risk of failing or withdrawing",
}

OUTCOMES = (ContestStatus.UPHELD, ContestStatus.CHANGED, ContestStatus.REJECTED)


def decision_label(record: AuditRecord) -> str:
    if record.action in DECISION_LABELS:
        return DECISION_LABELS[record.action]
    if "early_warning" in record.action:
        return "Early warning"
    return record.action


def _owned_model(subject_type: str):
    try:
        return apps.get_model(subject_type)
    except (LookupError, ValueError):  # an app that is not installed (yet): nothing of that kind exists
        return None


def decisions_about(user: Any) -> QuerySet[AuditRecord]:
    """AI decisions about `user` (see the module docstring), newest first."""
    if not getattr(user, "pk", None):
        return AuditRecord.objects.none()
    about = Q(actor_id=user.pk) | Q(subject_type=get_user_model()._meta.label_lower, subject_id=str(user.pk))
    for subject_type, path in OWNED_SUBJECTS.items():
        model = _owned_model(subject_type)
        if model is None:
            continue
        owned = (model.objects.filter(**{path: user}).order_by()
                 .annotate(_subject_id=Cast("pk", output_field=CharField())).values("_subject_id"))
        about |= Q(subject_type=subject_type, subject_id__in=owned)
    return AuditRecord.objects.filter(about, kind=AuditKind.DECISION).order_by("-seq")


def decision_for_student(student: Any, decision_id: Any) -> AuditRecord:
    """The student's own decision with that id; any other id is reported as absent (404)."""
    try:
        pk = int(str(decision_id).strip())
    except (TypeError, ValueError):
        raise InvalidInput("decision: choose one of your AI decisions") from None
    found = decisions_about(student).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"decision: there is no AI decision #{pk} about you")
    return found


def open_contest(decision: AuditRecord) -> Contest | None:
    return Contest.objects.filter(decision=decision, status=ContestStatus.OPEN).first()


def create_contest(student: Any, decision_id: Any, reason: str) -> Contest:
    """File a contest (a review task for faculty). Changes nothing when any check fails."""
    if not has_role(student, STUDENT):
        raise PermissionDenied("only students contest decisions about them")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why you think the decision is wrong (the reviewer reads it)")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters (you wrote {len(reason)})")
    decision = decision_for_student(student, decision_id)
    duplicate = InvalidInput(f"decision: you already have an open contest on decision #{decision.pk}; "
                             "wait for its review before contesting it again")
    with transaction.atomic():
        if open_contest(decision) is not None:
            raise duplicate
        try:
            with transaction.atomic():  # a savepoint: the same contest sent twice at once trips the constraint
                contest = Contest.objects.create(student=student, decision=decision, reason=reason,
                                                 created_at=clock.now())
        except IntegrityError:
            raise duplicate from None
        record_action(student, "contest.opened", subject=contest,
                      data={"decision": decision.pk, "decision_seq": decision.seq, "decision_action": decision.action,
                            "model": decision.model_name, "model_version": decision.model_version})
    return contest


def contests_of(student: Any) -> QuerySet[Contest]:
    return Contest.objects.filter(student=student).select_related("decision", "reviewer")


def visible_contests(user: Any) -> QuerySet[Contest]:
    """Administrators: every contest. Faculty: contests of students in a cohort they belong to."""
    if has_role(user, ADMIN):
        return Contest.objects.all()
    if has_role(user, FACULTY):
        students = get_user_model().objects.filter(cohorts__members=user).values("pk")
        return Contest.objects.filter(student__in=students)
    return Contest.objects.none()


def decide_contest(reviewer: Any, contest_id: Any, outcome: str, response: str, corrected: str = "") -> Contest:
    """Decide an open contest. `changed` records a human override of the decision; the others an action."""
    try:
        pk = int(str(contest_id).strip())
    except (TypeError, ValueError):
        raise InvalidInput("contest: not a contest number") from None
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome: choose upheld, changed or rejected")
    response = (response or "").strip()
    corrected = (corrected or "").strip()
    if not response:
        raise InvalidInput("response: explain the outcome to the student (they read it)")
    if len(response) > MAX_RESPONSE:
        raise InvalidInput(f"response: at most {MAX_RESPONSE} characters")
    if len(corrected) > MAX_CORRECTED:
        raise InvalidInput(f"corrected: at most {MAX_CORRECTED} characters")
    if corrected and outcome != ContestStatus.CHANGED:
        raise InvalidInput("corrected: only a changed decision has a corrected outcome")
    if not visible_contests(reviewer).filter(pk=pk).exists():
        raise NotFound(f"contest: there is no contest #{pk} among your cohorts' students")
    with transaction.atomic():
        contest = Contest.objects.select_for_update().select_related("decision").get(pk=pk)
        if contest.status != ContestStatus.OPEN:
            raise InvalidInput(f"contest: #{pk} was already decided ({contest.status_word.lower()})")
        now = clock.now()
        if outcome == ContestStatus.CHANGED:
            outcome_record = record_override(contest.decision, actor=reviewer, reason=response, output={
                "contest": contest.pk, "outcome": "changed", "corrected": corrected or None})
        else:
            outcome_record = record_action(reviewer, f"contest.{outcome}", subject=contest, data={
                "decision": contest.decision_id, "decision_seq": contest.decision.seq})
        contest.status, contest.reviewer, contest.reviewed_at = outcome, reviewer, now
        contest.response, contest.outcome_record = response, outcome_record
        contest.save(update_fields=["status", "reviewer", "reviewed_at", "response", "outcome_record"])
    return contest
