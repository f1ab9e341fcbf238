"""Metric functions on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medtutor.learning.engine.kt_metrics import (accuracy, expected_calibration_error, log_loss, roc_auc,
                                                 rmse, score)


def test_auc_hand_computed():
    # positive/negative pairs: (0.35 vs 0.1) yes, (0.35 vs 0.4) no, (0.8 vs both) yes -> 3/4
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert roc_auc([0, 0, 1], [0.2, 0.2, 0.2]) == pytest.approx(0.5)
    assert roc_auc([1, 0], [0.9, 0.1]) == 1.0
    assert math.isnan(roc_auc([1, 1], [0.3, 0.6]))


def test_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.round(rng.random(500), 1)  # many ties
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))


def test_accuracy_rmse_logloss_ece():
    y = [1, 0, 1, 0]
    p = [0.9, 0.2, 0.4, 0.5]
    assert accuracy(y, p) == pytest.approx(0.5)  # 0.5 counts as a predicted 1
    assert rmse(y, p) == pytest.approx(math.sqrt((0.01 + 0.04 + 0.36 + 0.25) / 4))
    assert log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # bins: [0.2] -> |0-0.2|; [0.4] -> |1-0.4|; [0.5] -> |0-0.5|; [0.9] -> |1-0.9|
    assert expected_calibration_error(y, p) == pytest.approx((0.2 + 0.6 + 0.5 + 0.1) / 4)
    s = score(y, p)
    assert s.n == 4 and s.accuracy == pytest.approx(0.5)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        rmse([1, 0], [0.5])
