"""Classical item analysis of a response matrix: item statistics, distractors, flags and reliability.

Input is plain data: one row per attempt, one column per item, each cell the authored option index the
student chose (None when unanswered, which scores 0). Every statistic that cannot be computed (too few
attempts, no variance) is None, and `reasons` says why; nothing here divides by zero.

Conventions, stated once so the numbers can be checked by hand:
* variances and SDs are population ones (divide by n), as KR-20's p·q requires;
* item SD is sqrt(p·q);
* the point-biserial and the option correlations are Pearson correlations with the *rest* score
  (the total without this item), so an item does not correlate with itself;
* the upper and lower groups are the top and bottom round(27% of n) attempts by total score (at least
  one each); ties keep the input order, which the caller makes deterministic;
* discriminative efficiency is the discrimination index divided by the largest index possible for an
  item answered correctly by that many attempts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["FLAG_NON_DISCRIMINATING", "FLAG_POSSIBLY_MISKEYED", "FLAG_TOO_EASY", "FLAG_TOO_HARD", "ItemStats",
           "OptionStats", "TestStats", "analyse", "pearson"]

FLAG_POSSIBLY_MISKEYED = "possibly miskeyed"
FLAG_NON_DISCRIMINATING = "non-discriminating"
FLAG_TOO_EASY = "too easy"
FLAG_TOO_HARD = "too hard"

NON_DISCRIMINATING_BELOW = 0.15
TOO_EASY_ABOVE = 0.95
TOO_HARD_BELOW = 0.2
GROUP_FRACTION = 0.27
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class OptionStats:
    index: int              # authored option index
    is_key: bool
    count: int
    proportion: float | None
    rest_correlation: float | None

    @property
    def letter(self) -> str:
        return _letter(self.index)


@dataclass(frozen=True, slots=True)
class ItemStats:
    label: str
    key_index: int
    n: int
    facility: float | None
    sd: float | None
    discrimination: float | None
    point_biserial: float | None
    efficiency: float | None
    options: tuple[OptionStats, ...]
    omitted: int
    flags: tuple[str, ...]
    reasons: dict[str, str] = field(default_factory=dict)   # statistic name -> why it is None

    @property
    def key_letter(self) -> str:
        return _letter(self.key_index)


@dataclass(frozen=True, slots=True)
class TestStats:
    n: int
    k: int
    mean: float | None
    sd: float | None
    alpha: float | None
    kr20: float | None
    sem: float | None
    reasons: dict[str, str] = field(default_factory=dict)


def _letter(index: int) -> str:
    return chr(ord("A") + index) if 0 <= index < 26 else str(index + 1)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _pvar(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when there are fewer than two pairs or either side has no variance."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs two sequences of the same length")
    n = len(xs)
    if n < 2:
        return None
    mx, my = _mean(xs), _mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= _EPS or syy <= _EPS:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


def _group_size(n: int) -> int:
    return max(1, min(n // 2, round(GROUP_FRACTION * n)))


def analyse(responses: Sequence[Sequence[int | None]], keys: Sequence[int], option_counts: Sequence[int],
            labels: Sequence[str] | None = None) -> tuple[list[ItemStats], TestStats]:
    """Item statistics (in column order) and test statistics for a response matrix."""
    k = len(keys)
    if len(option_counts) != k:
        raise ValueError("keys and option_counts must have one entry per item")
    labels = list(labels) if labels is not None else [str(j + 1) for j in range(k)]
    if len(labels) != k:
        raise ValueError("labels must have one entry per item")
    for j, (key, count) in enumerate(zip(keys, option_counts, strict=True)):
        if count < 1 or not 0 <= key < count:
            raise ValueError(f"item {labels[j]}: key {key} is not one of its {count} options")
    rows = [list(row) for row in responses]
    for i, row in enumerate(rows):
        if len(row) != k:
            raise ValueError(f"attempt {i}: {len(row)} answers for {k} items")
        for j, chosen in enumerate(row):
            if chosen is not None and not 0 <= chosen < option_counts[j]:
                raise ValueError(f"attempt {i}, item {labels[j]}: option {chosen} does not exist")
    n = len(rows)
    scores = [[1 if row[j] == keys[j] else 0 for j in range(k)] for row in rows]
    totals = [sum(s) for s in scores]
    items = [_item(j, labels[j], keys[j], option_counts[j], rows, scores, totals) for j in range(k)]
    return items, _test(n, k, scores, totals)


def _item(j: int, label: str, key: int, n_options: int, rows: list[list[int | None]], scores: list[list[int]],
          totals: list[int]) -> ItemStats:
    n = len(rows)
    reasons: dict[str, str] = {}
    x = [s[j] for s in scores]
    rest = [t - xi for t, xi in zip(totals, x, strict=True)]
    chosen = [row[j] for row in rows]
    omitted = sum(1 for c in chosen if c is None)
    counts = [sum(1 for c in chosen if c == o) for o in range(n_options)]

    facility = sd = discrimination = point_biserial = efficiency = None
    if n == 0:
        for name in ("facility", "sd", "discrimination", "point_biserial", "efficiency"):
            reasons[name] = "no submitted attempts"
    else:
        facility = sum(x) / n
        sd = math.sqrt(facility * (1 - facility))
    if n == 1:
        for name in ("discrimination", "point_biserial", "efficiency"):
            reasons[name] = "needs at least two attempts"
    elif n >= 2:
        discrimination, efficiency, why = _discrimination(x, totals)
        if why:
            reasons["efficiency"] = why
        point_biserial = pearson(x, rest)
        if point_biserial is None:
            reasons["point_biserial"] = _no_variance_reason(x, rest, "everyone scored the same on this item")

    options = []
    for o in range(n_options):
        indicator = [1 if c == o else 0 for c in chosen]
        r = pearson(indicator, rest) if n >= 2 else None
        options.append(OptionStats(index=o, is_key=o == key, count=counts[o],
                                   proportion=counts[o] / n if n else None, rest_correlation=r))

    flags = []
    key_r = options[key].rest_correlation
    if any(opt.rest_correlation is not None and opt.rest_correlation > 0 and not opt.is_key
           and (key_r is None or opt.rest_correlation > key_r) for opt in options):
        flags.append(FLAG_POSSIBLY_MISKEYED)
    if point_biserial is not None and point_biserial < NON_DISCRIMINATING_BELOW:
        flags.append(FLAG_NON_DISCRIMINATING)
    if facility is not None and facility > TOO_EASY_ABOVE:
        flags.append(FLAG_TOO_EASY)
    if facility is not None and facility < TOO_HARD_BELOW:
        flags.append(FLAG_TOO_HARD)
    return ItemStats(label=label, key_index=key, n=n, facility=facility, sd=sd, discrimination=discrimination,
                     point_biserial=point_biserial, efficiency=efficiency, options=tuple(options), omitted=omitted,
                     flags=tuple(flags), reasons=reasons)


def _no_variance_reason(x: Sequence[int], rest: Sequence[int], item_reason: str) -> str:
    if _pvar(x) <= _EPS:
        return item_reason
    return "the rest scores do not vary"


def _discrimination(x: list[int], totals: list[int]) -> tuple[float, float | None, str]:
    """Upper minus lower group facility, and that as a share of the most the facility allows."""
    n = len(x)
    g = _group_size(n)
    order = sorted(range(n), key=lambda i: -totals[i])   # stable: ties keep input order
    upper, lower = order[:g], order[n - g:]
    d = (sum(x[i] for i in upper) - sum(x[i] for i in lower)) / g
    correct = sum(x)
    d_max = (min(correct, g) - max(0, correct - (n - g))) / g
    if d_max <= _EPS:
        return d, None, "everyone scored the same on this item, so no discrimination is possible"
    return d, d / d_max, ""


def _test(n: int, k: int, scores: list[list[int]], totals: list[int]) -> TestStats:
    reasons: dict[str, str] = {}
    if n == 0:
        why = "no submitted attempts"
        return TestStats(n=0, k=k, mean=None, sd=None, alpha=None, kr20=None, sem=None,
                         reasons={name: why for name in ("mean", "sd", "alpha", "kr20", "sem")})
    mean = _mean(totals)
    var_total = _pvar(totals)
    sd = math.sqrt(var_total)
    alpha = kr20 = sem = None
    if n < 2:
        why = "needs at least two attempts"
    elif k < 2:
        why = "needs at least two items"
    elif var_total <= _EPS:
        why = "total scores do not vary"
    else:
        why = ""
        item_vars = [_pvar([s[j] for s in scores]) for j in range(k)]
        alpha = k / (k - 1) * (1 - sum(item_vars) / var_total)
        pq = 0.0
        for j in range(k):
            p = sum(s[j] for s in scores) / n
            pq += p * (1 - p)
        kr20 = k / (k - 1) * (1 - pq / var_total)
        sem = sd * math.sqrt(max(0.0, 1 - kr20))
    if why:
        reasons.update(alpha=why, kr20=why, sem=why)
    return TestStats(n=n, k=k, mean=mean, sd=sd, alpha=alpha, kr20=kr20, sem=sem, reasons=reasons)
