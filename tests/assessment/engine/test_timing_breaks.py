"""Rest-break arithmetic of the exam clock (pure)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtutor.assessment.engine.timing import (
    break_allowance_left,
    pause_ends_at,
    pause_grant,
    pause_used,
    shift_deadline,
)

START = datetime(2030, 1, 1, 9, tzinfo=UTC)
DEADLINE = START + timedelta(minutes=60)


def test_allowance_left_never_negative():
    assert break_allowance_left(600, 0) == 600
    assert break_allowance_left(600, 450) == 150
    assert break_allowance_left(600, 900) == 0
    assert break_allowance_left(0, 0) == 0


def test_grant_is_the_break_time_left_without_a_close_time():
    assert pause_grant(allowance_left_seconds=300, deadline=DEADLINE) == 300
    assert pause_grant(allowance_left_seconds=0, deadline=DEADLINE) == 0


def test_grant_never_pushes_the_end_past_the_close_time():
    assert pause_grant(allowance_left_seconds=600, deadline=DEADLINE, closes_at=DEADLINE + timedelta(seconds=90)) == 90
    assert pause_grant(allowance_left_seconds=600, deadline=DEADLINE, closes_at=DEADLINE) == 0
    assert pause_grant(allowance_left_seconds=600, deadline=DEADLINE, closes_at=DEADLINE - timedelta(minutes=5)) == 0
    assert pause_grant(allowance_left_seconds=60, deadline=DEADLINE, closes_at=DEADLINE + timedelta(hours=1)) == 60


def test_used_counts_whole_seconds_up_to_the_grant():
    assert pause_used(START, 300, START) == 0
    assert pause_used(START, 300, START + timedelta(seconds=10.9)) == 10
    assert pause_used(START, 300, START + timedelta(minutes=20)) == 300
    assert pause_used(START, 300, START - timedelta(seconds=5)) == 0  # a clock that went backwards


def test_an_unattended_pause_ends_at_its_grant_and_shifts_the_deadline():
    assert pause_ends_at(START, 120) == START + timedelta(seconds=120)
    assert shift_deadline(DEADLINE, 75) == DEADLINE + timedelta(seconds=75)
    assert shift_deadline(DEADLINE, -5) == DEADLINE


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        pause_used(datetime(2030, 1, 1), 10, START)
    with pytest.raises(ValueError):
        pause_grant(allowance_left_seconds=10, deadline=datetime(2030, 1, 1))


@given(allowance=st.integers(0, 4 * 3600), pauses=st.lists(st.integers(0, 3 * 3600), max_size=6))
def test_total_paused_time_never_exceeds_the_allowance(allowance, pauses):
    used, deadline, at = 0, DEADLINE, START
    for length in pauses:
        grant = pause_grant(allowance_left_seconds=break_allowance_left(allowance, used), deadline=deadline)
        took = pause_used(at, grant, at + timedelta(seconds=length))
        assert took <= grant
        used += took
        deadline = shift_deadline(deadline, took)
        at += timedelta(seconds=length + 30)
    assert used <= allowance
    assert deadline - DEADLINE == timedelta(seconds=used)
