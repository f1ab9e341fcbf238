"""Feature-based knowledge tracing in the spirit of PFA / "Best-LR" (Gervet et al., 2020).

Every response is described by what the learner did *before* it: counts of earlier correct and wrong
answers overall, on the skill and on the item (log-scaled), the last answer, windowed accuracies,
steps since the skill was last practised, whether the previous row was the same skill or item, how
hard the item and skill were for the training students (out-of-fold target encoding), and the BKT
estimate for the skill. Two learners read these features:

* :class:`FeatureLR` -- logistic regression; PFA-style per-skill slopes on the log counts plus the
  shared features (``Best-LR``);
* :class:`FeatureGBM` -- scikit-learn ``HistGradientBoostingClassifier`` on the same features.

Hyperparameters are chosen on an inner split of the *training* students (never on the test file).
Both keep the online interface of :class:`~medtutor.learning.engine.kt.KnowledgeTracer`: the state is
the learner's counters; ``update`` is a few dictionary writes; ``predict_next`` builds one feature row.
The batch feature builder and the online one compute identical numbers (tested).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from medtutor.learning.engine.kt import BKT, BKTState
from medtutor.learning.engine.kt_data import FlatResponses, StudentSequence, flatten
from medtutor.learning.engine.kt_metrics import roc_auc

__all__ = ["FeatureState", "FeatureLR", "FeatureGBM", "FeatureBuilder"]

ALL_WINDOWS = (5, 10, 30)
SKILL_WINDOWS = (3, 10)
_MAX_WINDOW = max(ALL_WINDOWS)
_MAX_SKILL_WINDOW = max(SKILL_WINDOWS)
_SMOOTH = 10.0  # pseudo-count of the item/skill difficulty encodings
def _log1p_range(n: int) -> np.ndarray:
    # element by element with math.log1p: the same bits whatever the table's length (a vectorised loop
    # may round an element in its tail differently from one in its body)
    return np.array([math.log1p(i) for i in range(n)], dtype=np.float64)


_log1p_table = _log1p_range(1024)


def _log1p_counts(counts: np.ndarray) -> np.ndarray:
    """log(1 + n) of whole counts, read from one table by the batch and the online features alike.

    numpy's vectorised log1p and math.log1p can differ in the last bit, and a boosted tree's split can
    sit exactly on a count's value (split points are quantiles of the training values): one ulp then
    sent the online prediction down another branch than the batch one (up to 0.03 apart on Statics).
    """
    global _log1p_table
    whole = np.asarray(counts, dtype=np.float64).astype(np.int64)
    top = int(whole.max(initial=0))
    if top >= len(_log1p_table):
        _log1p_table = _log1p_range(max(top + 1, 2 * len(_log1p_table)))
    return _log1p_table[whole]


def _log1p_count(n: float) -> float:
    i = int(n)
    return float(_log1p_table[i]) if 0 <= i < len(_log1p_table) else float(_log1p_counts(np.array([i]))[0])


# --------------------------------------------------------------------------------------------------
# batch features
# --------------------------------------------------------------------------------------------------

def _group_history(group: np.ndarray, position: np.ndarray, correct: np.ndarray,
                   windows: tuple[int, ...]) -> dict[str, np.ndarray]:
    """For each row, statistics of the earlier rows of the same group (in position order)."""
    n = len(group)
    order = np.lexsort((position, group))
    g = group[order]
    c = correct[order].astype(np.float64)
    pos = position[order]
    idx = np.arange(n)
    new = np.ones(n, dtype=bool)
    new[1:] = g[1:] != g[:-1]
    start = np.maximum.accumulate(np.where(new, idx, 0)) if n else idx
    n_prev = (idx - start).astype(np.float64)
    cum = np.concatenate([[0.0], np.cumsum(c)])
    c_prev = cum[idx] - cum[start]
    has = n_prev > 0
    prev = np.maximum(idx - 1, 0)
    last = np.where(has, c[prev] if n else c, -1.0)
    gap = np.where(has, (pos - pos[prev]).astype(np.float64) if n else pos, -1.0)
    out: dict[str, np.ndarray] = {"n": n_prev, "c": c_prev, "last": last, "gap": gap}
    for w in windows:
        lo = np.maximum(idx - w, start)
        k = (idx - lo).astype(np.float64)
        s = cum[idx] - cum[lo]
        out[f"w{w}"] = np.divide(s, k, out=np.full(n, np.nan), where=k > 0)
    result = {}
    for name, values in out.items():
        back = np.empty(n)
        back[order] = values
        result[name] = back
    return result


@dataclass(frozen=True)
class FeatureState:
    """A learner's history summary: everything the feature model needs to predict the next answer."""

    n_all: int = 0
    c_all: int = 0
    recent: tuple[int, ...] = ()  # last answers overall, newest last (at most 30)
    position: int = 0
    prev_skill: int | None = None
    prev_item: int | None = None
    # skill -> (n, c, last position, recent answers tuple)
    skills: Mapping[int, tuple[int, int, int, tuple[int, ...]]] = field(
        default_factory=lambda: MappingProxyType({}))
    items: Mapping[int, tuple[int, int, int]] = field(default_factory=lambda: MappingProxyType({}))  # n, c, last
    bkt: BKTState = field(default_factory=BKTState)


class FeatureBuilder:
    """Fitted encodings (item/skill difficulty, vocabularies, BKT) and the feature layout."""

    def __init__(self, *, use_items: bool, categorical_skills: bool, bkt: BKT) -> None:
        self.use_items = use_items
        self.categorical_skills = categorical_skills
        self.bkt = bkt
        self.skill_vocab: dict[int, int] = {}
        self.item_te: dict[int, tuple[float, float]] = {}
        self.skill_te: dict[int, float] = {}
        self.prior = 0.5
        names = ["log_n_all", "log_c_all", "log_w_all", "acc_all", "last_all"]
        names += [f"win{w}_all" for w in ALL_WINDOWS]
        names += ["log_n_skill", "log_c_skill", "log_w_skill", "acc_skill", "last_skill", "log_gap_skill"]
        names += [f"win{w}_skill" for w in SKILL_WINDOWS]
        if use_items:
            names += ["log_n_item", "log_c_item", "log_w_item", "last_item", "same_item_as_prev"]
        names += ["same_skill_as_prev", "te_item", "log_item_count", "te_skill", "bkt_p", "bkt_known"]
        if categorical_skills:
            names += ["skill", "prev_skill"]
        self.names = names

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([n in ("skill", "prev_skill") for n in self.names])

    def fit_encodings(self, flat: FlatResponses, *, folds: int, seed: int) -> np.ndarray:
        """Learn encodings on all training rows; return out-of-fold item/skill encodings for them."""
        y = flat.correct.astype(np.float64)
        self.prior = float(y.mean()) if len(y) else 0.5
        skills = np.unique(flat.skill)
        self.skill_vocab = {int(k): i for i, k in enumerate(skills)}
        self.item_te = _te_table(flat.item, y, self.prior)
        self.skill_te = {k: v for k, (v, _) in _te_table(flat.skill, y, self.prior).items()}
        # out-of-fold encodings for the training rows (student folds), so a row never encodes itself
        rng = np.random.default_rng(seed)
        fold_of_student = rng.integers(0, folds, size=len(flat.starts) - 1)
        fold = fold_of_student[flat.student]
        oof = np.empty((len(flat), 3))
        for f in range(folds):
            inside = fold == f
            it = _te_table(flat.item[~inside], y[~inside], self.prior)
            sk = _te_table(flat.skill[~inside], y[~inside], self.prior)
            oof[inside] = self._lookup(flat.item[inside], flat.skill[inside], it, sk)
        return oof

    def _lookup(self, items: np.ndarray, skills: np.ndarray, item_te: dict[int, tuple[float, float]],
                skill_te: Mapping[int, Any]) -> np.ndarray:
        out = np.empty((len(items), 3))
        default = (self.prior, 0.0)
        for j, (i, k) in enumerate(zip(items.tolist(), skills.tolist())):
            te, count = item_te.get(i, default)
            sk = skill_te.get(k, self.prior)
            out[j] = (te, count, sk[0] if isinstance(sk, tuple) else sk)
        return out

    def encodings(self, flat: FlatResponses) -> np.ndarray:
        return self._lookup(flat.item, flat.skill, self.item_te, self.skill_te)

    def batch(self, flat: FlatResponses, encodings: np.ndarray) -> np.ndarray:
        y = flat.correct
        overall = _group_history(flat.student, flat.position, y, ALL_WINDOWS)
        n_skill_max = int(flat.skill.max(initial=0)) + 1
        per_skill = _group_history(flat.student * n_skill_max + flat.skill, flat.position, y, SKILL_WINDOWS)
        cols: list[np.ndarray] = [
            _log1p_counts(overall["n"]), _log1p_counts(overall["c"]), _log1p_counts(overall["n"] - overall["c"]),
            (overall["c"] + 1) / (overall["n"] + 2), overall["last"]]
        cols += [overall[f"w{w}"] for w in ALL_WINDOWS]
        gap = per_skill["gap"]
        cols += [_log1p_counts(per_skill["n"]), _log1p_counts(per_skill["c"]),
                 _log1p_counts(per_skill["n"] - per_skill["c"]),
                 (per_skill["c"] + 1) / (per_skill["n"] + 2), per_skill["last"],
                 np.where(gap >= 0, _log1p_counts(np.maximum(gap, 0)), -1.0)]
        cols += [per_skill[f"w{w}"] for w in SKILL_WINDOWS]
        first_row = flat.position == 0
        prev_index = np.maximum(np.arange(len(flat)) - 1, 0)
        if self.use_items:
            n_item_max = int(flat.item.max(initial=0)) + 1
            per_item = _group_history(flat.student * n_item_max + flat.item, flat.position, y, ())
            same_item = np.where(first_row, 0.0, (flat.item == flat.item[prev_index]).astype(np.float64))
            cols += [_log1p_counts(per_item["n"]), _log1p_counts(per_item["c"]),
                     _log1p_counts(per_item["n"] - per_item["c"]),
                     per_item["last"], same_item]
        same_skill = np.where(first_row, 0.0, (flat.skill == flat.skill[prev_index]).astype(np.float64))
        bkt_p, bkt_known = self.bkt.predict_flat(flat)
        cols += [same_skill, encodings[:, 0], _log1p_counts(encodings[:, 1]), encodings[:, 2], bkt_p, bkt_known]
        if self.categorical_skills:
            vocab = self.skill_vocab
            skill_code = np.array([vocab.get(k, -1) for k in flat.skill.tolist()], dtype=np.float64)
            skill_code[skill_code < 0] = np.nan
            prev_code = np.where(first_row, np.nan, skill_code[prev_index])
            cols += [skill_code, prev_code]
        return np.column_stack(cols) if cols and len(flat) else np.zeros((len(flat), len(self.names)))

    def online(self, state: FeatureState, skill: int, item: int | None) -> np.ndarray:
        item = skill if item is None else item
        n, c = state.n_all, state.c_all
        recent = state.recent
        row: list[float] = [_log1p_count(n), _log1p_count(c), _log1p_count(n - c), (c + 1) / (n + 2),
                            float(recent[-1]) if recent else -1.0]
        row += [_window(recent, w) for w in ALL_WINDOWS]
        sn, sc, slast_pos, srecent = state.skills.get(skill, (0, 0, -1, ()))
        row += [_log1p_count(sn), _log1p_count(sc), _log1p_count(sn - sc), (sc + 1) / (sn + 2),
                float(srecent[-1]) if srecent else -1.0,
                _log1p_count(state.position - slast_pos) if sn else -1.0]
        row += [_window(srecent, w) for w in SKILL_WINDOWS]
        first = state.prev_skill is None
        if self.use_items:
            i_n, i_c, i_last = state.items.get(item, (0, 0, -1))
            row += [_log1p_count(i_n), _log1p_count(i_c), _log1p_count(i_n - i_c), float(i_last),
                    0.0 if first else float(item == state.prev_item)]
        te, count = self.item_te.get(item, (self.prior, 0.0))
        row += [0.0 if first else float(skill == state.prev_skill), te, _log1p_count(count),
                self.skill_te.get(skill, self.prior),
                self.bkt.predict_next(state.bkt, skill, item), self.bkt.mastery(state.bkt, self.bkt._key(skill, item))]
        if self.categorical_skills:
            code = self.skill_vocab.get(skill)
            prev = None if first else self.skill_vocab.get(state.prev_skill)  # type: ignore[arg-type]
            row += [float("nan") if code is None else float(code), float("nan") if prev is None else float(prev)]
        return np.array(row, dtype=np.float64)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n):
        yield


def _window(recent: tuple[int, ...], w: int) -> float:
    tail = recent[-w:]
    return sum(tail) / len(tail) if tail else float("nan")


def _te_table(keys: np.ndarray, y: np.ndarray, prior: float) -> dict[int, tuple[float, float]]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    sums = np.bincount(inverse, weights=y, minlength=len(uniq))
    te = (sums + _SMOOTH * prior) / (counts + _SMOOTH)
    return {int(k): (float(v), float(n)) for k, v, n in zip(uniq, te, counts)}


def feature_update(state: FeatureState, skill: int, correct: bool, item: int | None, bkt: BKT) -> FeatureState:
    item = skill if item is None else item
    y = 1 if correct else 0
    skills = dict(state.skills)
    sn, sc, _, srecent = skills.get(skill, (0, 0, -1, ()))
    skills[skill] = (sn + 1, sc + y, state.position, (srecent + (y,))[-_MAX_SKILL_WINDOW:])
    items = dict(state.items)
    i_n, i_c, _ = items.get(item, (0, 0, -1))
    items[item] = (i_n + 1, i_c + y, y)
    return FeatureState(n_all=state.n_all + 1, c_all=state.c_all + y,
                        recent=(state.recent + (y,))[-_MAX_WINDOW:], position=state.position + 1,
                        prev_skill=skill, prev_item=item, skills=MappingProxyType(skills),
                        items=MappingProxyType(items), bkt=bkt.update(state.bkt, skill, bool(correct), item))


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------

class _FeatureModel:
    name = "features"

    def __init__(self, *, inner_fraction: float = 0.15, folds: int = 5, bkt_key: str = "skill",
                 n_threads: int = 1) -> None:
        self.inner_fraction, self.folds, self.bkt_key = inner_fraction, folds, bkt_key
        # One BLAS/OpenMP thread by default: on a shared 2-core machine, OpenMP with 2 threads was
        # 10x slower than 1 thread for HistGradientBoosting (oversubscription).
        self.n_threads = n_threads
        self.builder: FeatureBuilder | None = None
        self.chosen: dict[str, Any] = {}
        # the inner split used for selection (True = held-out student) and the selected model's
        # predictions for the held-out students' rows (fitted without them): for stacking (kt_deep)
        self.inner_students: np.ndarray | None = None
        self.inner_proba: np.ndarray | None = None

    # hooks -----------------------------------------------------------------------------------
    def _train(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None,
               seed: int) -> Any:
        raise NotImplementedError

    def _proba(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # shared ----------------------------------------------------------------------------------
    def _prepare(self, sequences: Sequence[StudentSequence], seed: int) -> tuple[FeatureBuilder, np.ndarray, np.ndarray, FlatResponses]:
        flat = flatten(sequences)
        use_items = bool(np.any(flat.item != flat.skill))
        n_skills = len(np.unique(flat.skill))
        bkt = BKT(key=self.bkt_key).fit(sequences, seed=seed)
        builder = FeatureBuilder(use_items=use_items, categorical_skills=n_skills <= 250, bkt=bkt)
        oof = builder.fit_encodings(flat, folds=self.folds, seed=seed)
        x = builder.batch(flat, oof)
        return builder, x, flat.correct.astype(np.int64), flat

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> _FeatureModel:
        with _threads(self.n_threads):
            return self._fit(sequences, seed)

    def _fit(self, sequences: Sequence[StudentSequence], seed: int) -> _FeatureModel:
        builder, x, y, flat = self._prepare(sequences, seed)
        self.builder = builder
        rng = np.random.default_rng(seed + 1)
        n_students = len(flat.starts) - 1
        inner = rng.random(n_students) < self.inner_fraction
        val_rows = inner[flat.student]
        self.inner_students = inner
        self._select(x[~val_rows], y[~val_rows], x[val_rows], y[val_rows], seed)
        self._train(x, y, None, None, seed)
        return self

    def _select(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int) -> None:
        self._train(x, y, x_val, y_val, seed)

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        assert self.builder is not None, "fit first"
        x = self.builder.batch(flat, self.builder.encodings(flat))
        with _threads(self.n_threads):
            return self._proba(x)

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))

    def initial_state(self) -> FeatureState:
        return FeatureState()

    def predict_next(self, state: FeatureState, skill: int, item: int | None = None) -> float:
        assert self.builder is not None, "fit first"
        return float(self._proba(self.builder.online(state, skill, item)[None, :])[0])

    def update(self, state: FeatureState, skill: int, correct: bool, item: int | None = None) -> FeatureState:
        assert self.builder is not None, "fit first"
        return feature_update(state, skill, correct, item, self.builder.bkt)

    def mastery(self, state: FeatureState, skill: int) -> float:
        """P(correct) on an average item of the skill (the item id is unknown, so the skill's own)."""
        return self.predict_next(state, skill, None)


class _CompiledTrees:
    """The fitted boosted trees as padded numpy tables, walked for all trees at once.

    scikit-learn's ``predict_proba`` costs milliseconds for one row (input validation, thread pools);
    this walker gives the same number in tens of microseconds, so ``predict_next`` stays cheap. The
    routing rules are those of scikit-learn's ``_predict_one_from_raw_data`` (missing values, left
    category bitsets, unknown categories treated as missing); equality is checked in the tests.
    """

    def __init__(self, model: Any) -> None:
        predictors = [stage[0] for stage in model._predictors]
        n_trees = len(predictors)
        width = max(len(p.nodes) for p in predictors)
        self.n_trees = n_trees
        self.baseline = float(np.ravel(model._baseline_prediction)[0])
        shape = (n_trees, width)
        self.feature = np.zeros(shape, dtype=np.int64)
        self.threshold = np.zeros(shape)
        self.left = np.zeros(shape, dtype=np.int64)
        self.right = np.zeros(shape, dtype=np.int64)
        self.leaf = np.ones(shape, dtype=bool)
        self.value = np.zeros(shape)
        self.missing_left = np.zeros(shape, dtype=bool)
        self.categorical = np.zeros(shape, dtype=bool)
        self.bitset = np.zeros(shape, dtype=np.int64)
        bitsets = []
        offset = 0
        depth = 0
        for t, p in enumerate(predictors):
            nodes = p.nodes
            n = len(nodes)
            self.feature[t, :n] = nodes["feature_idx"]
            self.threshold[t, :n] = nodes["num_threshold"]
            self.left[t, :n] = nodes["left"]
            self.right[t, :n] = nodes["right"]
            self.leaf[t, :n] = nodes["is_leaf"].astype(bool)
            self.value[t, :n] = nodes["value"]
            self.missing_left[t, :n] = nodes["missing_go_to_left"].astype(bool)
            self.categorical[t, :n] = nodes["is_categorical"].astype(bool)
            self.bitset[t, :n] = nodes["bitset_idx"].astype(np.int64) + offset
            raw = np.asarray(p.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
            bitsets.append(raw)
            offset += len(raw)
            depth = max(depth, int(nodes["depth"].max()))
        self.depth = depth
        self.left_bitsets = np.concatenate(bitsets) if offset else np.zeros((1, 8), dtype=np.uint32)
        np.minimum(self.bitset, len(self.left_bitsets) - 1, out=self.bitset)
        # With categorical features scikit-learn first ordinal-encodes them and moves them to the
        # front (a ColumnTransformer: encoded categorical columns, then the numeric ones).
        self.perm: np.ndarray | None = None
        self.categories: list[tuple[int, np.ndarray]] = []
        pre = getattr(model, "_preprocessor", None)
        if pre is not None:
            columns = {name: np.flatnonzero(np.asarray(cols)) if np.asarray(cols).dtype == bool
                       else np.asarray(cols, dtype=np.int64) for name, _, cols in pre.transformers_
                       if name in ("encoder", "numerical")}
            encoded = columns.get("encoder", np.zeros(0, dtype=np.int64))
            self.perm = np.concatenate([encoded, columns.get("numerical", np.zeros(0, dtype=np.int64))])
            encoder = pre.named_transformers_["encoder"]
            self.categories = [(j, np.asarray(c, dtype=np.float64)) for j, c in enumerate(encoder.categories_)]
        self.has_categorical = bool(self.categorical.any())
        if self.has_categorical:
            known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
            self.known = np.asarray(known, dtype=np.uint32)
            self.f_idx_map = np.asarray(f_idx_map, dtype=np.int64)
        self.rows = np.arange(n_trees)
        # the same tables as 1-D arrays with global node ids (faster to index than (tree, node) pairs)
        base = (np.arange(n_trees) * width)[:, None]
        self._flat = {"root": np.arange(n_trees, dtype=np.int64) * width,
                      "feature": self.feature.ravel(), "threshold": self.threshold.ravel(),
                      "left": (self.left + base).ravel(), "right": (self.right + base).ravel(),
                      "leaf": self.leaf.ravel(), "value": self.value.ravel(),
                      "missing_left": self.missing_left.ravel(), "categorical": self.categorical.ravel(),
                      "bitset": self.bitset.ravel()}
        # Leaves loop to themselves, so every level of the walk is the same few array operations on all
        # trees at once (no compressing to the trees still walking and scattering back).
        flat_ids = np.arange(n_trees * width, dtype=np.int64)
        leaf_flat = self._flat["leaf"]
        self._flat["left_or_self"] = np.where(leaf_flat, flat_ids, self._flat["left"])
        self._flat["right_or_self"] = np.where(leaf_flat, flat_ids, self._flat["right"])
        self._categorical_nodes = np.flatnonzero(self._flat["categorical"] & ~leaf_flat)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        if self.perm is None:
            return x
        x = x[self.perm].astype(np.float64)
        for j, cats in self.categories:
            v = x[j]
            if not math.isnan(v):
                k = int(np.searchsorted(cats, v))
                x[j] = float(k) if k < len(cats) and cats[k] == v else math.nan
        return x

    def _decisions(self, x: np.ndarray) -> np.ndarray:
        """Whether each node (all trees, flat ids) sends this row left: every split decided in one pass,
        so the walk down the trees is only lookups."""
        flat = self._flat
        v = x[flat["feature"]]
        missing = np.isnan(v)
        go_left = np.where(missing, flat["missing_left"], v <= flat["threshold"])
        at = self._categorical_nodes
        if self.has_categorical and len(at):
            vc = v[at]
            known_value = ~np.isnan(vc)
            c = np.where(known_value, vc, 0).astype(np.int64)
            word, bit = c // 32, (c % 32).astype(np.uint32)
            in_left = (self.left_bitsets[flat["bitset"][at], word] >> bit) & 1
            known = (self.known[self.f_idx_map[flat["feature"][at]], word] >> bit) & 1
            fallback = flat["missing_left"][at]
            cat_left = np.where(in_left == 1, True, np.where(known == 1, False, fallback))
            cat_left = np.where(known_value & (vc >= 0), cat_left, fallback)
            go_left[at] = cat_left
        return go_left

    def raw(self, x: np.ndarray) -> float:
        x = self._transform(x)
        flat = self._flat
        go_left = self._decisions(x)
        leaf, left, right = flat["leaf"], flat["left_or_self"], flat["right_or_self"]
        node = flat["root"]
        for level in range(self.depth):
            if level % 4 == 3 and leaf[node].all():
                break
            node = np.where(go_left[node], left[node], right[node])
        return self.baseline + float(flat["value"][node].sum())

    def proba(self, x: np.ndarray) -> float:
        return 1.0 / (1.0 + math.exp(-max(min(self.raw(x), 35.0), -35.0)))


class FeatureGBM(_FeatureModel):
    """Histogram gradient boosting on the history features; rounds and tree size chosen on an inner split."""

    name = "GBM-features"

    def __init__(self, *, max_iter: int = 250, learning_rate: float = 0.1,
                 leaf_grid: tuple[int, ...] = (31,), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_iter, self.learning_rate, self.leaf_grid = max_iter, learning_rate, leaf_grid
        self.model: Any = None

    def _make(self, leaves: int, iters: int, seed: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        assert self.builder is not None
        mask = self.builder.categorical_mask
        return HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=iters, max_leaf_nodes=leaves, min_samples_leaf=100,
            l2_regularization=1.0, early_stopping=False, random_state=seed,
            categorical_features=mask if mask.any() else None)

    def _select(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int) -> None:
        best = (-1.0, self.leaf_grid[0], self.max_iter)
        for leaves in self.leaf_grid:
            model = self._make(leaves, self.max_iter, seed).fit(x, y)
            for i, p in enumerate(model.staged_predict_proba(x_val)):
                if (i + 1) % 10 and i + 1 != self.max_iter:
                    continue
                auc = roc_auc(y_val, p[:, 1])
                if auc > best[0]:
                    best = (auc, leaves, i + 1)
                    self.inner_proba = p[:, 1].copy()
        self.chosen = {"max_leaf_nodes": best[1], "max_iter": best[2], "inner_auc": round(best[0], 4)}

    def _train(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None,
               seed: int) -> Any:
        self.model = self._make(self.chosen.get("max_leaf_nodes", 31), self.chosen.get("max_iter", self.max_iter),
                                seed).fit(x, y)
        self.trees = _CompiledTrees(self.model)
        return self.model

    def _proba(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]

    def predict_next(self, state: FeatureState, skill: int, item: int | None = None) -> float:
        assert self.builder is not None, "fit first"
        return self.trees.proba(self.builder.online(state, skill, item))


class FeatureLR(_FeatureModel):
    """Logistic regression: one-hot skill (and item) intercepts, PFA per-skill slopes, shared features."""

    name = "Best-LR"

    def __init__(self, *, c_grid: tuple[float, ...] = (0.1, 1.0), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.c_grid = c_grid
        self.model: Any = None
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.dense_cols: np.ndarray | None = None

    def _design(self, x: np.ndarray) -> Any:
        from scipy import sparse

        assert self.builder is not None and self.mean is not None and self.scale is not None
        b = self.builder
        names = b.names
        dense = x[:, self.dense_cols]
        dense = np.where(np.isnan(dense), self.mean, dense)
        dense = (dense - self.mean) / self.scale
        n = len(x)
        # skill index from the builder's vocabulary: the skill column is not always a feature, so the
        # caller passes it as the last column (see _with_keys)
        skill_idx = x[:, -2].astype(np.int64)
        item_idx = x[:, -1].astype(np.int64)
        n_sk = len(b.skill_vocab) + 1
        rows = np.arange(n)
        onehot_skill = sparse.csr_matrix((np.ones(n), (rows, skill_idx)), shape=(n, n_sk))
        log_c = x[:, names.index("log_c_skill")]
        log_w = x[:, names.index("log_w_skill")]
        pfa_c = sparse.csr_matrix((log_c, (rows, skill_idx)), shape=(n, n_sk))
        pfa_w = sparse.csr_matrix((log_w, (rows, skill_idx)), shape=(n, n_sk))
        blocks = [sparse.csr_matrix(dense), onehot_skill, pfa_c, pfa_w]
        if b.use_items:
            blocks.append(sparse.csr_matrix((np.ones(n), (rows, item_idx)), shape=(n, self.n_items + 1)))
        return sparse.hstack(blocks, format="csr")

    def _with_keys(self, x: np.ndarray, skills: np.ndarray, items: np.ndarray) -> np.ndarray:
        assert self.builder is not None
        vocab = self.builder.skill_vocab
        s = np.array([vocab.get(k, len(vocab)) for k in skills.tolist()], dtype=np.float64)
        i = np.array([self.item_vocab.get(k, self.n_items) for k in items.tolist()], dtype=np.float64)
        return np.column_stack([x, s, i])

    def _fit(self, sequences: Sequence[StudentSequence], seed: int) -> FeatureLR:
        builder, x, y, flat = self._prepare(sequences, seed)
        self.builder = builder
        items = np.unique(flat.item)
        self.item_vocab = {int(k): j for j, k in enumerate(items)}
        self.n_items = len(items)
        cat = builder.categorical_mask
        self.dense_cols = np.flatnonzero(~cat)
        dense = x[:, self.dense_cols]
        self.mean = np.nanmean(dense, axis=0)
        filled = np.where(np.isnan(dense), self.mean, dense)
        self.scale = np.maximum(filled.std(axis=0), 1e-6)
        xk = self._with_keys(x, flat.skill, flat.item)
        rng = np.random.default_rng(seed + 1)
        inner = rng.random(len(flat.starts) - 1) < self.inner_fraction
        val_rows = inner[flat.student]
        self.inner_students = inner
        design = self._design(xk)
        best = (-1.0, self.c_grid[0])
        for c in self.c_grid:
            model = self._logreg(c, seed).fit(design[~val_rows], y[~val_rows])
            proba = model.predict_proba(design[val_rows])[:, 1]
            auc = roc_auc(y[val_rows], proba)
            if auc > best[0]:
                best = (auc, c)
                self.inner_proba = proba
        self.chosen = {"C": best[1], "inner_auc": round(best[0], 4)}
        self.model = self._logreg(best[1], seed).fit(design, y)
        return self

    @staticmethod
    def _logreg(c: float, seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=300, tol=1e-4, random_state=seed)

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        assert self.builder is not None
        x = self.builder.batch(flat, self.builder.encodings(flat))
        with _threads(self.n_threads):
            return self.model.predict_proba(self._design(self._with_keys(x, flat.skill, flat.item)))[:, 1]

    def predict_next(self, state: FeatureState, skill: int, item: int | None = None) -> float:
        """The logistic model evaluated directly from its coefficients (no sparse matrix, no sklearn)."""
        assert self.builder is not None and self.mean is not None and self.scale is not None
        b = self.builder
        item = skill if item is None else item
        row = b.online(state, skill, item)
        dense = row[self.dense_cols]
        dense = np.where(np.isnan(dense), self.mean, dense)
        coef = self.model.coef_[0]
        n_dense = len(self.dense_cols)  # type: ignore[arg-type]
        n_sk = len(b.skill_vocab) + 1
        s = b.skill_vocab.get(skill, n_sk - 1)
        z = float(self.model.intercept_[0]) + float(((dense - self.mean) / self.scale) @ coef[:n_dense])
        z += coef[n_dense + s]
        z += row[b.names.index("log_c_skill")] * coef[n_dense + n_sk + s]
        z += row[b.names.index("log_w_skill")] * coef[n_dense + 2 * n_sk + s]
        if b.use_items:
            z += coef[n_dense + 3 * n_sk + self.item_vocab.get(item, self.n_items)]
        return 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))


class FeatureEnsemble:
    """The mean, on the log-odds scale, of the boosted and the logistic feature models: they err in
    different places (trees on interactions, the logistic model on sparse skill and item effects), so
    their average ranks answers better than either. Online updates share one history state."""

    name = "GBM+LR"

    def __init__(self, **kwargs: Any) -> None:
        self.gbm = FeatureGBM(**kwargs)
        self.lr = FeatureLR(**kwargs)

    def fit(self, sequences: Sequence[StudentSequence], *, seed: int = 0) -> FeatureEnsemble:
        self.gbm.fit(sequences, seed=seed)
        self.lr.fit(sequences, seed=seed)
        self.chosen = {"gbm": self.gbm.chosen, "lr": self.lr.chosen}
        # both select on the same held-out students (same seed and fraction): their combined
        # out-of-sample predictions there, for stacking with other models (kt_deep)
        self.inner_students = self.gbm.inner_students
        self.inner_proba = None
        if (self.gbm.inner_proba is not None and self.lr.inner_proba is not None
                and np.array_equal(self.gbm.inner_students, self.lr.inner_students)):
            self.inner_proba = self._mean_logit(self.gbm.inner_proba, self.lr.inner_proba)
        return self

    @staticmethod
    def _mean_logit(p: np.ndarray | float, q: np.ndarray | float) -> Any:
        def logit(v: Any) -> Any:
            v = np.clip(v, 1e-6, 1 - 1e-6)
            return np.log(v / (1 - v))

        return 1.0 / (1.0 + np.exp(-(logit(p) + logit(q)) / 2))

    def predict_flat(self, flat: FlatResponses) -> np.ndarray:
        return self._mean_logit(self.gbm.predict_flat(flat), self.lr.predict_flat(flat))

    def predict_sequences(self, sequences: Sequence[StudentSequence]) -> np.ndarray:
        return self.predict_flat(flatten(sequences))

    def initial_state(self) -> FeatureState:
        return FeatureState()

    def predict_next(self, state: FeatureState, skill: int, item: int | None = None) -> float:
        return float(self._mean_logit(self.gbm.predict_next(state, skill, item), self.lr.predict_next(state, skill, item)))

    def update(self, state: FeatureState, skill: int, correct: bool, item: int | None = None) -> FeatureState:
        return self.gbm.update(state, skill, correct, item)

    def mastery(self, state: FeatureState, skill: int) -> float:
        return self.predict_next(state, skill, None)
