import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.learning.engine.selector import (Candidate, CompetencyState, SelectorSettings, choose_next,
                                               predicted_success)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _pool():
    return [Candidate(1, "cardio.hf", "cardio"), Candidate(2, "cardio.hf", "cardio"),
            Candidate(3, "resp.asthma", "resp"), Candidate(4, "renal.aki", "renal")]


def test_weak_heavily_weighted_competency_comes_first():
    states = {"cardio.hf": CompetencyState(0.2, 0.1, NOW - timedelta(days=3)),
              "resp.asthma": CompetencyState(0.9, 0.1, NOW - timedelta(days=3)),
              "renal.aki": CompetencyState(0.9, 0.1, NOW - timedelta(days=3))}
    choice = choose_next(_pool(), states, {"cardio": 2.0, "resp": 1.0, "renal": 1.0}, [], [], now=NOW,
                         rng=random.Random(1))
    assert choice.competency == "cardio.hf" and "weakest" in choice.reason


def test_recent_items_are_not_repeated_and_competencies_interleave():
    states = {"cardio.hf": CompetencyState(0.2, 0.1)}
    choice = choose_next(_pool(), states, {"cardio": 5.0}, recent_items=[1], recent_competencies=["cardio.hf"],
                         now=NOW, rng=random.Random(1))
    assert choice.item_id not in (1,) and choice.competency != "cardio.hf"


def test_falls_back_when_everything_was_seen_recently():
    pool = [Candidate(1, "a.x", "a")]
    choice = choose_next(pool, {}, {}, recent_items=[1], recent_competencies=["a.x"], now=NOW, rng=random.Random(0))
    assert choice.item_id == 1


def test_empty_pool_and_naive_time():
    assert choose_next([], {}, {}, [], [], now=NOW, rng=random.Random(0)) is None
    with pytest.raises(ValueError):
        choose_next(_pool(), {}, {}, [], [], now=datetime(2026, 1, 1), rng=random.Random(0))


def test_settings_are_validated():
    with pytest.raises(ValueError, match="target_success"):
        SelectorSettings(target_success=0.2)


def test_target_difficulty_prefers_items_near_the_target():
    pool = [Candidate(1, "a.x", "a", difficulty=-3.0), Candidate(2, "a.x", "a", difficulty=0.0),
            Candidate(3, "a.x", "a", difficulty=3.0)]
    states = {"a.x": CompetencyState(0.75, 0.0, NOW)}
    choice = choose_next(pool, states, {}, [], [], now=NOW, rng=random.Random(0),
                         settings=SelectorSettings(target_success=0.75))
    assert choice.item_id == 2


def test_exposure_control_spreads_use():
    pool = [Candidate(1, "a.x", "a", exposure=500), Candidate(2, "a.x", "a", exposure=0)]
    assert choose_next(pool, {}, {}, [], [], now=NOW, rng=random.Random(0)).item_id == 2


@settings(max_examples=200, deadline=None)
@given(mastery=st.floats(0, 1), low=st.floats(-4, 4), high=st.floats(-4, 4))
def test_harder_items_are_never_predicted_easier(mastery, low, high):
    low, high = sorted((low, high))
    assert 0 < predicted_success(mastery, high) <= predicted_success(mastery, low) < 1


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), masteries=st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_deterministic_given_a_seed(seed, masteries):
    states = {c.competency: CompetencyState(m) for c, m in zip(_pool(), masteries)}
    first = choose_next(_pool(), states, {"cardio": 2}, [], [], now=NOW, rng=random.Random(seed))
    second = choose_next(_pool(), states, {"cardio": 2}, [], [], now=NOW, rng=random.Random(seed))
    assert first == second and first.reason
