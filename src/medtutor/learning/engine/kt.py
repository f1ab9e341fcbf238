"""Knowledge tracing: estimate a learner's mastery per skill (competency) from their answers.

Pure engine (no Django): typed, deterministic given a seed. All models implement
:class:`KnowledgeTracer`:

* ``fit(sequences, *, seed)`` learns population parameters from many students' histories;
* ``initial_state()`` is a new learner; ``update(state, ..., correct)`` returns a *new* state after one
  answer (the old one is not changed) in a few microseconds;
* ``predict_next(state, skill, item)`` is P(next answer correct); ``mastery(state, skill)`` in [0, 1];
* ``predict_sequences(sequences)`` gives, for every response, the probability predicted from the
  responses before it (the batch form of the online loop, used by benchmarks; the same numbers as
  running ``update``/``predict_next`` response by response).

Models here: :class:`BKT` (Bayesian knowledge tracing fitted by EM) and :class:`IRTTracer` (a logistic
ability-difficulty model with an online Gaussian ability update). The feature-based model is in
``kt_models``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from medtutor.learning.engine.kt_data import FlatResponses, StudentSequence, flatten

__all__ = ["KnowledgeTracer", "BKT", "BKTParams", "BKTState", "IRTTracer", "IRTState", "ChainLayout",
           "online_predictions"]

_EPS = 1e-6


@runtime_checkable
class KnowledgeTracer(Protocol):
    name: str

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> KnowledgeTracer: ...

    def initial_state(self) -> Any: ...

    def predict_next(self, state: Any, skill: int, item: int | None = None) -> float: ...

    def update(self, state: Any, skill: int, correct: bool, item: int | None = None) -> Any: ...

    def mastery(self, state: Any, skill: int) -> float: ...

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray: ...


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


# --------------------------------------------------------------------------------------------------
# Chains: the responses of one student to one key (skill), laid out time-major for vectorised HMMs.
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ChainLayout:
    """Responses grouped into chains (one per student and key), sorted by length, stored time-major.

    ``order[j]`` is the flat row of the j-th stored response. At step t the active chains are
    ``0..active[t]-1`` and occupy ``offsets[t]:offsets[t] + active[t]`` (a prefix of step t-1's).
    """

    order: np.ndarray
    offsets: np.ndarray
    active: np.ndarray
    chain_key: np.ndarray   # key index of each chain
    chain_of_row: np.ndarray  # chain of each stored response

    @classmethod
    def build(cls, student: np.ndarray, key: np.ndarray, position: np.ndarray) -> ChainLayout:
        n = len(key)
        if n == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, np.zeros(1, dtype=np.int64), z, z, z)
        by_chain = np.lexsort((position, key, student))
        s, k = student[by_chain], key[by_chain]
        new = np.ones(n, dtype=bool)
        new[1:] = (s[1:] != s[:-1]) | (k[1:] != k[:-1])
        chain_id = np.cumsum(new) - 1
        starts = np.flatnonzero(new)
        lengths = np.diff(np.append(starts, n))
        step = np.arange(n) - starts[chain_id]
        # rank chains by length, longest first (stable, so ties keep chain order)
        rank_of_chain = np.empty(len(lengths), dtype=np.int64)
        rank_of_chain[np.argsort(-lengths, kind="stable")] = np.arange(len(lengths))
        rank = rank_of_chain[chain_id]
        time_major = np.lexsort((rank, step))
        order = by_chain[time_major]
        active = np.bincount(step, minlength=int(lengths.max()))
        offsets = np.concatenate([[0], np.cumsum(active)])
        chain_key = np.empty(len(lengths), dtype=np.int64)
        chain_key[rank_of_chain] = k[starts]
        return cls(order=order, offsets=offsets, active=active, chain_key=chain_key,
                   chain_of_row=rank[time_major])


# --------------------------------------------------------------------------------------------------
# BKT
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BKTParams:
    prior: float  # P(L0): skill known before the first answer
    learn: float  # P(T): unknown -> known after an answer
    guess: float  # P(G): correct while unknown
    slip: float   # P(S): wrong while known

    def p_correct(self, known: float) -> float:
        return known * (1.0 - self.slip) + (1.0 - known) * self.guess

    def posterior(self, known: float, correct: bool) -> float:
        """P(known | this answer), before the learning transition."""
        if correct:
            a, b = known * (1.0 - self.slip), (1.0 - known) * self.guess
        else:
            a, b = known * self.slip, (1.0 - known) * (1.0 - self.guess)
        return a / (a + b) if a + b > 0 else known

    def after(self, known: float, correct: bool) -> float:
        """P(known before the next answer), i.e. the posterior followed by the learning step."""
        post = self.posterior(known, correct)
        return post + (1.0 - post) * self.learn


@dataclass(frozen=True)
class BKTState:
    """P(skill known) before the learner's next answer on each skill they have answered."""

    known: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))


class BKT:
    """Bayesian knowledge tracing, one (prior, learn, guess, slip) per skill, no forgetting.

    Fitted by Baum-Welch EM, vectorised over all (student, skill) chains at once. Guess and slip are
    capped at ``max_guess_slip`` (< 0.5) so that a correct answer is always evidence of knowing, and
    weak Beta pseudo-counts keep rarely seen skills near the population values. ``key="skill"``
    traces skills; ``key="item"`` traces item ids (as DKVMN-era papers do for Statics2011).
    """

    name = "BKT"

    def __init__(self, *, max_iter: int = 200, tol: float = 1e-7, max_guess_slip: float = 0.45,
                 pseudo_count: float = 2.0, restarts: int = 1, key: str = "skill") -> None:
        self.max_iter, self.tol, self.max_guess_slip = max_iter, tol, max_guess_slip
        self.pseudo_count, self.restarts, self.key = pseudo_count, restarts, key
        self.params: dict[int, BKTParams] = {}
        self.default = BKTParams(0.5, 0.1, 0.2, 0.1)
        self.log_likelihood = float("nan")
        self.iterations = 0

    # --- fitting -----------------------------------------------------------------------------
    def _keys(self, flat: FlatResponses) -> np.ndarray:
        return flat.skill if self.key == "skill" else flat.item

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> BKT:
        return self.fit_flat(flatten(sequences), seed=seed)

    def fit_flat(self, flat: FlatResponses, *, seed: int = 0) -> BKT:
        keys, key_index = np.unique(self._keys(flat), return_inverse=True)
        layout = ChainLayout.build(flat.student, key_index, flat.position)
        obs = flat.correct[layout.order].astype(np.float64)
        n_keys = len(keys)
        rng = np.random.default_rng(seed)
        best: tuple[float, np.ndarray] | None = None
        for restart in range(max(1, self.restarts)):
            if restart == 0:
                theta = np.tile([0.5, 0.1, 0.2, 0.1], (n_keys, 1))
            else:
                theta = np.column_stack([rng.uniform(0.1, 0.9, n_keys), rng.uniform(0.01, 0.4, n_keys),
                                         rng.uniform(0.05, 0.4, n_keys), rng.uniform(0.05, 0.3, n_keys)])
            theta, ll = self._em(layout, obs, theta)
            if best is None or ll > best[0]:
                best = (ll, theta)
        assert best is not None
        self.log_likelihood, theta = best
        self.params = {int(k): BKTParams(*map(float, theta[i])) for i, k in enumerate(keys)}
        # population default for unseen keys: response-weighted mean of the fitted parameters
        weights = np.bincount(key_index, minlength=n_keys).astype(np.float64)
        mean = (theta * weights[:, None]).sum(0) / max(weights.sum(), 1.0)
        self.default = BKTParams(*map(float, mean))
        return self

    def _em(self, layout: ChainLayout, obs: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, float]:
        n_keys = len(theta)
        key_of_chain = layout.chain_key
        key_of_row = key_of_chain[layout.chain_of_row]
        a0 = self.pseudo_count
        prev_ll = -np.inf
        ll = -np.inf
        # rows that have a next step in their chain: every row except the last of each chain
        trans_rows = np.zeros(len(obs), dtype=bool)
        for t in range(len(layout.active) - 1):
            start = layout.offsets[t]
            trans_rows[start:start + layout.active[t + 1]] = True
        xk = key_of_row[trans_rows]
        first_lo = int(layout.offsets[0])
        first_hi = first_lo + (int(layout.active[0]) if len(layout.active) else 0)
        for iteration in range(self.max_iter):
            prior, learn, guess, slip = (np.clip(theta[:, i], _EPS, 1 - _EPS) for i in range(4))
            pred, filt, ll = _bkt_forward(layout, obs, prior, learn, guess, slip, key_of_chain, key_of_row)
            gamma1, xi01, xi0 = _bkt_backward(layout, pred, filt, learn, key_of_chain)
            gamma0 = 1.0 - gamma1
            # M step with Beta(a0 * mean) pseudo-counts toward the current population mean
            g1_first = gamma1[first_lo:first_hi]
            n_chains = np.bincount(key_of_chain, minlength=n_keys)
            pop = theta.mean(0)
            new_prior = (np.bincount(key_of_chain, weights=g1_first, minlength=n_keys) + a0 * pop[0]) / (n_chains + a0)
            new_learn = ((np.bincount(xk, weights=xi01[trans_rows], minlength=n_keys) + a0 * pop[1])
                         / (np.bincount(xk, weights=xi0[trans_rows], minlength=n_keys) + a0))
            new_guess = ((np.bincount(key_of_row, weights=gamma0 * obs, minlength=n_keys) + a0 * pop[2])
                         / (np.bincount(key_of_row, weights=gamma0, minlength=n_keys) + a0))
            new_slip = ((np.bincount(key_of_row, weights=gamma1 * (1 - obs), minlength=n_keys) + a0 * pop[3])
                        / (np.bincount(key_of_row, weights=gamma1, minlength=n_keys) + a0))
            cap = self.max_guess_slip
            theta = np.column_stack([np.clip(new_prior, 1e-4, 1 - 1e-4), np.clip(new_learn, 1e-4, 1 - 1e-4),
                                     np.clip(new_guess, 1e-4, cap), np.clip(new_slip, 1e-4, cap)])
            self.iterations = iteration + 1
            if abs(ll - prev_ll) <= self.tol * max(1, len(obs)):
                break
            prev_ll = ll
        return theta, float(ll)

    # --- online ------------------------------------------------------------------------------
    def _params(self, key: int) -> BKTParams:
        return self.params.get(key, self.default)

    def _key(self, skill: int, item: int | None) -> int:
        return skill if self.key == "skill" or item is None else item

    def initial_state(self) -> BKTState:
        return BKTState()

    def mastery(self, state: BKTState, skill: int) -> float:
        known = state.known.get(skill)
        return float(self._params(skill).prior if known is None else known)

    def predict_next(self, state: BKTState, skill: int, item: int | None = None) -> float:
        key = self._key(skill, item)
        return self._params(key).p_correct(self.mastery(state, key))

    def update(self, state: BKTState, skill: int, correct: bool, item: int | None = None) -> BKTState:
        key = self._key(skill, item)
        known = dict(state.known)
        known[key] = self._params(key).after(self.mastery(state, key), bool(correct))
        return BKTState(MappingProxyType(known))

    # --- batch -------------------------------------------------------------------------------
    def predict_flat(self, flat: FlatResponses) -> tuple[np.ndarray, np.ndarray]:
        """(P(correct), P(known) before each response) for every row, in flat order."""
        keys = self._keys(flat)
        known_keys = np.array(sorted(self.params), dtype=np.int64)
        table = np.array([[p.prior, p.learn, p.guess, p.slip] for p in
                          (self.params[int(k)] for k in known_keys)] + [[self.default.prior, self.default.learn,
                                                                         self.default.guess, self.default.slip]])
        index = np.searchsorted(known_keys, keys)
        index = np.where((index < len(known_keys)) & (known_keys[np.minimum(index, len(known_keys) - 1)] == keys),
                         index, len(known_keys))
        layout = ChainLayout.build(flat.student, index, flat.position)
        obs = flat.correct[layout.order].astype(np.float64)
        key_of_row = layout.chain_key[layout.chain_of_row]
        prior, learn, guess, slip = (table[:, i] for i in range(4))
        known, _, _ = _bkt_forward(layout, obs, prior, learn, guess, slip, layout.chain_key, key_of_row)
        p_correct = known * (1 - slip[key_of_row]) + (1 - known) * guess[key_of_row]
        out_p = np.empty(len(flat)); out_k = np.empty(len(flat))
        out_p[layout.order] = p_correct
        out_k[layout.order] = known
        return out_p, out_k

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))[0]


def _bkt_forward(layout: ChainLayout, obs: np.ndarray, prior: np.ndarray, learn: np.ndarray,
                 guess: np.ndarray, slip: np.ndarray, key_of_chain: np.ndarray, key_of_row: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Returns (predicted P(known) before each row, filtered P(known) after each row, log-likelihood)."""
    pred = np.empty(len(obs))
    filt = np.empty(len(obs))
    g_row, s_row, l_row = guess[key_of_row], slip[key_of_row], learn[key_of_row]
    e1 = np.where(obs == 1, 1 - s_row, s_row)
    e0 = np.where(obs == 1, g_row, 1 - g_row)
    ll = 0.0
    current = prior[key_of_chain].copy() if len(layout.active) else np.zeros(0)
    for t in range(len(layout.active)):
        lo, n = layout.offsets[t], layout.active[t]
        hi = lo + n
        p = current[:n]
        pred[lo:hi] = p
        num = p * e1[lo:hi]
        den = num + (1 - p) * e0[lo:hi]
        ll += float(np.log(den).sum())
        a = num / den
        filt[lo:hi] = a
        current = a + (1 - a) * l_row[lo:hi]
    return pred, filt, ll


def _bkt_backward(layout: ChainLayout, pred: np.ndarray, filt: np.ndarray, learn: np.ndarray,
                  key_of_chain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed P(known) per row, and expected 0->1 and 0->* transitions from each row to the next."""
    gamma1 = np.empty(len(pred))
    xi01 = np.zeros(len(pred))
    xi0 = np.zeros(len(pred))
    steps = len(layout.active)
    if not steps:
        return gamma1, xi01, xi0
    lo, n = layout.offsets[steps - 1], layout.active[steps - 1]
    gamma1[lo:lo + n] = filt[lo:lo + n]
    for t in range(steps - 2, -1, -1):
        lo, n = layout.offsets[t], layout.active[t]
        nxt_lo, m = layout.offsets[t + 1], layout.active[t + 1]
        a = filt[lo:lo + n].copy()
        g = a.copy()  # chains ending at t: smoothed = filtered
        a_m = a[:m]
        T = learn[key_of_chain[:m]]
        p1 = pred[nxt_lo:nxt_lo + m]          # P(known at t+1 | o_1..t) = a + (1-a)T
        g_next = gamma1[nxt_lo:nxt_lo + m]
        p0 = np.maximum(1 - p1, 1e-300)
        x01 = (1 - a_m) * T * g_next / np.maximum(p1, 1e-300)
        x00 = (1 - a_m) * (1 - T) * (1 - g_next) / p0
        g[:m] = 1.0 - (x00 + x01)
        gamma1[lo:lo + n] = np.clip(g, 0.0, 1.0)
        xi01[lo:lo + m] = x01
        xi0[lo:lo + m] = x00 + x01
    return gamma1, xi01, xi0


# --------------------------------------------------------------------------------------------------
# IRT-style tracer
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IRTState:
    """Gaussian beliefs: overall ability (mean, variance) and a per-skill ability offset for each skill."""

    theta: float
    theta_var: float
    skill: Mapping[int, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))


class IRTTracer:
    """P(correct) = sigmoid(theta + delta_skill - b_item), a Rasch model per competency.

    ``fit`` estimates item and skill difficulties (and the spread of student abilities) by L2-penalised
    joint maximum likelihood on the training students. A new learner starts at the population mean;
    each answer updates the Gaussian beliefs about ``theta`` and ``delta_skill`` with one Newton step
    (an extended Kalman / Laplace update), so ability rises after a correct answer and falls after a
    wrong one, and becomes more certain as answers accumulate. ``mastery`` is the probability of
    answering an average-difficulty item of the skill correctly.
    """

    name = "IRT"

    def __init__(self, *, skill_var: float = 0.3, l2: float = 1.0, max_iter: int = 30,
                 drift: float = 0.0) -> None:
        self.skill_var, self.l2, self.max_iter, self.drift = skill_var, l2, max_iter, drift
        self.item_b: dict[int, float] = {}
        self.skill_b: dict[int, float] = {}
        self.theta_var = 1.0
        self.mean_b = 0.0

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> IRTTracer:
        flat = flatten(sequences)
        items, item_index = np.unique(flat.item, return_inverse=True)
        skills, skill_index = np.unique(flat.skill, return_inverse=True)
        n_students = len(flat.starts) - 1
        y = flat.correct.astype(np.float64)
        # params: theta (students), skill difficulty, item offset; alternating Newton on the diagonal
        theta = np.zeros(n_students)
        bs = np.zeros(len(skills))
        bi = np.zeros(len(items))
        base = float(np.log((y.mean() + 1e-3) / (1 - y.mean() + 1e-3)))
        bs[:] = -base
        for _ in range(self.max_iter):
            old = np.concatenate([theta, bs, bi])
            for which in range(3):
                z = theta[flat.student] - bs[skill_index] - bi[item_index]
                p = _sigmoid(z)
                g = y - p
                h = p * (1 - p)
                if which == 0:
                    grad = np.bincount(flat.student, weights=g, minlength=n_students) - theta / 1.0
                    hess = np.bincount(flat.student, weights=h, minlength=n_students) + 1.0
                    theta = theta + grad / hess
                elif which == 1:
                    grad = -np.bincount(skill_index, weights=g, minlength=len(skills)) - 0.01 * bs
                    hess = np.bincount(skill_index, weights=h, minlength=len(skills)) + 0.01
                    bs = bs + grad / hess
                else:
                    grad = -np.bincount(item_index, weights=g, minlength=len(items)) - bi * self.l2
                    hess = np.bincount(item_index, weights=h, minlength=len(items)) + self.l2
                    bi = bi + grad / hess
            if np.max(np.abs(np.concatenate([theta, bs, bi]) - old)) < 1e-3:
                break
        shift = float(theta.mean())
        theta -= shift
        bs -= shift
        self.theta_var = float(max(theta.var(), 0.05))
        self.skill_b = {int(k): float(v) for k, v in zip(skills, bs)}
        self.item_b = {int(k): float(v) for k, v in zip(items, bi)}
        self.mean_b = float(np.average(bs[skill_index]))
        return self

    def _difficulty(self, skill: int, item: int | None) -> float:
        b = self.skill_b.get(skill, self.mean_b)
        if item is not None:
            b += self.item_b.get(item, 0.0)
        return b

    def initial_state(self) -> IRTState:
        return IRTState(theta=0.0, theta_var=self.theta_var)

    def _skill_belief(self, state: IRTState, skill: int) -> tuple[float, float]:
        return state.skill.get(skill, (0.0, self.skill_var))

    def predict_next(self, state: IRTState, skill: int, item: int | None = None) -> float:
        d_mean, d_var = self._skill_belief(state, skill)
        z = state.theta + d_mean - self._difficulty(skill, item)
        var = state.theta_var + d_var
        return float(_sigmoid(z / math.sqrt(1.0 + math.pi * var / 8.0)))

    def mastery(self, state: IRTState, skill: int) -> float:
        return self.predict_next(state, skill, None)

    def update(self, state: IRTState, skill: int, correct: bool, item: int | None = None) -> IRTState:
        d_mean, d_var = self._skill_belief(state, skill)
        z = state.theta + d_mean - self._difficulty(skill, item)
        p = float(_sigmoid(z))
        info = p * (1.0 - p)
        resid = (1.0 if correct else 0.0) - p
        # joint Gaussian (theta, delta) with a shared observation: rank-one Kalman-style update
        total = state.theta_var + d_var
        gain_denominator = 1.0 + info * total
        theta = state.theta + state.theta_var * resid / gain_denominator
        delta = d_mean + d_var * resid / gain_denominator
        theta_var = state.theta_var - state.theta_var ** 2 * info / gain_denominator + self.drift
        delta_var = d_var - d_var ** 2 * info / gain_denominator + self.drift
        skills = dict(state.skill)
        skills[skill] = (delta, delta_var)
        return IRTState(theta=theta, theta_var=theta_var, skill=MappingProxyType(skills))

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        """Vectorised over students (time-major); the same arithmetic as ``update``/``predict_next``."""
        n_students = len(flat.starts) - 1
        layout = ChainLayout.build(flat.student, np.zeros(len(flat), dtype=np.int64), flat.position)
        rows = layout.order
        # per (student, skill) belief slots
        pair_keys = flat.student * (int(flat.skill.max(initial=0)) + 1) + flat.skill
        _, pair_index = np.unique(pair_keys, return_inverse=True)
        d_mean = np.zeros(int(pair_index.max(initial=-1)) + 1)
        d_var = np.full(len(d_mean), self.skill_var)
        theta = np.zeros(n_students)
        theta_var = np.full(n_students, self.theta_var)
        b_skill = np.array([self.skill_b.get(int(k), self.mean_b) for k in flat.skill]) if len(flat) else np.zeros(0)
        item_lookup = self.item_b
        b = b_skill + np.array([item_lookup.get(int(i), 0.0) for i in flat.item]) if len(flat) else np.zeros(0)
        out = np.empty(len(flat))
        y = flat.correct.astype(np.float64)
        for t in range(len(layout.active)):
            lo, n = layout.offsets[t], layout.active[t]
            r = rows[lo:lo + n]
            s = flat.student[r]
            pi = pair_index[r]
            dm, dv = d_mean[pi], d_var[pi]
            tm, tv = theta[s], theta_var[s]
            z = tm + dm - b[r]
            var = tv + dv
            out[r] = _sigmoid(z / np.sqrt(1.0 + np.pi * var / 8.0))
            p = _sigmoid(z)
            info = p * (1 - p)
            resid = y[r] - p
            den = 1.0 + info * var
            theta[s] = tm + tv * resid / den
            d_mean[pi] = dm + dv * resid / den
            theta_var[s] = tv - tv * tv * info / den + self.drift
            d_var[pi] = dv - dv * dv * info / den + self.drift
        return out


def online_predictions(model: KnowledgeTracer, sequence: StudentSequence) -> list[float]:
    """Run the online loop over one student (reference for the batch forms)."""
    state = model.initial_state()
    out = []
    for skill, item, correct in zip(sequence.skills.tolist(), sequence.items.tolist(), sequence.correct.tolist()):
        out.append(model.predict_next(state, skill, item))
        state = model.update(state, skill, bool(correct), item)
    return out

