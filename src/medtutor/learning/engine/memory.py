"""Memory state per card, scheduled by FSRS (py-fsrs), as a pure function.

A frozen `MemoryState` and a grade go in; the next state and a `ReviewLog` come out. The time of the
review and the random generator for interval fuzz are passed in: nothing here reads the clock or the
module-level random generator. Every datetime must be timezone-aware UTC; a naive one is refused with
`NaiveDatetime`.

py-fsrs does the memory maths (stability, difficulty, learning steps); its own fuzz reads the global
`random()`, so it is switched off and `_fuzz` below applies the same kind of spread with the caller's rng.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Any

import fsrs

from medtutor.core.errors import InvalidInput
from medtutor.core.ids import CardId

__all__ = ["DEFAULT_PARAMS", "Grade", "MemoryParams", "MemoryState", "NaiveDatetime", "Phase", "ReviewLog",
           "format_interval", "preview", "retrievability", "review", "require_utc"]


class NaiveDatetime(InvalidInput, ValueError):
    """A datetime without a time zone, or not in UTC."""


class Grade(IntEnum):
    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


class Phase(IntEnum):
    """Stored integers; the same values as py-fsrs's `State`."""
    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3


def require_utc(moment: datetime, what: str = "time") -> datetime:
    """The same instant with `datetime.UTC` as its tzinfo; naive or non-UTC datetimes are refused."""
    if not isinstance(moment, datetime):
        raise NaiveDatetime(f"the {what} must be a datetime, got {type(moment).__name__}")
    offset = moment.utcoffset()
    if moment.tzinfo is None or offset is None:
        raise NaiveDatetime(f"the {what} has no time zone; send it in UTC (for example 2025-03-01T08:00:00Z)")
    if offset.total_seconds() != 0:
        raise NaiveDatetime(f"the {what} must be in UTC, got offset {offset}")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class MemoryState:
    card_id: CardId
    phase: Phase
    step: int | None                  # learning or relearning step; None in REVIEW
    stability_days: float | None      # None until the first review
    difficulty: float | None
    due_at: datetime                  # UTC
    last_review_at: datetime | None   # UTC; None while the card is new

    def __post_init__(self) -> None:
        require_utc(self.due_at, "due time")
        if self.last_review_at is not None:
            require_utc(self.last_review_at, "last review time")

    @classmethod
    def new(cls, card_id: CardId, *, at: datetime) -> MemoryState:
        return cls(card_id, Phase.LEARNING, 0, None, None, require_utc(at), None)

    @property
    def is_new(self) -> bool:
        return self.last_review_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (what the review log keeps for undo)."""
        return {"card_id": int(self.card_id), "phase": int(self.phase), "step": self.step,
                "stability_days": self.stability_days, "difficulty": self.difficulty,
                "due_at": self.due_at.isoformat(),
                "last_review_at": self.last_review_at.isoformat() if self.last_review_at else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryState:
        last = data.get("last_review_at")
        return cls(CardId(int(data["card_id"])), Phase(int(data["phase"])), data.get("step"),
                   data.get("stability_days"), data.get("difficulty"),
                   require_utc(datetime.fromisoformat(data["due_at"])),
                   require_utc(datetime.fromisoformat(last)) if last else None)


@dataclass(frozen=True, slots=True)
class ReviewLog:
    card_id: CardId
    grade: Grade
    reviewed_at: datetime
    interval: timedelta               # due_at of the new state minus reviewed_at
    previous: MemoryState


@dataclass(frozen=True, slots=True)
class MemoryParams:
    weights: tuple[float, ...] = tuple(fsrs.scheduler.DEFAULT_PARAMETERS)
    desired_retention: float = 0.9
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    maximum_interval_days: int = 36500
    fuzz: bool = True

    def __post_init__(self) -> None:
        problems = []
        if not 0.7 <= self.desired_retention <= 0.99:
            problems.append(f"desired_retention {self.desired_retention} is outside 0.7–0.99")
        if self.maximum_interval_days < 1:
            problems.append("maximum_interval_days must be at least 1")
        if problems:
            raise InvalidInput("invalid memory parameters", details=problems)
        _scheduler(self)  # py-fsrs validates the weights (all out-of-range ones in one message)

    @property
    def decay(self) -> float:
        return -self.weights[20]

    @property
    def factor(self) -> float:
        return 0.9 ** (1 / self.decay) - 1


@lru_cache(maxsize=16)
def _scheduler(params: MemoryParams) -> fsrs.Scheduler:
    return fsrs.Scheduler(parameters=params.weights, desired_retention=params.desired_retention,
                          learning_steps=params.learning_steps, relearning_steps=params.relearning_steps,
                          maximum_interval=params.maximum_interval_days, enable_fuzzing=False)


DEFAULT_PARAMS = MemoryParams()


def _to_fsrs(state: MemoryState) -> fsrs.Card:
    return fsrs.Card(card_id=int(state.card_id), state=fsrs.State(int(state.phase)), step=state.step,
                     stability=state.stability_days, difficulty=state.difficulty,
                     due=require_utc(state.due_at), last_review=state.last_review_at and require_utc(state.last_review_at))


def _check_time(state: MemoryState, at: datetime) -> datetime:
    at = require_utc(at, "review time")
    if state.last_review_at is not None and at < state.last_review_at:
        raise InvalidInput("a review cannot come before the card's last review")
    return at


def _next(state: MemoryState, grade: Grade, at: datetime, params: MemoryParams) -> fsrs.Card:
    card, _ = _scheduler(params).review_card(_to_fsrs(state), fsrs.Rating(int(grade)), review_datetime=at)
    return card


def review(state: MemoryState, grade: Grade, *, at: datetime, rng: random.Random,
           params: MemoryParams = DEFAULT_PARAMS) -> tuple[MemoryState, ReviewLog]:
    """Grade a card at `at`; returns the new state and the log. `state` is not changed."""
    at = _check_time(state, at)
    grade = Grade(grade)
    card = _next(state, grade, at, params)
    interval = card.due - at
    if params.fuzz and card.state == fsrs.State.Review:
        interval = _fuzz(interval, rng=rng, maximum_days=params.maximum_interval_days)
    new = replace(state, phase=Phase(int(card.state)), step=card.step, stability_days=card.stability,
                  difficulty=card.difficulty, due_at=at + interval, last_review_at=at)
    return new, ReviewLog(state.card_id, grade, at, interval, state)


def preview(state: MemoryState, *, at: datetime, params: MemoryParams = DEFAULT_PARAMS) -> dict[Grade, timedelta]:
    """The interval each grade would give now, before fuzz (what the grade buttons show)."""
    at = _check_time(state, at)
    return {grade: _next(state, grade, at, params).due - at for grade in Grade}


def retrievability(state: MemoryState, at: datetime, params: MemoryParams = DEFAULT_PARAMS) -> float:
    """FSRS probability of recall at `at` (fractional days); 0 for a card never reviewed."""
    at = require_utc(at)
    if state.last_review_at is None or not state.stability_days:
        return 0.0
    elapsed_days = max(0.0, (at - state.last_review_at).total_seconds() / 86400)
    return (1 + params.factor * elapsed_days / state.stability_days) ** params.decay


_FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, math.inf, 0.05))


def _fuzz(interval: timedelta, *, rng: random.Random, maximum_days: int) -> timedelta:
    """Spread whole-day intervals of 3 days or more by a few percent so cards learnt together split up."""
    days = interval.days
    if days < 2.5:
        return interval
    delta = 1.0 + sum(factor * max(min(float(days), end) - start, 0.0) for start, end, factor in _FUZZ_RANGES)
    low, high = max(2, round(days - delta)), min(round(days + delta), maximum_days)
    low = min(low, high)
    return timedelta(days=rng.randint(low, high))


def format_interval(interval: timedelta) -> str:
    """Short label for a button: "1 min", "10 min", "3 h", "2 d", "1.5 mo", "2.1 y"."""
    seconds = max(0.0, interval.total_seconds())
    minutes = seconds / 60
    if minutes < 60:
        return f"{max(1, round(minutes))} min"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)} h"
    days = hours / 24
    if days < 30:
        return f"{round(days)} d"
    if days < 365:
        months = days / 30.4
        return f"{months:.1f} mo".replace(".0 ", " ")
    return f"{days / 365.25:.1f} y".replace(".0 ", " ")
