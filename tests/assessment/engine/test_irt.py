"""IRT engine: response functions, information, ability estimates and MML-EM recovery of known parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.assessment.engine import irt
from medtutor.assessment.engine.irt import ItemParams


def test_probability_matches_the_3pl_formula_by_hand():
    item = ItemParams(a=1.5, b=0.5, c=0.2)
    # theta = b: halfway between c and 1
    assert float(irt.prob(0.5, item)) == pytest.approx(0.6)
    expected = 0.2 + 0.8 / (1 + math.exp(-1.5 * (1.0 - 0.5)))
    assert float(irt.prob(1.0, item)) == pytest.approx(expected)


def test_information_peaks_at_b_for_the_2pl_and_equals_a2_over_4():
    item = ItemParams(a=2.0, b=-0.3)
    grid = np.linspace(-3, 3, 601)
    info = irt.information(grid, item)
    assert grid[int(np.argmax(info))] == pytest.approx(-0.3, abs=0.01)
    assert float(info.max()) == pytest.approx(1.0, rel=1e-3)  # a^2 p q = 4 * 0.25


def test_guessing_lowers_information():
    assert float(irt.information(0.0, ItemParams(1.2, 0.0, 0.25))) < float(irt.information(0.0, ItemParams(1.2, 0.0)))


@pytest.mark.parametrize("bad", [dict(a=0.0), dict(a=-1.0), dict(c=1.0), dict(c=-0.1), dict(b=float("nan"))])
def test_invalid_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        ItemParams(**bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=25), st.integers(0, 10_000))
def test_eap_is_finite_and_its_se_shrinks_below_the_prior(pattern, seed):
    rng = np.random.default_rng(seed)
    bank = irt.random_bank(len(pattern), rng)
    estimate = irt.eap(pattern, bank)
    assert math.isfinite(estimate.theta) and -5 < estimate.theta < 5
    assert 0 < estimate.se < 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=20), st.integers(0, 10_000))
def test_one_more_correct_answer_never_lowers_the_estimate(pattern, seed):
    bank = irt.random_bank(len(pattern), np.random.default_rng(seed))
    wrong = [i for i, r in enumerate(pattern) if not r]
    if not wrong:
        return
    better = list(pattern)
    better[wrong[0]] = True
    for method in (irt.eap, irt.map_estimate):
        assert method(better, bank).theta >= method(pattern, bank).theta - 1e-9


def test_mle_is_unbounded_for_perfect_patterns_and_says_so():
    bank = [ItemParams(1.0, b) for b in (-1, 0, 1)]
    top = irt.mle([1, 1, 1], bank)
    assert top.theta == irt.THETA_BOUND and math.isinf(top.se) and "unbounded" in top.note
    assert irt.eap([1, 1, 1], bank).theta < irt.THETA_BOUND  # the EAP stays finite


def test_mle_map_and_eap_agree_on_a_long_test():
    rng = np.random.default_rng(5)
    bank = irt.random_bank(120, rng)
    y = irt.simulate_responses(np.array([0.7]), bank, rng)[0]
    estimates = [irt.mle(list(y), bank), irt.map_estimate(list(y), bank), irt.eap(list(y), bank)]
    thetas = [e.theta for e in estimates]
    assert max(thetas) - min(thetas) < 0.1
    assert all(abs(e.theta - 0.7) < 3 * e.se for e in estimates)
    # the SE from information matches the posterior SD closely on a long test
    assert estimates[0].se == pytest.approx(estimates[2].se, rel=0.15)


def test_missing_responses_are_ignored():
    bank = [ItemParams(1.0, 0.0), ItemParams(1.0, 1.0)]
    assert irt.eap([1, None], bank).theta == pytest.approx(irt.eap([1], bank[:1]).theta)


def _recovery(model: str, n_persons: int, n_items: int, seed: int, presented_share: float = 1.0):
    rng = np.random.default_rng(seed)
    bank = irt.random_bank(n_items, rng, model=model)
    thetas = rng.normal(size=n_persons)
    presented = rng.random((n_persons, n_items)) < presented_share
    y = irt.simulate_responses(thetas, bank, rng, presented=presented)
    result = irt.calibrate(y, model=model)
    true = {k: np.array([getattr(p, k) for p in bank]) for k in "abc"}
    est = {k: np.array([getattr(p, k) for p in result.params]) for k in "abc"}
    return result, true, est


def test_2pl_recovery_of_known_parameters():
    result, true, est = _recovery("2pl", 1500, 25, seed=11)
    assert result.model == "2pl" and result.converged
    assert np.corrcoef(true["a"], est["a"])[0, 1] > 0.9
    assert np.corrcoef(true["b"], est["b"])[0, 1] > 0.98
    assert np.sqrt(np.mean((true["a"] - est["a"]) ** 2)) < 0.2
    assert np.sqrt(np.mean((true["b"] - est["b"]) ** 2)) < 0.15
    # the reported SEs are honest: about the size of the actual errors
    ratio = np.sqrt(np.mean((true["b"] - est["b"]) ** 2)) / np.mean([i.se_b for i in result.items])
    assert 0.5 < ratio < 2.0


def test_2pl_recovery_with_incomplete_forms():
    result, true, est = _recovery("2pl", 1600, 15, seed=3, presented_share=0.5)
    assert np.corrcoef(true["b"], est["b"])[0, 1] > 0.97
    assert np.sqrt(np.mean((true["b"] - est["b"]) ** 2)) < 0.2
    assert all(650 < item.n_responses < 950 for item in result.items)


def test_3pl_recovery_of_known_parameters():
    result, true, est = _recovery("3pl", 3000, 10, seed=7)
    assert result.model == "3pl"
    assert np.corrcoef(true["b"], est["b"])[0, 1] > 0.95
    assert np.sqrt(np.mean((true["b"] - est["b"]) ** 2)) < 0.3
    assert np.corrcoef(true["a"], est["a"])[0, 1] > 0.7
    assert np.sqrt(np.mean((true["c"] - est["c"]) ** 2)) < 0.08
    assert all(item.se_c is not None for item in result.items)


def test_auto_falls_back_to_2pl_when_3pl_data_are_too_few_and_says_so():
    rng = np.random.default_rng(1)
    bank = irt.random_bank(10, rng, model="3pl")
    y = irt.simulate_responses(rng.normal(size=400), bank, rng)
    result = irt.calibrate(y, model="auto")
    assert result.model == "2pl"
    assert any("3PL not tried" in note for note in result.notes)


def test_too_little_data_is_refused_with_the_counts():
    rng = np.random.default_rng(2)
    y = irt.simulate_responses(rng.normal(size=40), irt.random_bank(5, rng), rng)
    with pytest.raises(irt.CalibrationError, match="40 responses.*at least 200"):
        irt.calibrate(y, model="2pl")
    assert irt.calibrate(y, model="2pl", min_responses={"2pl": 30}).model == "2pl"


def test_bad_matrices_are_refused():
    with pytest.raises(irt.CalibrationError):
        irt.calibrate(np.array([[0.5, 1.0]]), model="2pl", min_responses={"2pl": 1})
    with pytest.raises(irt.CalibrationError):
        irt.calibrate(np.zeros((3, 0)))
    with pytest.raises(irt.CalibrationError, match="unknown model"):
        irt.calibrate(np.ones((3, 2)), model="4pl")


def test_an_item_everyone_got_right_stays_finite_and_is_noted():
    rng = np.random.default_rng(4)
    y = irt.simulate_responses(rng.normal(size=300), irt.random_bank(6, rng), rng)
    y[:, 2] = 1.0
    result = irt.calibrate(y, model="2pl")
    assert math.isfinite(result.items[2].params.b) and result.items[2].params.b < -2
    assert any(note.startswith("item 3:") for note in result.notes)


def test_calibration_is_deterministic():
    rng = np.random.default_rng(8)
    y = irt.simulate_responses(rng.normal(size=300), irt.random_bank(6, rng), rng)
    assert irt.calibrate(y, model="2pl").params == irt.calibrate(y, model="2pl").params
