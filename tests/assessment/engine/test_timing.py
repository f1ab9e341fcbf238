from datetime import UTC, datetime, timedelta

import pytest

from medtutor.assessment.engine.timing import deadline_for, seconds_left

START = datetime(2030, 1, 1, 9, tzinfo=UTC)


def test_extra_time_stretches_the_limit():
    assert deadline_for(START, time_limit_minutes=60, extra_time_percent=50) == START + timedelta(minutes=90)
    assert deadline_for(START, time_limit_minutes=60) == START + timedelta(minutes=60)


def test_close_time_caps_the_deadline():
    closes = START + timedelta(minutes=30)
    assert deadline_for(START, time_limit_minutes=60, extra_time_percent=25, closes_at=closes) == closes
    assert deadline_for(START, time_limit_minutes=None, closes_at=closes) == closes
    assert deadline_for(START, time_limit_minutes=None) is None


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        deadline_for(datetime(2030, 1, 1), time_limit_minutes=10)


def test_seconds_left_never_negative():
    assert seconds_left(START, START + timedelta(seconds=5)) == 0
    assert seconds_left(START + timedelta(seconds=90), START) == 90
    assert seconds_left(None, START) is None
