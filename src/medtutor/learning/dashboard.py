"""A student's own dashboard: mastery with uncertainty, trend, cohort percentile, time and a predicted score.

Mastery per topic is the BKT estimate of practice.topic_mastery, with its binomial standard error as
the uncertainty. A topic without answers counts at the population prior (DEFAULT_BKT.prior) with the
widest uncertainty, so the predicted score is honest about what has not been practised yet.

Predicted score (an estimate, not a promise): the blueprint-weighted mean of topic masteries,
score = Σ w_t · m_t with Σ w_t = 1 (a system's weight split evenly over its topics); its standard
error is √(Σ w_t² · se_t²), treating topics as independent, and the range is score ± 1.96 · se
(a normal approximation), clipped to 0–100 %.

Cohort percentile: the share of cohort members (with at least MIN_ANSWERS answers) whose accuracy
is below the student's, ties counting half. It is shown only when at least MIN_COHORT such members
exist (small-cell suppression), and only to a student who has MIN_ANSWERS answers themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum

from medtutor.accounts.models import Role
from medtutor.core import audit, clock
from medtutor.learning import plans
from medtutor.learning.models import ItemResponse, StudyPlan
from medtutor.learning.practice import DEFAULT_BKT, TopicMastery, _uncertainty, topic_mastery

MIN_ANSWERS = 5      # answers a member needs to count in the cohort percentile
MIN_COHORT = 5       # members with enough answers before a percentile is shown
TREND_WEEKS = 8
Z95 = 1.96
WEAKEST = 3
MASTERY_MODEL = "bkt-mastery"   # the practice selector's BKT (learning.practice), read for the dashboard
MASTERY_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class TopicRow:
    code: str
    name: str
    system: str
    system_name: str
    mastery: float            # 0..1 (the prior when not started)
    uncertainty: float        # standard error, 0..1
    answered: int
    correct: int

    @property
    def started(self) -> bool:
        return self.answered > 0

    @property
    def percent(self) -> int:
        return round(100 * self.mastery)

    @property
    def plus_minus(self) -> int:
        return round(100 * self.uncertainty)


@dataclass(frozen=True, slots=True)
class SystemRow:
    code: str
    name: str
    weight: float
    mastery: float
    uncertainty: float
    answered: int
    low: float
    high: float

    @property
    def percent(self) -> int:
        return round(100 * self.mastery)

    @property
    def low_percent(self) -> int:
        return round(100 * self.low)

    @property
    def high_percent(self) -> int:
        return round(100 * self.high)


@dataclass(frozen=True, slots=True)
class WeekRow:
    start: datetime
    answered: int
    correct: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.correct / self.answered) if self.answered else None


@dataclass(frozen=True, slots=True)
class Percentile:
    cohort: str
    members: int             # members with enough answers (the student included)
    percentile: int | None   # None when suppressed
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Prediction:
    score: float             # 0..100
    low: float
    high: float
    standard_error: float    # in points
    blueprint: str
    topics: int
    practised: int


def _clip(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def topic_rows(learner, *, mastery: dict[str, TopicMastery] | None = None) -> list[TopicRow]:
    mastery = topic_mastery(learner) if mastery is None else mastery
    names = plans.system_names()
    prior_se = _uncertainty(DEFAULT_BKT.prior, 0)
    rows = []
    for system, topics in plans.topics_by_system().items():
        for code, name in topics:
            found = mastery.get(code)
            if found is None:
                rows.append(TopicRow(code, name, system, names.get(system, system), DEFAULT_BKT.prior, prior_se, 0, 0))
            else:
                rows.append(TopicRow(code, name, system, names.get(system, system), found.mastery, found.uncertainty,
                                     found.answered, found.correct))
    return rows


def system_rows(topics: list[TopicRow], weights: dict[str, float]) -> list[SystemRow]:
    """Per organ system: the mean of its topics' masteries (topics weigh equally inside a system)."""
    by_system: dict[str, list[TopicRow]] = {}
    for row in topics:
        by_system.setdefault(row.system, []).append(row)
    result = []
    for system, rows in by_system.items():
        n = len(rows)
        mean = sum(r.mastery for r in rows) / n
        se = math.sqrt(sum(r.uncertainty ** 2 for r in rows)) / n
        result.append(SystemRow(system, rows[0].system_name, weights.get(system, 0.0), mean, se,
                                sum(r.answered for r in rows), _clip(mean - Z95 * se), _clip(mean + Z95 * se)))
    return result


def predicted_score(topics: list[TopicRow], weights_by_system: dict[str, float], blueprint: str = "outline"
                    ) -> Prediction | None:
    """Σ w·m over topics with normalised blueprint weights, ± 1.96 standard errors, clipped to 0–100."""
    per_topic = plans.topic_weights(weights_by_system)
    pairs = [(per_topic.get(r.code, 0.0), r) for r in topics]
    total = sum(w for w, _ in pairs)
    if total <= 0:
        return None
    score = sum(w * r.mastery for w, r in pairs) / total
    se = math.sqrt(sum((w / total) ** 2 * r.uncertainty ** 2 for w, r in pairs))
    return Prediction(round(100 * score, 1), round(100 * _clip(score - Z95 * se), 1),
                      round(100 * _clip(score + Z95 * se), 1), round(100 * se, 1), blueprint,
                      sum(1 for w, _ in pairs if w > 0), sum(1 for w, r in pairs if w > 0 and r.started))


def weekly_trend(learner, *, now: datetime, weeks: int = TREND_WEEKS) -> list[WeekRow]:
    """Accuracy per week (Monday to Sunday, UTC) for the last `weeks` weeks, this week last."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    rows = []
    for start in starts:
        end = start + timedelta(weeks=1)
        counts = ItemResponse.objects.filter(learner=learner, answered_at__gte=start, answered_at__lt=end).aggregate(
            n=Count("id"), right=Count("id", filter=Q(is_correct=True)))
        rows.append(WeekRow(start, counts["n"], counts["right"]))
    return rows


def cohort_percentiles(learner) -> list[Percentile]:
    """The student's accuracy percentile in each of their cohorts, suppressed for small cells."""
    mine = ItemResponse.objects.filter(learner=learner).aggregate(n=Count("id"), right=Count("id", filter=Q(is_correct=True)))
    result = []
    for cohort in learner.cohorts.all().order_by("name"):
        stats = (cohort.members.filter(role=Role.STUDENT, is_active=True)
                 .annotate(n=Count("item_responses"), right=Count("item_responses", filter=Q(item_responses__is_correct=True)))
                 .filter(n__gte=MIN_ANSWERS).values_list("pk", "n", "right"))
        accuracies = {pk: right / n for pk, n, right in stats}
        members = len(accuracies)
        if members < MIN_COHORT or mine["n"] < MIN_ANSWERS or learner.pk not in accuracies:
            result.append(Percentile(cohort.name, members, None, True))
            continue
        own = accuracies[learner.pk]
        below = sum(1 for a in accuracies.values() if a < own)
        ties = sum(1 for a in accuracies.values() if a == own)
        result.append(Percentile(cohort.name, members, round(100 * (below + 0.5 * ties) / members), False))
    return result


def time_on_task(learner, *, now: datetime) -> dict[str, int]:
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    responses = ItemResponse.objects.filter(learner=learner)
    total = responses.aggregate(s=Sum("seconds_taken"))["s"] or 0
    week = responses.filter(answered_at__gte=monday, answered_at__lte=now).aggregate(s=Sum("seconds_taken"))["s"] or 0
    return {"week_seconds": week, "total_seconds": total, "week_minutes": round(week / 60),
            "total_minutes": round(total / 60)}


def weakest(topics: list[TopicRow], n: int = WEAKEST) -> list[TopicRow]:
    return sorted((r for r in topics if r.started), key=lambda r: (r.mastery, r.code))[:n]


def student_dashboard(learner, *, now: datetime | None = None) -> dict:
    now = now or clock.now()
    study_plan = StudyPlan.objects.filter(learner=learner).first()
    weights = plans.system_weights(study_plan)
    blueprint = study_plan.get_blueprint_display() if study_plan else "The outline's weights"
    topics = topic_rows(learner)
    systems = system_rows(topics, weights)
    trend = weekly_trend(learner, now=now)
    chart_systems = {"labels": [s.name for s in systems], "mastery": [s.percent for s in systems],
                     "low": [s.low_percent for s in systems], "high": [s.high_percent for s in systems]}
    chart_trend = {"labels": [w.start.strftime("%d %b") for w in trend], "accuracy": [w.percent for w in trend],
                   "answered": [w.answered for w in trend]}
    prediction = predicted_score(topics, weights, blueprint)
    decision = _record_prediction(learner, topics, systems, prediction)
    return {
        "topics": topics, "systems": systems, "trend": trend, "percentiles": cohort_percentiles(learner),
        "time_on_task": time_on_task(learner, now=now), "weakest": weakest(topics),
        "prediction": prediction, "prediction_decision": decision, "study_plan": study_plan,
        "chart_systems": chart_systems, "chart_trend": chart_trend,
        "min_cohort": MIN_COHORT, "min_answers": MIN_ANSWERS,
    }


def _record_prediction(learner, topics: list[TopicRow], systems: list[SystemRow], prediction: Prediction | None):
    """Mastery and the predicted score are AI outputs the student sees: audited whenever they change."""
    if not any(t.started for t in topics):
        return None
    p = DEFAULT_BKT
    return audit.record_decision_if_changed(
        model_name=MASTERY_MODEL, model_version=MASTERY_VERSION, action="dashboard.prediction",
        subject=("accounts.user", learner.pk), actor=learner,
        inputs={"answers_by_topic": {t.code: [t.answered, t.correct] for t in topics if t.started}},
        output={"mastery_by_system": {s.code: round(s.mastery, 4) for s in systems},
                "predicted_score": None if prediction is None else
                {"score": prediction.score, "low": prediction.low, "high": prediction.high,
                 "blueprint": prediction.blueprint}},
        explanation=(f"Bayesian knowledge tracing per topic with population parameters (prior {p.prior}, learn "
                     f"{p.learn}, guess {p.guess}, slip {p.slip}); the predicted score weights topic mastery by "
                     f"the blueprint, with a 95% interval from each topic's binomial standard error."),
        confidence=None)
