"""A seeded generator of synthetic students and their answers, with the ground truth kept.

Every student it makes is invented: names, attributes and answers come from a random number
generator seeded by the caller, and the same seed gives the same cohort. Assumptions (see
docs/synthetic-cohort.md for the reasons and sources):

- Ability: each student has a general ability g ~ N(0, 1) and, per competency, an offset
  u ~ N(0, 0.5); the latent ability in a competency is g + u (a two-level model, as in
  multidimensional IRT with a strong general factor).
- Answers follow a 3PL item response function, p = c + (1 - c) / (1 + exp(-1.7 a (theta - b)))
  (Birnbaum 1968; Lord 1980), with c = 1 / number of options (blind guessing).
- Learning and forgetting: each answer in a competency adds a practice gain (diminishing returns,
  up to `max_gain` logits) that decays exponentially with days since the last practice of that
  competency (half-life `forgetting_half_life_days`), in the spirit of Ebbinghaus' forgetting
  curve and the exponential decay used by spaced-repetition models.
- Engagement: each student has a weekly study intensity (gamma distributed, mildly correlated with
  ability), studies on 0-7 days a week (binomial), 1-2 sessions a day, 5-20 answers a session.
- Drop-outs: a share of students stops all activity from a drawn week on; lower ability makes a
  drop-out somewhat more likely (a logistic link), as in learning-analytics cohorts.
- Subgroups: sex, first-generation student, international student are drawn independently of
  ability unless `subgroup_gap` plants a gap (for fairness tests). They are synthetic labels.
- Time on task: log-normal around 60 s, longer for harder items and for wrong answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

GENERATOR_VERSION = "synthetic-cohort-1"

SEX_VALUES = ("female", "male", "other")
SEX_WEIGHTS = (0.55, 0.43, 0.02)
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class SyntheticItem:
    """An item the generator answers: its id is the caller's (e.g. an ItemVersion id)."""

    item_id: str
    competency: str
    n_options: int = 5
    key_index: int = 0
    difficulty: float = 0.0       # IRT b, logits
    discrimination: float = 1.0   # IRT a

    @property
    def guessing(self) -> float:
        return 1.0 / max(2, self.n_options)


@dataclass(frozen=True)
class CohortSpec:
    n_students: int
    n_weeks: int
    seed: int
    start: datetime = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
    dropout_rate: float = 0.15
    mean_days_per_week: float = 3.0
    max_gain: float = 0.8
    gain_per_answer: float = 0.05
    forgetting_half_life_days: float = 14.0
    subgroup_gap: dict[str, float] = field(default_factory=dict)  # e.g. {"first_generation=yes": -0.3}

    def __post_init__(self) -> None:
        if self.n_students < 1:
            raise ValueError("n_students must be at least 1")
        if self.n_weeks < 1:
            raise ValueError("n_weeks must be at least 1")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError("dropout_rate must be in [0, 1)")
        if self.start.tzinfo is None:
            raise ValueError("start must be a UTC datetime")


@dataclass(frozen=True)
class SyntheticStudent:
    key: str                         # "s0001": stable within a cohort
    sex: str
    first_generation: str           # "yes" / "no"
    international: str              # "yes" / "no"
    general_ability: float
    ability: dict[str, float]       # latent ability per competency (before practice gains)
    intensity: float                # expected study days per week
    dropout_week: int | None        # first week (0-based) with no activity; None: stays

    @property
    def attributes(self) -> dict[str, str]:
        return {"sex": self.sex, "first_generation": self.first_generation, "international": self.international}


@dataclass(frozen=True)
class SyntheticAnswer:
    student_key: str
    item_id: str
    answered_at: datetime
    chosen_index: int
    is_correct: bool
    seconds_taken: int
    p_correct: float                # the generator's probability: ground truth


@dataclass(frozen=True)
class SyntheticCohort:
    spec: CohortSpec
    students: tuple[SyntheticStudent, ...]
    answers: tuple[SyntheticAnswer, ...]
    version: str = GENERATOR_VERSION
    exam_ability: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per student key, the latent ability per competency at the end of the last week (baseline ability
    plus the practice gain left after forgetting): what the student would bring to an end-of-course exam."""

    def ground_truth(self) -> dict:
        """The latent truth, JSON-ready: for checking models against what really generated the data."""
        return {
            "generator": self.version,
            "seed": self.spec.seed,
            "n_students": self.spec.n_students,
            "n_weeks": self.spec.n_weeks,
            "students": [
                {"key": s.key, **s.attributes, "general_ability": round(s.general_ability, 4),
                 "ability": {c: round(v, 4) for c, v in sorted(s.ability.items())},
                 "intensity": round(s.intensity, 3), "dropout_week": s.dropout_week}
                for s in self.students
            ],
        }


def expected_exam_score(exam_ability: dict[str, float], items: Sequence[SyntheticItem]) -> float:
    """Expected share correct (0..1) on an exam made of `items` (each once), at the given abilities:
    the mean 3PL probability. A competency missing from `exam_ability` counts at ability 0 (an average student)."""
    if not items:
        raise ValueError("items: an exam needs at least one item")
    return sum(probability_correct(exam_ability.get(i.competency, 0.0), i) for i in items) / len(items)


def probability_correct(theta: float, item: SyntheticItem) -> float:
    """3PL response probability (D = 1.7)."""
    c = item.guessing
    return c + (1.0 - c) / (1.0 + math.exp(-1.7 * item.discrimination * (theta - item.difficulty)))


def _draw_students(spec: CohortSpec, competencies: Sequence[str], rng: np.random.Generator) -> list[SyntheticStudent]:
    students = []
    width = max(4, len(str(spec.n_students)))
    for index in range(spec.n_students):
        sex = str(rng.choice(SEX_VALUES, p=SEX_WEIGHTS))
        first_gen = "yes" if rng.random() < 0.25 else "no"
        international = "yes" if rng.random() < 0.12 else "no"
        general = float(rng.normal(0.0, 1.0))
        attrs = {"sex": sex, "first_generation": first_gen, "international": international}
        general += sum(gap for key, gap in spec.subgroup_gap.items()
                       if "=" in key and attrs.get(key.split("=", 1)[0]) == key.split("=", 1)[1])
        ability = {c: general + float(rng.normal(0.0, 0.5)) for c in competencies}
        # Engagement: gamma around the mean, a little higher for abler students.
        intensity = float(rng.gamma(4.0, spec.mean_days_per_week / 4.0)) * math.exp(0.15 * general)
        intensity = min(7.0, max(0.3, intensity))
        p_drop = spec.dropout_rate * 2.0 / (1.0 + math.exp(0.8 * general))  # mean ~ dropout_rate
        dropout_week = None
        if spec.n_weeks > 1 and rng.random() < min(0.95, p_drop):
            dropout_week = int(rng.integers(1, spec.n_weeks))
        students.append(SyntheticStudent(
            key=f"s{index + 1:0{width}d}", sex=sex, first_generation=first_gen, international=international,
            general_ability=general, ability=ability, intensity=intensity, dropout_week=dropout_week))
    return students


def generate_cohort(spec: CohortSpec, items: Sequence[SyntheticItem]) -> SyntheticCohort:
    """Students and their answers over `spec.n_weeks` weeks; deterministic given `spec.seed`."""
    if not items:
        raise ValueError("items: the generator needs at least one item")
    rng = np.random.default_rng(spec.seed)
    ordered_items = sorted(items, key=lambda i: i.item_id)
    competencies = sorted({i.competency for i in ordered_items})
    students = _draw_students(spec, competencies, rng)
    half_life = max(0.1, spec.forgetting_half_life_days)
    answers: list[SyntheticAnswer] = []
    exam_moment = spec.start + timedelta(weeks=spec.n_weeks)
    exam_ability: dict[str, dict[str, float]] = {}
    for student in students:
        gain: dict[str, float] = {}
        last_practice: dict[str, datetime] = {}
        p_day = min(1.0, student.intensity / 7.0)
        for week in range(spec.n_weeks):
            if student.dropout_week is not None and week >= student.dropout_week:
                break
            for day in range(7):
                if rng.random() >= p_day:
                    continue
                day_start = spec.start + timedelta(weeks=week, days=day)
                for _session in range(int(rng.integers(1, 3))):
                    moment = day_start + timedelta(hours=float(rng.uniform(7.0, 22.0)))
                    # A session works on one or two competencies, as students usually do.
                    focus = rng.choice(len(competencies), size=min(2, len(competencies)), replace=False)
                    pool = [i for i in ordered_items if i.competency in {competencies[f] for f in focus}]
                    for _ in range(int(rng.integers(5, 21))):
                        item = pool[int(rng.integers(len(pool)))]
                        comp = item.competency
                        decayed = 0.0
                        if comp in last_practice:
                            days = (moment - last_practice[comp]).total_seconds() / 86400.0
                            decayed = gain.get(comp, 0.0) * 0.5 ** (days / half_life)
                        theta = student.ability[comp] + decayed
                        p = probability_correct(theta, item)
                        correct = bool(rng.random() < p)
                        if correct:
                            chosen = item.key_index
                        else:
                            wrong = [k for k in range(item.n_options) if k != item.key_index] or [item.key_index]
                            chosen = wrong[int(rng.integers(len(wrong)))]
                        seconds = float(rng.lognormal(math.log(60.0), 0.4)) * math.exp(0.15 * item.difficulty)
                        if not correct:
                            seconds *= 1.2
                        answers.append(SyntheticAnswer(
                            student_key=student.key, item_id=item.item_id, answered_at=moment,
                            chosen_index=chosen, is_correct=correct,
                            seconds_taken=max(5, min(900, int(round(seconds)))), p_correct=round(p, 6)))
                        # Practice: diminishing returns toward max_gain, then decay starts again from now.
                        gain[comp] = decayed + spec.gain_per_answer * (spec.max_gain - decayed)
                        last_practice[comp] = moment
                        moment += timedelta(seconds=seconds + float(rng.uniform(2.0, 20.0)))
        # Reads no random numbers, so adding it left every generated answer unchanged.
        exam_ability[student.key] = {
            comp: student.ability[comp] + (gain.get(comp, 0.0) * 0.5 ** (
                (exam_moment - last_practice[comp]).total_seconds() / 86400.0 / half_life)
                if comp in last_practice else 0.0)
            for comp in competencies}
    return SyntheticCohort(spec=spec, students=tuple(students), answers=tuple(answers), exam_ability=exam_ability)
