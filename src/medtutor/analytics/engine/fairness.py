"""Fairness metrics by subgroup, with confidence intervals, and Mantel-Haenszel DIF for exam items (pure).

Two kinds of question:

1. Does a model work equally well for every group of students? For probabilities (early warning,
   risk models, knowledge tracing): AUC with a bootstrap interval (engine/metrics.py), rates with
   Wilson score intervals, calibration-in-the-large (observed minus mean predicted) per group. For
   graders (automatic score against the human grade): mean error, RMSE and agreement per group.
   A gap between groups is reported with an interval: an interval that includes 0 means the data
   cannot tell the groups apart (it does not prove they are equal).

2. Is an exam item harder for one group than for students of the same overall score (differential
   item functioning)? Mantel-Haenszel (Mantel & Haenszel 1959; Holland & Thayer 1988), with the ETS
   A/B/C classification (see `ets_class`).

Every function takes plain sequences and returns frozen dataclasses; NaN marks "not computable"
(too few students, one class absent). Bootstraps are seeded, so results are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from medtutor.analytics.engine.metrics import _bootstrap_counts, _weighted_auc, auc, auc_ci

Z95 = 1.959963984540054
DELTA_SCALE = -2.35  # ETS delta metric: MH D-DIF = -2.35 ln(alpha_MH) (Holland & Thayer 1988)


def _z(level: float) -> float:
    """Two-sided normal quantile for a confidence level (0.95 -> 1.96)."""
    if abs(level - 0.95) < 1e-12:
        return Z95
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2.0)


@dataclass(frozen=True)
class Estimate:
    """A value with its confidence interval (NaN where not computable)."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @property
    def known(self) -> bool:
        return math.isfinite(self.value)

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly on one side of 0 (for differences)."""
        return math.isfinite(self.low) and math.isfinite(self.high) and (self.low > 0 or self.high < 0)

    def format(self, digits: int = 2, scale: float = 1.0, suffix: str = "") -> str:
        """"0.78 [0.70, 0.85]"; "—" when unknown; the interval left out when unknown."""
        if not self.known:
            return "—"
        text = f"{self.value * scale:.{digits}f}{suffix}"
        if math.isfinite(self.low) and math.isfinite(self.high):
            text += f" [{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}]"
        return text

    @property
    def text(self) -> str:
        return self.format(2)

    @property
    def percent(self) -> str:
        return self.format(1, 100.0, "%")


NAN = Estimate(math.nan)


# --- rates -----------------------------------------------------------------------------------------

def wilson(successes: int, n: int, level: float = 0.95) -> Estimate:
    """A proportion with the Wilson score interval (Wilson 1927): good coverage even for small n and
    rates near 0 or 1, where the Wald interval fails (Brown, Cai & DasGupta 2001)."""
    if n <= 0:
        return NAN
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} out of range 0..{n}")
    z = _z(level)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def rate_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Estimate:
    """p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the two
    Wilson intervals; it stays inside [-1, 1] and behaves for small groups."""
    if n1 <= 0 or n2 <= 0:
        return NAN
    a, b = wilson(x1, n1, level), wilson(x2, n2, level)
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2)
    high = d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)
    return Estimate(d, max(-1.0, low), min(1.0, high))


def mean_ci(values: ArrayLike, level: float = 0.95) -> Estimate:
    """A mean with a normal-approximation interval (mean +- z * sd / sqrt(n))."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        return NAN
    mean = float(arr.mean())
    if arr.size < 2:
        return Estimate(mean)
    half = _z(level) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return Estimate(mean, mean - half, mean + half)


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def hanley_mcneil(auc_value: float, positives: int, negatives: int, level: float = 0.95) -> Estimate:
    """An AUC with the Hanley & McNeil (1982) standard error, for stored AUCs whose predictions are not
    at hand (the risk models' subgroup audits): SE^2 = [A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)] / (n1 n0),
    Q1 = A/(2-A), Q2 = 2A^2/(1+A). The interval is clipped to [0, 1]."""
    if auc_value is None or not math.isfinite(auc_value) or positives < 1 or negatives < 1:
        return NAN
    a = float(auc_value)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives)
    half = _z(level) * math.sqrt(max(var, 0.0))
    return Estimate(a, max(0.0, a - half), min(1.0, a + half))


# --- probability models: early warning, risk models, knowledge tracing ------------------------------

@dataclass(frozen=True)
class ProbabilityGroup:
    group: str
    n: int
    positives: int
    observed_rate: Estimate          # share of positives (failed the exam, answered correctly...), Wilson
    mean_predicted: float
    calibration_in_the_large: Estimate
    """Observed rate minus mean prediction: > 0 means the model under-predicts for this group."""
    auc: Estimate                    # bootstrap percentile interval; NaN with one class only
    brier: float
    flagged: Estimate | None = None  # share with p >= threshold (when a threshold is given), Wilson
    tpr: Estimate | None = None      # share of positives flagged (sensitivity), Wilson
    fpr: Estimate | None = None      # share of negatives flagged, Wilson


@dataclass(frozen=True)
class Gap:
    """The difference between the groups with the highest and lowest value of one metric."""

    metric: str
    high_group: str
    low_group: str
    difference: Estimate

    @property
    def label(self) -> str:
        return {"auc": "AUC", "calibration_in_the_large": "observed − predicted", "sensitivity": "sensitivity",
                "mean_error": "mean error (automatic − human)"}.get(self.metric, self.metric.replace("_", " "))


def _groups(labels: Sequence[object], n: int) -> dict[str, np.ndarray]:
    if len(labels) != n:
        raise ValueError(f"{len(labels)} group labels for {n} rows")
    arr = np.asarray([str(x) if x is not None else "" for x in labels], dtype=object)
    return {g: np.flatnonzero(arr == g) for g in sorted(set(arr.tolist())) if g}


MAX_PAIR_WORK = 60_000_000   # clusters x positive rows: above it the pair matrix costs more than row weights
MAX_BOOT_CELLS = 5_000_000   # replicates x rows held at once by the row-weight fallback (about 40 MB)


def _pair_matrix(y: np.ndarray, p: np.ndarray, index: np.ndarray, n_clusters: int) -> np.ndarray:
    """M[a, b]: pairs (a positive of cluster a, a negative of cluster b) ranked right, ties one half.
    A replicate that draws cluster c w_c times then has AUC = w M w / ((w . pos)(w . neg)), so the
    bootstrap costs nothing per answer once M is built."""
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    matrix = np.zeros((n_clusters, n_clusters))
    if pos.size == 0 or neg.size == 0:
        return matrix
    pos = pos[np.argsort(p[pos], kind="stable")]  # sorted needles: searchsorted is much faster
    p_pos, c_pos = p[pos], index[pos]
    order = neg[np.argsort(index[neg], kind="stable")]
    bounds = np.flatnonzero(np.diff(index[order])) + 1
    for chunk in np.split(order, bounds):
        values = np.sort(p[chunk])
        below = np.searchsorted(values, p_pos, "left")
        ties = np.searchsorted(values, p_pos, "right") - below
        matrix[:, index[chunk[0]]] = np.bincount(c_pos, weights=below + 0.5 * ties, minlength=n_clusters)
    return matrix


@dataclass(frozen=True)
class _Replicates:
    rate: np.ndarray
    citl: np.ndarray
    auc: np.ndarray


class ClusteredPredictions:
    """Predictions grouped in clusters (a student's answers), for intervals that resample whole
    clusters: one student's answers are not independent, so resampling answers would make intervals
    too narrow. Per-cluster sums and the pair matrix (see _pair_matrix) are computed once; the metrics
    of any set of whole clusters (a subgroup of students) and their bootstrap then cost O(clusters^2)
    per replicate, whatever the number of answers."""

    def __init__(self, y: ArrayLike, p: ArrayLike, clusters: Sequence[object] | np.ndarray) -> None:
        self.y = np.asarray(y, dtype=np.int8).ravel()
        self.p = np.asarray(p, dtype=np.float64).ravel()
        keys = np.asarray(clusters)
        if self.y.shape != self.p.shape or keys.size != self.y.size:
            raise ValueError(f"{self.y.size} outcomes, {self.p.size} predictions, {keys.size} clusters")
        if keys.dtype.kind not in "iub":
            keys = np.asarray([str(c) for c in keys.tolist()])
        self.keys, index = np.unique(keys, return_inverse=True)
        self.index = index.ravel()
        k = self.keys.size
        yf = self.y.astype(np.float64)
        self.n_c = np.bincount(self.index, minlength=k).astype(np.float64)
        self.pos_c = np.bincount(self.index, weights=yf, minlength=k)
        self.p_c = np.bincount(self.index, weights=self.p, minlength=k)
        self.sq_c = np.bincount(self.index, weights=(self.p - yf) ** 2, minlength=k)
        self.pairs = (_pair_matrix(self.y, self.p, self.index, k) if k * int(self.pos_c.sum()) <= MAX_PAIR_WORK
                      else None)  # too many students: the bootstrap weights rows instead
        self._position: dict[object, int] | None = None

    def positions(self, members: Sequence[object] | None) -> np.ndarray:
        """Sorted cluster positions of `members` (cluster keys; unknown ones ignored); None: all."""
        if members is None:
            return np.arange(self.keys.size)
        if self._position is None:
            self._position = {key: i for i, key in enumerate(self.keys.tolist())}
        wanted = (str(m) for m in members) if self.keys.dtype.kind == "U" else iter(members)
        return np.asarray(sorted({self._position[m] for m in wanted if m in self._position}), dtype=np.int64)

    def _auc(self, at: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """AUC of each row of `weights` (draws of the clusters at positions `at`)."""
        pos = weights @ self.pos_c[at]
        neg = weights @ (self.n_c[at] - self.pos_c[at])
        if self.pairs is not None:
            pairs = np.einsum("bi,ij,bj->b", weights, self.pairs[np.ix_(at, at)], weights)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where((pos > 0) & (neg > 0), pairs / (pos * neg), np.nan)
        rows = np.flatnonzero(np.isin(self.index, at))
        local = np.searchsorted(at, self.index[rows])
        keep = max(1, min(weights.shape[0], MAX_BOOT_CELLS // max(1, rows.size)))
        return _weighted_auc(self.y[rows], self.p[rows], weights[:keep][:, local])

    def replicates(self, at: np.ndarray, n_boot: int, seed: int) -> _Replicates:
        k = at.size
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=max(1, n_boot)).astype(np.float64)
        totals = np.maximum(draws @ self.n_c[at], 1e-12)
        rate = draws @ self.pos_c[at] / totals
        citl = (draws @ self.pos_c[at] - draws @ self.p_c[at]) / totals
        return _Replicates(rate, citl, self._auc(at, draws))

    def metrics(self, members: Sequence[object] | None = None, *, group: str = "all", n_boot: int = 500,
                seed: int = 0, level: float = 0.95) -> ProbabilityGroup:
        at = self.positions(members)
        n, positives = float(self.n_c[at].sum()), float(self.pos_c[at].sum())
        if at.size == 0 or n == 0:
            return ProbabilityGroup(group, 0, 0, NAN, math.nan, NAN, NAN, math.nan)
        point_auc = float(self._auc(at, np.ones((1, at.size)))[0])
        reps = self.replicates(at, n_boot, seed) if n_boot > 0 else None

        def estimate(value: float, boots: np.ndarray | None) -> Estimate:
            return Estimate(value, *_percentile_interval(boots, level)) if boots is not None else Estimate(value)

        return ProbabilityGroup(
            group=group, n=int(n), positives=int(positives),
            observed_rate=estimate(positives / n, reps.rate if reps else None),
            mean_predicted=float(self.p_c[at].sum() / n),
            calibration_in_the_large=estimate((positives - float(self.p_c[at].sum())) / n, reps.citl if reps else None),
            auc=estimate(point_auc, reps.auc if reps else None), brier=float(self.sq_c[at].sum() / n))


def probability_metrics(y: ArrayLike, p: ArrayLike, *, group: str = "all", threshold: float | None = None,
                        clusters: Sequence[object] | None = None, n_boot: int = 500, seed: int = 0,
                        level: float = 0.95) -> ProbabilityGroup:
    """The metrics of one group of predictions `p` (probabilities) against outcomes `y` (0/1).

    With `clusters` (e.g. the student of each answer), the observed rate, calibration-in-the-large and
    AUC intervals come from a bootstrap over clusters; without, each row is independent (Wilson, normal
    approximation, bootstrap over rows)."""
    y_arr = np.asarray(y, dtype=np.int8).ravel()
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"{y_arr.size} outcomes but {p_arr.size} predictions")
    n, positives = int(y_arr.size), int(y_arr.sum())
    if n == 0:
        return ProbabilityGroup(group, 0, 0, NAN, math.nan, NAN, NAN, math.nan)
    if clusters is not None:
        return ClusteredPredictions(y_arr, p_arr, clusters).metrics(group=group, n_boot=n_boot, seed=seed,
                                                                    level=level)
    value, low, high = auc_ci(y_arr, p_arr, n_boot=n_boot, seed=seed, level=level)
    flagged = tpr = fpr = None
    if threshold is not None:
        mask = p_arr >= threshold
        flagged = wilson(int(mask.sum()), n, level)
        tpr = wilson(int((mask & (y_arr == 1)).sum()), positives, level) if positives else NAN
        fpr = wilson(int((mask & (y_arr == 0)).sum()), n - positives, level) if n - positives else NAN
    return ProbabilityGroup(
        group=group, n=n, positives=positives, observed_rate=wilson(positives, n, level),
        mean_predicted=float(p_arr.mean()), calibration_in_the_large=mean_ci(y_arr - p_arr, level),
        auc=Estimate(value, low, high), brier=float(np.mean((p_arr - y_arr) ** 2)),
        flagged=flagged, tpr=tpr, fpr=fpr)


def probability_metrics_by_group(y: ArrayLike, p: ArrayLike, labels: Sequence[object], *,
                                 threshold: float | None = None, clusters: Sequence[object] | None = None,
                                 n_boot: int = 500, seed: int = 0, level: float = 0.95) -> list[ProbabilityGroup]:
    """One row per group (rows with an empty or None label are left out), sorted by group name."""
    y_arr = np.asarray(y, dtype=np.int8).ravel()
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    cluster_arr = None if clusters is None else np.asarray(clusters)
    return [probability_metrics(y_arr[idx], p_arr[idx], group=g, threshold=threshold, n_boot=n_boot,
                                clusters=None if cluster_arr is None else cluster_arr[idx].tolist(),
                                seed=seed + 101 * i, level=level)
            for i, (g, idx) in enumerate(_groups(labels, y_arr.size).items())]


def _extremes(groups: list, value: Callable[[object], float]) -> tuple:
    """(lowest, highest) of two or more groups by `value`; ties broken by order, so they always differ."""
    ranked = sorted(groups, key=value)
    return ranked[0], ranked[-1]


def cluster_gaps(predictions: ClusteredPredictions, members_by_group: Mapping[str, Sequence[object]], *,
                 min_n: int = 5, n_boot: int = 500, seed: int = 0, level: float = 0.95) -> list[Gap]:
    """AUC and calibration-in-the-large gaps between the extreme groups (each a set of whole clusters,
    >= `min_n` of them), with intervals from bootstraps that resample each group's clusters."""
    groups = {g: predictions.positions(m) for g, m in members_by_group.items()}
    groups = {g: at for g, at in groups.items() if at.size >= min_n}
    if len(groups) < 2:
        return []
    rows = {g: predictions.metrics(predictions.keys[at].tolist(), group=g, n_boot=0) for g, at in groups.items()}
    reps = {g: predictions.replicates(at, n_boot, seed + 17 * i) for i, (g, at) in enumerate(sorted(groups.items()))}
    gaps = []
    with_auc = [g for g in groups if math.isfinite(rows[g].auc.value)]
    if len(with_auc) >= 2:
        lo, hi = _extremes(sorted(with_auc), lambda g: rows[g].auc.value)
        gaps.append(Gap("auc", hi, lo, Estimate(rows[hi].auc.value - rows[lo].auc.value,
                                                *_percentile_interval(reps[hi].auc - reps[lo].auc, level))))
    lo, hi = _extremes(sorted(groups), lambda g: rows[g].calibration_in_the_large.value)
    gaps.append(Gap("calibration_in_the_large", hi, lo, Estimate(
        rows[hi].calibration_in_the_large.value - rows[lo].calibration_in_the_large.value,
        *_percentile_interval(reps[hi].citl - reps[lo].citl, level))))
    return gaps


def probability_gaps(y: ArrayLike, p: ArrayLike, labels: Sequence[object], *, threshold: float | None = None,
                     clusters: Sequence[object] | None = None, min_n: int = 5, n_boot: int = 500, seed: int = 0,
                     level: float = 0.95) -> list[Gap]:
    """Gaps between the extreme groups in AUC, calibration-in-the-large and, with a threshold,
    sensitivity (Newcombe interval). Groups need `min_n` rows; with `clusters` (each cluster wholly in
    one group, e.g. a student's answers) `min_n` clusters, and the AUC and calibration intervals come
    from resampling each group's clusters (see cluster_gaps); without, AUC by resampling rows and
    calibration by a normal approximation. The extreme pair is picked on the data, so the point
    estimate leans high; the interval says whether the two can be told apart at all."""
    y_arr = np.asarray(y, dtype=np.int8).ravel()
    p_arr = np.asarray(p, dtype=np.float64).ravel()
    by_label = _groups(labels, y_arr.size)
    if clusters is not None:
        predictions = ClusteredPredictions(y_arr, p_arr, clusters)
        members: dict[str, list[object]] = {}
        seen: dict[object, str] = {}
        cluster_list = np.asarray(clusters).tolist()
        for g, idx in by_label.items():
            found = {cluster_list[i] for i in idx.tolist()}
            for c in found:
                if seen.setdefault(c, g) != g:
                    raise ValueError(f"cluster {c!r} is in two groups ({seen[c]}, {g}): clusters must be nested")
            members[g] = sorted(found, key=str)
        return cluster_gaps(predictions, members, min_n=min_n, n_boot=n_boot, seed=seed, level=level)
    groups = {g: idx for g, idx in by_label.items() if idx.size >= min_n}
    gaps: list[Gap] = []
    if len(groups) < 2:
        return gaps
    rows = {g: probability_metrics(y_arr[idx], p_arr[idx], group=g, threshold=threshold, n_boot=0)
            for g, idx in groups.items()}
    with_auc = [g for g in groups if math.isfinite(rows[g].auc.value)]
    if len(with_auc) >= 2:
        lo, hi = _extremes(with_auc, lambda g: rows[g].auc.value)
        rng = np.random.default_rng(seed)
        boots = {g: _weighted_auc(y_arr[groups[g]], p_arr[groups[g]],
                                  _bootstrap_counts(groups[g].size, n_boot, rng)) for g in (hi, lo)}
        gaps.append(Gap("auc", hi, lo, Estimate(rows[hi].auc.value - rows[lo].auc.value,
                                                *_percentile_interval(boots[hi] - boots[lo], level))))
    lo, hi = _extremes(list(groups), lambda g: rows[g].calibration_in_the_large.value)
    a, b = rows[hi].calibration_in_the_large, rows[lo].calibration_in_the_large
    d = a.value - b.value
    if math.isfinite(a.low) and math.isfinite(b.low):
        half = math.hypot((a.high - a.low) / 2, (b.high - b.low) / 2)
        gaps.append(Gap("calibration_in_the_large", hi, lo, Estimate(d, d - half, d + half)))
    else:
        gaps.append(Gap("calibration_in_the_large", hi, lo, Estimate(d)))
    if threshold is not None:
        with_tpr = [g for g in groups if rows[g].tpr is not None and rows[g].tpr.known]
        if len(with_tpr) >= 2:
            lo, hi = _extremes(with_tpr, lambda g: rows[g].tpr.value)
            flagged = {g: int(((p_arr[groups[g]] >= threshold) & (y_arr[groups[g]] == 1)).sum()) for g in (hi, lo)}
            gaps.append(Gap("sensitivity", hi, lo, rate_difference(
                flagged[hi], rows[hi].positives, flagged[lo], rows[lo].positives, level)))
    return gaps


# --- graders: automatic score against the human grade ---------------------------------------------

@dataclass(frozen=True)
class GraderGroup:
    group: str
    n: int
    mean_error: Estimate   # automatic minus human: > 0 means the grader is generous to this group
    rmse: Estimate         # bootstrap percentile interval
    agreement: Estimate    # share with |automatic - human| <= tolerance, Wilson
    mean_human: float
    mean_automatic: float


def grader_metrics(automatic: ArrayLike, human: ArrayLike, *, group: str = "all", tolerance: float = 0.0,
                   n_boot: int = 500, seed: int = 0, level: float = 0.95) -> GraderGroup:
    auto_arr = np.asarray(automatic, dtype=np.float64).ravel()
    human_arr = np.asarray(human, dtype=np.float64).ravel()
    if auto_arr.shape != human_arr.shape:
        raise ValueError(f"{auto_arr.size} automatic scores but {human_arr.size} human scores")
    n = int(auto_arr.size)
    if n == 0:
        return GraderGroup(group, 0, NAN, NAN, NAN, math.nan, math.nan)
    error = auto_arr - human_arr
    rmse = float(np.sqrt(np.mean(error ** 2)))
    low = high = math.nan
    if n >= 2 and n_boot > 0:
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
        low, high = _percentile_interval(np.sqrt(counts @ (error ** 2) / n), level)
    agree = int((np.abs(error) <= tolerance + 1e-9).sum())
    return GraderGroup(group, n, mean_ci(error, level), Estimate(rmse, low, high), wilson(agree, n, level),
                       float(human_arr.mean()), float(auto_arr.mean()))


def grader_metrics_by_group(automatic: ArrayLike, human: ArrayLike, labels: Sequence[object], *,
                            tolerance: float = 0.0, n_boot: int = 500, seed: int = 0,
                            level: float = 0.95) -> list[GraderGroup]:
    auto_arr = np.asarray(automatic, dtype=np.float64).ravel()
    human_arr = np.asarray(human, dtype=np.float64).ravel()
    return [grader_metrics(auto_arr[idx], human_arr[idx], group=g, tolerance=tolerance, n_boot=n_boot,
                           seed=seed + 101 * i, level=level)
            for i, (g, idx) in enumerate(_groups(labels, auto_arr.size).items())]


def mean_error_gap(rows: Sequence[GraderGroup], *, min_n: int = 5) -> Gap | None:
    """Difference in mean error (generosity) between the most and least favoured groups, with a
    normal-approximation interval (the two groups are independent)."""
    eligible = [r for r in rows if r.n >= min_n and math.isfinite(r.mean_error.low)]
    if len(eligible) < 2:
        return None
    lo, hi = _extremes(eligible, lambda r: r.mean_error.value)
    d = hi.mean_error.value - lo.mean_error.value
    half = math.hypot((hi.mean_error.high - hi.mean_error.low) / 2, (lo.mean_error.high - lo.mean_error.low) / 2)
    return Gap("mean_error", hi.group, lo.group, Estimate(d, d - half, d + half))


# --- differential item functioning: Mantel-Haenszel ------------------------------------------------

@dataclass(frozen=True)
class Stratum:
    """One 2x2 table at a matching score: reference right/wrong (a, b), focal right/wrong (c, d)."""

    score: float
    a: int
    b: int
    c: int
    d: int

    @property
    def total(self) -> int:
        return self.a + self.b + self.c + self.d


@dataclass(frozen=True)
class MantelHaenszel:
    alpha: float            # common odds ratio: odds of a right answer, reference over focal
    delta: float            # MH D-DIF = -2.35 ln(alpha): < 0 the item is harder for the focal group
    se_delta: float         # standard error of MH D-DIF (Robins-Breslow-Greenland variance)
    delta_ci: Estimate
    chi_square: float       # MH chi-square with continuity correction, 1 df
    p_value: float
    n_reference: int
    n_focal: int
    strata: int             # informative strata (both groups present, and not all right or all wrong)
    ets_class: str          # "A", "B", "C", or "" when not estimable

    @property
    def favours(self) -> str:
        """Which group the item favours, from the sign of MH D-DIF ("" when not estimable or 0)."""
        if not math.isfinite(self.delta) or self.delta == 0:
            return ""
        return "focal" if self.delta > 0 else "reference"

    @property
    def p_text(self) -> str:
        if not math.isfinite(self.p_value):
            return "—"
        return "<0.001" if self.p_value < 0.001 else f"{self.p_value:.3f}"

    @property
    def label(self) -> str:
        """The ETS class with its sign: "C-" (favours the reference group), "B+" (favours focal), "A"."""
        if self.ets_class in ("B", "C"):
            return self.ets_class + ("+" if self.delta > 0 else "-")
        return self.ets_class


def ets_class(delta: float, se_delta: float, p_value: float, *, alpha: float = 0.05) -> str:
    """The ETS DIF category of an item from its MH D-DIF, standard error and MH chi-square p-value.

    The rule (Dorans & Holland 1993; Zieky 1993; restated in Zwick 2012, "A review of ETS differential
    item functioning assessment procedures", ETS Research Report RR-12-08, and in the NAEP technical
    documentation, "Categorization of items according to DIF criteria", after Petersen 1988):

    - A (negligible): MH D-DIF not significantly different from 0 (MH chi-square at the 0.05 level)
      or |MH D-DIF| < 1;
    - C (large): |MH D-DIF| >= 1.5 and |MH D-DIF| significantly greater than 1, i.e. the one-sided
      test of H0: |D| <= 1 rejects at 0.05: (|D| - 1) / SE > 1.645;
    - B (moderate): every other item.

    The significance tests need an estimable SE; where it is not (a group all right or all wrong in
    every stratum) the item is not classified ("").
    """
    if not (math.isfinite(delta) and math.isfinite(se_delta) and math.isfinite(p_value)):
        return ""
    size = abs(delta)
    if size < 1.0 or p_value >= alpha:
        return "A"
    from statistics import NormalDist

    critical = NormalDist().inv_cdf(1.0 - alpha)  # 1.645 for 0.05, one-sided
    if size >= 1.5 and se_delta > 0 and (size - 1.0) / se_delta > critical:
        return "C"
    return "B"


def mantel_haenszel(strata: Sequence[Stratum | tuple[int, int, int, int]], *, level: float = 0.95,
                    significance: float = 0.05) -> MantelHaenszel:
    """The MH common odds ratio over strata, MH D-DIF with its standard error, and the MH chi-square.

    alpha_MH = sum(a d / T) / sum(b c / T)                               (Mantel & Haenszel 1959)
    chi2_MH  = (|sum a - sum E(a)| - 1/2)^2 / sum Var(a), with E(a) = n_R m_1 / T and
               Var(a) = n_R n_F m_1 m_0 / (T^2 (T - 1))                  (Holland & Thayer 1988)
    Var(ln alpha_MH) by Robins, Breslow & Greenland (1986), which Phillips & Holland (1987) showed
    equal to their estimator:  sum(P R) / (2 R+^2) + sum(P S + Q R) / (2 R+ S+) + sum(Q S) / (2 S+^2),
    with P = (a + d)/T, Q = (b + c)/T, R = a d / T, S = b c / T.  SE(D-DIF) = 2.35 SE(ln alpha_MH).
    """
    tables = [s if isinstance(s, Stratum) else Stratum(math.nan, *s) for s in strata]
    n_ref = sum(s.a + s.b for s in tables)
    n_focal = sum(s.c + s.d for s in tables)
    r_sum = s_sum = pr = ps_qr = qs = 0.0
    observed = expected = variance = 0.0
    informative = 0
    for s in tables:
        t = s.total
        if t < 2:
            continue
        n_r, n_f, m1, m0 = s.a + s.b, s.c + s.d, s.a + s.c, s.b + s.d
        if n_r == 0 or n_f == 0 or m1 == 0 or m0 == 0:
            continue  # adds nothing to any sum
        informative += 1
        r, q_s = s.a * s.d / t, s.b * s.c / t
        p_k, q_k = (s.a + s.d) / t, (s.b + s.c) / t
        r_sum += r
        s_sum += q_s
        pr += p_k * r
        ps_qr += p_k * q_s + q_k * r
        qs += q_k * q_s
        observed += s.a
        expected += n_r * m1 / t
        variance += n_r * n_f * m1 * m0 / (t * t * (t - 1))
    if variance > 0:
        chi = max(0.0, abs(observed - expected) - 0.5) ** 2 / variance
        p_value = math.erfc(math.sqrt(chi / 2.0))  # chi-square with 1 df: P(Z^2 > chi)
    else:
        chi = p_value = math.nan
    if r_sum > 0 and s_sum > 0:
        alpha = r_sum / s_sum
        var_log = pr / (2 * r_sum ** 2) + ps_qr / (2 * r_sum * s_sum) + qs / (2 * s_sum ** 2)
        delta = DELTA_SCALE * math.log(alpha)
        se = abs(DELTA_SCALE) * math.sqrt(var_log)
        z = _z(level)
        ci = Estimate(delta, delta - z * se, delta + z * se)
    else:
        alpha = math.inf if r_sum > 0 else (0.0 if s_sum > 0 else math.nan)
        delta = se = math.nan
        ci = NAN
    return MantelHaenszel(alpha=alpha, delta=delta, se_delta=se, delta_ci=ci, chi_square=chi, p_value=p_value,
                          n_reference=n_ref, n_focal=n_focal, strata=informative,
                          ets_class=ets_class(delta, se, p_value, alpha=significance))


def strata_for_item(scores: ArrayLike, matching: ArrayLike, is_focal: ArrayLike) -> list[Stratum]:
    """2x2 tables of one item (0/1 `scores`) at each value of the matching score, for the examinees of
    the two groups (`is_focal` True/False; rows in neither group must be left out by the caller)."""
    x = np.asarray(scores, dtype=np.int8).ravel()
    m = np.asarray(matching, dtype=np.float64).ravel()
    f = np.asarray(is_focal, dtype=bool).ravel()
    tables = []
    for level in np.unique(m):
        at = m == level
        ref, foc = at & ~f, at & f
        tables.append(Stratum(float(level), int((x[ref] == 1).sum()), int((x[ref] == 0).sum()),
                              int((x[foc] == 1).sum()), int((x[foc] == 0).sum())))
    return tables


@dataclass(frozen=True)
class ItemDif:
    item: str
    reference: str
    focal: str
    mh: MantelHaenszel
    p_reference: float   # raw proportion right in each group (before matching), for context
    p_focal: float


def dif_by_item(responses: ArrayLike, groups: Sequence[object], reference: str, focal: str, *,
                items: Sequence[str] | None = None, include_studied_item: bool = True,
                level: float = 0.95, significance: float = 0.05) -> list[ItemDif]:
    """MH DIF of every item for one focal group against one reference group.

    `responses` is examinees x items, 1 right and 0 wrong (unanswered counts as wrong); `groups` the
    examinees' group labels (others are left out). Examinees are matched on the total score, which by
    default includes the studied item: under the Rasch model that makes MH unbiased when no item has
    DIF (Holland & Thayer 1988; Zwick 1990). `include_studied_item=False` matches on the rest score.
    """
    x = np.asarray(responses, dtype=np.int8)
    if x.ndim != 2:
        raise ValueError("responses must be a two-dimensional examinees x items array")
    if len(groups) != x.shape[0]:
        raise ValueError(f"{len(groups)} group labels for {x.shape[0]} examinees")
    if reference == focal:
        raise ValueError("reference and focal group must differ")
    labels = np.asarray([str(g) if g is not None else "" for g in groups], dtype=object)
    keep = (labels == reference) | (labels == focal)
    x, labels = x[keep], labels[keep]
    is_focal = labels == focal
    names = list(items) if items is not None else [str(j + 1) for j in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise ValueError(f"{len(names)} item names for {x.shape[1]} items")
    total = x.sum(axis=1)
    out = []
    for j, name in enumerate(names):
        matching = total if include_studied_item else total - x[:, j]
        mh = mantel_haenszel(strata_for_item(x[:, j], matching, is_focal), level=level, significance=significance)
        p_ref = float(x[~is_focal, j].mean()) if (~is_focal).any() else math.nan
        p_foc = float(x[is_focal, j].mean()) if is_focal.any() else math.nan
        out.append(ItemDif(name, reference, focal, mh, p_ref, p_foc))
    return out


@dataclass(frozen=True)
class DifComparison:
    attribute: str
    reference: str
    focal: str
    n_reference: int
    n_focal: int
    items: tuple[ItemDif, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = {"A": 0, "B": 0, "C": 0, "": 0}
        for item in self.items:
            found[item.mh.ets_class] += 1
        return found


def dif_by_attribute(responses: ArrayLike, attributes: Mapping[str, Sequence[object]], *,
                     items: Sequence[str] | None = None, min_group: int = 30,
                     include_studied_item: bool = True) -> list[DifComparison]:
    """For every attribute, each group with >= `min_group` examinees (the focal group) against the
    attribute's largest group (the reference), item by item. Groups too small are left out."""
    x = np.asarray(responses, dtype=np.int8)
    found = []
    for attribute, labels in sorted(attributes.items()):
        if len(labels) != x.shape[0]:
            raise ValueError(f"{attribute}: {len(labels)} labels for {x.shape[0]} examinees")
        sizes: dict[str, int] = {}
        for label in labels:
            if label is not None and str(label):
                sizes[str(label)] = sizes.get(str(label), 0) + 1
        big = sorted((g for g, n in sizes.items() if n >= min_group), key=lambda g: (-sizes[g], g))
        if len(big) < 2:
            continue
        reference = big[0]
        for focal in big[1:]:
            rows = dif_by_item(x, labels, reference, focal, items=items, include_studied_item=include_studied_item)
            found.append(DifComparison(attribute, reference, focal, sizes[reference], sizes[focal], tuple(rows)))
    return found
