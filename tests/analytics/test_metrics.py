"""Metrics on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medtutor.analytics.engine import metrics


def test_auc_by_hand():
    # pairs (pos, neg): (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4) -> 3/4
    assert metrics.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert metrics.auc([0, 1], [0.5, 0.5]) == 0.5  # a tie counts one half
    assert metrics.auc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2]) == 1.0
    assert math.isnan(metrics.auc([1, 1], [0.2, 0.3]))


def test_auc_matches_a_brute_force_count():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.uniform(size=200), 1)  # many ties
    pos, neg = p[y == 1], p[y == 0]
    expected = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (pos.size * neg.size)
    assert metrics.auc(y, p) == pytest.approx(expected)


def test_auc_interval_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.3 + rng.uniform(size=500) * 0.7, 0, 1)
    a = metrics.auc_ci(y, p, n_boot=300, seed=5)
    assert a == metrics.auc_ci(y, p, n_boot=300, seed=5)
    assert a[1] < a[0] < a[2]


def test_brier_and_top_decile_precision():
    assert metrics.brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    y = [1, 1, 0] + [0] * 17
    p = [0.99, 0.5, 0.98] + [0.1] * 17
    assert metrics.precision_at_top(y, p) == 0.5  # top 2 of 20: 0.99 (pos) and 0.98 (neg)
    assert metrics.top_decile_threshold(p) == 0.98


def test_calibration_slope_of_a_calibrated_sample_is_one():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    cal = metrics.calibration(y, p)
    assert cal.slope == pytest.approx(1.0, abs=0.07)
    assert cal.intercept == pytest.approx(0.0, abs=0.07) and cal.in_the_large == pytest.approx(0.0, abs=0.05)
    # predictions pushed to the extremes are over-confident: slope well below 1
    logit = np.log(p / (1 - p))
    assert metrics.calibration(y, 1 / (1 + np.exp(-2 * logit))).slope == pytest.approx(0.5, abs=0.05)


def test_summary_fields():
    s = metrics.summarize([0, 1, 0, 1], [0.2, 0.7, 0.4, 0.9], n_boot=50)
    assert s.n == 4 and s.positive_rate == 0.5 and s.auc == 1.0 and s.top_decile_precision == 1.0


def test_subgroup_gaps():
    rng = np.random.default_rng(3)
    n = 400
    y = rng.integers(0, 2, 2 * n + 20)
    p = rng.uniform(size=y.size)
    p[:n] = np.where(y[:n] == 1, 0.9, 0.1)  # group a: perfectly separated; group b: random
    labels = ["a"] * n + ["b"] * n + ["tiny"] * 20
    (gap,) = metrics.subgroup_gaps(y, p, {"g": labels}, threshold=0.5, n_boot=200, seed=1)
    groups = {g.group: g for g in gap.groups}
    assert groups["a"].auc == 1.0 and groups["a"].tpr == 1.0 and not groups["tiny"].in_gap
    assert gap.auc_pair == ("a", "b") and gap.auc_gap == pytest.approx(1.0 - groups["b"].auc)
    assert gap.auc_gap_low < gap.auc_gap < gap.auc_gap_high and gap.auc_gap_low > 0.3
    assert gap.tpr_pair[0] == "a"
