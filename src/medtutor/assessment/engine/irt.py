"""Item response theory for exams: calibrating items (1PL/2PL/3PL) and estimating abilities.

Why not `learning.engine.kt.IRTTracer`: that is a Rasch model with per-skill offsets fitted by joint
maximum likelihood and updated by a Kalman step, built to *trace* a learner over time. Exam
psychometrics needs item discriminations and guessing, marginal maximum likelihood (so item
estimates stay consistent as the number of examinees grows), standard errors per parameter, item and
test information, and ability estimates (EAP, MAP, MLE) with their standard errors. That is this module.

Model (logistic metric, no 1.7 scaling constant)::

    P(correct | theta) = c + (1 - c) / (1 + exp(-a (theta - b)))

Calibration is Bock & Aitkin's (1981) EM algorithm for marginal maximum likelihood: abilities are
integrated out over a N(0, 1) population on Gauss-Hermite quadrature nodes; the M-step maximises each
item's expected complete-data log-likelihood plus weak priors (BILOG-MG style: log a ~ N(0, 0.5^2),
b ~ N(0, 3^2), c ~ Beta around 1/options), which keep items with extreme or sparse data finite.
Missing responses (items not presented to an examinee) are ignored, which is valid when what was
presented did not depend on the unseen answers (random forms, adaptive tests).

Sample-size rules of thumb (de Ayala, *The Theory and Practice of Item Response Theory*, 2009, ch. 3
and 6; Hulin, Lissak & Drasgow 1982): a few hundred responses per item for the 2PL, around a
thousand for the 3PL, whose guessing parameter is otherwise poorly determined. `calibrate` with
``model="auto"`` applies those thresholds and compares 2PL and 3PL by AIC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

__all__ = [
    "AbilityEstimate", "CalibratedItem", "Calibration", "CalibrationError", "ItemParams", "MIN_RESPONSES",
    "MODEL_VERSION", "calibrate", "eap", "information", "map_estimate", "mle", "prob", "random_bank",
    "simulate_responses", "total_information",
]

MODEL_VERSION = "irt-mml-em-1"
# Responses per item before a model is trusted (see the module docstring for the sources).
MIN_RESPONSES = {"1pl": 50, "2pl": 200, "3pl": 1000}
THETA_BOUND = 4.0  # ability estimates are reported within [-4, 4]


class CalibrationError(ValueError):
    """The data cannot support the requested calibration; the message says why."""


@dataclass(frozen=True, slots=True)
class ItemParams:
    a: float = 1.0  # discrimination
    b: float = 0.0  # difficulty
    c: float = 0.0  # lower asymptote (guessing)

    def __post_init__(self) -> None:
        if not (self.a > 0 and math.isfinite(self.a)):
            raise ValueError(f"discrimination a must be positive, got {self.a}")
        if not math.isfinite(self.b):
            raise ValueError(f"difficulty b must be finite, got {self.b}")
        if not 0.0 <= self.c < 1.0:
            raise ValueError(f"guessing c must be in [0, 1), got {self.c}")


def _arrays(params: Sequence[ItemParams]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([p.a for p in params], dtype=float), np.array([p.b for p in params], dtype=float),
            np.array([p.c for p in params], dtype=float))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def prob(theta: float | np.ndarray, params: ItemParams | Sequence[ItemParams]) -> np.ndarray:
    """P(correct): shape (thetas..., items) for a sequence of items, (thetas...) for one item."""
    single = isinstance(params, ItemParams)
    a, b, c = _arrays([params] if single else params)
    theta_arr = np.asarray(theta, dtype=float)[..., None]
    p = c + (1.0 - c) * _sigmoid(a * (theta_arr - b))
    return p[..., 0] if single else p


def information(theta: float | np.ndarray, params: ItemParams | Sequence[ItemParams]) -> np.ndarray:
    """Fisher information of each item at theta (Birnbaum 1968): a^2 (Q/P) ((P - c)/(1 - c))^2."""
    single = isinstance(params, ItemParams)
    a, b, c = _arrays([params] if single else params)
    theta_arr = np.asarray(theta, dtype=float)[..., None]
    p = np.clip(c + (1.0 - c) * _sigmoid(a * (theta_arr - b)), 1e-12, 1 - 1e-12)
    info = a**2 * ((1.0 - p) / p) * ((p - c) / (1.0 - c)) ** 2
    return info[..., 0] if single else info


def total_information(theta: float | np.ndarray, params: Sequence[ItemParams]) -> np.ndarray:
    return information(theta, params).sum(axis=-1)


# --- ability estimation ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AbilityEstimate:
    theta: float
    se: float
    method: str  # "EAP", "MAP" or "MLE"
    n_items: int
    converged: bool = True
    note: str = ""


def _clean(responses: Sequence[int | bool | None], params: Sequence[ItemParams]) -> tuple[np.ndarray, list[ItemParams]]:
    if len(responses) != len(params):
        raise ValueError(f"{len(responses)} responses for {len(params)} items")
    keep = [i for i, r in enumerate(responses) if r is not None]
    y = np.array([1.0 if responses[i] else 0.0 for i in keep])
    return y, [params[i] for i in keep]


def eap(responses: Sequence[int | bool | None], params: Sequence[ItemParams], *, prior_mean: float = 0.0,
        prior_sd: float = 1.0, n_points: int = 81) -> AbilityEstimate:
    """Expected a posteriori ability and posterior SD (Bock & Mislevy 1982), on a fixed grid.

    Always finite, also for all-correct or all-wrong patterns and with no responses at all (the prior).
    """
    y, used = _clean(responses, params)
    grid = np.linspace(prior_mean - 5 * prior_sd, prior_mean + 5 * prior_sd, n_points)
    log_post = -0.5 * ((grid - prior_mean) / prior_sd) ** 2
    if used:
        p = np.clip(prob(grid, used), 1e-12, 1 - 1e-12)
        log_post = log_post + (np.log(p) @ y + np.log(1 - p) @ (1 - y))
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(w @ grid)
    sd = float(math.sqrt(max(w @ (grid - mean) ** 2, 1e-12)))
    return AbilityEstimate(mean, sd, "EAP", len(used))


def _newton(y: np.ndarray, used: list[ItemParams], start: float, prior: tuple[float, float] | None,
            max_iter: int = 50) -> tuple[float, float, bool]:
    """Maximise log L(theta) (+ normal log prior) by Fisher scoring; returns theta, SE, converged."""
    theta = start
    a, b, c = _arrays(used)
    converged = False
    for _ in range(max_iter):
        s = _sigmoid(a * (theta - b))
        p = np.clip(c + (1 - c) * s, 1e-12, 1 - 1e-12)
        dp = (1 - c) * a * s * (1 - s)
        grad = float(np.sum((y - p) * dp / (p * (1 - p))))
        info = float(np.sum(dp**2 / (p * (1 - p))))
        if prior is not None:
            grad -= (theta - prior[0]) / prior[1] ** 2
            info += 1.0 / prior[1] ** 2
        step = grad / max(info, 1e-9)
        step = max(-1.0, min(1.0, step))
        theta = max(-THETA_BOUND, min(THETA_BOUND, theta + step))
        if abs(step) < 1e-6:
            converged = True
            break
    total_info = float(total_information(theta, used)) + (1.0 / prior[1] ** 2 if prior is not None else 0.0)
    return theta, (1.0 / math.sqrt(total_info) if total_info > 0 else math.inf), converged


def map_estimate(responses: Sequence[int | bool | None], params: Sequence[ItemParams], *, prior_mean: float = 0.0,
                 prior_sd: float = 1.0) -> AbilityEstimate:
    """Maximum a posteriori (Bayes modal) ability; SE from the posterior information."""
    y, used = _clean(responses, params)
    if not used:
        return AbilityEstimate(prior_mean, prior_sd, "MAP", 0)
    theta, se, ok = _newton(y, used, prior_mean, (prior_mean, prior_sd))
    return AbilityEstimate(theta, se, "MAP", len(used), ok)


def mle(responses: Sequence[int | bool | None], params: Sequence[ItemParams]) -> AbilityEstimate:
    """Maximum likelihood ability; SE = 1/sqrt(test information).

    The MLE does not exist for all-correct or all-wrong patterns: the estimate is then the bound
    (+/-4) with an infinite SE and a note, rather than a made-up number.
    """
    y, used = _clean(responses, params)
    if not used:
        return AbilityEstimate(0.0, math.inf, "MLE", 0, False, "no responses")
    if y.min() == y.max():
        bound = THETA_BOUND if y[0] == 1 else -THETA_BOUND
        return AbilityEstimate(bound, math.inf, "MLE", len(used), False,
                               "all answers " + ("correct" if y[0] == 1 else "wrong") + ": the MLE is unbounded")
    theta, se, ok = _newton(y, used, 0.0, None)
    return AbilityEstimate(theta, se, "MLE", len(used), ok)


# --- simulation -----------------------------------------------------------------------------------

def random_bank(n_items: int, rng: np.random.Generator, *, model: str = "2pl", n_options: int = 4) -> list[ItemParams]:
    """A plausible bank: log a ~ N(0.3, 0.3^2) (median a 1.35 in the logistic metric, about 0.8 in the
    normal-ogive one), b ~ N(0, 1), c ~ Beta around 1/options (3PL only)."""
    a = np.exp(rng.normal(0.3, 0.3, n_items))
    b = rng.normal(0.0, 1.0, n_items)
    if model == "3pl":
        guess = 1.0 / n_options
        c = rng.beta(guess * 40, (1 - guess) * 40, n_items)
    else:
        c = np.zeros(n_items)
    return [ItemParams(float(ai), float(bi), float(ci)) for ai, bi, ci in zip(a, b, c, strict=True)]


def simulate_responses(thetas: np.ndarray, params: Sequence[ItemParams], rng: np.random.Generator,
                       *, presented: np.ndarray | None = None) -> np.ndarray:
    """A persons x items matrix of 1.0/0.0 (NaN where `presented` is False)."""
    p = prob(np.asarray(thetas, dtype=float), params)
    y = (rng.random(p.shape) < p).astype(float)
    if presented is not None:
        y[~presented] = np.nan
    return y


# --- calibration ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CalibratedItem:
    params: ItemParams
    se_a: float
    se_b: float
    se_c: float | None  # None where c was fixed at 0
    n_responses: int
    p_correct: float


@dataclass(frozen=True, slots=True)
class Calibration:
    model: str  # "1pl", "2pl" or "3pl"
    items: tuple[CalibratedItem, ...]
    n_persons: int
    n_responses: int
    log_likelihood: float
    bic: float
    iterations: int
    converged: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    version: str = MODEL_VERSION

    @property
    def params(self) -> list[ItemParams]:
        return [item.params for item in self.items]


def _nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for a N(0, 1) ability distribution."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


# Weak priors (BILOG-MG defaults in spirit): they only matter for items with little information.
LOG_A_SD = 0.5
B_SD = 3.0
C_PRIOR_STRENGTH = 20.0


def _unpack(x: np.ndarray, n_items: int, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = x[n_items:2 * n_items]
    log_a = x[:n_items] if model != "1pl" else np.zeros(n_items)
    c = _sigmoid(x[2 * n_items:]) if model == "3pl" else np.zeros(n_items)
    return log_a, b, c


def _objective(x: np.ndarray, nodes: np.ndarray, r: np.ndarray, n: np.ndarray, model: str,
               guess: float) -> tuple[float, np.ndarray]:
    """Negative expected complete-data log-likelihood + negative log priors, and its gradient.

    r[j, q], n[j, q]: expected correct answers and examinees at node q for item j.
    """
    n_items = r.shape[0]
    log_a, b, c = _unpack(x, n_items, model)
    a = np.exp(log_a)[:, None]
    d = nodes[None, :] - b[:, None]
    s = _sigmoid(a * d)
    p = np.clip(c[:, None] + (1 - c[:, None]) * s, 1e-10, 1 - 1e-10)
    ll = float(np.sum(r * np.log(p) + (n - r) * np.log1p(-p)))
    resid = (r - n * p) / (p * (1 - p))  # d ll / d p
    ds = (1 - c[:, None]) * s * (1 - s)   # d p / d z
    grad_b = -np.sum(resid * ds * a, axis=1)
    grads = []
    penalty = np.sum(b**2) / (2 * B_SD**2)
    grad_b_total = grad_b - b / B_SD**2
    if model != "1pl":
        grad_log_a = np.sum(resid * ds * d, axis=1) * a[:, 0] - log_a / LOG_A_SD**2
        penalty += np.sum(log_a**2) / (2 * LOG_A_SD**2)
        grads.append(grad_log_a)
    else:
        grads.append(np.zeros(n_items))
    grads.append(grad_b_total)
    if model == "3pl":
        alpha, beta = guess * C_PRIOR_STRENGTH, (1 - guess) * C_PRIOR_STRENGTH
        penalty -= np.sum((alpha - 1) * np.log(c) + (beta - 1) * np.log1p(-c))
        grad_c = np.sum(resid * (1 - s), axis=1) + (alpha - 1) / c - (beta - 1) / (1 - c)
        grads.append(grad_c * c * (1 - c))
    value = -(ll - penalty)
    return value, -np.concatenate(grads)


def _marginal(y1: np.ndarray, y0: np.ndarray, params: list[ItemParams], nodes: np.ndarray,
              weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Posterior weights of each person over the nodes, and the marginal log-likelihood."""
    p = np.clip(prob(nodes, params), 1e-10, 1 - 1e-10)  # nodes x items
    log_like = y1 @ np.log(p).T + y0 @ np.log1p(-p).T    # persons x nodes
    log_like += np.log(weights)[None, :]
    top = log_like.max(axis=1, keepdims=True)
    like = np.exp(log_like - top)
    total = like.sum(axis=1, keepdims=True)
    return like / total, float(np.sum(np.log(total) + top))


def _fit(y: np.ndarray, model: str, *, n_nodes: int, max_iter: int, tol: float,
         guess: float) -> tuple[list[ItemParams], np.ndarray, float, int, bool]:
    n_persons, n_items = y.shape
    observed = ~np.isnan(y)
    y1 = np.where(observed, np.nan_to_num(y), 0.0)
    y0 = np.where(observed, 1.0 - np.nan_to_num(y), 0.0)
    nodes, weights = _nodes(n_nodes)
    # Start: b from the logit of each item's proportion correct, a = 1, c = 1/options.
    p_item = (y1.sum(0) + 0.5) / (observed.sum(0) + 1.0)
    x = np.concatenate([np.zeros(n_items), -np.log(p_item / (1 - p_item)) * 1.2,
                        np.full(n_items, math.log(guess / (1 - guess))) if model == "3pl" else np.zeros(0)])
    if model == "3pl":
        x[n_items:2 * n_items] -= 0.3  # guessing lifts P, so the difficulty sits a little higher
    params = _params_from(x, n_items, model)
    previous = -math.inf
    converged = False
    iterations = 0
    log_lik = -math.inf
    for iterations in range(1, max_iter + 1):
        post, log_lik = _marginal(y1, y0, params, nodes, weights)
        r = (y1.T @ post)            # items x nodes
        n = (observed.T.astype(float) @ post)
        result = minimize(_objective, x, args=(nodes, r, n, model, guess), jac=True, method="L-BFGS-B",
                          options={"maxiter": 50})
        change = float(np.max(np.abs(result.x - x)))
        x = result.x
        params = _params_from(x, n_items, model)
        if change < tol or abs(log_lik - previous) < 1e-9 * max(1.0, abs(log_lik)):
            converged = True
            break
        previous = log_lik
    post, log_lik = _marginal(y1, y0, params, nodes, weights)
    n = observed.T.astype(float) @ post
    return params, n, log_lik, iterations, converged


def _params_from(x: np.ndarray, n_items: int, model: str) -> list[ItemParams]:
    log_a, b, c = _unpack(x, n_items, model)
    a = np.exp(np.clip(log_a, -4, 2.5))
    return [ItemParams(float(ai), float(bi), float(min(ci, 0.95))) for ai, bi, ci in zip(a, b, c, strict=True)]


def _standard_errors(params: list[ItemParams], n: np.ndarray, nodes: np.ndarray, model: str) -> list[tuple[float, float, float | None]]:
    """SEs from the expected information of each item's parameters given the examinees at each node."""
    out = []
    for j, item in enumerate(params):
        s = _sigmoid(item.a * (nodes - item.b))
        p = np.clip(item.c + (1 - item.c) * s, 1e-10, 1 - 1e-10)
        ds = (1 - item.c) * s * (1 - s)
        columns = [ds * (nodes - item.b)] if model != "1pl" else []
        columns.append(-ds * item.a)
        if model == "3pl":
            columns.append(1 - s)
        g = np.stack(columns)  # params x nodes
        info = (g * (n[j] / (p * (1 - p)))) @ g.T
        if model != "1pl":
            info[0, 0] += 1.0 / (LOG_A_SD * item.a) ** 2  # prior curvature on log a, in the a metric
        try:
            cov = np.linalg.inv(info)
            se = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            se = np.full(len(columns), math.inf)
        if model == "1pl":
            out.append((0.0, float(se[0]), None))
        elif model == "2pl":
            out.append((float(se[0]), float(se[1]), None))
        else:
            out.append((float(se[0]), float(se[1]), float(se[2])))
    return out


def calibrate(responses: np.ndarray, *, model: str = "auto", n_options: int = 4, n_nodes: int = 41,
              max_iter: int = 500, tol: float = 1e-3, min_responses: dict[str, int] | None = None) -> Calibration:
    """Calibrate every item (column) of a persons x items matrix of 1/0 (NaN = not presented).

    ``model``: "1pl", "2pl", "3pl" or "auto" (2PL; 3PL as well where every item has enough responses,
    kept only if its AIC is lower). Raises `CalibrationError` naming the shortfall when an item has
    fewer responses than the chosen model needs (`MIN_RESPONSES`, overridable).
    """
    # One BLAS thread: the products are small, and a thread pool per call is 10-30x slower on a busy host.
    with threadpool_limits(limits=1):
        return _calibrate(responses, model=model, n_options=n_options, n_nodes=n_nodes, max_iter=max_iter, tol=tol,
                          min_responses=min_responses)


def _calibrate(responses: np.ndarray, *, model: str, n_options: int, n_nodes: int, max_iter: int, tol: float,
               min_responses: dict[str, int] | None) -> Calibration:
    y = np.asarray(responses, dtype=float)
    if y.ndim != 2 or y.shape[1] == 0:
        raise CalibrationError("responses must be a persons x items matrix with at least one item")
    valid = np.isnan(y) | (y == 0) | (y == 1)
    if not valid.all():
        raise CalibrationError("responses must be 1 (correct), 0 (wrong) or missing")
    if model not in ("auto", "1pl", "2pl", "3pl"):
        raise CalibrationError(f"unknown model {model!r}; choose 1pl, 2pl, 3pl or auto")
    thresholds = {**MIN_RESPONSES, **(min_responses or {})}
    observed = ~np.isnan(y)
    y = y[observed.any(axis=1)]
    observed = ~np.isnan(y)
    counts = observed.sum(axis=0)
    fewest = int(counts.min())
    notes: list[str] = []
    wanted = "2pl" if model == "auto" else model
    if fewest < thresholds[wanted]:
        raise CalibrationError(
            f"not enough data for the {wanted.upper()}: item {int(counts.argmin()) + 1} has {fewest} responses "
            f"and the {wanted.upper()} needs at least {thresholds[wanted]} per item")
    correct = np.nansum(y, axis=0)
    for j in np.flatnonzero((correct == 0) | (correct == counts)):
        notes.append(f"item {j + 1}: every response was {'wrong' if correct[j] == 0 else 'correct'}; "
                     "its estimates rest on the priors")
    guess = 1.0 / max(n_options, 2)
    candidates = [wanted]
    if model == "auto":
        if fewest >= thresholds["3pl"]:
            candidates.append("3pl")
        else:
            notes.append(f"3PL not tried: the smallest item sample is {fewest} responses, under the "
                         f"{thresholds['3pl']} the guessing parameter needs; 2PL used")
    fits = {}
    n_responses = int(observed.sum())
    for name in candidates:
        params, n_at_nodes, log_lik, iterations, converged = _fit(y, name, n_nodes=n_nodes, max_iter=max_iter,
                                                                  tol=tol, guess=guess)
        k = {"1pl": 1, "2pl": 2, "3pl": 3}[name] * y.shape[1]
        fits[name] = (params, n_at_nodes, log_lik, iterations, converged, -2 * log_lik + k * math.log(n_responses),
                      -2 * log_lik + 2 * k)
    # AIC decides: the estimates feed ability scores, so predictive fit matters more than parsimony
    # (BIC, also reported, rarely lets the guessing parameter in even when the data were 3PL).
    chosen = min(fits, key=lambda name: fits[name][6])
    if len(fits) > 1:
        notes.append(f"AIC 2PL {fits['2pl'][6]:.1f}, 3PL {fits['3pl'][6]:.1f} (BIC {fits['2pl'][5]:.1f}, "
                     f"{fits['3pl'][5]:.1f}): {chosen.upper()} kept")
    params, n_at_nodes, log_lik, iterations, converged, bic, _aic = fits[chosen]
    if not converged:
        notes.append(f"EM stopped after {iterations} iterations before converging")
    nodes, _ = _nodes(n_nodes)
    ses = _standard_errors(params, n_at_nodes, nodes, chosen)
    items = tuple(CalibratedItem(p, se[0], se[1], se[2], int(counts[j]), float(correct[j] / counts[j]))
                  for j, (p, se) in enumerate(zip(params, ses, strict=True)))
    return Calibration(chosen, items, y.shape[0], n_responses, log_lik, bic, iterations, converged, tuple(notes))
