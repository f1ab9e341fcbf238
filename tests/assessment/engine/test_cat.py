"""CAT engine: selection, content balancing, exposure control, stopping, and simulated precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.assessment.engine import cat, irt
from medtutor.assessment.engine.irt import ItemParams


def _bank(n=60, areas=3, seed=0):
    rng = np.random.default_rng(seed)
    return [cat.BankItem(j, p, f"area-{j % areas}") for j, p in enumerate(irt.random_bank(n, rng))]


def test_max_information_picks_the_item_matched_to_ability():
    bank = [cat.BankItem(b, ItemParams(1.5, float(b))) for b in (-2, -1, 0, 1, 2)]
    config = cat.CatConfig(exposure="none")
    rng = np.random.default_rng(0)
    assert cat.choose_next(1.1, [], bank, config, rng).item.item_id == 1
    assert cat.choose_next(-1.8, [], bank, config, rng).item.item_id == -2


def test_randomesque_chooses_only_among_the_top_k():
    bank = [cat.BankItem(j, ItemParams(1.0, j / 10)) for j in range(-20, 21)]
    config = cat.CatConfig(exposure="randomesque", randomesque_k=3)
    rng = np.random.default_rng(1)
    picks = {cat.choose_next(0.0, [], bank, config, rng).item.item_id for _ in range(200)}
    assert picks == {-1, 0, 1}


def test_content_balancing_follows_the_targets():
    bank = _bank(90, areas=3)
    targets = cat.content_targets({"area-0": 2, "area-1": 1, "area-2": 1})
    config = cat.CatConfig(se_target=None, min_items=20, max_items=20, exposure="none", content_targets=targets)
    result = cat.simulate_cat(0.3, bank, config, np.random.default_rng(2))
    by_id = {item.item_id: item.content for item in bank}
    counts = {area: sum(1 for s in result.steps if by_id[s.item_id] == area) for area in targets}
    assert counts == {"area-0": 10, "area-1": 5, "area-2": 5}


def test_a_used_up_area_does_not_stop_the_test():
    bank = [cat.BankItem(0, ItemParams(1, 0), "small")] + [cat.BankItem(j, ItemParams(1, j / 10), "big")
                                                          for j in range(1, 30)]
    config = cat.CatConfig(se_target=None, min_items=10, max_items=10, exposure="none",
                           content_targets={"small": 0.5, "big": 0.5})
    result = cat.simulate_cat(0.0, bank, config, np.random.default_rng(0))
    assert result.n_items == 10 and result.stop_reason == "max_items"


@pytest.mark.parametrize("n_given,se,available,expected", [
    (3, 0.2, 10, (False, "")),          # SE reached but under the minimum
    (5, 0.29, 10, (True, "se")),
    (5, 0.31, 10, (False, "")),
    (30, 0.9, 10, (True, "max_items")),
    (7, 0.9, 0, (True, "pool")),
])
def test_stopping_rule(n_given, se, available, expected):
    decision = cat.stop_decision(n_given, se, available, cat.CatConfig(se_target=0.3, min_items=5, max_items=30))
    assert (decision.stop, decision.reason) == expected


@settings(max_examples=25, deadline=None)
@given(st.floats(-3, 3), st.integers(0, 1000), st.integers(3, 15))
def test_simulated_cat_never_repeats_an_item_and_respects_the_limits(theta, seed, max_items):
    bank = _bank(40, seed=seed % 7)
    config = cat.CatConfig(se_target=0.35, min_items=3, max_items=max_items)
    result = cat.simulate_cat(theta, bank, config, np.random.default_rng(seed))
    ids = [s.item_id for s in result.steps]
    assert len(ids) == len(set(ids)) and 3 <= len(ids) <= max_items
    assert result.stop_reason in ("se", "max_items")
    if result.stop_reason == "se":
        assert result.se <= 0.35


def test_cat_is_deterministic_for_a_seed():
    bank = _bank()
    config = cat.CatConfig()
    first = cat.simulate_cat(0.5, bank, config, np.random.default_rng(9))
    again = cat.simulate_cat(0.5, bank, config, np.random.default_rng(9))
    assert first == again


def test_cat_beats_a_random_linear_form_of_the_same_length():
    rng = np.random.default_rng(3)
    bank = _bank(200, seed=3)
    thetas = rng.normal(size=150)
    config = cat.CatConfig(se_target=None, min_items=12, max_items=12, exposure="randomesque")
    adaptive = [cat.simulate_cat(float(t), bank, config, rng).theta for t in thetas]
    linear = [cat.simulate_linear(float(t), cat.linear_form(bank, 12, rng), config, rng).theta for t in thetas]
    cat_rmse, cat_bias = cat.rmse_and_bias(adaptive, thetas)
    linear_rmse, _ = cat.rmse_and_bias(linear, thetas)
    assert cat_rmse < linear_rmse
    assert abs(cat_bias) < 0.15


def test_sympson_hetter_caps_exposure():
    bank = _bank(80, seed=4)
    config = cat.CatConfig(se_target=None, min_items=8, max_items=8, exposure="none")
    rng = np.random.default_rng(4)
    thetas = rng.normal(size=200)
    free = cat.exposure_rates([cat.simulate_cat(float(t), bank, config, rng) for t in thetas], bank)
    k = cat.sympson_hetter_calibrate(bank, config, rng, r_max=0.3, examinees=200, rounds=6)
    controlled = cat.CatConfig(se_target=None, min_items=8, max_items=8, exposure="sympson-hetter", exposure_k=k)
    capped = cat.exposure_rates([cat.simulate_cat(float(t), bank, controlled, rng) for t in thetas], bank)
    assert max(free.values()) > 0.6
    assert max(capped.values()) < 0.45
    assert all(0 < value <= 1 for value in k.values())


def test_linear_form_follows_targets_and_refuses_a_too_long_form():
    bank = _bank(30, areas=3)
    form = cat.linear_form(bank, 12, np.random.default_rng(0), cat.content_targets({"area-0": 1, "area-1": 1,
                                                                                   "area-2": 1}))
    assert sorted(item.content for item in form).count("area-1") == 4
    with pytest.raises(ValueError):
        cat.linear_form(bank, 31, np.random.default_rng(0))


@pytest.mark.parametrize("bad", [dict(se_target=0.0), dict(min_items=0), dict(min_items=5, max_items=4),
                                 dict(exposure="lottery"), dict(randomesque_k=0)])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        cat.CatConfig(**bad)
