"""Computerized adaptive testing: choose the next item, decide when to stop, simulate examinees.

Selection is maximum Fisher information at the current ability estimate (Lord 1980), with:

- **content balancing** (Kingsbury & Zara 1989): when targets are given (share of the test per content
  area, e.g. the blueprint's competencies), the next item comes from the area furthest below its
  target share; with no targets every area is open;
- **exposure control**: "randomesque" (Kingsbury & Zara 1989: pick at random among the k most
  informative items) or "sympson-hetter" (Sympson & Hetter 1985: walk down the information order and
  administer item i with probability K_i; K is calibrated by simulation so that no item is seen by
  more than r_max of examinees, see `sympson_hetter_calibrate`), or none;
- **stopping**: the ability's standard error at or under a target once `min_items` are given, or
  `max_items`, or the pool running out.

The ability estimate after each answer is EAP (finite from the first answer on); the SE is its
posterior SD. Everything is deterministic given the random generator passed in.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from medtutor.assessment.engine.irt import AbilityEstimate, ItemParams, eap, information, prob

__all__ = [
    "BankItem", "CatConfig", "CatResult", "CatStep", "Selection", "StopDecision", "choose_next", "content_targets",
    "estimate", "exposure_rates", "linear_form", "rmse_and_bias", "simulate_cat", "simulate_linear",
    "stop_decision", "sympson_hetter_calibrate",
]

EXPOSURE_METHODS = ("none", "randomesque", "sympson-hetter")


@dataclass(frozen=True, slots=True, eq=False)  # identity equality: fast list removal, and ids are unique anyway
class BankItem:
    item_id: Hashable
    params: ItemParams
    content: str = ""  # content area (competency code) for balancing


@dataclass(frozen=True, slots=True)
class CatConfig:
    se_target: float | None = 0.3
    min_items: int = 5
    max_items: int = 30
    exposure: str = "randomesque"
    randomesque_k: int = 5
    # item_id -> probability of administering once selected (Sympson-Hetter); missing ids mean 1.0
    exposure_k: Mapping[Hashable, float] = field(default_factory=dict)
    # content area -> target share of the test; empty: no balancing
    content_targets: Mapping[str, float] = field(default_factory=dict)
    prior_mean: float = 0.0
    prior_sd: float = 1.0

    def __post_init__(self) -> None:
        if self.se_target is not None and not 0.05 <= self.se_target <= 2.0:
            raise ValueError("the SE target must be between 0.05 and 2.0 (or none)")
        if self.min_items < 1 or self.max_items < self.min_items:
            raise ValueError("need 1 <= min_items <= max_items")
        if self.exposure not in EXPOSURE_METHODS:
            raise ValueError(f"exposure must be one of {', '.join(EXPOSURE_METHODS)}")
        if self.randomesque_k < 1:
            raise ValueError("randomesque_k must be at least 1")
        if any(share < 0 for share in self.content_targets.values()):
            raise ValueError("content targets must not be negative")


def content_targets(weights: Mapping[str, float]) -> dict[str, float]:
    """Normalise content weights (e.g. blueprint counts) to shares that sum to 1."""
    total = sum(w for w in weights.values() if w > 0)
    return {area: w / total for area, w in weights.items() if w > 0} if total else {}


def estimate(responses: Sequence[tuple[BankItem, bool]], config: CatConfig) -> AbilityEstimate:
    return eap([correct for _, correct in responses], [item.params for item, _ in responses],
               prior_mean=config.prior_mean, prior_sd=config.prior_sd)


class _Posterior:
    """The EAP of `irt.eap`, updated one answer at a time (O(grid) per answer instead of O(grid x answers))."""

    def __init__(self, config: CatConfig, n_points: int = 81) -> None:
        self.grid = np.linspace(config.prior_mean - 5 * config.prior_sd, config.prior_mean + 5 * config.prior_sd,
                                n_points)
        self.log_post = -0.5 * ((self.grid - config.prior_mean) / config.prior_sd) ** 2
        self.n = 0

    def add(self, params: ItemParams, correct: bool) -> AbilityEstimate:
        p = np.clip(prob(self.grid, params), 1e-12, 1 - 1e-12)
        self.log_post = self.log_post + (np.log(p) if correct else np.log(1 - p))
        self.n += 1
        return self.current()

    def current(self) -> AbilityEstimate:
        w = np.exp(self.log_post - self.log_post.max())
        w /= w.sum()
        mean = float(w @ self.grid)
        return AbilityEstimate(mean, float(math.sqrt(max(w @ (self.grid - mean) ** 2, 1e-12))), "EAP", self.n)


@dataclass(frozen=True, slots=True)
class StopDecision:
    stop: bool
    reason: str  # "se", "max_items", "pool", "" when going on


def stop_decision(n_given: int, se: float, n_available: int, config: CatConfig) -> StopDecision:
    if n_given >= config.max_items:
        return StopDecision(True, "max_items")
    if n_available == 0:
        return StopDecision(True, "pool")
    if config.se_target is not None and n_given >= config.min_items and se <= config.se_target:
        return StopDecision(True, "se")
    return StopDecision(False, "")


def _open_areas(given: Sequence[BankItem], available: Sequence[BankItem], targets: Mapping[str, float]) -> set[str] | None:
    """The content area(s) furthest below target that still have items; None = no balancing."""
    if not targets:
        return None
    present = {item.content for item in available}
    n = len(given) + 1
    counts: dict[str, int] = {}
    for item in given:
        counts[item.content] = counts.get(item.content, 0) + 1
    deficits = {area: share * n - counts.get(area, 0) for area, share in targets.items() if area in present}
    if not deficits:
        return None  # every targeted area is used up: fall back to any item
    best = max(deficits.values())
    return {area for area, deficit in deficits.items() if deficit >= best - 1e-9}


@dataclass(frozen=True, slots=True)
class Selection:
    item: BankItem | None
    refused: tuple[BankItem, ...] = ()  # Sympson-Hetter draws that said no: not offered again to this examinee


def choose_next(theta: float, given: Sequence[BankItem], available: Sequence[BankItem], config: CatConfig,
                rng: np.random.Generator) -> Selection:
    """The next item to give an examinee at ability `theta` (None when nothing is left).

    `available` must exclude what was given and what earlier Sympson-Hetter draws refused.
    """
    areas = _open_areas(given, available, config.content_targets)
    candidates = [item for item in available if areas is None or item.content in areas]
    if not candidates:
        return Selection(None)
    info = information(theta, [item.params for item in candidates])
    order = np.argsort(-info, kind="stable")
    if config.exposure == "randomesque":
        top = order[: config.randomesque_k]
        return Selection(candidates[int(top[rng.integers(len(top))])])
    if config.exposure == "sympson-hetter":
        refused = []
        for index in order:
            item = candidates[int(index)]
            if rng.random() < config.exposure_k.get(item.item_id, 1.0):
                return Selection(item, tuple(refused))
            refused.append(item)
        return Selection(refused[-1], tuple(refused[:-1]))  # every draw said no: the last one is given
    return Selection(candidates[int(order[0])])


@dataclass(frozen=True, slots=True)
class CatStep:
    item_id: Hashable
    correct: bool
    theta: float  # after this answer
    se: float


@dataclass(frozen=True, slots=True)
class CatResult:
    theta: float
    se: float
    steps: tuple[CatStep, ...]
    stop_reason: str

    @property
    def n_items(self) -> int:
        return len(self.steps)


def simulate_cat(true_theta: float, bank: Sequence[BankItem], config: CatConfig, rng: np.random.Generator,
                 *, true_params: Mapping[Hashable, ItemParams] | None = None,
                 selected: dict[Hashable, int] | None = None) -> CatResult:
    """One simulated examinee. Answers come from `true_params` (default: the bank's own parameters),
    so a bank calibrated with error can be tested against the truth that generated the data.
    `selected`, when given, counts every selection including Sympson-Hetter refusals."""
    available = list(bank)
    given: list[BankItem] = []
    steps: list[CatStep] = []
    posterior = _Posterior(config)
    current = posterior.current()
    while True:
        decision = stop_decision(len(given), current.se, len(available), config)
        if decision.stop:
            return CatResult(current.theta, current.se, tuple(steps), decision.reason)
        selection = choose_next(current.theta, given, available, config, rng)
        item = selection.item
        if item is None:
            return CatResult(current.theta, current.se, tuple(steps), "pool")
        for skipped in (*selection.refused, item):
            available.remove(skipped)
            if selected is not None:
                selected[skipped.item_id] = selected.get(skipped.item_id, 0) + 1
        truth = (true_params or {}).get(item.item_id, item.params)
        correct = bool(rng.random() < float(prob(true_theta, truth)))
        given.append(item)
        current = posterior.add(item.params, correct)
        steps.append(CatStep(item.item_id, correct, current.theta, current.se))


def linear_form(bank: Sequence[BankItem], length: int, rng: np.random.Generator,
                targets: Mapping[str, float] | None = None) -> list[BankItem]:
    """A fixed form the way a blueprint exam draws one: random items, in proportion to the content targets."""
    if length > len(bank):
        raise ValueError(f"the bank has {len(bank)} items, fewer than {length}")
    pool = list(bank)
    order = rng.permutation(len(pool))
    shuffled = [pool[i] for i in order]
    if not targets:
        return shuffled[:length]
    form: list[BankItem] = []
    remaining = shuffled
    while len(form) < length:
        areas = _open_areas(form, remaining, targets)
        pick = next(item for item in remaining if areas is None or item.content in areas)
        form.append(pick)
        remaining = [item for item in remaining if item is not pick]
    return form


def simulate_linear(true_theta: float, form: Sequence[BankItem], config: CatConfig, rng: np.random.Generator,
                    *, true_params: Mapping[Hashable, ItemParams] | None = None) -> AbilityEstimate:
    answers = []
    for item in form:
        truth = (true_params or {}).get(item.item_id, item.params)
        answers.append((item, bool(rng.random() < float(prob(true_theta, truth)))))
    return estimate(answers, config)


def exposure_rates(results: Sequence[CatResult], bank: Sequence[BankItem]) -> dict[Hashable, float]:
    """Share of examinees who saw each item."""
    counts = {item.item_id: 0 for item in bank}
    for result in results:
        for step in result.steps:
            counts[step.item_id] += 1
    n = max(len(results), 1)
    return {item_id: count / n for item_id, count in counts.items()}


def sympson_hetter_calibrate(bank: Sequence[BankItem], config: CatConfig, rng: np.random.Generator, *,
                             r_max: float = 0.25, examinees: int = 500, rounds: int = 8) -> dict[Hashable, float]:
    """Exposure parameters K_i by the Sympson-Hetter iterations on simulated N(0, 1) examinees.

    Each round counts how often each item is *selected* (before the K_i draw) and sets
    K_i = min(1, r_max / P(selected)), so that P(administered) = P(selected) K_i <= r_max.
    """
    if not 0 < r_max <= 1:
        raise ValueError("r_max must be in (0, 1]")
    k: dict[Hashable, float] = {item.item_id: 1.0 for item in bank}
    base = {name: getattr(config, name) for name in CatConfig.__dataclass_fields__}
    for _ in range(rounds):
        selected: dict[Hashable, int] = {}
        working = CatConfig(**{**base, "exposure": "sympson-hetter", "exposure_k": dict(k)})
        for theta in rng.normal(0.0, 1.0, examinees):
            simulate_cat(float(theta), bank, working, rng, selected=selected)
        for item in bank:
            rate = selected.get(item.item_id, 0) / examinees
            k[item.item_id] = 1.0 if rate <= r_max else min(1.0, r_max / rate)
    return k


def rmse_and_bias(estimates: Sequence[float], truths: Sequence[float]) -> tuple[float, float]:
    errors = np.asarray(estimates, dtype=float) - np.asarray(truths, dtype=float)
    return float(math.sqrt(np.mean(errors**2))), float(np.mean(errors))
