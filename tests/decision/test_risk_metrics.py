"""Calibration and discrimination metrics on small examples computed by hand."""

from __future__ import annotations

import math

import pytest

from medtutor.decision.engine import calibration as cal


def test_auc_counts_pairs_and_half_counts_ties():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ranked right
    assert cal.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert cal.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert cal.auc([1, 1], [0.2, 0.3]) is None


def test_brier_is_mean_squared_error_of_the_risk():
    assert cal.brier([1, 0], [0.8, 0.4]) == pytest.approx((0.2**2 + 0.4**2) / 2)


def test_ece_weights_each_bin_by_its_share_of_patients():
    # one patient per bin: |0-0.15| + |1-0.25| + |1-0.85| + |0-0.95| = 2.0, over 4 patients
    assert cal.ece([0, 1, 1, 0], [0.15, 0.25, 0.85, 0.95]) == pytest.approx(0.5)
    # two bins of 4: observed 0.25 vs 0.3 and 0.75 vs 0.7 -> 0.05 each, half the patients each
    assert cal.ece([1, 0, 0, 0, 1, 1, 1, 0], [0.3] * 4 + [0.7] * 4) == pytest.approx(0.05)
    bins = cal.reliability_bins([1, 0, 0, 0, 1, 1, 1, 0], [0.3] * 4 + [0.7] * 4)
    assert [(b.count, b.observed) for b in bins if b.count] == [(4, 0.25), (4, 0.75)]


def test_calibration_slope_and_intercept():
    # observed rates equal the predicted 0.2 and 0.8: slope 1, intercept 0
    slope, intercept = cal.calibration_slope_intercept([1, 0, 0, 0, 0, 1, 1, 1, 1, 0], [0.2] * 5 + [0.8] * 5)
    assert slope == pytest.approx(1.0, abs=1e-6) and intercept == pytest.approx(0.0, abs=1e-6)
    # observed rates reversed (0.8 where 0.2 was predicted): slope -1
    slope, _ = cal.calibration_slope_intercept([1, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0.2] * 5 + [0.8] * 5)
    assert slope == pytest.approx(-1.0, abs=1e-6)
    # everyone predicted 0.5, three in four have the outcome: intercept = logit(0.75) - logit(0.5) = ln 3
    slope, intercept = cal.calibration_slope_intercept([1, 1, 1, 0], [0.5] * 4)
    assert slope is None and intercept == pytest.approx(math.log(3), abs=1e-6)


def test_threshold_metrics_and_net_benefit():
    m = cal.at_threshold([1, 1, 0, 0], [0.9, 0.6, 0.7, 0.1], 0.5)
    assert (m.true_positives, m.false_positives, m.flagged) == (2, 1, 3)
    assert (m.sensitivity, m.specificity, m.npv) == (1.0, 0.5, 1.0)
    assert m.ppv == pytest.approx(2 / 3)
    assert m.net_benefit == pytest.approx(2 / 4 - 1 / 4 * 1.0)  # odds at 0.5 = 1
    assert m.treat_all_net_benefit == pytest.approx(0.0)
    with pytest.raises(ValueError):
        cal.at_threshold([1], [0.5], 1.0)


def test_bootstrap_interval_brackets_the_auc():
    y = [0, 1] * 30
    p = [0.3 + 0.4 * v + 0.01 * i for i, v in enumerate(y)]
    low, high = cal.bootstrap_auc_ci(y, p, n_boot=200)
    assert low <= cal.auc(y, p) <= high <= 1.0


def test_noise_floor_is_positive_for_small_samples_and_shrinks_with_more_rows():
    mean, p95 = cal.ece_under_perfect_calibration([0.3] * 50 + [0.7] * 50)
    assert 0.02 < mean < p95 < 0.2
    assert cal.ece_noise_floor([0.3] * 5000 + [0.7] * 5000) < mean / 5
