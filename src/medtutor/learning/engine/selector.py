"""Choosing the next practice question: pure, deterministic given a seed.

The value of asking item i of competency c now is the product of
  need(c)       = blueprint weight x weakness (1 - mastery), the exam-weighted gap
  staleness(c)  = how much of c may have been forgotten since it was last practised
  fit(i)        = how close the predicted success is to the learner's target (desirable difficulty)
  freshness(i)  = exposure control: items shown often (to anyone) are used less
and items seen within the no-repeat window, or of the competency just practised (interleaving), are
held back. The reason shown to the learner names the largest factor.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from medtutor.core.clock import require_utc

DIFFICULTY_LOGIT = {"easy": -1.0, "medium": 0.0, "hard": 1.0, None: 0.0, "": 0.0}


@dataclass(frozen=True, slots=True)
class Candidate:
    item_id: int
    competency: str          # the topic code, e.g. "cardio.hf"
    system: str              # the root code, e.g. "cardio"; blueprint weights are per system
    difficulty: float = 0.0  # logit: positive is harder (see DIFFICULTY_LOGIT)
    exposure: int = 0        # how many times the item has been shown, to anyone


@dataclass(frozen=True, slots=True)
class CompetencyState:
    mastery: float                       # P(knows), in [0, 1]
    uncertainty: float = 0.5             # standard deviation of that estimate
    last_practised_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SelectorSettings:
    target_success: float = 0.75   # the learner's chosen success probability
    no_repeat_window: int = 20     # the last N items answered are not asked again
    interleave_window: int = 1     # the last N competencies are avoided when others are available
    forgetting_days: float = 7.0   # staleness time constant
    exposure_half: float = 50.0    # exposure at which an item's freshness halves

    def __post_init__(self) -> None:
        problems = []
        if not 0.5 <= self.target_success <= 0.95:
            problems.append(f"target_success must be between 0.5 and 0.95, got {self.target_success}")
        if self.no_repeat_window < 0 or self.interleave_window < 0:
            problems.append("windows cannot be negative")
        if self.forgetting_days <= 0 or self.exposure_half <= 0:
            problems.append("forgetting_days and exposure_half must be positive")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Choice:
    item_id: int
    competency: str
    score: float
    predicted_success: float
    reason: str
    factors: dict[str, float] = field(default_factory=dict)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def predicted_success(mastery: float, difficulty: float) -> float:
    """P(correct) from competency mastery and item difficulty on the logit scale."""
    return 1.0 / (1.0 + math.exp(-(_logit(mastery) - difficulty)))


def choose_next(candidates: Sequence[Candidate], states: Mapping[str, CompetencyState],
                weights: Mapping[str, float], recent_items: Sequence[int], recent_competencies: Sequence[str],
                *, now: datetime, rng: random.Random, settings: SelectorSettings = SelectorSettings(),
                default_mastery: float = 0.5) -> Choice | None:
    """The best next item, or None when there are no candidates at all.

    recent_items / recent_competencies are most recent first.
    """
    require_utc(now)
    if not candidates:
        return None
    blocked = set(recent_items[: settings.no_repeat_window])
    pool = [c for c in candidates if c.item_id not in blocked] or list(candidates)
    avoid = set(recent_competencies[: settings.interleave_window])
    interleaved = [c for c in pool if c.competency not in avoid]
    pool = interleaved or pool
    max_weight = max((weights.get(c.system, 1.0) for c in pool), default=1.0) or 1.0
    scored: list[tuple[float, float, Candidate, dict[str, float]]] = []
    for candidate in pool:
        state = states.get(candidate.competency, CompetencyState(default_mastery))
        weight = weights.get(candidate.system, 1.0) / max_weight
        weakness = 1.0 - state.mastery + 0.5 * state.uncertainty  # unexplored competencies look weak
        need = weight * weakness
        if state.last_practised_at is None:
            staleness = 1.0
        else:
            days = max(0.0, (now - state.last_practised_at).total_seconds() / 86400)
            staleness = 1.0 - math.exp(-days / settings.forgetting_days)
        p = predicted_success(state.mastery, candidate.difficulty)
        fit = math.exp(-((p - settings.target_success) ** 2) / (2 * 0.12 ** 2))
        freshness = 1.0 / (1.0 + candidate.exposure / settings.exposure_half)
        factors = {"need": need, "staleness": 0.25 + 0.75 * staleness, "fit": 0.2 + 0.8 * fit,
                   "freshness": freshness}
        score = math.prod(factors.values())
        scored.append((score, rng.random(), candidate, factors | {"mastery": state.mastery, "weight": weight}))
    score, _, best, factors = max(scored, key=lambda row: (row[0], row[1]))
    p = predicted_success(factors["mastery"], best.difficulty)
    return Choice(best.item_id, best.competency, score, p, _reason(factors, p, settings), factors)


def _reason(factors: Mapping[str, float], p: float, settings: SelectorSettings) -> str:
    if factors["weight"] >= 0.75 and factors["mastery"] < 0.5:
        return "your weakest area with a high exam weight"
    if factors["staleness"] >= 0.7 and factors["mastery"] >= 0.5:
        return "due for review: you have not practised this for a while"
    if factors["mastery"] < 0.5:
        return "a weak area: more practice here pays off most"
    if abs(p - settings.target_success) < 0.1:
        return f"at your target difficulty (about {round(p * 100)}% chance of success)"
    return "keeps your practice varied across topics"
