"""Catch-up plan for a review backlog, under a daily cap.

A student back after two weeks may find hundreds of overdue cards. This plans them over the next days:

- every day's reviews (catch-up plus the cards that fall due that day) stay within `daily_cap`;
- cards falling due naturally keep their day when there is room (so no new backlog builds up); any
  that do not fit wait in the same queue as the backlog;
- the waiting queue is served by risk: `importance × (1 − retrievability now)`, so the cards whose
  recall has dropped furthest, in the competencies that weigh most, come first; ties go to the card
  that has lost more recall since it fell due (retrievability at due minus now), then the oldest due;
- new cards stay paused while the backlog is larger than one day's cap.

Pure: the caller passes the time, and the cards' FSRS stability and last review.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import count

from medtutor.core.errors import InvalidInput
from medtutor.core.ids import CardId
from medtutor.learning.engine.memory import DEFAULT_PARAMS, MemoryParams, require_utc

__all__ = ["CatchupPlan", "PlanDay", "Placement", "ScheduledCard", "plan_catch_up", "recall"]

MAX_DAILY_CAP = 5000


@dataclass(frozen=True, slots=True)
class ScheduledCard:
    """A card the student has reviewed before (new cards are not part of a backlog)."""
    card_id: CardId
    due_at: datetime
    last_review_at: datetime | None
    stability_days: float | None
    importance: float = 1.0           # root competency's blueprint weight


@dataclass(frozen=True, slots=True)
class Placement:
    card_id: CardId
    day: int                          # 0 = today
    is_overdue: bool                  # overdue now (backlog), or falling due during the plan
    risk: float
    retrievability_now: float


@dataclass(frozen=True, slots=True)
class PlanDay:
    day: date
    catch_up: int                     # backlog cards placed on this day
    due: int                          # cards falling due during the plan, reviewed this day
    backlog_at_start: int             # cards waiting at the start of the day
    new_cards_allowed: bool

    @property
    def total(self) -> int:
        return self.catch_up + self.due


@dataclass(frozen=True, slots=True)
class CatchupPlan:
    made_at: datetime
    daily_cap: int
    done_today: int
    backlog: int                      # overdue now
    placements: tuple[Placement, ...]  # in review order
    days: tuple[PlanDay, ...]         # at least `horizon_days`, more until the backlog is cleared
    new_cards_paused: bool

    @property
    def days_to_clear(self) -> int:
        """Days (today counts as one) until every overdue card has been placed; 0 with no backlog."""
        overdue_days = [p.day for p in self.placements if p.is_overdue]
        return max(overdue_days) + 1 if overdue_days else 0

    @property
    def peak(self) -> int:
        return max((d.total for d in self.days), default=0)

    def day_of(self, card_id: CardId) -> int | None:
        return next((p.day for p in self.placements if p.card_id == card_id), None)

    def today(self) -> tuple[Placement, ...]:
        return tuple(p for p in self.placements if p.day == 0)

    def summary(self) -> dict[str, object]:
        return {"daily_cap": self.daily_cap, "backlog": self.backlog, "days_to_clear": self.days_to_clear,
                "new_cards_paused": self.new_cards_paused,
                "per_day": [[d.day.isoformat(), d.catch_up, d.due] for d in self.days[:14]]}


def recall(card: ScheduledCard, at: datetime, params: MemoryParams = DEFAULT_PARAMS) -> float:
    """FSRS retrievability of `card` at `at`; 0 when it has no stability yet."""
    if card.last_review_at is None or not card.stability_days:
        return 0.0
    elapsed_days = max(0.0, (at - card.last_review_at).total_seconds() / 86400)
    return (1 + params.factor * elapsed_days / card.stability_days) ** params.decay


def plan_catch_up(cards: Sequence[ScheduledCard], *, at: datetime, daily_cap: int, done_today: int = 0,
                  horizon_days: int = 14, params: MemoryParams = DEFAULT_PARAMS) -> CatchupPlan:
    """Place every overdue card, and the cards falling due meanwhile, on days from today (UTC)."""
    at = require_utc(at, "plan time")
    if isinstance(daily_cap, bool) or not isinstance(daily_cap, int) or not 1 <= daily_cap <= MAX_DAILY_CAP:
        raise InvalidInput(f"the daily cap must be a whole number from 1 to {MAX_DAILY_CAP}")
    if horizon_days < 1:
        raise InvalidInput("the plan needs at least one day")
    done_today = max(0, int(done_today))
    today = at.date()
    seen: set[CardId] = set()
    waiting: list[tuple[float, float, datetime, int, int, Placement]] = []  # heap by priority
    natural: dict[int, list[ScheduledCard]] = defaultdict(list)
    tie = count()

    def enqueue(card: ScheduledCard, when: datetime, is_overdue: bool) -> None:
        now_r = recall(card, when, params)
        at_due = recall(card, min(card.due_at, when), params)
        risk = max(0.0, card.importance) * (1.0 - now_r)
        key_card = Placement(card.card_id, -1, is_overdue, risk, now_r)
        heapq.heappush(waiting, (-risk, -(at_due - now_r), card.due_at, int(card.card_id), next(tie), key_card))

    backlog = 0
    for card in cards:
        if card.card_id in seen:
            raise InvalidInput(f"card {card.card_id} is listed twice")
        seen.add(card.card_id)
        due_at = require_utc(card.due_at, "due time")
        if due_at <= at:
            backlog += 1
            enqueue(card, at, True)
        else:
            natural[(due_at.date() - today).days].append(card)

    placements: list[Placement] = []
    days: list[PlanDay] = []
    day = 0
    while day < horizon_days or waiting:
        capacity = max(0, daily_cap - done_today) if day == 0 else daily_cap
        waiting_at_start = len(waiting)
        due_today = sorted(natural.pop(day, []), key=lambda c: (c.due_at, int(c.card_id)))
        kept, late = due_today[:capacity], due_today[capacity:]
        for card in kept:
            placements.append(Placement(card.card_id, day, False, max(0.0, card.importance) * (1 - recall(card, card.due_at, params)),
                                        recall(card, card.due_at, params)))
        capacity -= len(kept)
        catch_up = due_from_queue = 0
        while capacity > 0 and waiting:
            *_, placed = heapq.heappop(waiting)
            placements.append(Placement(placed.card_id, day, placed.is_overdue, placed.risk, placed.retrievability_now))
            capacity -= 1
            if placed.is_overdue:
                catch_up += 1
            else:
                due_from_queue += 1
        for card in late:  # no room on their own day: they wait with the backlog
            enqueue(card, datetime.combine(today + timedelta(days=day + 1), datetime.min.time(), at.tzinfo), False)
        days.append(PlanDay(today + timedelta(days=day), catch_up, len(kept) + due_from_queue, waiting_at_start,
                            waiting_at_start <= daily_cap))
        day += 1
    return CatchupPlan(at, daily_cap, done_today, backlog, tuple(placements), tuple(days), backlog > daily_cap)
