"""The catch-up planner: cap respected every day, each card once, riskiest first, new cards paused."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.core.errors import InvalidInput
from medtutor.core.ids import CardId
from medtutor.learning.engine.catchup import ScheduledCard, plan_catch_up, recall

NOW = datetime(2025, 3, 15, 9, tzinfo=UTC)


def card(i: int, *, overdue_days: float, stability: float = 10.0, importance: float = 1.0) -> ScheduledCard:
    due = NOW - timedelta(days=overdue_days)
    return ScheduledCard(CardId(i), due, due - timedelta(days=stability), stability, importance)


@st.composite
def decks(draw):
    n = draw(st.integers(0, 120))
    cards = []
    for i in range(1, n + 1):
        offset_hours = draw(st.integers(-24 * 40, 24 * 20))  # overdue up to 40 days, or due in up to 20
        stability = draw(st.floats(0.5, 200))
        due = NOW + timedelta(hours=offset_hours)
        cards.append(ScheduledCard(CardId(i), due, due - timedelta(days=stability), stability,
                                   draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))))
    return cards


@settings(max_examples=120, deadline=None)
@given(decks(), st.integers(1, 60), st.integers(0, 30))
def test_plan_never_exceeds_the_cap_and_places_each_overdue_card_once(cards, cap, done_today):
    plan = plan_catch_up(cards, at=NOW, daily_cap=cap, done_today=done_today)
    per_day = Counter(p.day for p in plan.placements)
    assert per_day[0] + done_today <= max(cap, done_today)
    assert all(count <= cap for count in per_day.values())
    assert all(d.total == per_day[i] for i, d in enumerate(plan.days))
    overdue = [c.card_id for c in cards if c.due_at <= NOW]
    placed_overdue = [p.card_id for p in plan.placements if p.is_overdue]
    assert sorted(placed_overdue) == sorted(overdue)
    assert len({p.card_id for p in plan.placements}) == len(plan.placements)  # nobody twice
    assert plan.backlog == len(overdue)
    assert len(plan.days) >= 14


@settings(max_examples=120, deadline=None)
@given(decks(), st.integers(1, 60))
def test_higher_risk_overdue_cards_come_no_later(cards, cap):
    plan = plan_catch_up(cards, at=NOW, daily_cap=cap)
    overdue = [p for p in plan.placements if p.is_overdue]
    for a in overdue:
        for b in overdue:
            if a.risk > b.risk + 1e-12:
                assert a.day <= b.day


@settings(max_examples=60, deadline=None)
@given(decks(), st.integers(1, 60))
def test_natural_reviews_are_never_placed_before_they_fall_due(cards, cap):
    plan = plan_catch_up(cards, at=NOW, daily_cap=cap)
    by_id = {c.card_id: c for c in cards}
    for placed in plan.placements:
        if not placed.is_overdue:
            assert (by_id[placed.card_id].due_at.date() - NOW.date()).days <= placed.day


def test_eight_hundred_overdue_cards_after_two_weeks_away():
    rng = random.Random(7)
    cards = [card(i, overdue_days=rng.uniform(0.1, 14), stability=rng.uniform(2, 60),
                  importance=rng.choice([1.0, 2.0])) for i in range(800)]
    cards += [ScheduledCard(CardId(10_000 + i), NOW + timedelta(days=1 + i % 10, hours=1), NOW, 20.0)
              for i in range(50)]
    plan = plan_catch_up(cards, at=NOW, daily_cap=150)
    assert plan.backlog == 800 and plan.new_cards_paused
    assert plan.peak <= 150
    assert 6 <= plan.days_to_clear <= 7  # 850 reviews at 150 a day
    first_day = [p for p in plan.placements if p.day == 0]
    last_day = [p for p in plan.placements if p.is_overdue and p.day == plan.days_to_clear - 1]
    assert min(p.risk for p in first_day) >= max(p.risk for p in last_day)
    # new cards come back once the backlog is down to one day's cap
    allowed = [d.new_cards_allowed for d in plan.days]
    assert allowed[0] is False and allowed[-1] is True
    assert allowed == sorted(allowed)


def test_same_forgetting_more_important_competency_first():
    plan = plan_catch_up([card(1, overdue_days=5, importance=1.0), card(2, overdue_days=5, importance=2.0)],
                         at=NOW, daily_cap=1)
    assert [p.card_id for p in plan.placements[:2]] == [2, 1]


def test_the_most_forgotten_card_first():
    plan = plan_catch_up([card(1, overdue_days=1), card(2, overdue_days=12)], at=NOW, daily_cap=1)
    assert plan.day_of(CardId(2)) == 0 and plan.day_of(CardId(1)) == 1
    assert recall(card(2, overdue_days=12), NOW) < recall(card(1, overdue_days=1), NOW)


def test_cards_falling_due_count_against_the_cap():
    upcoming = [ScheduledCard(CardId(100 + i), NOW + timedelta(days=1, hours=1), NOW, 5.0) for i in range(8)]
    plan = plan_catch_up([card(i, overdue_days=3) for i in range(10)] + upcoming, at=NOW, daily_cap=10)
    assert plan.days[0].catch_up == 10
    assert plan.days[1].due == 8 and plan.days[1].catch_up == 0


def test_no_backlog_no_pause():
    plan = plan_catch_up([card(1, overdue_days=-2)], at=NOW, daily_cap=20)
    assert plan.backlog == 0 and not plan.new_cards_paused and plan.days_to_clear == 0


@pytest.mark.parametrize("cap", [0, -1, True, 1.5])
def test_a_bad_cap_is_refused(cap):
    with pytest.raises(InvalidInput):
        plan_catch_up([], at=NOW, daily_cap=cap)


def test_naive_time_is_refused():
    with pytest.raises(InvalidInput, match="time zone"):
        plan_catch_up([], at=datetime(2025, 3, 15), daily_cap=10)
