"""The fairness engine: Mantel-Haenszel DIF (hand-computed values, a planted biased item, the ETS
rule), Wilson/Newcombe intervals, metrics by group, and interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medtutor.analytics.engine import fairness as fx

# --- Mantel-Haenszel by hand -----------------------------------------------------------------------
# Two strata (reference right, reference wrong, focal right, focal wrong):
#   k1: 10, 5, 6, 9 (T = 30)   a d / T = 90/30 = 3      b c / T = 30/30 = 1
#   k2:  8, 2, 5, 5 (T = 20)   a d / T = 40/20 = 2      b c / T = 10/20 = 0.5
# alpha_MH = (3 + 2) / (1 + 0.5) = 10/3;  MH D-DIF = -2.35 ln(10/3) = -2.829336
# E(a): 15*16/30 = 8 and 10*13/20 = 6.5;  Var(a): 15*15*16*14/(30^2*29) = 1.931034, 10*10*13*7/(20^2*19) = 1.197368
# chi2 = (|18 - 14.5| - 0.5)^2 / 3.128403 = 9 / 3.128403 = 2.876867
# RBG: P = 19/30, 13/20; Q = 11/30, 7/20; R+ = 5, S+ = 1.5
#   sum P R / (2 R+^2) = (1.9 + 1.3) / 50 = 0.064
#   sum (P S + Q R) / (2 R+ S+) = (0.633333 + 1.1 + 0.325 + 0.7) / 15 = 0.183889
#   sum Q S / (2 S+^2) = (0.366667 + 0.175) / 4.5 = 0.120370
#   Var(ln alpha) = 0.368259;  SE(D) = 2.35 * sqrt(0.368259) = 1.426083
TINY = [(10, 5, 6, 9), (8, 2, 5, 5)]


def test_mantel_haenszel_matches_hand_computation():
    mh = fx.mantel_haenszel(TINY)
    assert mh.alpha == pytest.approx(10 / 3)
    assert mh.delta == pytest.approx(-2.829336, abs=1e-6)
    assert mh.chi_square == pytest.approx(2.876867, abs=1e-6)
    assert mh.p_value == pytest.approx(0.08986, abs=1e-5)   # chi-square 1 df
    assert mh.se_delta == pytest.approx(1.426083, abs=1e-6)
    assert (mh.n_reference, mh.n_focal, mh.strata) == (25, 25, 2)
    assert mh.delta_ci.low == pytest.approx(-2.829336 - 1.959964 * 1.426083, abs=1e-5)
    # large in size but not significant at 0.05: A
    assert mh.ets_class == "A" and mh.favours == "reference" and mh.label == "A"


def test_mantel_haenszel_edge_cases():
    # a stratum with one group only, or everyone right, adds nothing
    assert fx.mantel_haenszel(TINY + [(4, 0, 0, 0), (3, 0, 2, 0)]).alpha == pytest.approx(10 / 3)
    # no informative stratum: not estimable, not classified
    empty = fx.mantel_haenszel([(5, 0, 5, 0)])
    assert math.isnan(empty.delta) and empty.ets_class == "" and empty.label == ""
    # the focal group never wrong where the reference is: alpha 0 (infinite D), not classified
    assert fx.mantel_haenszel([(3, 3, 6, 0)]).ets_class == ""
    # no difference at all: alpha 1, D 0
    same = fx.mantel_haenszel([(6, 4, 6, 4), (3, 7, 3, 7)])
    assert same.alpha == pytest.approx(1.0) and same.delta == pytest.approx(0.0) and same.ets_class == "A"


@pytest.mark.parametrize("delta, se, p, expected", [
    (-0.9, 0.1, 0.0001, "A"),     # |D| < 1
    (-2.0, 0.8, 0.06, "A"),       # not significant
    (-1.4, 0.1, 0.0001, "B"),     # significant, |D| < 1.5
    (1.6, 0.5, 0.001, "B"),       # |D| >= 1.5 but (1.6 - 1)/0.5 = 1.2 < 1.645: not significantly > 1
    (1.6, 0.3, 0.001, "C"),       # (1.6 - 1)/0.3 = 2.0 > 1.645
    (-2.5, 0.5, 0.001, "C"),
    (math.nan, 0.3, 0.01, ""),
])
def test_ets_rule(delta, se, p, expected):
    assert fx.ets_class(delta, se, p) == expected


def _simulate_exam(seed: int, n_per_group: int = 1000, n_items: int = 20, biased: int = 6,
                   dif_logits: float = 1.0, impact: float = -0.5):
    """Rasch data; the focal group is less able on average (impact, not bias) and item `biased` is
    `dif_logits` harder for focal students of the same ability (bias)."""
    rng = np.random.default_rng(seed)
    b = np.linspace(-1.5, 1.5, n_items)
    theta = np.r_[rng.normal(0, 1, n_per_group), rng.normal(impact, 1, n_per_group)]
    focal = np.r_[np.zeros(n_per_group, bool), np.ones(n_per_group, bool)]
    difficulty = np.tile(b, (theta.size, 1))
    difficulty[focal, biased] += dif_logits
    x = (rng.random((theta.size, n_items)) < 1 / (1 + np.exp(-(theta[:, None] - difficulty)))).astype(int)
    groups = np.where(focal, "focal", "reference").tolist()
    return x, groups


def test_planted_biased_item_is_c_and_the_others_mostly_a():
    x, groups = _simulate_exam(seed=3)
    rows = fx.dif_by_item(x, groups, "reference", "focal", items=[f"q{j}" for j in range(20)])
    by_item = {r.item: r for r in rows}
    planted = by_item["q6"]
    assert planted.mh.ets_class == "C" and planted.mh.label == "C-" and planted.mh.favours == "reference"
    assert planted.mh.delta == pytest.approx(-2.35, abs=0.6)  # 1 logit of DIF = -2.35 on the delta scale
    others = [r.mh.ets_class for r in rows if r.item != "q6"]
    assert others.count("C") == 0 and others.count("A") >= 16, others
    # impact is not bias: the focal group gets fewer items right overall, yet the unbiased items are A
    assert np.mean([r.p_focal for r in rows]) < np.mean([r.p_reference for r in rows])


def test_rest_score_matching_also_finds_the_planted_item():
    x, groups = _simulate_exam(seed=5)
    rows = fx.dif_by_item(x, groups, "reference", "focal", include_studied_item=False)
    assert rows[6].mh.ets_class == "C"


def test_dif_by_attribute_uses_the_largest_group_as_reference_and_skips_small_groups():
    x, groups = _simulate_exam(seed=7, n_per_group=300, n_items=10, biased=2)
    sex = ["f" if g == "reference" else "m" for g in groups]
    sex[-10:] = ["x"] * 10  # too small to compare
    comparisons = fx.dif_by_attribute(x, {"sex": sex, "none": [None] * len(groups)}, min_group=30)
    assert [(c.attribute, c.reference, c.focal) for c in comparisons] == [("sex", "f", "m")]
    assert comparisons[0].n_reference == 300 and comparisons[0].n_focal == 290
    assert sum(comparisons[0].counts.values()) == 10


def test_dif_input_errors():
    with pytest.raises(ValueError):
        fx.dif_by_item([[1, 0]], ["a", "b"], "a", "b")
    with pytest.raises(ValueError):
        fx.dif_by_item([[1, 0]], ["a"], "a", "a")
    with pytest.raises(ValueError):
        fx.dif_by_item([1, 0], ["a", "b"], "a", "b")


# --- intervals -------------------------------------------------------------------------------------

def test_wilson_known_values():
    # Wilson 95% for 8/10: 0.490 to 0.943 (Newcombe 1998, table I)
    est = fx.wilson(8, 10)
    assert est.value == 0.8 and est.low == pytest.approx(0.4902, abs=1e-4) and est.high == pytest.approx(0.9433, abs=1e-4)
    zero = fx.wilson(0, 20)
    assert zero.low == 0.0 and 0.1 < zero.high < 0.2
    assert math.isnan(fx.wilson(0, 0).value)
    with pytest.raises(ValueError):
        fx.wilson(3, 2)


def test_newcombe_difference_known_values():
    # Newcombe 1998 (table II, example (a)): 56/70 - 48/80 = 0.2000, 95% CI 0.0524 to 0.3339
    d = fx.rate_difference(56, 70, 48, 80)
    assert d.value == pytest.approx(0.2) and d.low == pytest.approx(0.0524, abs=1e-4)
    assert d.high == pytest.approx(0.3339, abs=1e-4) and d.excludes_zero


def test_coverage_of_wilson_and_mh_intervals():
    rng = np.random.default_rng(11)
    # Wilson: a small group with a low rate
    hits = sum(fx.wilson(int(k), 40).low <= 0.1 <= fx.wilson(int(k), 40).high for k in rng.binomial(40, 0.1, 2000))
    assert 0.92 <= hits / 2000 <= 0.99
    # MH: five strata with a common odds ratio of 2 (reference favoured): the 95% interval of
    # D-DIF covers -2.35 ln 2 about 95% of the time
    true_delta = -2.35 * math.log(2.0)
    covered = 0
    reps = 400
    for _ in range(reps):
        strata = []
        for p_focal in (0.2, 0.35, 0.5, 0.65, 0.8):
            odds = 2.0 * p_focal / (1 - p_focal)
            p_ref = odds / (1 + odds)
            a = rng.binomial(40, p_ref)
            c = rng.binomial(40, p_focal)
            strata.append((a, 40 - a, c, 40 - c))
        ci = fx.mantel_haenszel(strata).delta_ci
        covered += ci.low <= true_delta <= ci.high
    assert 0.91 <= covered / reps <= 0.985


def test_mean_error_interval_coverage():
    rng = np.random.default_rng(12)
    covered = sum(
        (lambda e: e.low <= 0.3 <= e.high)(fx.mean_ci(rng.normal(0.3, 1.0, 60))) for _ in range(1000))
    assert 0.92 <= covered / 1000 <= 0.975


# --- metrics by group ------------------------------------------------------------------------------

def _predictions(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    p = rng.uniform(0.05, 0.95, n)
    # group b's outcomes are noisier: the model discriminates worse for it, and under-predicts it
    y = np.where(group == "a", rng.random(n) < p, rng.random(n) < np.clip(0.5 * p + 0.4, 0, 1)).astype(int)
    return y, p, group.tolist()


def test_probability_metrics_by_group_and_gaps():
    y, p, groups = _predictions(1)
    rows = fx.probability_metrics_by_group(y, p, groups, threshold=0.5, n_boot=200, seed=1)
    assert [r.group for r in rows] == ["a", "b"]
    a, b = rows
    assert a.n + b.n == 600 and a.auc.value > b.auc.value + 0.1
    assert a.auc.low < a.auc.value < a.auc.high
    assert b.calibration_in_the_large.value > 0.05 and b.calibration_in_the_large.excludes_zero
    assert a.tpr is not None and a.flagged is not None and 0 < a.tpr.value <= 1
    gaps = {g.metric: g for g in fx.probability_gaps(y, p, groups, threshold=0.5, n_boot=200, seed=1)}
    assert gaps["auc"].high_group == "a" and gaps["auc"].difference.excludes_zero
    assert gaps["calibration_in_the_large"].high_group == "b"
    assert "sensitivity" in gaps
    # one group only, or groups under min_n: no gap
    assert fx.probability_gaps(y[:50], p[:50], ["a"] * 50) == []
    assert fx.probability_gaps(y, p, groups, min_n=1000) == []


def test_probability_metrics_handle_one_class_and_empty():
    row = fx.probability_metrics([1, 1, 1], [0.2, 0.5, 0.9], n_boot=50)
    assert math.isnan(row.auc.value) and row.observed_rate.value == 1.0
    assert fx.probability_metrics([], []).n == 0
    with pytest.raises(ValueError):
        fx.probability_metrics([1, 0], [0.5])
    with pytest.raises(ValueError):
        fx.probability_metrics_by_group([1, 0], [0.5, 0.5], ["a"])


def test_grader_metrics_by_group():
    rng = np.random.default_rng(2)
    human = rng.integers(0, 5, 400).astype(float)
    groups = np.where(np.arange(400) % 2 == 0, "x", "y")
    automatic = human + np.where(groups == "y", 0.5, 0.0) + rng.normal(0, 0.3, 400)
    rows = fx.grader_metrics_by_group(automatic, human, groups.tolist(), tolerance=0.5, n_boot=200)
    x, y = rows
    assert abs(x.mean_error.value) < 0.1 and y.mean_error.value == pytest.approx(0.5, abs=0.1)
    assert y.rmse.value > x.rmse.value and y.rmse.low <= y.rmse.value <= y.rmse.high
    assert x.agreement.value > y.agreement.value
    gap = fx.mean_error_gap(rows)
    assert gap.high_group == "y" and gap.difference.excludes_zero
    assert fx.mean_error_gap(rows, min_n=1000) is None
    assert fx.grader_metrics([], []).n == 0


def test_cluster_bootstrap_widens_intervals_for_clustered_answers():
    """Answers of one student share the student's ability: resampling students, not answers, gives an
    honest (wider) interval."""
    rng = np.random.default_rng(4)
    students = np.repeat(np.arange(40), 50)
    ability = rng.normal(0, 1.2, 40)[students]
    p = np.full(students.size, 0.6)
    y = (rng.random(students.size) < 1 / (1 + np.exp(-(0.4 + ability)))).astype(int)
    plain = fx.probability_metrics(y, p, n_boot=200, seed=1)
    clustered = fx.probability_metrics(y, p, clusters=students.tolist(), n_boot=200, seed=1)
    width = lambda e: e.high - e.low  # noqa: E731
    assert clustered.observed_rate.value == plain.observed_rate.value
    assert width(clustered.calibration_in_the_large) > 2 * width(plain.calibration_in_the_large)
    rows = fx.probability_metrics_by_group(y, p, np.where(students < 20, "a", "b").tolist(),
                                           clusters=students.tolist(), n_boot=100)
    assert [r.n for r in rows] == [1000, 1000]
    with pytest.raises(ValueError):
        fx.probability_metrics(y, p, clusters=[1, 2])


def test_hanley_mcneil():
    # A = 0.5, 10 positives and 10 negatives: Q1 = Q2 = 1/3; SE^2 = (0.25 + 2 * 9 * (1/3 - 0.25)) / 100 = 0.0175
    est = fx.hanley_mcneil(0.5, 10, 10)
    assert est.high - 0.5 == pytest.approx(1.959964 * math.sqrt(0.0175), abs=1e-6)
    assert fx.hanley_mcneil(0.99, 5, 5).high == 1.0
    assert not fx.hanley_mcneil(math.nan, 5, 5).known and not fx.hanley_mcneil(0.7, 0, 5).known


def test_clustered_predictions_match_plain_metrics_and_select_whole_clusters():
    rng = np.random.default_rng(8)
    students = rng.integers(0, 30, 900)
    p = rng.uniform(0.1, 0.9, 900).round(2)   # rounded: ties are counted one half, as in metrics.auc
    y = (rng.random(900) < p).astype(int)
    keys = [f"s{c}" for c in students]
    cp = fx.ClusteredPredictions(y, p, keys)
    whole = cp.metrics(n_boot=100, seed=1)
    plain = fx.probability_metrics(y, p, n_boot=0)
    assert whole.n == 900 and whole.auc.value == pytest.approx(plain.auc.value)
    assert whole.brier == pytest.approx(plain.brier) and whole.mean_predicted == pytest.approx(plain.mean_predicted)
    assert whole.calibration_in_the_large.value == pytest.approx(plain.calibration_in_the_large.value)
    chosen = {f"s{c}" for c in range(10)}
    mask = np.isin(students, list(range(10)))
    part = cp.metrics(chosen | {"nobody"}, group="part", n_boot=50)
    assert part.n == int(mask.sum()) and part.auc.value == pytest.approx(fx.probability_metrics(y[mask], p[mask], n_boot=0).auc.value)
    assert cp.metrics(["nobody"]).n == 0
    # integer keys work too, and the same bootstrap answers whether or not the pair matrix is used
    by_int = fx.ClusteredPredictions(y, p, students)
    assert by_int.metrics(list(range(10)), n_boot=0).n == part.n


def test_cluster_gaps_and_nesting():
    rng = np.random.default_rng(9)
    students = np.repeat(np.arange(40), 30)
    group = np.where(students < 20, "a", "b")
    p = rng.uniform(0.1, 0.9, students.size)
    noise = np.where(group == "a", 0.0, 0.5)
    y = (rng.random(students.size) < (1 - noise) * p + noise * 0.5).astype(int)
    gaps = {g.metric: g for g in fx.probability_gaps(y, p, group.tolist(), clusters=students.tolist(), n_boot=200)}
    assert gaps["auc"].high_group == "a" and gaps["auc"].difference.excludes_zero
    assert "calibration_in_the_large" in gaps
    assert fx.probability_gaps(y, p, group.tolist(), clusters=students.tolist(), min_n=25) == []
    mixed = group.copy()
    mixed[0] = "b"   # student 0's answers now in two groups
    with pytest.raises(ValueError):
        fx.probability_gaps(y, p, mixed.tolist(), clusters=students.tolist())


def test_row_weight_fallback_gives_the_same_bootstrap(monkeypatch):
    rng = np.random.default_rng(10)
    students = rng.integers(0, 25, 600)
    p = rng.uniform(0.1, 0.9, 600)
    y = (rng.random(600) < p).astype(int)
    with_pairs = fx.ClusteredPredictions(y, p, students).metrics(n_boot=80, seed=3)
    monkeypatch.setattr(fx, "MAX_PAIR_WORK", 0)
    fallback = fx.ClusteredPredictions(y, p, students)
    assert fallback.pairs is None
    without = fallback.metrics(n_boot=80, seed=3)
    assert without.auc.value == pytest.approx(with_pairs.auc.value)
    assert (without.auc.low, without.auc.high) == pytest.approx((with_pairs.auc.low, with_pairs.auc.high))
