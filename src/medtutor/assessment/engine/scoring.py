"""Scoring a submitted attempt, its breakdowns, and a percentile within the cohort.

Answers arrive as authored (original) option indices, so a shuffled display never changes a score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Breakdown", "ItemScore", "ScoreReport", "ScoredItem", "breakdown", "is_correct", "percentile_rank",
           "score"]


@dataclass(frozen=True, slots=True)
class ScoredItem:
    position: int
    key_index: int | None       # authored index of the correct option
    chosen_index: int | None    # authored index the student chose, None when unanswered
    competency: str = ""
    discipline: str = ""
    seconds_spent: float = 0.0


@dataclass(frozen=True, slots=True)
class ItemScore:
    position: int
    is_answered: bool
    is_correct: bool


@dataclass(frozen=True, slots=True)
class Breakdown:
    key: str
    correct: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class ScoreReport:
    correct: int
    total: int
    answered: int
    items: tuple[ItemScore, ...]
    by_competency: tuple[Breakdown, ...]
    by_discipline: tuple[Breakdown, ...]
    seconds_total: float

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0


def is_correct(key_index: int | None, chosen_index: int | None) -> bool:
    return key_index is not None and chosen_index is not None and key_index == chosen_index


def breakdown(items: Iterable[ScoredItem], key: Callable[[ScoredItem], str]) -> tuple[Breakdown, ...]:
    totals: dict[str, list[int]] = {}
    for item in items:
        counts = totals.setdefault(key(item), [0, 0])
        counts[0] += is_correct(item.key_index, item.chosen_index)
        counts[1] += 1
    return tuple(Breakdown(k, c, t) for k, (c, t) in sorted(totals.items()))


def score(items: Sequence[ScoredItem]) -> ScoreReport:
    per_item = tuple(ItemScore(i.position, i.chosen_index is not None, is_correct(i.key_index, i.chosen_index))
                     for i in items)
    return ScoreReport(
        correct=sum(s.is_correct for s in per_item), total=len(per_item),
        answered=sum(s.is_answered for s in per_item), items=per_item,
        by_competency=breakdown(items, lambda i: i.competency),
        by_discipline=breakdown(items, lambda i: i.discipline),
        seconds_total=sum(max(0.0, i.seconds_spent) for i in items))


def percentile_rank(value: float, population: Sequence[float]) -> float | None:
    """Percent of the population below `value`, counting ties as half (the usual percentile rank)."""
    if not population:
        return None
    below = sum(1 for p in population if p < value)
    equal = sum(1 for p in population if p == value)
    return 100.0 * (below + 0.5 * equal) / len(population)
