"""A student's study plan to an exam date: stored settings, a plan recomputed from the current state.

The plan is learning.engine.planner's: current BKT mastery per topic (practice.topic_mastery), the
blueprint weight of each topic (its organ system's weight split evenly over the system's topics) and
the review forecast from the card catch-up plan (cards.plan_for). Nothing but the settings and a
snapshot of what the plan expected per day is stored: every view plans again from now, so falling
behind or getting ahead simply changes the remaining days. "Behind" / "ahead" compares the work done
since the plan was saved (questions answered, cards reviewed) with what the snapshot expected to date.
A saved plan is a recommendation, so saving it is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from medtutor.content.models import Competency
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput
from medtutor.learning import cards, practice
from medtutor.learning.engine import planner
from medtutor.learning.models import Blueprint, CardReview, ItemResponse, StudyPlan

MODEL_NAME = "study-planner"
MODEL_VERSION = "1.0"
MIN_MINUTES, MAX_MINUTES = 10, 720
MAX_WEIGHT = 100.0
TOLERANCE = 0.15   # within ±15 % of the expected work (in minutes) counts as on track
PREVIEW_DAYS = 14


# --- blueprint -----------------------------------------------------------------------------------

def outline_weights() -> dict[str, float]:
    """Organ system (root competency) code -> the outline's blueprint weight (student-visible systems only)."""
    roots = Competency.objects.for_students().filter(parent__isnull=True).order_by("code")
    return {code: float(weight) for code, weight in roots.values_list("code", "weight")}


def system_names() -> dict[str, str]:
    return dict(Competency.objects.for_students().filter(parent__isnull=True).values_list("code", "name"))


def system_weights(study_plan: StudyPlan | None) -> dict[str, float]:
    """The weights that apply: the outline's, or the student's own for the systems still in the outline."""
    weights = outline_weights()
    if study_plan is not None and study_plan.blueprint == Blueprint.CUSTOM:
        custom = study_plan.custom_weights or {}
        weights = {code: float(custom.get(code, weight)) for code, weight in weights.items()}
    return weights


def topics_by_system() -> dict[str, list[tuple[str, str]]]:
    """Root code -> [(topic code, topic name)]; a system without topics stands for itself."""
    visible = Competency.objects.for_students()
    roots = list(visible.filter(parent__isnull=True).order_by("code").values_list("code", "name"))
    below = list(visible.filter(parent__isnull=False).order_by("code").values_list("code", "name"))
    result: dict[str, list[tuple[str, str]]] = {}
    for root, name in roots:
        topics = [(code, topic) for code, topic in below if code.startswith(root + ".")]
        result[root] = topics or [(root, name)]
    return result


def topic_weights(weights_by_system: Mapping[str, float]) -> dict[str, float]:
    """Each system's weight split evenly over its topics."""
    result: dict[str, float] = {}
    for root, topics in topics_by_system().items():
        weight = max(0.0, float(weights_by_system.get(root, 0.0)))
        for code, _ in topics:
            result[code] = weight / len(topics)
    return result


# --- planning ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Progress:
    status: str                 # "behind", "ahead", "on track"
    questions_done: int
    reviews_done: int
    questions_expected: int
    reviews_expected: int
    minutes_done: float
    minutes_expected: float


@dataclass(frozen=True, slots=True)
class CurrentPlan:
    study_plan: StudyPlan
    days: list[planner.PlanDay]
    progress: Progress
    weights: dict[str, float]        # per system

    @property
    def next_days(self) -> list[planner.PlanDay]:
        return self.days[:PREVIEW_DAYS]

    @property
    def total_minutes(self) -> int:
        return sum(d.minutes for d in self.days)


def plan_input(learner, *, today: date, exam_date: date, minutes_per_day: int,
               weights_by_system: Mapping[str, float], at: datetime | None = None) -> planner.PlanInput:
    """The planner's input from this student's state now."""
    mastery = {code: m.mastery for code, m in practice.topic_mastery(learner).items()}
    weights = topic_weights(weights_by_system)
    names = {code: name for topics in topics_by_system().values() for code, name in topics}
    catch_up = cards.plan_for(learner, at=at)
    start = next((i for i, d in enumerate(catch_up.days) if d.day >= today), len(catch_up.days))
    reviews_due = [d.total for d in catch_up.days[start:]]
    return planner.PlanInput(today=today, exam_date=exam_date, minutes_per_day=minutes_per_day, weights=weights,
                             mastery={c: m for c, m in mastery.items() if c in weights}, reviews_due=reviews_due,
                             names=names)


def _expected(day: planner.PlanDay) -> tuple[int, int]:
    """Questions and reviews a day expects. New material is studied here through questions with their
    explanations, so a block of new material counts as the questions that fit in its minutes."""
    questions = sum(t.count if t.kind == "practice" else round(t.minutes / planner.QUESTION_MINUTES)
                    for t in day.tasks if t.kind in ("practice", "new"))
    reviews = sum(t.count for t in day.tasks if t.kind == "review")
    return questions, reviews


def validate(exam_date: date, minutes_per_day: int, blueprint: str, custom_weights: Mapping[str, float] | None,
             today: date) -> list[str]:
    problems = []
    if blueprint not in Blueprint.values:
        problems.append("choose the outline's blueprint or your own weights")
    if blueprint == Blueprint.CUSTOM:
        weights = custom_weights or {}
        if any(not 0 <= float(w) <= MAX_WEIGHT for w in weights.values()):
            problems.append(f"each weight must be between 0 and {MAX_WEIGHT:g}")
        elif weights and sum(float(w) for w in weights.values()) <= 0:
            problems.append("at least one organ system needs a weight above 0")
    probe = planner.PlanInput(today=today, exam_date=exam_date, minutes_per_day=minutes_per_day,
                              weights={"x": 1.0}, mastery={})
    problems += probe.problems()
    return problems


def save_plan(learner, *, exam_date: date, minutes_per_day: int, blueprint: str = Blueprint.OUTLINE,
              custom_weights: Mapping[str, float] | None = None, at: datetime | None = None) -> CurrentPlan:
    """Validate, plan from now, store the settings and a snapshot, and audit the recommendation.

    Raises InvalidInput (nothing saved) when the input is bad.
    """
    now = at or clock.now()
    today = now.date()
    problems = validate(exam_date, minutes_per_day, blueprint, custom_weights, today)
    if problems:
        raise InvalidInput("; ".join(problems))
    roots = outline_weights()
    custom = ({code: float((custom_weights or {}).get(code, weight)) for code, weight in roots.items()}
              if blueprint == Blueprint.CUSTOM else {})
    draft = StudyPlan(learner=learner, exam_date=exam_date, minutes_per_day=minutes_per_day, blueprint=blueprint,
                      custom_weights=custom, saved_at=now)
    weights = system_weights(draft)
    data = plan_input(learner, today=today, exam_date=exam_date, minutes_per_day=minutes_per_day,
                      weights_by_system=weights, at=now)
    if not data.weights or sum(data.weights.values()) <= 0:
        raise InvalidInput("the outline has no organ systems with weight yet; ask your faculty to import one")
    try:
        days = planner.plan(data)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    snapshot = [[d.day.isoformat(), *_expected(d)] for d in days]
    totals = {kind: sum(t.minutes for d in days for t in d.tasks if t.kind == kind)
              for kind in ("new", "review", "practice")}
    with transaction.atomic():
        record = audit.record_decision(
            model_name=MODEL_NAME, model_version=MODEL_VERSION, action="plan.saved",
            subject=("accounts.user", learner.pk), actor=learner,
            inputs={"today": today.isoformat(), "exam_date": exam_date.isoformat(),
                    "minutes_per_day": minutes_per_day, "blueprint": blueprint, "weights": weights,
                    "mastery": {c: round(m, 4) for c, m in data.mastery.items()},
                    "reviews_due": list(data.reviews_due[:PREVIEW_DAYS])},
            output={"days": len(days), "minutes": totals,
                    "questions": sum(row[1] for row in snapshot), "reviews": sum(row[2] for row in snapshot)},
            explanation=("Reviews due each day come first; the remaining minutes go to new material and "
                         "practice in proportion to each topic's blueprint weight times (1 - mastery); "
                         f"the last {planner.TAPER_DAYS} days are review and practice only."),
            confidence=None)
        draft.snapshot = snapshot
        draft.decision = record
        StudyPlan.objects.update_or_create(
            learner=learner, defaults={"exam_date": exam_date, "minutes_per_day": minutes_per_day,
                                       "blueprint": blueprint, "custom_weights": custom, "snapshot": snapshot,
                                       "saved_at": now, "decision": record})
    stored = StudyPlan.objects.get(learner=learner)
    return CurrentPlan(stored, days, progress(stored, at=now), weights)


def progress(study_plan: StudyPlan, *, at: datetime | None = None) -> Progress:
    """Work done since the plan was saved against what its snapshot expected on the days already past.

    Today is not counted until it is over, so a plan saved this morning is never "behind" today; it
    may be "ahead" as soon as work is done. Questions and reviews are compared as minutes of work.
    """
    now = at or clock.now()
    today = now.date()
    expected_q = expected_r = 0
    for day, questions, reviews in study_plan.snapshot or []:
        if date.fromisoformat(day) < today:
            expected_q += int(questions)
            expected_r += int(reviews)
    done_q = ItemResponse.objects.filter(learner=study_plan.learner, answered_at__gte=study_plan.saved_at,
                                         answered_at__lte=now).count()
    done_r = CardReview.objects.filter(learner=study_plan.learner, undone_at__isnull=True,
                                       reviewed_at__gte=study_plan.saved_at, reviewed_at__lte=now).count()
    minutes_done = done_q * planner.QUESTION_MINUTES + done_r * planner.REVIEW_MINUTES
    minutes_expected = expected_q * planner.QUESTION_MINUTES + expected_r * planner.REVIEW_MINUTES
    if minutes_done > minutes_expected * (1 + TOLERANCE) and minutes_done - minutes_expected >= planner.QUESTION_MINUTES:
        status = "ahead"
    elif minutes_done < minutes_expected * (1 - TOLERANCE):
        status = "behind"
    else:
        status = "on track"
    return Progress(status, done_q, done_r, expected_q, expected_r, round(minutes_done, 1),
                    round(minutes_expected, 1))


def current_plan(learner, *, at: datetime | None = None) -> CurrentPlan | None:
    """The saved settings planned again from now; None without a plan. An exam already past plans nothing."""
    study_plan = StudyPlan.objects.filter(learner=learner).first()
    if study_plan is None:
        return None
    now = at or clock.now()
    weights = system_weights(study_plan)
    days: list[planner.PlanDay] = []
    if study_plan.exam_date > now.date():
        data = plan_input(learner, today=now.date(), exam_date=study_plan.exam_date,
                          minutes_per_day=study_plan.minutes_per_day, weights_by_system=weights, at=now)
        if not data.problems():
            days = planner.plan(data)
    return CurrentPlan(study_plan, days, progress(study_plan, at=now), weights)


def calendar(learner, *, at: datetime | None = None) -> str | None:
    """The current plan as iCalendar text; None without a plan."""
    found = current_plan(learner, at=at)
    if found is None:
        return None
    return planner.to_ics(found.days, uid_prefix=f"medtutor-plan-{learner.pk}", created=at or clock.now())


def days_left(study_plan: StudyPlan, at: datetime | None = None) -> int:
    return max(0, (study_plan.exam_date - (at or clock.now()).date()).days)


__all__ = ["CurrentPlan", "Progress", "calendar", "current_plan", "days_left", "outline_weights", "plan_input",
           "progress", "save_plan", "system_names", "system_weights", "topic_weights", "topics_by_system",
           "validate"]
