"""Early-warning features: what is known about an enrolment on a given day, and nothing later.

Pure: plain dataclasses in and out, no Django, no clock. Days are whole days relative to the official
start of the course presentation (day 0); negative days are before the start. The same pipeline serves
the OULAD benchmark (see `oulad.py`) and medtutor's own courses.

Information rule: a feature at `day` may use
- the enrolment's static facts (registration day if it is <= `day`, prior attempts, study load, prior
  education) and the course's published schedule (due days and weights of assessments, course length);
- submissions with `submitted_day <= day` (a score counts as known on its submission day, plus
  `score_lag_days` when set: marking takes time);
- cohort statistics built from the same information about the other enrolments of the same
  presentation.
It never reads the enrolment's withdrawal day (the benchmark uses that only to exclude students who had
already left) or its outcome.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

PASS_MARK = 40.0


@dataclass(frozen=True)
class Enrolment:
    """One learner on one course presentation (cohort)."""

    learner_id: str
    course_id: str
    presentation_id: str
    registration_day: int | None
    withdrawal_day: int | None
    course_length: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Subgroup attributes (for audits only, never features): gender, age band, disability, area deprivation..."""
    prior_attempts: int = 0
    credits: float | None = None
    """Study load: credits of everything the learner studies at the same time."""
    prior_education: float | None = None
    """Ordinal level of prior education (0 = none ... 4 = postgraduate), when known."""
    outcome: str | None = None
    """Final result when known (training labels only; never read by `features_at`)."""

    @property
    def cohort_key(self) -> tuple[str, str]:
        return (self.course_id, self.presentation_id)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.course_id, self.presentation_id, self.learner_id)


@dataclass(frozen=True)
class AssessmentDue:
    assessment_id: str
    kind: str
    """e.g. TMA (tutor-marked), CMA (computer-marked), Exam."""
    due_day: int
    weight: float


@dataclass(frozen=True)
class Submission:
    assessment_id: str
    submitted_day: int
    score: float | None
    banked: bool = False
    """Result carried over from an earlier attempt of the course."""


def is_enrolled_at(enrolment: Enrolment, day: int) -> bool:
    """Registered by `day` (unknown registration day counts as registered) and not withdrawn by it."""
    return not is_withdrawn_by(enrolment, day) and not is_not_yet_registered(enrolment, day)


def is_withdrawn_by(enrolment: Enrolment, day: int) -> bool:
    return enrolment.withdrawal_day is not None and enrolment.withdrawal_day <= day


def is_not_yet_registered(enrolment: Enrolment, day: int) -> bool:
    return enrolment.registration_day is not None and enrolment.registration_day > day


# Feature names, in the order of FeatureRow.values. Keep in step with `features_at`.
OWN_FEATURES: tuple[str, ...] = (
    "registration_day",            # negative = registered before the start
    "late_registration",           # 1 if registered after day 0
    "prior_attempts",
    "credits",
    "prior_education",
    "course_length",
    "n_due",                       # assessments whose due day has passed (< day)
    "weight_due",                  # their total weight (effective weights, see _effective_weights)
    "n_submitted",                 # own submissions known by day (not banked)
    "n_banked",
    "n_missed",                    # due passed, nothing submitted or banked by day
    "missed_fraction",
    "n_late",                      # submitted after the due day
    "mean_lateness",               # mean (submitted - due) in days over known submissions
    "max_lateness",
    "n_early",                     # submitted before the due day
    "mean_score",                  # mean of known scores (banked included)
    "min_score",
    "last_score",
    "n_below_pass",                # known scores below 40
    "weighted_score",              # weight-averaged known score
    "earned_fraction",             # sum(weight * score / 100) over due assessments / weight due (missed = 0)
    "days_since_last_activity",    # since the last submission, or since registration / day 0
    "days_to_next_due",
    "next_due_weight",
)
COHORT_FEATURES: tuple[str, ...] = (
    "score_z",                     # mean_score z-scored within the presentation (enrolled learners, by day)
    "earned_z",
    "submitted_z",                 # n_submitted + n_banked, z-scored within the presentation
    "submission_rate_gap",         # own submitted fraction of due assessments minus the cohort's
    "registration_rank",           # percentile of registration day within the cohort (0 = earliest)
)
FEATURE_NAMES: tuple[str, ...] = OWN_FEATURES + COHORT_FEATURES

NAN = float("nan")


@dataclass(frozen=True)
class FeatureRow:
    enrolment_key: tuple[str, str, str]
    day: int
    values: tuple[float, ...]
    """One value per FEATURE_NAMES; NaN = unknown (no score yet, no cohort context...)."""

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.values))


def _effective_weights(assessments: Sequence[AssessmentDue]) -> dict[str, float]:
    """Weights used for weighted scores: the stated weights of non-exam assessments, or equal weights
    when they are all zero (some courses weight every continuous assessment 0)."""
    course_work = [a for a in assessments if a.kind.lower() != "exam"]
    if any(a.weight > 0 for a in course_work):
        return {a.assessment_id: max(a.weight, 0.0) for a in assessments}
    return {a.assessment_id: (1.0 if a.kind.lower() != "exam" else 0.0) for a in assessments}


def features_at(enrolment: Enrolment, assessments: Sequence[AssessmentDue], submissions: Iterable[Submission],
                day: int, *, score_lag_days: int = 0, cohort: "CohortStats | None" = None) -> FeatureRow:
    """The features of `enrolment` at `day`, from the course schedule and the learner's submissions.

    Submissions after `day` are ignored, as are scores not yet known (submitted after
    `day - score_lag_days`). Cohort features are NaN unless `cohort` (from `cohort_stats`) is given.
    """
    weights = _effective_weights(assessments)
    by_id = {a.assessment_id: a for a in assessments}
    known = sorted((s for s in submissions if s.submitted_day <= day), key=lambda s: (s.submitted_day, s.assessment_id))
    done: dict[str, Submission] = {}
    for s in known:
        done.setdefault(s.assessment_id, s)
    due = [a for a in assessments if a.due_day < day]
    n_due = len(due)
    weight_due = sum(weights.get(a.assessment_id, 0.0) for a in due)
    own = [s for s in done.values() if not s.banked]
    banked = [s for s in done.values() if s.banked]
    missed = [a for a in due if a.assessment_id not in done]
    lateness = [float(s.submitted_day - by_id[s.assessment_id].due_day) for s in own if s.assessment_id in by_id]
    scored = [s for s in done.values() if s.score is not None and (s.banked or s.submitted_day + score_lag_days <= day)]
    scored.sort(key=lambda s: (s.submitted_day, s.assessment_id))
    scores = [float(s.score) for s in scored]  # type: ignore[arg-type]
    if scores:
        mean_score, min_score, last_score = sum(scores) / len(scores), min(scores), scores[-1]
        total_w = sum(weights.get(s.assessment_id, 0.0) for s in scored)
        weighted = (sum(weights.get(s.assessment_id, 0.0) * float(s.score) for s in scored) / total_w  # type: ignore[arg-type]
                    if total_w > 0 else mean_score)
    else:
        mean_score = min_score = last_score = weighted = NAN
    scored_ids = {s.assessment_id: float(s.score) for s in scored}  # type: ignore[arg-type]
    earned = (sum(weights.get(a.assessment_id, 0.0) * scored_ids.get(a.assessment_id, 0.0) / 100.0 for a in due)
              / weight_due if weight_due > 0 else NAN)
    reg = enrolment.registration_day
    if reg is not None and reg > day:  # not known to have registered yet: report as unknown
        reg = None
    last_activity = max([s.submitted_day for s in own] + ([reg] if reg is not None else []), default=None)
    since_last = float(day - last_activity) if last_activity is not None else float(day)
    upcoming = sorted((a for a in assessments if a.due_day >= day and a.kind.lower() != "exam"),
                      key=lambda a: a.due_day)
    if upcoming:
        to_next, next_weight = float(upcoming[0].due_day - day), weights.get(upcoming[0].assessment_id, 0.0)
    else:
        to_next, next_weight = float(max(enrolment.course_length - day, 0)), 0.0
    own_values = (
        float(reg) if reg is not None else NAN,
        1.0 if reg is not None and reg > 0 else 0.0,
        float(enrolment.prior_attempts),
        float(enrolment.credits) if enrolment.credits is not None else NAN,
        float(enrolment.prior_education) if enrolment.prior_education is not None else NAN,
        float(enrolment.course_length),
        float(n_due),
        float(weight_due),
        float(len(own)),
        float(len(banked)),
        float(len(missed)),
        len(missed) / n_due if n_due else 0.0,
        float(sum(1 for x in lateness if x > 0)),
        sum(lateness) / len(lateness) if lateness else NAN,
        max(lateness) if lateness else NAN,
        float(sum(1 for x in lateness if x < 0)),
        mean_score, min_score, last_score,
        float(sum(1 for x in scores if x < PASS_MARK)),
        weighted, earned, since_last, to_next, next_weight,
    )
    cohort_values: tuple[float, ...] = (NAN,) * len(COHORT_FEATURES)
    if cohort is not None:
        cohort_values = cohort.relative(own_values)
    return FeatureRow(enrolment.key, day, own_values + cohort_values)


def _index(name: str) -> int:
    return OWN_FEATURES.index(name)


@dataclass(frozen=True)
class _Moments:
    mean: float
    sd: float
    n: int

    def z(self, value: float) -> float:
        if math.isnan(value) or self.n < 2:
            return NAN
        if self.sd <= 0:
            return 0.0
        return (value - self.mean) / self.sd


def _moments(values: Iterable[float]) -> _Moments:
    xs = [v for v in values if not math.isnan(v)]
    if not xs:
        return _Moments(NAN, NAN, 0)
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else 0.0
    return _Moments(mean, math.sqrt(var), len(xs))


@dataclass(frozen=True)
class CohortStats:
    """Statistics of one presentation's enrolled learners at one day, built from their own features."""

    score: _Moments
    earned: _Moments
    submitted: _Moments
    submission_rate: float
    registration_days: tuple[float, ...]
    """Sorted."""

    def relative(self, own: Sequence[float]) -> tuple[float, ...]:
        n_due = own[_index("n_due")]
        done = own[_index("n_submitted")] + own[_index("n_banked")]
        rate_gap = NAN
        if n_due > 0 and not math.isnan(self.submission_rate):
            rate_gap = (1.0 - own[_index("missed_fraction")]) - self.submission_rate
        reg = own[_index("registration_day")]
        rank = NAN
        if not math.isnan(reg) and self.registration_days:
            below = bisect_left(self.registration_days, reg)
            ties = bisect_right(self.registration_days, reg) - below
            rank = (below + 0.5 * ties) / len(self.registration_days)
        return (self.score.z(own[_index("mean_score")]), self.earned.z(own[_index("earned_fraction")]),
                self.submitted.z(done), rate_gap, rank)


def cohort_stats(rows: Sequence[FeatureRow]) -> CohortStats:
    """Cohort statistics from the (own) features of the enrolled learners of one presentation at one day."""
    own = [r.values[:len(OWN_FEATURES)] for r in rows]
    rates = [1.0 - v[_index("missed_fraction")] for v in own if v[_index("n_due")] > 0]
    return CohortStats(
        score=_moments(v[_index("mean_score")] for v in own),
        earned=_moments(v[_index("earned_fraction")] for v in own),
        submitted=_moments(v[_index("n_submitted")] + v[_index("n_banked")] for v in own),
        submission_rate=sum(rates) / len(rates) if rates else NAN,
        registration_days=tuple(sorted(v[_index("registration_day")] for v in own
                                      if not math.isnan(v[_index("registration_day")]))),
    )


@dataclass(frozen=True)
class Course:
    """A course presentation's published schedule."""

    course_id: str
    presentation_id: str
    length: int
    assessments: tuple[AssessmentDue, ...]


@dataclass(frozen=True)
class CohortDay:
    """Features of a set of enrolments at one day, with who was left out and why."""

    day: int
    rows: tuple[FeatureRow, ...]
    enrolments: tuple[Enrolment, ...]
    excluded_withdrawn: int
    excluded_not_registered: int


def cohort_features(enrolments: Sequence[Enrolment], courses: Mapping[tuple[str, str], Course],
                    submissions: Mapping[tuple[str, str, str], Sequence[Submission]], day: int, *,
                    score_lag_days: int = 0) -> CohortDay:
    """Features at `day` for every enrolment still enrolled then, with cohort-relative standing.

    Enrolments withdrawn by `day` (withdrawal day <= day) and those registering after `day` are left
    out and counted. Cohort statistics use only the enrolled learners of the same presentation and only
    what `features_at` may see.
    """
    kept: list[Enrolment] = []
    withdrawn = not_registered = 0
    for e in enrolments:
        if is_withdrawn_by(e, day):
            withdrawn += 1
        elif is_not_yet_registered(e, day):
            not_registered += 1
        else:
            kept.append(e)
    own_rows: dict[tuple[str, str, str], FeatureRow] = {}
    groups: dict[tuple[str, str], list[FeatureRow]] = defaultdict(list)
    for e in kept:
        course = courses[e.cohort_key]
        row = features_at(e, course.assessments, submissions.get(e.key, ()), day, score_lag_days=score_lag_days)
        own_rows[e.key] = row
        groups[e.cohort_key].append(row)
    stats = {key: cohort_stats(rows) for key, rows in groups.items()}
    rows_out = []
    for e in kept:
        row = own_rows[e.key]
        own = row.values[:len(OWN_FEATURES)]
        rows_out.append(FeatureRow(row.enrolment_key, day, own + stats[e.cohort_key].relative(own)))
    return CohortDay(day, tuple(rows_out), tuple(kept), withdrawn, not_registered)
