"""Outbreak (aberration) detection on weekly surveillance series: loading, detectors, injection, evaluation.

Pure numpy/scipy, no web stack. Every detector is *prospective*: the decision for week t uses only the
values of weeks <= t, as a health department would have had them (no revisions modelled).

Methods, written from the published descriptions:
- EARS C1, C2, C3: Hutwagner L, Thompson W, Seeman GM, Treadwell T. The bioterrorism preparedness and
  response Early Aberration Reporting System (EARS). J Urban Health 2003;80(2 Suppl 1):i89-96.
  C1: 7-week moving baseline just before the week; C2: the same with a 2-week guard band; C3: sum of the
  C2 statistics above 1 over the current and two previous weeks.
- CUSUM: Page ES. Continuous inspection schemes. Biometrika 1954;41:100-115, applied (as in EARS and in
  Rogerson & Yamada, Stat Med 2004;23:2195-2214) to residuals standardised with a moving baseline.
- Serfling-style seasonal regression: Serfling RE. Methods for current statistical analysis of excess
  pneumonia-influenza deaths. Public Health Rep 1963;78:494-506. Linear trend + annual harmonics fitted on
  past years; alarm above the upper prediction limit.
- Farrington-style: Farrington CP, Andrews NJ, Beale AD, Catchpole MA. A statistical algorithm for the early
  detection of outbreaks of infectious disease. J R Stat Soc A 1996;159:547-563; refinements discussed in
  Noufaily A, Enki DG, Farrington P, et al. An improved algorithm for outbreak detection in multiple
  surveillance systems. Stat Med 2013;32:1206-1222. Quasi-Poisson log-linear model on comparable weeks of
  past years, trend kept only when significant and not extrapolating beyond the data, past outbreaks
  down-weighted by Anscombe residuals, threshold from the 2/3-power transformation.

Evaluation follows the conventions of the R package `surveillance` (Höhle 2007, algo.quality): per-week
TP/FP/TN/FN against labels, and the lag from an outbreak's first week to the first alarm.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

WEEKS_PER_YEAR = 52.1775  # mean weeks in a year; harmonics use it so they do not drift over decades


class SeriesFormatError(ValueError):
    """A surveillance file or series that cannot be used; the message names the line or field."""


# --------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class WeeklySeries:
    key: str  # "<file stem>:<group>", stable across runs, used in URLs
    label: str
    unit: str
    week_starts: tuple[date, ...]
    values: tuple[float | None, ...]  # None = not reported (never silently zero)
    outbreak: tuple[int, ...] | None = None  # week-level labels where the source defines them
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.week_starts) != len(self.values):
            raise SeriesFormatError(f"{self.key}: {len(self.week_starts)} weeks but {len(self.values)} values")
        if self.outbreak is not None and len(self.outbreak) != len(self.values):
            raise SeriesFormatError(f"{self.key}: outbreak labels do not cover every week")

    def __len__(self) -> int:
        return len(self.values)

    def array(self) -> FloatArray:
        return np.array([np.nan if v is None else v for v in self.values], dtype=np.float64)

    @property
    def is_count(self) -> bool:
        observed = [v for v in self.values if v is not None]
        return bool(observed) and all(float(v).is_integer() for v in observed)

    @property
    def n_observed(self) -> int:
        return sum(v is not None for v in self.values)


# How each known file groups its rows into series; anything else needs week_start + value (+ optional series).
_FORMATS: list[tuple[str, frozenset[str], tuple[str, ...], str]] = [
    ("labelled", frozenset({"series", "t", "week_start", "value", "outbreak"}), ("series", "unit"), "cases"),
    ("classic", frozenset({"dataset", "t", "week_start", "value"}), ("dataset", "unit"), "count"),
    ("ilinet", frozenset({"region_type", "region", "week_start", "value"}), ("region",), "% weighted ILI"),
    ("ilinet_states", frozenset({"hhs_region", "region", "week_start", "value"}), ("region",), "% unweighted ILI"),
    ("ecdc", frozenset({"country", "indicator", "week_start", "value"}), ("indicator", "country"), "rate"),
    ("flusight", frozenset({"location_fips", "region", "week_start", "value"}), ("region",), ""),
    ("generic", frozenset({"week_start", "value"}), ("series",), ""),
]


def _parse_value(raw: str, where: str) -> float | None:
    raw = raw.strip()
    if raw == "" or raw.upper() == "NA":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SeriesFormatError(f"{where}: value {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise SeriesFormatError(f"{where}: value {raw!r} must be a finite number >= 0")
    return value


def read_series_file(path: str | Path) -> dict[str, WeeklySeries]:
    """All series in one CSV of the shared surveillance layout, validated, keyed by series key.

    Rows of a series must be weekly (7 days apart; 14 is allowed once a year for the 52-week calendar of
    the R-package series), without duplicates. Missing values stay missing.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise SeriesFormatError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = frozenset(reader.fieldnames or ())
        for fmt, required, group_cols, default_unit in _FORMATS:
            if required <= columns:
                break
        else:
            raise SeriesFormatError(f"{path.name}: needs at least the columns week_start and value "
                                    f"(found: {', '.join(sorted(columns)) or 'none'})")
        groups: dict[tuple[str, ...], list[tuple[date, float | None, int | None, str]]] = {}
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} line {line}"
            try:
                week = date.fromisoformat((row.get("week_start") or "").strip())
            except ValueError:
                raise SeriesFormatError(f"{where}: week_start {row.get('week_start')!r} is not a YYYY-MM-DD date") from None
            value = _parse_value(row.get("value") or "", where)
            label: int | None = None
            if fmt == "labelled":
                raw = (row.get("outbreak") or "").strip()
                if raw not in ("0", "1"):
                    raise SeriesFormatError(f"{where}: outbreak must be 0 or 1, not {raw!r}")
                label = int(raw)
            unit = (row.get("unit") or "").strip() if fmt in ("ecdc", "flusight") else ""
            group = tuple((row.get(c) or "").strip() for c in group_cols)
            groups.setdefault(group, []).append((week, value, label, unit))
    if not groups:
        raise SeriesFormatError(f"{path.name}: no rows")
    result: dict[str, WeeklySeries] = {}
    for group, rows in groups.items():
        rows.sort(key=lambda r: r[0])
        name = "/".join(part for part in group if part) or path.stem
        key = f"{path.stem}:{name}"
        for (prev, *_), (cur, *_) in zip(rows, rows[1:]):
            gap = (cur - prev).days
            if gap == 0:
                raise SeriesFormatError(f"{path.name}: series {name!r} has week {cur} twice")
            if gap not in (7, 14):
                raise SeriesFormatError(f"{path.name}: series {name!r} is not weekly ({prev} to {cur} is {gap} days)")
        unit = rows[0][3] or default_unit
        if fmt == "flusight":
            unit = "proportion of ED visits" if "nssp" in path.stem else "admissions"
        labels = tuple(r[2] or 0 for r in rows) if fmt == "labelled" else None
        result[key] = WeeklySeries(key=key, label=f"{name} ({path.stem})", unit=unit,
                                   week_starts=tuple(r[0] for r in rows), values=tuple(r[1] for r in rows),
                                   outbreak=labels, source=path.name)
    return result


# Files of the shared data folder offered in the lab, in the order shown.
CATALOGUE_FILES = (
    "r_surveillance_pkg/classic_series.csv",
    "r_surveillance_pkg/labelled_outbreaks.csv",
    "ilinet_us/ilinet_national_hhs.csv",
    "ilinet_us/ilinet_states.csv",
    "flusight_hosp_ed/nhsn_flu_admissions.csv",
    "flusight_hosp_ed/nssp_flu_ed_visits.csv",
    "ecdc_erviss/ecdc_ili_ari.csv",
)


def read_catalogue(root: str | Path) -> dict[str, WeeklySeries]:
    """Every series of the surveillance folder that is present (missing files are skipped)."""
    root = Path(root)
    series: dict[str, WeeklySeries] = {}
    for name in CATALOGUE_FILES:
        if (root / name).exists():
            series.update(read_series_file(root / name))
    return series


# ------------------------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class Detection:
    """Per-week output of a detector; NaN threshold = not evaluated (too little history or missing)."""

    method: str
    alarms: BoolArray
    threshold: FloatArray  # upper limit on the scale of the data (what a week must exceed)
    evaluated: BoolArray


def _window_stats(y: FloatArray, t: int, lag_from: int, lag_to: int, min_points: int) -> tuple[float, float] | None:
    """Mean and sample SD of y over weeks t-lag_to .. t-lag_from (inclusive), ignoring missing weeks."""
    lo, hi = t - lag_to, t - lag_from + 1
    if lo < 0:
        return None
    window = y[lo:hi]
    window = window[~np.isnan(window)]
    if window.size < min_points:
        return None
    return float(window.mean()), float(window.std(ddof=1)) if window.size > 1 else 0.0


def _sd_floor(y: FloatArray) -> float:
    """A tiny positive SD so flat baselines give a finite statistic; scaled to the series' own units."""
    observed = np.abs(y[~np.isnan(y)])
    scale = float(observed.mean()) if observed.size else 1.0
    return max(scale, 1e-6) * 1e-3


def _range(n: int, evaluate: tuple[int, int] | None) -> range:
    lo, hi = evaluate if evaluate is not None else (0, n)
    return range(max(lo, 0), min(hi, n))


def _empty(n: int) -> tuple[BoolArray, FloatArray, BoolArray]:
    return np.zeros(n, dtype=bool), np.full(n, np.nan), np.zeros(n, dtype=bool)


def _ears_statistics(y: FloatArray, weeks: Iterable[int], baseline: int, guard: int,
                     floor: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = y.size
    stat, mean, sd = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for t in weeks:
        if np.isnan(y[t]):
            continue
        got = _window_stats(y, t, guard + 1, guard + baseline, min_points=max(3, baseline // 2))
        if got is None:
            continue
        mean[t], sd[t] = got
        stat[t] = (y[t] - mean[t]) / max(sd[t], floor)
    return stat, mean, sd


def ears(y: FloatArray, variant: str = "C1", k: float | None = None, baseline: int = 7,
         evaluate: tuple[int, int] | None = None) -> Detection:
    """EARS C1 / C2 / C3 (Hutwagner et al. 2003).

    C1 = (y_t - mean) / sd over weeks t-7..t-1; C2 the same over t-9..t-3 (2-week guard band so a slowly
    rising outbreak does not hide in its own baseline); C3 = sum over t, t-1, t-2 of max(0, C2 - 1).
    Default thresholds as in EARS: 3 for C1 and C2, 2 for C3. Alarm when the statistic exceeds k.
    """
    variant = variant.upper()
    if variant not in ("C1", "C2", "C3"):
        raise ValueError(f"unknown EARS variant {variant!r}")
    threshold_k = k if k is not None else (2.0 if variant == "C3" else 3.0)
    n = y.size
    alarms, threshold, evaluated = _empty(n)
    weeks = _range(n, evaluate)
    floor = _sd_floor(y)
    guard = 0 if variant == "C1" else 2
    # C3 needs the C2 statistics of the two weeks before the evaluated range too
    stat_weeks = range(max(weeks.start - 2, 0), weeks.stop) if variant == "C3" else weeks
    stat, mean, sd = _ears_statistics(y, stat_weeks, baseline, guard, floor)
    for t in weeks:
        if np.isnan(stat[t]):
            continue
        if variant == "C3":
            previous = [stat[s] for s in (t - 1, t - 2) if s >= 0 and not np.isnan(stat[s])]
            carried = sum(max(0.0, s - 1.0) for s in previous)
            value = max(0.0, stat[t] - 1.0) + carried
            # week t alarms when value > k, i.e. C2_t > 1 + k - carried; once the two previous weeks alone
            # exceed k the week alarms whatever its value (no finite threshold to draw)
            needed = 1.0 + threshold_k - carried
            threshold[t] = mean[t] + needed * max(sd[t], floor) if carried <= threshold_k else np.nan
            alarms[t] = value > threshold_k
        else:
            threshold[t] = mean[t] + threshold_k * max(sd[t], floor)
            alarms[t] = stat[t] > threshold_k
        evaluated[t] = True
    return Detection(method=variant, alarms=alarms, threshold=threshold, evaluated=evaluated)


def cusum(y: FloatArray, k: float = 0.5, h: float = 4.0, baseline: int = 28, guard: int = 2,
          evaluate: tuple[int, int] | None = None) -> Detection:
    """One-sided upper CUSUM (Page 1954) of residuals standardised by a moving baseline.

    z_t = (y_t - mean) / sd with mean and sd from weeks t-guard-baseline .. t-guard-1;
    S_t = max(0, S_{t-1} + z_t - k); alarm when S_t > h, after which S restarts at 0 (so one long
    excursion signals again only after it re-accumulates evidence). Missing weeks leave S unchanged.
    k = 0.5 and h = 4 are the textbook choice for detecting a 1-SD shift (Montgomery, Introduction to
    Statistical Quality Control).
    """
    n = y.size
    alarms, threshold, evaluated = _empty(n)
    floor = _sd_floor(y)
    s = 0.0
    for t in _range(n, evaluate):
        if np.isnan(y[t]):
            continue
        got = _window_stats(y, t, guard + 1, guard + baseline, min_points=max(3, baseline // 2))
        if got is None:
            continue
        mean, sd = got
        sd = max(sd, floor)
        # the week alarms when S_{t-1} + z - k > h, i.e. y > mean + sd * (h + k - S_{t-1})
        threshold[t] = mean + sd * max(h + k - s, 0.0)
        s = max(0.0, s + (y[t] - mean) / sd - k)
        evaluated[t] = True
        if s > h:
            alarms[t] = True
            s = 0.0
    return Detection(method="CUSUM", alarms=alarms, threshold=threshold, evaluated=evaluated)


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t as student_t  # scipy ships with scikit-learn, a core dependency

    return float(student_t.ppf(p, df))


def _harmonic_design(times: FloatArray, harmonics: int, trend: bool) -> FloatArray:
    columns = [np.ones_like(times)]
    if trend:
        columns.append(times / WEEKS_PER_YEAR)
    for j in range(1, harmonics + 1):
        angle = 2 * math.pi * j * times / WEEKS_PER_YEAR
        columns += [np.cos(angle), np.sin(angle)]
    return np.column_stack(columns)


def serfling(y: FloatArray, years: int = 5, alpha: float = 0.05, harmonics: int = 2, guard: int = 0,
             exclude_above: float = 2.5, evaluate: tuple[int, int] | None = None) -> Detection:
    """Serfling-style cyclic regression (Serfling 1963) refitted every week on the past `years` years.

    y = a + b*time + sum_j (c_j cos(2 pi j w / 52.18) + d_j sin(...)), ordinary least squares. Serfling fitted
    the model to non-epidemic periods only; without labels we approximate that by one refit that drops
    past weeks whose residual exceeds `exclude_above` residual SDs (epidemic weeks sit far above the
    curve). Threshold: the one-sided upper (1 - alpha) prediction limit of a new observation.
    """
    n = y.size
    alarms, threshold, evaluated = _empty(n)
    span = int(round(years * WEEKS_PER_YEAR))
    for t in _range(n, evaluate):
        if np.isnan(y[t]) or t - guard - span < 0:
            continue
        times = np.arange(t - guard - span, t - guard, dtype=np.float64)
        past = y[t - guard - span:t - guard]
        keep = ~np.isnan(past)
        if keep.sum() < 2 * WEEKS_PER_YEAR:
            continue
        times, past = times[keep], past[keep]
        x = _harmonic_design(times, harmonics, trend=True)
        beta, *_ = np.linalg.lstsq(x, past, rcond=None)
        resid = past - x @ beta
        sigma = float(np.sqrt(resid @ resid / max(past.size - x.shape[1], 1)))
        calm = resid <= exclude_above * sigma
        if calm.sum() > x.shape[1] + 10:
            x, past = x[calm], past[calm]
            beta, *_ = np.linalg.lstsq(x, past, rcond=None)
            resid = past - x @ beta
        df = past.size - x.shape[1]
        sigma = float(np.sqrt(resid @ resid / df))
        x0 = _harmonic_design(np.array([float(t)]), harmonics, trend=True)[0]
        xtx_inv = np.linalg.pinv(x.T @ x)
        spread = sigma * math.sqrt(1.0 + float(x0 @ xtx_inv @ x0))
        threshold[t] = float(x0 @ beta) + _t_quantile(1 - alpha, df) * spread
        alarms[t] = y[t] > threshold[t]
        evaluated[t] = True
    return Detection(method="Serfling", alarms=alarms, threshold=threshold, evaluated=evaluated)


@dataclass(frozen=True)
class _PoissonFit:
    beta: FloatArray
    mu: FloatArray
    phi: float
    cov_unscaled: FloatArray  # (X' W X)^-1 with the IRLS working weights
    hat: FloatArray


def _inverse(a: FloatArray) -> FloatArray:
    """Inverse of the 1x1 or 2x2 information matrix in closed form (thousands of fits per series); pinv
    when it is (nearly) singular, e.g. all reference values zero."""
    if a.shape == (1, 1) and a[0, 0] > 1e-12:
        return np.array([[1.0 / a[0, 0]]])
    if a.shape == (2, 2):
        det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
        if abs(det) > 1e-12 * max(abs(a[0, 0] * a[1, 1]), 1e-300):
            return np.array([[a[1, 1], -a[0, 1]], [-a[1, 0], a[0, 0]]]) / det
    return np.linalg.pinv(a)


def _quasi_poisson(x: FloatArray, y: FloatArray, prior: FloatArray) -> _PoissonFit:
    """Log-linear quasi-Poisson fit by iteratively reweighted least squares, prior weights `prior`."""
    beta = np.zeros(x.shape[1])
    beta[0] = math.log(max(float(np.average(y, weights=prior)), 0.5))
    for _ in range(50):
        eta = np.clip(x @ beta, -30, 30)
        mu = np.exp(eta)
        w = prior * mu
        z = eta + (y - mu) / mu
        xtw = x.T * w
        new = _inverse(xtw @ x) @ (xtw @ z)
        if np.max(np.abs(new - beta)) < 1e-8:
            beta = new
            break
        beta = new
    mu = np.exp(np.clip(x @ beta, -30, 30))
    w = prior * mu
    cov = _inverse((x.T * w) @ x)
    hat = np.einsum("ij,jk,ik->i", x, cov, x) * w
    df = max(y.size - x.shape[1], 1)
    pearson = float(np.sum(prior * (y - mu) ** 2 / mu))
    phi = max(1.0, pearson / df)  # Farrington: never assume less dispersion than Poisson
    return _PoissonFit(beta=beta, mu=mu, phi=phi, cov_unscaled=cov, hat=hat)


def _anscombe(y: FloatArray, fit: _PoissonFit) -> FloatArray:
    """Standardised Anscombe residuals of a quasi-Poisson fit (Farrington et al. 1996, section 3.3)."""
    leverage = np.clip(fit.hat, 0.0, 0.999)
    mu = fit.mu
    return 1.5 * (y ** (2 / 3) - mu ** (2 / 3)) / (mu ** (1 / 6) * np.sqrt(fit.phi * (1 - leverage)))


def farrington(y: FloatArray, years: int = 3, half_window: int = 3, alpha: float = 0.05,
               reweight_above: float = 1.0, min_recent: float = 5.0, recent_weeks: int = 4,
               trend_p: float = 0.05, evaluate: tuple[int, int] | None = None) -> Detection:
    """Farrington-style detector (Farrington et al. 1996; Noufaily et al. 2013).

    Reference values: weeks t - 52 i + j for i = 1..years, j = -half_window..half_window. Fit
    log mu = a (+ b * time) by quasi-Poisson; keep the trend only if it is significant at `trend_p`, at
    least 3 years are used, and the prediction does not exceed every reference value (the paper's guard
    against extrapolation). Down-weight reference weeks whose Anscombe residual exceeds `reweight_above`
    (1 in the paper; Noufaily et al. suggest 2.58) with weights proportional to residual^-2, refit.
    Upper limit (of a two-sided 100(1 - alpha)% interval) from the 2/3-power transformation, which makes Poisson-like counts nearly normal:
    U = (mu0^(2/3) + z_{1-alpha/2} * sqrt(4/9 * mu0^(1/3) * (phi + var(mu0_hat) / mu0)))^(3/2).
    Like the paper, no alarm when the last `recent_weeks` weeks hold fewer than `min_recent` cases
    (set min_recent = 0 for rates and proportions).
    """
    from statistics import NormalDist

    # the paper's limit is the upper end of a two-sided 100(1 - alpha)% prediction interval
    z = NormalDist().inv_cdf(1 - alpha / 2)
    n = y.size
    alarms, threshold, evaluated = _empty(n)
    offsets = [52 * i - j for i in range(1, years + 1) for j in range(-half_window, half_window + 1)]
    for t in _range(n, evaluate):
        if np.isnan(y[t]) or t - max(offsets) < 0:
            continue
        ref_times = np.array([t - o for o in offsets], dtype=np.float64)
        ref = y[ref_times.astype(int)]
        keep = ~np.isnan(ref)
        if keep.sum() < 3:
            continue
        ref_times, ref = ref_times[keep], ref[keep]
        fit, x, x0 = None, None, None
        for with_trend in ((True, False) if years >= 3 else (False,)):
            x = np.column_stack([np.ones_like(ref_times), ref_times - t]) if with_trend else np.ones((ref.size, 1))
            x0 = np.array([1.0, 0.0]) if with_trend else np.array([1.0])
            fit = _quasi_poisson(x, ref, np.ones(ref.size))
            # down-weight past outbreaks, then refit (weights sum to the number of reference values)
            resid = _anscombe(ref, fit)
            raw = np.where(resid > reweight_above, 1.0 / np.maximum(resid, 1e-9) ** 2, 1.0)
            weights = raw * ref.size / raw.sum()
            fit = _quasi_poisson(x, ref, weights)
            if not with_trend:
                break
            se_b = math.sqrt(fit.phi * fit.cov_unscaled[1, 1])
            significant = se_b > 0 and abs(fit.beta[1]) / se_b > NormalDist().inv_cdf(1 - trend_p / 2)
            mu0 = math.exp(min(max(float(x0 @ fit.beta), -30.0), 30.0))
            if significant and mu0 <= float(ref.max()):
                break
        assert fit is not None and x0 is not None
        mu0 = math.exp(min(max(float(x0 @ fit.beta), -30.0), 30.0))
        var_mu0 = mu0 ** 2 * fit.phi * float(x0 @ fit.cov_unscaled @ x0)  # delta method on the log link
        tau = fit.phi + var_mu0 / max(mu0, 1e-12)
        upper = (mu0 ** (2 / 3) + z * math.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)) ** 1.5
        threshold[t] = upper
        evaluated[t] = True
        recent = y[max(t - recent_weeks + 1, 0):t + 1]
        if min_recent > 0 and float(np.nansum(recent)) < min_recent:
            continue
        alarms[t] = y[t] > upper
    return Detection(method="Farrington", alarms=alarms, threshold=threshold, evaluated=evaluated)


@dataclass(frozen=True)
class MethodSpec:
    """A detector with its parameters, as chosen in the lab or the benchmark."""

    name: str  # one of METHODS
    params: dict[str, float] = field(default_factory=dict)

    def run(self, y: FloatArray, evaluate: tuple[int, int] | None = None) -> Detection:
        return METHODS[self.name].run(y, self.params, evaluate)

    @property
    def history_needed(self) -> int:
        return METHODS[self.name].history(self.params)


@dataclass(frozen=True)
class MethodInfo:
    label: str
    run: Callable[[FloatArray, dict[str, float], tuple[int, int] | None], Detection]
    history: Callable[[dict[str, float]], int]
    params: dict[str, tuple[float, float, float, str]]  # name -> (default, min, max, what it is)


def _int(params: dict[str, float], name: str, default: int) -> int:
    return int(params.get(name, default))


METHODS: dict[str, MethodInfo] = {
    "C1": MethodInfo("EARS C1", lambda y, p, e: ears(y, "C1", p.get("k", 3.0), _int(p, "baseline", 7), e),
                     lambda p: _int(p, "baseline", 7),
                     {"k": (3.0, 0.5, 10.0, "threshold in SDs"), "baseline": (7, 3, 52, "baseline weeks")}),
    "C2": MethodInfo("EARS C2", lambda y, p, e: ears(y, "C2", p.get("k", 3.0), _int(p, "baseline", 7), e),
                     lambda p: _int(p, "baseline", 7) + 2,
                     {"k": (3.0, 0.5, 10.0, "threshold in SDs"), "baseline": (7, 3, 52, "baseline weeks")}),
    "C3": MethodInfo("EARS C3", lambda y, p, e: ears(y, "C3", p.get("k", 2.0), _int(p, "baseline", 7), e),
                     lambda p: _int(p, "baseline", 7) + 4,
                     {"k": (2.0, 0.5, 10.0, "threshold on the 3-week sum"), "baseline": (7, 3, 52, "baseline weeks")}),
    "CUSUM": MethodInfo("CUSUM", lambda y, p, e: cusum(y, p.get("k", 0.5), p.get("h", 4.0),
                                                        _int(p, "baseline", 28), 2, e),
                        lambda p: _int(p, "baseline", 28) + 2,
                        {"k": (0.5, 0.0, 3.0, "reference value k in SDs"), "h": (4.0, 0.5, 20.0, "decision limit h"),
                         "baseline": (28, 4, 104, "baseline weeks")}),
    "Serfling": MethodInfo("Serfling regression",
                           lambda y, p, e: serfling(y, _int(p, "years", 3), p.get("alpha", 0.05), 2, 0, 2.5, e),
                           lambda p: int(round(_int(p, "years", 3) * WEEKS_PER_YEAR)),
                           {"years": (3, 2, 10, "years of history"), "alpha": (0.05, 0.001, 0.5, "alpha")}),
    "Farrington": MethodInfo("Farrington-style",
                             lambda y, p, e: farrington(y, _int(p, "years", 3), _int(p, "half_window", 3),
                                                        p.get("alpha", 0.05), 1.0, p.get("min_recent", 5.0), 4,
                                                        0.05, e),
                             lambda p: 52 * _int(p, "years", 3) + _int(p, "half_window", 3),
                             {"years": (3, 1, 10, "years of history (b)"), "half_window": (3, 0, 6, "window half-width (w)"),
                              "alpha": (0.05, 0.001, 0.5, "alpha"),
                              "min_recent": (5.0, 0.0, 100.0, "cases needed in the last 4 weeks")}),
}


# ------------------------------------------------------------------------------------------- injection


SHAPES = ("spike", "ramp", "lognormal")


def outbreak_profile(shape: str, duration: int) -> FloatArray:
    """Share of the outbreak's cases in each of its weeks (sums to 1).

    spike: flat block (duration 1 = a one-week spike); ramp: linearly rising; lognormal: the right-skewed
    epidemic curve of a point-source outbreak (Sartwell 1950; used for simulated outbreaks by Noufaily
    et al. 2013), median at about a third of the duration.
    """
    if duration < 1:
        raise ValueError("duration must be at least 1 week")
    if shape == "spike":
        weights = np.ones(duration)
    elif shape == "ramp":
        weights = np.arange(1, duration + 1, dtype=np.float64)
    elif shape == "lognormal":
        edges = np.arange(duration + 1, dtype=np.float64)
        median, sigma = max(duration / 3.0, 0.5), 0.6
        cdf = np.array([NORMAL.cdf((math.log(e) - math.log(median)) / sigma) if e > 0 else 0.0 for e in edges])
        weights = np.diff(cdf)
        weights[-1] += 1.0 - cdf[-1]  # the tail beyond the window lands in the last week
    else:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    return weights / weights.sum()


NORMAL = statistics.NormalDist()


@dataclass(frozen=True)
class Injection:
    values: FloatArray  # the series with the outbreak added
    added: FloatArray  # what was added each week (0 outside the outbreak)
    start: int
    duration: int
    total: float


def baseline_sd(y: FloatArray, start: int, weeks: int = 52) -> float:
    window = y[max(start - weeks, 0):start]
    window = window[~np.isnan(window)]
    return float(window.std(ddof=1)) if window.size > 1 else 0.0


def inject_outbreak(y: FloatArray, start: int, duration: int, size: float, shape: str = "lognormal",
                    size_unit: str = "cases", seed: int = 0, integer: bool | None = None) -> Injection:
    """Add a synthetic outbreak to a real baseline.

    size_unit "cases": `size` extra cases in total; "sd": the outbreak's peak week adds `size` baseline
    SDs (SD of the 52 weeks before the start). Count series get whole cases spread over the weeks by a
    seeded multinomial draw around the shape (so the total is exact); rates get the exact profile.
    Weeks with no report receive nothing; their share goes to the reported weeks.
    """
    n = y.size
    if not 0 <= start < n:
        raise ValueError(f"start must be a week index from 0 to {n - 1}")
    if duration < 1 or start + duration > n:
        raise ValueError(f"duration must be 1 to {n - start} weeks from that start")
    if size < 0:
        raise ValueError("size must be >= 0")
    profile = outbreak_profile(shape, duration)
    observed = ~np.isnan(y[start:start + duration])
    if not observed.any():
        raise ValueError("every week of that outbreak window is unreported")
    profile = np.where(observed, profile, 0.0)
    profile /= profile.sum()
    if size_unit == "cases":
        total = size
    elif size_unit == "sd":
        total = size * baseline_sd(y, start) / float(profile.max())
    else:
        raise ValueError("size_unit must be 'cases' or 'sd'")
    if integer is None:
        observed_values = y[~np.isnan(y)]
        integer = bool(observed_values.size) and bool(np.all(observed_values == np.round(observed_values)))
    added = np.zeros(n)
    if integer:
        total = float(round(total))
        rng = np.random.default_rng(seed)
        added[start:start + duration] = rng.multinomial(int(total), profile)
    else:
        added[start:start + duration] = total * profile
    values = y + np.where(np.isnan(y), 0.0, added)
    return Injection(values=values, added=added, start=start, duration=duration, total=total)


# ------------------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class InjectionOutcome:
    detected: bool
    delay: int | None  # weeks from the outbreak's first week to the first alarm inside it


def injection_outcome(detection: Detection, start: int, duration: int) -> InjectionOutcome:
    hits = np.flatnonzero(detection.alarms[start:start + duration])
    return InjectionOutcome(detected=bool(hits.size), delay=int(hits[0]) if hits.size else None)


@dataclass(frozen=True)
class InjectionSummary:
    method: str
    label: str
    runs: int
    sensitivity: float  # share of injected outbreaks with at least one alarm during the outbreak
    median_delay: float | None  # weeks, over detected outbreaks
    false_alarms_per_year: float  # alarms on the un-injected series over the same evaluated weeks
    evaluated_weeks: int


def alarms_per_year(detection: Detection, lo: int = 0, hi: int | None = None,
                    exclude: BoolArray | None = None) -> float:
    hi = detection.alarms.size if hi is None else hi
    evaluated = detection.evaluated[lo:hi].copy()
    alarms = detection.alarms[lo:hi] & evaluated
    if exclude is not None:
        evaluated &= ~exclude[lo:hi]
        alarms &= ~exclude[lo:hi]
    weeks = int(evaluated.sum())
    return float(alarms.sum()) / weeks * WEEKS_PER_YEAR if weeks else float("nan")


def evaluate_injections(y: FloatArray, methods: Sequence[MethodSpec], seeds: int = 200, size: float = 3.0,
                        size_unit: str = "sd", shape: str = "lognormal", duration: int = 6, first_seed: int = 0,
                        warmup: int = 8) -> list[InjectionSummary]:
    """Inject one outbreak per seed at a seeded random start (the same starts for every method, after
    the longest history any method needs) and summarise each method; false alarms come from the
    un-injected series over the weeks where injections could start."""
    n = y.size
    earliest = max(m.history_needed for m in methods) + 1
    latest = n - duration
    if latest <= earliest:
        raise ValueError(f"series too short: {n} weeks, the methods need {earliest} weeks of history "
                         f"plus {duration} outbreak weeks")
    # starts whose whole outbreak window was reported (gaps such as ILINet's old off-season weeks excluded)
    reported = ~np.isnan(y)
    starts = [t for t in range(earliest, latest + 1) if reported[t:t + duration].all()]
    if not starts:
        raise ValueError("no outbreak window after the methods' history is fully reported")
    rng = np.random.default_rng(first_seed)
    plans = []
    for seed in range(first_seed, first_seed + seeds):
        start = int(starts[int(rng.integers(len(starts)))])
        plans.append(inject_outbreak(y, start, duration, size, shape, size_unit, seed=seed))
    summaries = []
    for method in methods:
        baseline = method.run(y, (earliest - warmup, n))
        outcomes = []
        for plan in plans:
            detection = method.run(plan.values, (plan.start - warmup, plan.start + plan.duration))
            outcomes.append(injection_outcome(detection, plan.start, plan.duration))
        delays = [o.delay for o in outcomes if o.delay is not None]
        summaries.append(InjectionSummary(
            method=method.name, label=METHODS[method.name].label, runs=len(outcomes),
            sensitivity=sum(o.detected for o in outcomes) / len(outcomes),
            median_delay=float(statistics.median(delays)) if delays else None,
            false_alarms_per_year=alarms_per_year(baseline, earliest, n),
            evaluated_weeks=int(baseline.evaluated[earliest:n].sum())))
    return summaries


@dataclass(frozen=True)
class LabelledScore:
    tp: int
    fp: int
    tn: int
    fn: int
    lags: tuple[int, ...]

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")

    @property
    def mean_lag(self) -> float:
        return float(np.mean(self.lags)) if self.lags else float("nan")

    def __add__(self, other: "LabelledScore") -> "LabelledScore":
        return LabelledScore(self.tp + other.tp, self.fp + other.fp, self.tn + other.tn, self.fn + other.fn,
                             self.lags + other.lags)


def outbreak_runs(labels: Sequence[int] | BoolArray) -> list[tuple[int, int]]:
    """(first week, length) of every run of consecutive labelled weeks."""
    runs, start = [], None
    flags = [bool(v) for v in labels]
    for i, flag in enumerate(flags + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def score_against_labels(alarms: BoolArray, labels: Sequence[int] | BoolArray, penalty: int = 20) -> LabelledScore:
    """Per-week confusion counts and the lag of each labelled outbreak.

    Lag as in the R package's algo.quality: weeks from an outbreak's first week to the first alarm at or
    after it, capped at `penalty` weeks when no alarm comes (so missed outbreaks count, not vanish)."""
    alarm = np.asarray(alarms, dtype=bool)
    truth = np.asarray(labels, dtype=bool)
    if alarm.shape != truth.shape:
        raise ValueError("alarms and labels must cover the same weeks")
    lags = []
    for start, _length in outbreak_runs(truth):
        later = np.flatnonzero(alarm[start:start + penalty])
        lags.append(int(later[0]) if later.size else penalty)
    return LabelledScore(tp=int(np.sum(alarm & truth)), fp=int(np.sum(alarm & ~truth)),
                         tn=int(np.sum(~alarm & ~truth)), fn=int(np.sum(~alarm & truth)), lags=tuple(lags))


# Published reference (R package surveillance, vignette "Getting started with outbreak detection",
# Höhle, Riebler & Paul 2007; quoted in the shared data README): the 14 RKI series, alpha = 0.05.
PUBLISHED_RKI = {
    "rki(6,6,0)": (0.174, 0.977, 5.43),
    "bayes(4,0,2)": (0.537, 0.926, 1.93),
    "cdc(4*,0,5)": (0.298, 0.965, 7.14),
    "farrington(3,0,5)": (0.197, 0.974, 4.79),
}
# The vignette's Farrington setting that reproduces its table (TP 43, FP 71): b = 5 years, w = 3, alpha = 0.05
# and Farrington's rule of at least 5 cases in the past 4 weeks (R's limit54 default).
RKI_FARRINGTON_PARAMS = {"years": 5.0, "half_window": 3.0, "alpha": 0.05, "min_recent": 5.0}
RKI_SERIES = ("m1", "m2", "m3", "m4", "m5", "q1_nrwh", "q2", "s1", "s2", "s3", "k1", "n1", "n2", "h1_nrwrp")


def evaluate_labelled(series: Sequence[WeeklySeries], methods: Sequence[MethodSpec],
                      copies: int = 2) -> dict[str, LabelledScore]:
    """The vignette's protocol: each series is lengthened by prepending `copies` copies of its first 208
    weeks (4 years of 52) so that detectors have history, then scored on the original weeks only."""
    scores: dict[str, LabelledScore] = {}
    for s in series:
        if s.outbreak is None:
            raise ValueError(f"{s.key} has no outbreak labels")
        y = s.array()
        head = y[:min(208, y.size)]
        extended = np.concatenate([head] * copies + [y])
        offset = head.size * copies
        for method in methods:
            detection = method.run(extended, (offset, extended.size))
            score = score_against_labels(detection.alarms[offset:], s.outbreak)
            scores[method.name] = scores[method.name] + score if method.name in scores else score
    return scores


def default_methods(count_series: bool = True) -> list[MethodSpec]:
    """Every method with its default parameters; the Farrington recent-cases rule only for counts."""
    specs = []
    for name, info in METHODS.items():
        params = {p: default for p, (default, *_rest) in info.params.items()}
        if name == "Farrington" and not count_series:
            params["min_recent"] = 0.0
        specs.append(MethodSpec(name, params))
    return specs


__all__ = [
    "Detection", "Injection", "InjectionSummary", "LabelledScore", "METHODS", "MethodSpec", "PUBLISHED_RKI",
    "RKI_FARRINGTON_PARAMS", "RKI_SERIES", "SHAPES", "SeriesFormatError", "WeeklySeries", "cusum", "default_methods", "ears",
    "evaluate_injections", "evaluate_labelled", "farrington", "inject_outbreak", "injection_outcome",
    "outbreak_profile", "outbreak_runs", "read_catalogue", "read_series_file", "score_against_labels", "serfling",
]
