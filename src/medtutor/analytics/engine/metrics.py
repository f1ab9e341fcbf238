"""Evaluation metrics for risk predictions: discrimination, calibration and subgroup gaps.

Pure numpy. Every interval is a seeded bootstrap percentile interval, so results are reproducible.
Bootstraps use resampling counts (a multinomial draw per replicate) so a thousand replicates of a
few thousand predictions take well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _arrays(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.int8], FloatArray]:
    y_arr = np.asarray(y).astype(np.int8).ravel()
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"{y_arr.size} labels but {p_arr.size} predictions")
    if y_arr.size and not np.isin(y_arr, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return y_arr, p_arr


def _weighted_auc(y: NDArray[np.int8], p: FloatArray, counts: FloatArray) -> FloatArray:
    """AUC of each replicate (a row of `counts`: how often each point is drawn); ties count one half."""
    order = np.argsort(p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    c = counts[:, order]
    pos = np.add.reduceat(c * (y_sorted == 1), starts, axis=1)
    neg = np.add.reduceat(c * (y_sorted == 0), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def auc(y: ArrayLike, p: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney; ties count one half). NaN if one class is absent."""
    y_arr, p_arr = _arrays(y, p)
    if y_arr.size == 0:
        return math.nan
    return float(_weighted_auc(y_arr, p_arr, np.ones((1, y_arr.size)))[0])


def _bootstrap_counts(n: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    if n == 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def _interval(values: FloatArray, level: float = 0.95) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return (float(low), float(high))


def auc_ci(y: ArrayLike, p: ArrayLike, *, n_boot: int = 1000, seed: int = 0,
           level: float = 0.95) -> tuple[float, float, float]:
    """(AUC, lower, upper): bootstrap percentile interval, resampling individuals, seeded."""
    y_arr, p_arr = _arrays(y, p)
    rng = np.random.default_rng(seed)
    boots = _weighted_auc(y_arr, p_arr, _bootstrap_counts(y_arr.size, n_boot, rng))
    return (auc(y_arr, p_arr), *_interval(boots, level))


def brier(y: ArrayLike, p: ArrayLike) -> float:
    y_arr, p_arr = _arrays(y, p)
    return float(np.mean((p_arr - y_arr) ** 2)) if y_arr.size else math.nan


def top_fraction_mask(p: ArrayLike, fraction: float = 0.1) -> NDArray[np.bool_]:
    """The ceil(fraction * n) highest predictions (ties broken by position, deterministically)."""
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    k = int(math.ceil(fraction * p_arr.size))
    mask = np.zeros(p_arr.size, dtype=bool)
    if k:
        mask[np.argsort(-p_arr, kind="mergesort")[:k]] = True
    return mask


def top_decile_threshold(p: ArrayLike) -> float:
    """The lowest prediction among the top decile: flag p >= this to flag (about) 10% of learners."""
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    mask = top_fraction_mask(p_arr, 0.1)
    return float(p_arr[mask].min()) if mask.any() else math.nan


def precision_at_top(y: ArrayLike, p: ArrayLike, fraction: float = 0.1) -> float:
    """Share of positives among the top `fraction` of predictions (top decile by default)."""
    y_arr, p_arr = _arrays(y, p)
    mask = top_fraction_mask(p_arr, fraction)
    return float(y_arr[mask].mean()) if mask.any() else math.nan


def _logit(p: FloatArray, eps: float = 1e-6) -> FloatArray:
    q = np.clip(p, eps, 1.0 - eps)
    return np.log(q / (1.0 - q))


def _log_likelihood(x: FloatArray, y: FloatArray, off: FloatArray, beta: FloatArray) -> float:
    eta = x @ beta + off
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _logistic_fit(x: FloatArray, y: FloatArray, offset: FloatArray | None = None,
                  iterations: int = 100) -> FloatArray:
    """Unpenalised logistic regression by Newton-Raphson with step halving; x includes the intercept."""
    beta = np.zeros(x.shape[1])
    off = np.zeros(y.size) if offset is None else offset
    current = _log_likelihood(x, y, off, beta)
    for _ in range(iterations):
        mu = 1.0 / (1.0 + np.exp(-np.clip(x @ beta + off, -500, 500)))
        w = np.maximum(mu * (1.0 - mu), 1e-12)
        grad = x.T @ (y - mu)
        hess = (x * w[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        for _ in range(30):
            candidate = beta + step
            value = _log_likelihood(x, y, off, candidate)
            if value >= current - 1e-12:
                break
            step = step / 2.0
        else:
            break
        beta, improvement, current = candidate, value - current, value
        if np.max(np.abs(step)) < 1e-10 or improvement < 1e-12:
            break
    return beta


@dataclass(frozen=True)
class Calibration:
    slope: float
    """b in logit P(y=1) = a + b * logit(p): 1 is ideal; < 1 means predictions are too extreme."""
    intercept: float
    """a in the same fit (0 is ideal together with slope 1)."""
    in_the_large: float
    """Calibration-in-the-large: a in logit P(y=1) = a + logit(p) (slope fixed at 1); > 0 = predictions too low."""


def calibration(y: ArrayLike, p: ArrayLike) -> Calibration:
    """Logistic recalibration of logit(p) (Cox 1958)."""
    y_arr, p_arr = _arrays(y, p)
    if y_arr.size == 0 or y_arr.min() == y_arr.max():
        return Calibration(math.nan, math.nan, math.nan)
    lp = _logit(p_arr)
    yf = y_arr.astype(np.float64)
    a, b = _logistic_fit(np.column_stack([np.ones_like(lp), lp]), yf)
    (citl,) = _logistic_fit(np.ones((lp.size, 1)), yf, offset=lp)
    return Calibration(float(b), float(a), float(citl))


@dataclass(frozen=True)
class Summary:
    n: int
    positive_rate: float
    auc: float
    auc_low: float
    auc_high: float
    top_decile_precision: float
    brier: float
    calibration: Calibration


def summarize(y: ArrayLike, p: ArrayLike, *, n_boot: int = 1000, seed: int = 0) -> Summary:
    y_arr, p_arr = _arrays(y, p)
    value, low, high = auc_ci(y_arr, p_arr, n_boot=n_boot, seed=seed)
    return Summary(n=int(y_arr.size), positive_rate=float(y_arr.mean()) if y_arr.size else math.nan,
                   auc=value, auc_low=low, auc_high=high, top_decile_precision=precision_at_top(y_arr, p_arr),
                   brier=brier(y_arr, p_arr), calibration=calibration(y_arr, p_arr))


@dataclass(frozen=True)
class GroupResult:
    group: str
    n: int
    positives: int
    auc: float
    tpr: float
    """Share of this group's positives flagged (p >= the stated threshold)."""
    in_gap: bool
    """Large enough to enter the gap (>= min_n learners and >= min_class of each class)."""


@dataclass(frozen=True)
class GapResult:
    attribute: str
    groups: tuple[GroupResult, ...]
    auc_gap: float
    """AUC of the group with the highest AUC minus that of the group with the lowest (groups in the gap)."""
    auc_gap_low: float
    auc_gap_high: float
    auc_pair: tuple[str, str]
    """(highest, lowest) group by AUC: the pair whose difference is bootstrapped."""
    tpr_gap: float
    tpr_gap_low: float
    tpr_gap_high: float
    tpr_pair: tuple[str, str]
    threshold: float


def subgroup_gaps(y: ArrayLike, p: ArrayLike, groups: Mapping[str, Sequence[str]], *, threshold: float,
                  n_boot: int = 1000, seed: int = 0, min_n: int = 100, min_class: int = 10) -> tuple[GapResult, ...]:
    """Per attribute: AUC and TPR (share of positives with p >= `threshold`) per group, and the gap.

    The gap is the difference between the group with the highest and the group with the lowest value
    (among groups with >= `min_n` learners and >= `min_class` of each class; smaller groups are
    reported but too noisy to rank). Its 95% interval is a bootstrap of that same pair's difference,
    resampling within each group; an interval reaching 0 means the two groups cannot be told apart.
    (Picking the extreme pair on the data makes the point estimate optimistic about the gap.)
    """
    y_arr, p_arr = _arrays(y, p)
    flagged = p_arr >= threshold
    results = []
    for offset, (attribute, labels) in enumerate(sorted(groups.items())):
        labels_arr = np.asarray(labels, dtype=object)
        if labels_arr.size != y_arr.size:
            raise ValueError(f"{attribute}: {labels_arr.size} labels for {y_arr.size} predictions")
        rng = np.random.default_rng(seed + 7919 * (offset + 1))
        rows: list[GroupResult] = []
        boot_auc: dict[str, FloatArray] = {}
        boot_tpr: dict[str, FloatArray] = {}
        for group in sorted(set(labels_arr.tolist()), key=str):
            idx = np.flatnonzero(labels_arr == group)
            yg, pg, fg = y_arr[idx], p_arr[idx], flagged[idx]
            positives = int(yg.sum())
            eligible = idx.size >= min_n and positives >= min_class and idx.size - positives >= min_class
            tpr = float(fg[yg == 1].mean()) if positives else math.nan
            rows.append(GroupResult(str(group), int(idx.size), positives, auc(yg, pg), tpr, eligible))
            if eligible:
                counts = _bootstrap_counts(idx.size, n_boot, rng)
                boot_auc[str(group)] = _weighted_auc(yg, pg, counts)
                pos_counts = counts * (yg == 1)
                boot_tpr[str(group)] = (pos_counts * fg).sum(axis=1) / np.maximum(pos_counts.sum(axis=1), 1e-12)
        in_gap = [r for r in rows if r.in_gap]
        if len(in_gap) >= 2:
            hi_a, lo_a = max(in_gap, key=lambda r: r.auc), min(in_gap, key=lambda r: r.auc)
            hi_t, lo_t = max(in_gap, key=lambda r: r.tpr), min(in_gap, key=lambda r: r.tpr)
            auc_gap, tpr_gap = hi_a.auc - lo_a.auc, hi_t.tpr - lo_t.tpr
            a_low, a_high = _interval(boot_auc[hi_a.group] - boot_auc[lo_a.group])
            t_low, t_high = _interval(boot_tpr[hi_t.group] - boot_tpr[lo_t.group])
            auc_pair, tpr_pair = (hi_a.group, lo_a.group), (hi_t.group, lo_t.group)
        else:
            auc_gap = tpr_gap = a_low = a_high = t_low = t_high = math.nan
            auc_pair = tpr_pair = ("", "")
        results.append(GapResult(attribute, tuple(rows), auc_gap, a_low, a_high, auc_pair,
                                 tpr_gap, t_low, t_high, tpr_pair, threshold))
    return tuple(results)
