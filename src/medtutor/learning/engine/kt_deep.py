"""Deep knowledge tracing (DKT, Piech et al. 2015): a GRU over the learner's answers, optional extra.

Pure engine (no Django). torch is imported lazily, only to *train* and for the batched predictions;
the core of medtutor never needs it (extra ``ml``: ``pip install 'medtutor[ml]'``).
:func:`torch_available` says whether it is installed and :func:`require_torch` raises a clear
ImportError otherwise.

:class:`DKT` implements :class:`~medtutor.learning.engine.kt.KnowledgeTracer`:

* input at each answer: an embedding of (skill, correct), plus one of (item, correct) when the data
  have item ids distinct from skills (e.g. Statics problem steps with a Q-matrix);
* a one-layer GRU; its hidden state *is* the learner state;
* output: a logit per skill (and an additive per-item one), read for the skill of the next question:
  ``P(correct) = sigmoid(w_skill . h + b_skill [+ w_item . h + b_item])``;
* trained with binary cross-entropy on every next response, truncated back-propagation through time
  over fixed-length chunks with the hidden state carried across chunks (so training sees the same
  recurrence as the online loop), Adam, dropout on the hidden state, and early stopping on an inner
  split of the *training* students. One generic recipe for every dataset; nothing is tuned on a
  test file.

Online use needs no torch: the fitted weights are copied into numpy (float64) and ``update`` is one
GRU cell step (two table look-ups and one hidden x hidden matrix-vector product, about 10-20 µs);
``predict_sequences`` runs the same recurrence batched in torch in float64, so both agree to ~1e-12.

:class:`DKTFeatureEnsemble` stacks the DKT with the feature ensemble (GBM+LR of ``kt_models``): a
logistic regression on their two log-odds, fitted on held-out *training* students that neither model
was fitted on (the feature ensemble's own inner split).
"""

from __future__ import annotations

import copy
import importlib.util
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from medtutor.learning.engine.kt_data import FlatResponses, StudentSequence, flatten
from medtutor.learning.engine.kt_metrics import roc_auc
from medtutor.learning.engine.kt_models import FeatureEnsemble, FeatureState

__all__ = ["DKT", "DKTState", "DKTFeatureEnsemble", "DKTEnsembleState", "torch_available", "require_torch",
           "TORCH_MISSING"]

TORCH_MISSING = "the deep model (DKT) needs torch, which is not installed: pip install 'medtutor[ml]'"


def torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # e.g. a broken or blocked install
        return False


def require_torch() -> Any:
    """Import and return torch, or raise ImportError with the install hint."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(TORCH_MISSING) from error
    return torch


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass(frozen=True, eq=False)
class DKTState:
    """The GRU hidden state after the learner's answers so far (a read-only float64 vector)."""

    hidden: np.ndarray
    answers: int = 0


class _Vocab:
    """Known ids -> 1..n (0 = unknown), vectorised."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.unique(ids).astype(np.int64)
        self.lookup = {int(k): i + 1 for i, k in enumerate(self.ids.tolist())}

    def __len__(self) -> int:
        return len(self.ids)

    def one(self, key: int | None) -> int:
        return 0 if key is None else self.lookup.get(int(key), 0)

    def many(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.ids):
            return np.zeros(len(keys), dtype=np.int64)
        pos = np.searchsorted(self.ids, keys)
        pos_c = np.minimum(pos, len(self.ids) - 1)
        return np.where(self.ids[pos_c] == keys, pos_c + 1, 0).astype(np.int64)


def _network(torch: Any, n_skills: int, n_items: int, hidden: int, dropout: float) -> Any:
    """The DKT module (defined here so that importing this file never imports torch)."""
    nn = torch.nn

    class DKTNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # index 2 * key + correct; key 0 = unknown
            self.skill_in = nn.Embedding(2 * (n_skills + 1), hidden)
            self.item_in = nn.Embedding(2 * (n_items + 1), hidden) if n_items else None
            self.gru = nn.GRU(hidden, hidden, batch_first=True)
            self.h0 = nn.Parameter(torch.zeros(hidden))
            self.skill_out = nn.Embedding(n_skills + 1, hidden)
            self.skill_bias = nn.Embedding(n_skills + 1, 1)
            # per-item additive adjustments start at zero; unknown items (row 0) stay at zero
            self.item_out = nn.Embedding(n_items + 1, hidden, padding_idx=0) if n_items else None
            self.item_bias = nn.Embedding(n_items + 1, 1, padding_idx=0) if n_items else None
            self.drop = nn.Dropout(dropout)
            with torch.no_grad():
                for emb in (self.skill_in, self.item_in):
                    if emb is not None:
                        emb.weight.normal_(0.0, 0.1)
                self.skill_out.weight.normal_(0.0, 0.1)
                self.skill_bias.weight.zero_()
                if self.item_out is not None:
                    self.item_out.weight.zero_()
                    self.item_bias.weight.zero_()

        def embed(self, skill: Any, item: Any, correct: Any) -> Any:
            x = self.skill_in(2 * skill + correct)
            if self.item_in is not None:
                x = x + self.item_in(2 * item + correct)
            return x

        def head(self, h: Any, skill: Any, item: Any) -> Any:
            h = self.drop(h)
            z = (h * self.skill_out(skill)).sum(-1) + self.skill_bias(skill).squeeze(-1)
            if self.item_out is not None:
                z = z + (h * self.item_out(item)).sum(-1) + self.item_bias(item).squeeze(-1)
            return z

        def chunk(self, h_start: Any, skill: Any, item: Any, correct: Any) -> tuple[Any, Any]:
            """Logits for every row of the chunk (each from the hidden state before it) and the hidden
            state after the chunk. ``h_start``: (batch, hidden)."""
            out, h_end = self.gru(self.embed(skill, item, correct), h_start.unsqueeze(0).contiguous())
            before = torch.cat([h_start.unsqueeze(1), out[:, :-1]], dim=1)
            return self.head(before, skill, item), h_end.squeeze(0)

    return DKTNet()


@dataclass
class _Batch:
    """Students of similar length, longest first, padded: (batch, time) int64 arrays."""

    skill: np.ndarray
    item: np.ndarray
    correct: np.ndarray
    lengths: np.ndarray
    rows: np.ndarray  # flat row of each (student, step); -1 for padding


class DKT:
    """Deep knowledge tracing with a GRU; see the module docstring. Deterministic given ``seed``.

    The recipe (the same for every dataset): hidden size and embedding 128, dropout 0.2, Adam with
    learning rate 1e-3, batches of 32 students of similar length, chunks of 100 answers (truncated
    BPTT, hidden state carried), gradient norm clipped at 1, at most ``max_epochs`` epochs with early
    stopping (patience 3) on the AUC of ``inner_fraction`` of the training students, held out.
    The model of the best epoch is kept (trained on the other students). Learning rate and patience
    were compared (1e-3/3 against 2e-3/2) on inner splits of the three DKVMN *training* files only;
    1e-3/3 was better on all three.
    """

    name = "DKT"

    def __init__(self, *, hidden: int = 128, dropout: float = 0.2, learning_rate: float = 1e-3,
                 batch_size: int = 32, chunk: int = 100, max_epochs: int = 20, patience: int = 3,
                 inner_fraction: float = 0.15, n_threads: int = 1, clip: float = 1.0,
                 weight_decay: float = 0.0) -> None:
        self.hidden, self.dropout, self.learning_rate = hidden, dropout, learning_rate
        self.batch_size, self.chunk, self.max_epochs, self.patience = batch_size, chunk, max_epochs, patience
        self.inner_fraction, self.n_threads, self.clip = inner_fraction, n_threads, clip
        self.weight_decay = weight_decay
        self.chosen: dict[str, Any] = {}
        self.history: list[dict[str, float]] = []
        self._net: Any = None
        self._net64: Any = None
        self._weights: dict[str, np.ndarray] = {}

    # --- data --------------------------------------------------------------------------------
    def _batches(self, flat: FlatResponses, batch_size: int) -> list[_Batch]:
        lengths = np.diff(flat.starts)
        order = np.argsort(-lengths, kind="stable")
        skill = self.skills.many(flat.skill)
        item = self.items.many(flat.item) if self.use_items else np.zeros(len(flat), dtype=np.int64)
        correct = flat.correct.astype(np.int64)
        batches = []
        for lo in range(0, len(order), batch_size):
            members = order[lo:lo + batch_size]
            members = members[lengths[members] > 0]
            if not len(members):
                continue
            lens = lengths[members]
            width = int(lens.max())
            rows = np.full((len(members), width), -1, dtype=np.int64)
            for j, s in enumerate(members.tolist()):
                rows[j, :lens[j]] = np.arange(flat.starts[s], flat.starts[s + 1])
            safe = np.maximum(rows, 0)
            valid = rows >= 0
            batches.append(_Batch(skill=np.where(valid, skill[safe], 0), item=np.where(valid, item[safe], 0),
                                  correct=np.where(valid, correct[safe], 0), lengths=lens, rows=rows))
        return batches

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0,
            validation: Sequence[StudentSequence] | None = None) -> DKT:
        """Fit on ``sequences``; early stopping on ``validation`` when given, else on an inner split of
        ``sequences`` (``inner_fraction`` of the students, drawn with ``seed``)."""
        torch = require_torch()
        if validation is None:
            rng = np.random.default_rng(seed + 1)
            held = rng.random(len(sequences)) < self.inner_fraction
            if held.all() or not held.any():  # tiny inputs: validate on the training students
                train, validation = list(sequences), list(sequences)
            else:
                train = [s for s, h in zip(sequences, held) if not h]
                validation = [s for s, h in zip(sequences, held) if h]
        else:
            train = list(sequences)
        flat = flatten(train)
        self.use_items = bool(np.any(flat.item != flat.skill))
        self.skills = _Vocab(flat.skill)
        self.items = _Vocab(flat.item if self.use_items else np.zeros(0, dtype=np.int64))
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            self._train(torch, flat, flatten(list(validation)), seed)
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(self, torch: Any, flat: FlatResponses, val_flat: FlatResponses, seed: int) -> None:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = _network(torch, len(self.skills), len(self.items), self.hidden, self.dropout)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
        batches = self._batches(flat, self.batch_size)
        tensors = [(torch.from_numpy(b.skill), torch.from_numpy(b.item), torch.from_numpy(b.correct),
                    torch.from_numpy(b.correct.astype(np.float32)), b.lengths) for b in batches]
        y_val = val_flat.correct
        best = (-1.0, 0, None)
        start = time.perf_counter()
        self.history = []
        for epoch in range(1, self.max_epochs + 1):
            net.train()
            total, count = 0.0, 0
            for b in rng.permutation(len(tensors)).tolist():
                skill, item, correct, target, lengths = tensors[b]
                h = net.h0.expand(len(lengths), -1)
                for lo in range(0, int(lengths[0]), self.chunk):
                    active = int((lengths > lo).sum())
                    hi = lo + self.chunk
                    logits, h_end = net.chunk(h[:active], skill[:active, lo:hi], item[:active, lo:hi],
                                              correct[:active, lo:hi])
                    steps = logits.shape[1]
                    mask = torch.from_numpy(np.arange(lo, lo + steps)[None, :] < lengths[:active, None])
                    loss = loss_fn(logits[mask], target[:active, lo:hi][mask])
                    n = int(mask.sum())
                    optimizer.zero_grad()
                    (loss / n).backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), self.clip)
                    optimizer.step()
                    total += loss.item()
                    count += n
                    h = h_end.detach()
            self._net = net
            auc = roc_auc(y_val, self._predict(torch, net, val_flat))
            self.history.append({"epoch": epoch, "train_loss": total / max(count, 1), "inner_auc": auc,
                                 "seconds": time.perf_counter() - start})
            if auc > best[0]:
                best = (auc, epoch, {k: v.detach().clone() for k, v in net.state_dict().items()})
            elif epoch - best[1] >= self.patience:
                break
        assert best[2] is not None
        net.load_state_dict(best[2])
        net.eval()
        with torch.no_grad():  # an unseen skill (row 0, never trained) reads as the average skill
            for emb in (net.skill_out, net.skill_bias):
                emb.weight[0] = emb.weight[1:].mean(0)
            pairs = net.skill_in.weight
            pairs[0], pairs[1] = pairs[2::2].mean(0), pairs[3::2].mean(0)
        self._net = net
        self._net64 = copy.deepcopy(net).double().eval()
        self._export(torch)
        self.chosen = {"epochs": best[1], "inner_auc": round(best[0], 4), "hidden": self.hidden,
                       "items": self.use_items}

    def _export(self, torch: Any) -> None:
        """Copy the weights to float64 numpy for the online update, with pre-projected input tables."""
        net = self._net
        with torch.no_grad():
            w = {k: v.detach().double().numpy().copy() for k, v in net.state_dict().items()}
        w_ih, b_ih = w["gru.weight_ih_l0"], w["gru.bias_ih_l0"]
        self._weights = {
            "skill_in": w["skill_in.weight"] @ w_ih.T + b_ih,
            "item_in": (w["item_in.weight"] @ w_ih.T) if self.use_items else np.zeros((2, len(b_ih))),
            "w_hh": w["gru.weight_hh_l0"], "b_hh": w["gru.bias_hh_l0"], "h0": w["h0"],
            "skill_out": w["skill_out.weight"], "skill_bias": w["skill_bias.weight"][:, 0],
            "item_out": w["item_out.weight"] if self.use_items else np.zeros((1, self.hidden)),
            "item_bias": w["item_bias.weight"][:, 0] if self.use_items else np.zeros(1),
        }

    # --- batch -------------------------------------------------------------------------------
    def _predict(self, torch: Any, net: Any, flat: FlatResponses) -> np.ndarray:
        was_training = net.training
        net.eval()
        out = np.empty(len(flat))
        with torch.no_grad():
            for b in self._batches(flat, 256):
                h = net.h0.expand(len(b.lengths), -1)
                logits, _ = net.chunk(h, torch.from_numpy(b.skill), torch.from_numpy(b.item),
                                      torch.from_numpy(b.correct))
                valid = b.rows >= 0
                out[b.rows[valid]] = _sigmoid(logits.double().numpy()[valid])
        net.train(was_training)
        return out

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        """P(correct) for every row from the rows before it: the online recurrence, batched over
        students in float64 (so it matches ``update``/``predict_next`` to rounding)."""
        assert self._net64 is not None, "fit first"
        torch = require_torch()
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            return self._predict(torch, self._net64, flat)
        finally:
            torch.set_num_threads(threads)

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))

    # --- online (numpy only) -----------------------------------------------------------------
    def initial_state(self) -> DKTState:
        h = self._weights["h0"].copy()
        h.flags.writeable = False
        return DKTState(hidden=h)

    def _logit(self, state: DKTState, skill: int, item: int | None) -> float:
        w = self._weights
        s = self.skills.one(skill)
        z = float(state.hidden @ w["skill_out"][s]) + float(w["skill_bias"][s])
        if self.use_items:
            i = self.items.one(item)
            z += float(state.hidden @ w["item_out"][i]) + float(w["item_bias"][i])
        return z

    def predict_next(self, state: DKTState, skill: int, item: int | None = None) -> float:
        return 1.0 / (1.0 + math.exp(-max(min(self._logit(state, skill, item), 35.0), -35.0)))

    def mastery(self, state: DKTState, skill: int) -> float:
        """P(correct) on the skill with the item unknown (the skill's own output, no item adjustment)."""
        return self.predict_next(state, skill, None)

    def update(self, state: DKTState, skill: int, correct: bool, item: int | None = None) -> DKTState:
        """One GRU cell step (torch gate order r, z, n) in numpy; the old state is not changed."""
        w = self._weights
        y = 1 if correct else 0
        gi = w["skill_in"][2 * self.skills.one(skill) + y]
        if self.use_items:
            gi = gi + w["item_in"][2 * self.items.one(item) + y]
        h = state.hidden
        gh = w["w_hh"] @ h + w["b_hh"]
        n_h = len(h)
        rz = expit(gi[:2 * n_h] + gh[:2 * n_h])  # reset and update gates
        n = np.tanh(gi[2 * n_h:] + rz[:n_h] * gh[2 * n_h:])
        new = n + rz[n_h:] * (h - n)  # = (1 - z) * n + z * h
        new.flags.writeable = False
        return DKTState(hidden=new, answers=state.answers + 1)


# --------------------------------------------------------------------------------------------------
# DKT + feature models
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class DKTEnsembleState:
    dkt: DKTState
    features: FeatureState


class DKTFeatureEnsemble:
    """Stacked DKT and GBM+LR: ``sigmoid(c + a * logit(p_dkt) + b * logit(p_features))``.

    Fitting: the feature ensemble is fitted as usual (it chooses its own hyperparameters on a held-out
    ``inner_fraction`` of the training students, then refits on all of them) and reports its
    out-of-sample predictions for those held-out students; the DKT is fitted on the *other* students
    with early stopping on the same held-out ones; the stacking weights (a, b, c) are a logistic
    regression on the held-out students' predictions of both. So every choice is made on training
    students that the model being judged did not see. The DKT keeps its early-stopped weights (not
    refitted, to stay within the training-time budget).
    """

    name = "GBM+LR+DKT"

    def __init__(self, *, dkt_options: dict[str, Any] | None = None,
                 feature_model: Callable[[], FeatureEnsemble] = FeatureEnsemble) -> None:
        self.dkt_options = dict(dkt_options or {})
        self.feature_model = feature_model
        self.dkt: DKT | None = None
        self.features: FeatureEnsemble | None = None
        self.weights = (0.0, 0.5, 0.5)  # intercept, DKT, features
        self.chosen: dict[str, Any] = {}

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> DKTFeatureEnsemble:
        require_torch()
        features = self.feature_model().fit(sequences, seed=seed)
        held = getattr(features, "inner_students", None)
        p_feat = getattr(features, "inner_proba", None)
        if held is None or p_feat is None or held.all() or not held.any():
            raise ValueError("too few students to hold some out for the ensemble weights")
        inner_train = [s for s, h in zip(sequences, held) if not h]
        inner_val = [s for s, h in zip(sequences, held) if h]
        self.dkt = DKT(**self.dkt_options).fit(inner_train, seed=seed, validation=inner_val)
        val_flat = flatten(inner_val)
        p_dkt = self.dkt.predict_flat(val_flat)
        y = val_flat.correct
        self.weights = _stack(np.column_stack([_logit(p_dkt), _logit(p_feat)]), y)
        self.features = features
        self.chosen = {"weights (c, dkt, features)": [round(w, 3) for w in self.weights],
                       "inner_auc": {"dkt": round(roc_auc(y, p_dkt), 4), "features": round(roc_auc(y, p_feat), 4),
                                     "stacked": round(roc_auc(y, self._combine(p_dkt, p_feat)), 4)},
                       "dkt": self.dkt.chosen, "features": features.chosen}
        return self

    def _combine(self, p_dkt: Any, p_feat: Any) -> Any:
        c, a, b = self.weights
        return _sigmoid(c + a * _logit(np.asarray(p_dkt)) + b * _logit(np.asarray(p_feat)))

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        assert self.dkt is not None and self.features is not None, "fit first"
        return self._combine(self.dkt.predict_flat(flat), self.features.predict_flat(flat))

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))

    def initial_state(self) -> DKTEnsembleState:
        assert self.dkt is not None and self.features is not None, "fit first"
        return DKTEnsembleState(self.dkt.initial_state(), self.features.initial_state())

    def predict_next(self, state: DKTEnsembleState, skill: int, item: int | None = None) -> float:
        assert self.dkt is not None and self.features is not None, "fit first"
        return float(self._combine(self.dkt.predict_next(state.dkt, skill, item),
                                   self.features.predict_next(state.features, skill, item)))

    def update(self, state: DKTEnsembleState, skill: int, correct: bool, item: int | None = None
               ) -> DKTEnsembleState:
        assert self.dkt is not None and self.features is not None, "fit first"
        return DKTEnsembleState(self.dkt.update(state.dkt, skill, correct, item),
                                self.features.update(state.features, skill, correct, item))

    def mastery(self, state: DKTEnsembleState, skill: int) -> float:
        return self.predict_next(state, skill, None)


def _stack(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Logistic regression of y on the columns of x (weak L2): (intercept, weight 1, weight 2)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=200).fit(x, y.astype(np.int64))
    return float(model.intercept_[0]), float(model.coef_[0][0]), float(model.coef_[0][1])
