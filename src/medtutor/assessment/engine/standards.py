"""Standard setting: turning judges' views and score data into a pass mark.

- **Modified Angoff** (Angoff 1971; the "modified" form asks for probabilities rather than yes/no):
  each judge rates, for every item, the probability that a *borderline* (minimally competent)
  candidate answers it correctly. A judge's cut score is the sum of their ratings; the panel's cut is
  the mean over judges. The spread across judges (SD, range, and the standard error of the mean cut,
  SD / sqrt(judges)) shows how far the panel agreed; items the judges disagree on most are listed.
- **Hofstee** (Hofstee 1983): the panel states the lowest and highest acceptable cut score (percent
  correct) and the lowest and highest acceptable fail rate. The line from (lowest cut, highest fail
  rate) to (highest cut, lowest fail rate) is intersected with the observed fail-rate curve F(c), the
  share of candidates scoring below c. If the curve never reaches the line inside the box, there is no
  compromise: the cut is set at the nearer corner and reported as such.

See Cizek & Bunch, *Standard Setting* (2007), ch. 6 (Angoff) and ch. 13 (Hofstee); De Champlain,
"Standard setting methods in medical education", in *Understanding Medical Education* (2014).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["AngoffResult", "HofsteeResult", "StandardSettingError", "angoff", "fail_rate", "hofstee"]


class StandardSettingError(ValueError):
    """Ratings or bounds that cannot give a cut score; the message says which and why."""


@dataclass(frozen=True, slots=True)
class AngoffItem:
    index: int        # 0-based item position
    mean: float       # mean rating across judges
    sd: float


@dataclass(frozen=True, slots=True)
class AngoffResult:
    n_items: int
    judges: tuple[str, ...]
    judge_cuts: tuple[float, ...]     # raw score (sum of ratings) per judge
    cut_raw: float                    # mean of the judges' cuts
    cut_percent: float
    sd_raw: float                     # SD of the judges' cuts (n - 1)
    se_raw: float                     # SD / sqrt(judges): the panel's sampling error
    min_raw: float
    max_raw: float
    items: tuple[AngoffItem, ...]

    @property
    def most_disputed(self) -> tuple[AngoffItem, ...]:
        """Items with the widest disagreement, widest first (up to five)."""
        return tuple(sorted(self.items, key=lambda item: -item.sd)[:5])


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def angoff(ratings: Mapping[str, Sequence[float]]) -> AngoffResult:
    """`ratings`: judge -> one probability (0..1) per item, every judge rating every item."""
    if not ratings:
        raise StandardSettingError("no ratings: each judge needs one rating per item")
    judges = tuple(ratings)
    lengths = {len(ratings[j]) for j in judges}
    if len(lengths) != 1:
        raise StandardSettingError(
            "every judge must rate every item: " + ", ".join(f"{j} rated {len(ratings[j])}" for j in judges))
    n_items = lengths.pop()
    if n_items == 0:
        raise StandardSettingError("there are no items to rate")
    for judge in judges:
        for i, value in enumerate(ratings[judge]):
            if not isinstance(value, int | float) or math.isnan(value) or not 0.0 <= value <= 1.0:
                raise StandardSettingError(f"judge {judge}, item {i + 1}: a rating must be a probability "
                                           f"between 0 and 1, got {value!r}")
    cuts = tuple(float(sum(ratings[j])) for j in judges)
    items = tuple(AngoffItem(i, sum(ratings[j][i] for j in judges) / len(judges), _sd([ratings[j][i] for j in judges]))
                  for i in range(n_items))
    cut = sum(cuts) / len(cuts)
    sd = _sd(cuts)
    return AngoffResult(n_items, judges, cuts, cut, 100.0 * cut / n_items, sd, sd / math.sqrt(len(cuts)),
                        min(cuts), max(cuts), items)


def fail_rate(scores: Sequence[float], cut: float) -> float:
    """Share of scores strictly below the cut (a score equal to the cut passes)."""
    return sum(1 for s in scores if s < cut) / len(scores) if scores else 0.0


@dataclass(frozen=True, slots=True)
class HofsteeResult:
    cut_percent: float
    fail_rate: float          # observed at the cut
    intersects: bool
    note: str
    curve: tuple[tuple[float, float], ...]  # (cut %, fail rate) across the box, for the table and chart
    n_scores: int


def hofstee(scores_percent: Sequence[float], *, min_cut: float, max_cut: float, min_fail: float,
            max_fail: float, step: float = 0.5) -> HofsteeResult:
    """Hofstee compromise cut (percent correct) from the panel's bounds and the observed scores (percent).

    Fail rates are fractions in [0, 1]. The cut is the lowest grid point in [min_cut, max_cut] (step
    0.5 points) where the observed fail rate reaches the panel's line.
    """
    if not scores_percent:
        raise StandardSettingError("no submitted scores yet: Hofstee needs the exam's score distribution")
    if not 0 <= min_cut < max_cut <= 100:
        raise StandardSettingError("cut bounds: need 0 <= lowest acceptable cut < highest acceptable cut <= 100")
    if not 0 <= min_fail < max_fail <= 1:
        raise StandardSettingError("fail-rate bounds: need 0 <= lowest acceptable fail rate < highest <= 100%")
    if any(not 0 <= s <= 100 for s in scores_percent):
        raise StandardSettingError("scores must be percentages between 0 and 100")

    def line(c: float) -> float:
        return max_fail - (max_fail - min_fail) * (c - min_cut) / (max_cut - min_cut)

    steps = int(round((max_cut - min_cut) / step))
    grid = [min_cut + k * (max_cut - min_cut) / steps for k in range(steps + 1)] if steps else [min_cut, max_cut]
    curve = tuple((c, fail_rate(scores_percent, c)) for c in grid)
    if curve[0][1] > max_fail + 1e-12:
        return HofsteeResult(min_cut, curve[0][1], False,
                             "no intersection: even the lowest acceptable cut fails more candidates than the "
                             "highest acceptable fail rate, so the cut is set at the lowest acceptable cut", curve,
                             len(scores_percent))
    for c, f in curve:
        if f >= line(c) - 1e-12:
            return HofsteeResult(round(c, 2), f, True, "the fail-rate curve meets the panel's line here", curve,
                                 len(scores_percent))
    # The curve stays under the line: even the highest acceptable cut fails fewer than the panel expects.
    c = max_cut
    return HofsteeResult(c, fail_rate(scores_percent, c), False,
                         "no intersection: even the highest acceptable cut fails fewer candidates than the "
                         "panel's line, so the cut is set at the highest acceptable cut", curve, len(scores_percent))
