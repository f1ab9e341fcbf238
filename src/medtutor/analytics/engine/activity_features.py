"""Early-warning features from a student's first weeks of activity in medtutor, as known at a cut-off.

Pure: plain dataclasses in, a fixed-order feature vector out; no Django, no clock. All datetimes are
UTC. Only events strictly before `cutoff` are read, and only those at or after `start` (the cohort's
first day of activity), so a feature never sees the future and every cohort is measured over the same
length of time. Unknown values (e.g. accuracy with no answers) are NaN: the boosting model handles
missing values natively and the logistic baseline imputes them.

The same functions label outcomes: `fails_exam` (a real exam score below the pass mark) and
`synthetic_fails` (a synthetic student's expected score from the generator's ground truth).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_PASS_MARK = 60.0  # percent, used when an exam has no applied standard setting
LAPSE_GRADE = 1  # learning.engine.memory.Grade.AGAIN: the card was forgotten


@dataclass(frozen=True)
class AnswerEvent:
    answered_at: datetime
    is_correct: bool
    seconds_taken: int | None = None
    competency: str = ""


@dataclass(frozen=True)
class ReviewEvent:
    reviewed_at: datetime
    grade: int


@dataclass(frozen=True)
class ExamEvent:
    """A submitted exam attempt before the cut-off (not the exam being predicted)."""

    submitted_at: datetime
    percent: float


@dataclass(frozen=True)
class StudentActivity:
    student_id: int
    answers: Sequence[AnswerEvent] = ()
    reviews: Sequence[ReviewEvent] = ()
    exams: Sequence[ExamEvent] = ()


FEATURE_NAMES: tuple[str, ...] = (
    "answers", "accuracy", "accuracy_trend", "recent_accuracy", "active_days", "active_weeks_share",
    "days_since_last_activity", "minutes_on_task", "seconds_per_answer", "competencies_covered",
    "last_week_answers", "card_reviews", "card_lapse_rate", "exams_taken", "exam_mean_percent",
)

# Plain words for the pages (faculty and the student's own page).
FEATURE_LABELS: dict[str, str] = {
    "answers": "questions answered",
    "accuracy": "share of answers correct",
    "accuracy_trend": "change in accuracy (second half of the period minus first half)",
    "recent_accuracy": "share correct in the last 7 days",
    "active_days": "days with any study activity",
    "active_weeks_share": "share of weeks with any activity",
    "days_since_last_activity": "days since the last activity",
    "minutes_on_task": "minutes spent on questions",
    "seconds_per_answer": "average seconds per question",
    "competencies_covered": "topics practised",
    "last_week_answers": "questions answered in the last 7 days",
    "card_reviews": "flashcard reviews",
    "card_lapse_rate": "share of flashcard reviews forgotten",
    "exams_taken": "earlier exams submitted",
    "exam_mean_percent": "average score on earlier exams",
}

# Features given as percentages on the pages.
_SHARES = frozenset({"accuracy", "accuracy_trend", "recent_accuracy", "active_weeks_share", "card_lapse_rate"})


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def activity_features(activity: StudentActivity, start: datetime, cutoff: datetime) -> tuple[float, ...]:
    """The feature vector (in FEATURE_NAMES order) from events in [start, cutoff)."""
    if cutoff <= start:
        raise ValueError("cutoff must be after start")
    window_days = (cutoff - start).total_seconds() / 86400.0
    answers = sorted((a for a in activity.answers if start <= a.answered_at < cutoff), key=lambda a: a.answered_at)
    reviews = [r for r in activity.reviews if start <= r.reviewed_at < cutoff]
    exams = [e for e in activity.exams if start <= e.submitted_at < cutoff]
    moments = [a.answered_at for a in answers] + [r.reviewed_at for r in reviews] + [e.submitted_at for e in exams]

    middle = start + (cutoff - start) / 2
    first_half = [a.is_correct for a in answers if a.answered_at < middle]
    second_half = [a.is_correct for a in answers if a.answered_at >= middle]
    last_week_start = cutoff - timedelta(days=7)
    last_week = [a for a in answers if a.answered_at >= last_week_start]
    timed = [a.seconds_taken for a in answers if a.seconds_taken is not None]
    n_weeks = max(1, math.ceil(window_days / 7.0))
    active_weeks = {int((m - start).total_seconds() // (7 * 86400)) for m in moments}

    values = {
        "answers": float(len(answers)),
        "accuracy": _mean(float(a.is_correct) for a in answers),
        "accuracy_trend": (_mean(map(float, second_half)) - _mean(map(float, first_half))
                           if first_half and second_half else math.nan),
        "recent_accuracy": _mean(float(a.is_correct) for a in last_week),
        "active_days": float(len({m.date() for m in moments})),
        "active_weeks_share": len(active_weeks) / n_weeks,
        "days_since_last_activity": ((cutoff - max(moments)).total_seconds() / 86400.0 if moments else window_days),
        "minutes_on_task": sum(timed) / 60.0,
        "seconds_per_answer": _mean(timed),
        "competencies_covered": float(len({a.competency for a in answers if a.competency})),
        "last_week_answers": float(len(last_week)),
        "card_reviews": float(len(reviews)),
        "card_lapse_rate": _mean(float(r.grade == LAPSE_GRADE) for r in reviews),
        "exams_taken": float(len(exams)),
        "exam_mean_percent": _mean(e.percent for e in exams),
    }
    return tuple(values[name] for name in FEATURE_NAMES)


def as_dict(vector: Sequence[float]) -> dict[str, float | None]:
    """JSON-ready: NaN becomes None, values rounded for display."""
    return {name: (None if math.isnan(v) else round(float(v), 4)) for name, v in zip(FEATURE_NAMES, vector)}


def format_value(feature: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none yet"
    if feature in _SHARES:
        return f"{value * 100:+.0f} points" if feature == "accuracy_trend" else f"{value * 100:.0f}%"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def plain_reason(feature: str, value: float | None, contribution: float) -> str:
    """One sentence a student or tutor can read, e.g. 'days with any study activity: 3 — raised the estimate'."""
    label = FEATURE_LABELS.get(feature, feature.replace("_", " "))
    effect = "raised the estimated risk" if contribution > 0 else "lowered the estimated risk"
    return f"{label[:1].upper()}{label[1:]}: {format_value(feature, value)} — {effect}"


# --- labels -----------------------------------------------------------------------------------------

def fails_exam(percent: float, pass_mark: float = DEFAULT_PASS_MARK) -> bool:
    """A real student's outcome: the first submitted attempt of the exam scored below the pass mark."""
    return percent < pass_mark


def synthetic_fails(expected_score: float, dropout_week: int | None, pass_mark: float = DEFAULT_PASS_MARK) -> bool:
    """A synthetic student's outcome from the generator's ground truth: a student who dropped out does not
    sit the exam (counted as not passing); the others fail when their expected score on the whole item set,
    at their end-of-course ability, is below the pass mark. `expected_score` is a share (0..1)."""
    return dropout_week is not None or expected_score * 100.0 < pass_mark
