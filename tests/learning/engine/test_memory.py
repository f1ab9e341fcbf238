"""The FSRS memory engine: pure, UTC-only, deterministic given an rng."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.core.errors import InvalidInput
from medtutor.core.ids import CardId
from medtutor.learning.engine import cloze
from medtutor.learning.engine.memory import (
    DEFAULT_PARAMS, Grade, MemoryParams, MemoryState, NaiveDatetime, Phase, format_interval, preview,
    retrievability, review,
)

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


def reviewed(grades, *, start=T0, seed=1) -> MemoryState:
    state = MemoryState.new(CardId(1), at=start)
    rng = random.Random(seed)
    for grade in grades:
        state, _ = review(state, grade, at=max(state.due_at, state.last_review_at or start), rng=rng)
    return state


@st.composite
def memory_states(draw) -> MemoryState:
    grades = draw(st.lists(st.sampled_from(Grade), max_size=8))
    start = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 365)))
    state = reviewed(grades, start=start, seed=draw(st.integers(0, 1000)))
    late_by = timedelta(hours=draw(st.integers(0, 24 * 60)))
    return state, max(state.due_at, state.last_review_at or start) + late_by


def test_new_card_intervals_match_fsrs_learning_steps():
    labels = {g: format_interval(d) for g, d in preview(MemoryState.new(CardId(1), at=T0), at=T0).items()}
    assert labels[Grade.AGAIN] == "1 min" and labels[Grade.GOOD] == "10 min"
    assert labels[Grade.EASY].endswith(" d")


def test_review_returns_new_state_and_log_without_changing_the_input():
    state = MemoryState.new(CardId(7), at=T0)
    new, log = review(state, Grade.GOOD, at=T0, rng=random.Random(0))
    assert state.last_review_at is None and new.last_review_at == T0
    assert log.previous == state and log.grade is Grade.GOOD and log.reviewed_at == T0
    assert new.due_at == T0 + log.interval == T0 + timedelta(minutes=10)


@settings(max_examples=150, deadline=None)
@given(memory_states())
def test_easy_is_at_least_good_is_at_least_hard(drawn):
    state, at = drawn
    intervals = preview(state, at=at)
    assert intervals[Grade.EASY] >= intervals[Grade.GOOD] >= intervals[Grade.HARD]
    assert intervals[Grade.AGAIN] <= intervals[Grade.HARD]


@settings(max_examples=150, deadline=None)
@given(memory_states(), st.sampled_from(Grade), st.integers(0, 2**32 - 1))
def test_review_never_schedules_into_the_past_and_is_replayable(drawn, grade, seed):
    state, at = drawn
    new, log = review(state, grade, at=at, rng=random.Random(seed))
    again, _ = review(state, grade, at=at, rng=random.Random(seed))
    assert new == again
    assert new.due_at > at and log.reviewed_at == at
    assert new.due_at.tzinfo is UTC
    assert MemoryState.from_dict(new.to_dict()) == new


@pytest.mark.parametrize("moment", [datetime(2025, 3, 1, 8), datetime(2025, 3, 1, 8, tzinfo=timezone(timedelta(hours=2)))])
def test_naive_or_non_utc_datetimes_are_refused(moment):
    state = MemoryState.new(CardId(1), at=T0)
    with pytest.raises(NaiveDatetime, match="UTC"):
        review(state, Grade.GOOD, at=moment, rng=random.Random(0))
    with pytest.raises(NaiveDatetime):
        MemoryState.new(CardId(1), at=moment)
    assert issubclass(NaiveDatetime, InvalidInput) and NaiveDatetime("x").status == 400


def test_a_review_before_the_last_review_is_refused():
    state = reviewed([Grade.GOOD])
    with pytest.raises(InvalidInput, match="before the card's last review"):
        review(state, Grade.GOOD, at=T0 - timedelta(minutes=1), rng=random.Random(0))


def test_fuzz_comes_from_the_rng_passed_in():
    state = reviewed([Grade.GOOD, Grade.GOOD, Grade.GOOD])
    at = state.due_at
    dues = {review(state, Grade.GOOD, at=at, rng=random.Random(seed))[0].due_at for seed in range(40)}
    assert len(dues) > 1  # spread by fuzz
    unfuzzed = MemoryParams(fuzz=False)
    assert len({review(state, Grade.GOOD, at=at, rng=random.Random(seed), params=unfuzzed)[0].due_at
                for seed in range(10)}) == 1


def test_retrievability_falls_with_time_and_is_about_the_target_at_due():
    state = reviewed([Grade.GOOD, Grade.GOOD])
    assert state.phase is Phase.REVIEW
    at_due = retrievability(state, state.due_at)
    assert 0.85 < at_due < 0.95
    assert retrievability(state, state.due_at + timedelta(days=30)) < at_due
    assert retrievability(MemoryState.new(CardId(1), at=T0), T0) == 0.0


def test_bad_parameters_are_reported_together():
    with pytest.raises(ValueError, match="parameters"):
        MemoryParams(weights=(0.0,) * 21)
    with pytest.raises(InvalidInput):
        MemoryParams(desired_retention=0.2)
    assert DEFAULT_PARAMS.desired_retention == 0.9


@pytest.mark.parametrize("gap,label", [(timedelta(seconds=20), "1 min"), (timedelta(minutes=10), "10 min"),
                                       (timedelta(hours=3), "3 h"), (timedelta(days=2), "2 d"),
                                       (timedelta(days=45), "1.5 mo"), (timedelta(days=730), "2 y")])
def test_interval_labels(gap, label):
    assert format_interval(gap) == label


def test_cloze_front_hides_deletions_and_back_reveals_them():
    text = "Loop diuretics block {{c1::NKCC2}} in the {{c2::thick ascending limb::segment}}."
    assert cloze.front_text(text) == "Loop diuretics block [...] in the [segment]."
    assert cloze.back_text(text) == "Loop diuretics block NKCC2 in the thick ascending limb."
    assert [s.is_deletion for s in cloze.segments(text)] == [False, True, False, True, False]
