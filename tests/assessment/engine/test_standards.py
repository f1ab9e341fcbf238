"""Standard setting engine: modified Angoff and Hofstee against hand-computed values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medtutor.assessment.engine import standards


def test_angoff_by_hand():
    result = standards.angoff({"A": [0.6, 0.5, 0.9, 0.4], "B": [0.7, 0.5, 0.8, 0.2], "C": [0.5, 0.6, 1.0, 0.3]})
    assert result.judge_cuts == pytest.approx((2.4, 2.2, 2.4))
    assert result.cut_raw == pytest.approx(7.0 / 3)
    assert result.cut_percent == pytest.approx(100 * 7.0 / 12)
    sd = math.sqrt(((2.4 - 7 / 3) ** 2 * 2 + (2.2 - 7 / 3) ** 2) / 2)
    assert result.sd_raw == pytest.approx(sd)
    assert result.se_raw == pytest.approx(sd / math.sqrt(3))
    assert (result.min_raw, result.max_raw) == pytest.approx((2.2, 2.4))
    assert result.items[0].mean == pytest.approx(0.6)
    # item 4 (0.4, 0.2, 0.3) and item 3 (0.9, 0.8, 1.0) and item 1 (0.6, 0.7, 0.5) all have SD 0.1; item 2 less
    assert result.items[1].sd == pytest.approx(math.sqrt(((0.5 - 1.6 / 3) ** 2 * 2 + (0.6 - 1.6 / 3) ** 2) / 2))
    assert result.most_disputed[-1].index == 1


@pytest.mark.parametrize("ratings,message", [
    ({}, "no ratings"),
    ({"A": [0.5, 0.5], "B": [0.5]}, "every judge must rate every item"),
    ({"A": [0.5, 1.5]}, "judge A, item 2"),
    ({"A": []}, "no items"),
])
def test_angoff_refuses_bad_ratings(ratings, message):
    with pytest.raises(standards.StandardSettingError, match=message):
        standards.angoff(ratings)


@given(st.lists(st.lists(st.floats(0, 1), min_size=5, max_size=5), min_size=1, max_size=6))
def test_angoff_cut_lies_within_the_judges_range(rows):
    result = standards.angoff({f"j{i}": row for i, row in enumerate(rows)})
    assert result.min_raw - 1e-9 <= result.cut_raw <= result.max_raw + 1e-9
    assert 0 <= result.cut_percent <= 100


def test_hofstee_by_hand():
    scores = [40, 50, 55, 60, 62, 65, 70, 75, 80, 90]
    # The panel's line runs from (50%, 40% fail) to (70%, 10% fail): line(c) = 0.4 - 0.015 (c - 50).
    # For 55 < c <= 60 three scores (40, 50, 55) fail: 0.3, which the line reaches at c = 56.67;
    # on the 0.5-point grid that is 57.0.
    result = standards.hofstee(scores, min_cut=50, max_cut=70, min_fail=0.10, max_fail=0.40)
    assert result.intersects
    assert result.cut_percent == pytest.approx(57.0)
    assert result.fail_rate == pytest.approx(0.3)


def test_hofstee_without_intersection_uses_the_corner():
    easy = [95, 96, 97, 98, 99]
    result = standards.hofstee(easy, min_cut=50, max_cut=70, min_fail=0.05, max_fail=0.3)
    assert not result.intersects and result.cut_percent == 70
    hard = [10, 20, 30, 40, 45]
    result = standards.hofstee(hard, min_cut=50, max_cut=70, min_fail=0.05, max_fail=0.3)
    assert not result.intersects and result.cut_percent == 50


@pytest.mark.parametrize("kwargs,message", [
    (dict(min_cut=70, max_cut=50, min_fail=0.1, max_fail=0.3), "cut bounds"),
    (dict(min_cut=50, max_cut=70, min_fail=0.3, max_fail=0.1), "fail-rate bounds"),
])
def test_hofstee_refuses_bad_bounds(kwargs, message):
    with pytest.raises(standards.StandardSettingError, match=message):
        standards.hofstee([50, 60], **kwargs)


def test_hofstee_needs_scores():
    with pytest.raises(standards.StandardSettingError, match="no submitted scores"):
        standards.hofstee([], min_cut=50, max_cut=70, min_fail=0.1, max_fail=0.3)


@given(st.lists(st.floats(0, 100), min_size=1, max_size=60))
def test_hofstee_cut_stays_in_the_box(scores):
    result = standards.hofstee(scores, min_cut=45, max_cut=75, min_fail=0.05, max_fail=0.35)
    assert 45 <= result.cut_percent <= 75
    assert result.fail_rate == pytest.approx(standards.fail_rate(scores, result.cut_percent))
