"""At-risk models: a calibrated gradient-boosting model (ours) and a logistic-regression baseline.

Pure: numpy and scikit-learn, no Django. Deterministic given `seed`. Both models take the rows of
`features.FEATURE_NAMES` and predict the probability of the bad outcome (for OULAD: fail or withdraw),
with a confidence and the main reasons for each learner.

- Ours (`early-warning-gbm`): HistGradientBoostingClassifier (native missing values, monotone in the
  features where the direction is not in doubt) wrapped in CalibratedClassifierCV with isotonic
  calibration fitted on grouped cross-validation folds: a fold's model never saw the cohorts
  (presentations) whose predictions calibrate it, so the calibration is learnt across cohorts, the way
  it will be used on a later one. The calibrated fold models are averaged.
- Baseline (`early-warning-logreg`): median imputation + missing-value indicators, standardising, L2
  logistic regression.

Reasons: for the logistic regression, coefficient x standardised value (log-odds, relative to an
average learner). For the boosting model, sampling Shapley values (Strumbelj and Kononenko 2014) of the
calibrated probability against a fixed background sample of training learners: exact in expectation,
they add up to the prediction minus the background's mean prediction.

Confidence: the spread of the fold models' predictions (each learnt without some cohorts):
confidence = 1 - (max - min), with the range reported as an interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .features import FEATURE_NAMES, FeatureRow

MODEL_NAME = "early-warning-gbm"
MODEL_VERSION = "1.0"
BASELINE_NAME = "early-warning-logreg"
BASELINE_VERSION = "1.0"

# The features the models use: the course-schedule facts (course length, due counts and weights, next
# due date) are left out; they are constant within a course, so a model learns them as a course
# identifier and extrapolates badly to a new course or a changed schedule (checked on the training
# presentations only, 2013B <-> 2013J; see docs/adr/0002-early-warning.md).
SCHEDULE_FEATURES = frozenset({"course_length", "n_due", "weight_due", "days_to_next_due", "next_due_weight"})
MODEL_FEATURES: tuple[str, ...] = tuple(f for f in FEATURE_NAMES if f not in SCHEDULE_FEATURES)

# +1: more of it, more risk; -1: more of it, less risk; features not listed are left free.
MONOTONE: dict[str, int] = {
    "n_missed": 1, "missed_fraction": 1, "n_below_pass": 1,
    "mean_score": -1, "min_score": -1, "last_score": -1, "weighted_score": -1, "earned_fraction": -1,
    "score_z": -1, "earned_z": -1, "submission_rate_gap": -1,
}


@dataclass(frozen=True)
class ModelConfig:
    seed: int = 0
    learning_rate: float = 0.03
    max_iter: int = 200
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    monotone: bool = True
    calibration: str = "isotonic"
    """isotonic or sigmoid (Platt)."""
    max_folds: int = 5
    logreg_c: float = 1.0
    background_size: int = 32
    shapley_permutations: int = 24
    threads: int | None = None
    """OpenMP threads for the boosting model (None = all cores; 1 avoids oversubscription on busy machines)."""


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    contribution: float
    """Effect on the prediction: log-odds (logistic regression) or probability points (boosting)."""

    @property
    def direction(self) -> str:
        return "raises risk" if self.contribution > 0 else "lowers risk"


@dataclass(frozen=True)
class Prediction:
    enrolment_key: tuple[str, str, str]
    day: int
    model: str
    version: str
    probability: float
    confidence: float
    """1 - width of `interval` (1 = every fold model agrees)."""
    interval: tuple[float, float]
    """Lowest and highest prediction of the fold models (each trained without some cohorts)."""
    reasons: tuple[Reason, ...] = ()


Array = NDArray[np.float64]


def rows_to_matrix(rows: Sequence[FeatureRow], features: Sequence[str] = MODEL_FEATURES) -> Array:
    """The model's input matrix: one row per FeatureRow, the columns of `features` in that order."""
    columns = [FEATURE_NAMES.index(f) for f in features]
    if not rows:
        return np.zeros((0, len(columns)))
    return np.asarray([r.values for r in rows], dtype=np.float64)[:, columns]


def _folds(y: NDArray[np.int_], groups: Sequence[str] | None, max_folds: int, seed: int) -> list[tuple[Any, Any]]:
    """Grouped folds when there are at least two groups, stratified folds otherwise."""
    if groups is not None:
        labels = np.asarray(groups)
        distinct = np.unique(labels)
        if distinct.size >= 2:
            splitter = GroupKFold(n_splits=min(max_folds, int(distinct.size)))
            return list(splitter.split(np.zeros(y.size), y, labels))
    n_splits = max(2, min(max_folds, int(np.bincount(y, minlength=2).min())))
    return list(StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(y.size), y))


@dataclass
class RiskModel:
    """A fitted model: `predict_proba` on feature matrices, `predict` on FeatureRows with reasons."""

    name: str
    version: str
    kind: str
    feature_names: tuple[str, ...]
    estimator: Any
    members: tuple[Any, ...]
    background: Array
    config: ModelConfig
    training_rows: int
    training_positive_rate: float
    notes: tuple[str, ...] = field(default=())

    def predict_proba(self, x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] == 0:
            return np.zeros(0)
        with threadpool_limits(limits=self.config.threads, user_api="openmp"):
            return np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=np.float64)

    def member_probabilities(self, x: Array) -> Array:
        """(members, rows) predictions of the fold models."""
        with threadpool_limits(limits=self.config.threads, user_api="openmp"):
            return np.vstack([m.predict_proba(x)[:, 1] for m in self.members])

    def explain_matrix(self, x_row: Array, n_reasons: int = 3) -> tuple[Reason, ...]:
        x_row = np.asarray(x_row, dtype=np.float64).ravel()
        if self.kind == "logreg":
            contributions = _logreg_contributions(self.estimator, x_row)
        else:
            contributions = sampling_shapley(self.predict_proba, x_row, self.background,
                                             self.config.shapley_permutations, self.config.seed)
        order = np.argsort(-np.abs(contributions), kind="mergesort")[:n_reasons]
        return tuple(Reason(self.feature_names[i], float(x_row[i]), float(contributions[i]))
                     for i in order if contributions[i] != 0)

    def predict(self, rows: Sequence[FeatureRow], *, n_reasons: int = 3) -> list[Prediction]:
        x = rows_to_matrix(rows, self.feature_names)
        if not rows:
            return []
        p = self.predict_proba(x)
        members = self.member_probabilities(x)
        low, high = members.min(axis=0), members.max(axis=0)
        return [Prediction(row.enrolment_key, row.day, self.name, self.version, float(p[i]),
                           float(1.0 - (high[i] - low[i])), (float(low[i]), float(high[i])),
                           self.explain_matrix(x[i], n_reasons) if n_reasons else ())
                for i, row in enumerate(rows)]


def _logreg_contributions(pipeline: Pipeline, x_row: Array) -> Array:
    """coefficient x standardised value, per original feature (missing indicators folded in)."""
    imputer: SimpleImputer = pipeline.named_steps["impute"]
    scaler: StandardScaler = pipeline.named_steps["scale"]
    model: LogisticRegression = pipeline.named_steps["model"]
    z = scaler.transform(imputer.transform(x_row[None, :]))[0]
    terms = model.coef_[0] * z
    n = x_row.size
    contributions = terms[:n].copy()
    for k, feature in enumerate(imputer.indicator_.features_ if imputer.indicator_ is not None else ()):
        contributions[feature] += terms[n + k]
    return contributions


def sampling_shapley(f: Any, x: Array, background: Array, permutations: int, seed: int) -> Array:
    """Monte Carlo Shapley values of f at x (interventional, against `background` rows).

    For each random feature order and each background row, features are switched from the background
    row to x one at a time in that order; a feature's contribution is the change in f when it switches.
    Along each path the contributions add up to f(x) - f(background row), so their mean adds up to
    f(x) - mean f(background). Seeded: the same inputs give the same values.
    """
    rng = np.random.default_rng(seed)
    n_features = x.size
    paths = []
    for _ in range(permutations):
        order = rng.permutation(n_features)
        for b in background:
            path = np.repeat(b[None, :], n_features + 1, axis=0)
            for step, feature in enumerate(order, start=1):
                path[step:, feature] = x[feature]
            paths.append((order, path))
    values = f(np.vstack([p for _, p in paths])).reshape(len(paths), n_features + 1)
    contributions = np.zeros(n_features)
    for (order, _), v in zip(paths, values):
        contributions[order] += np.diff(v)
    return contributions / len(paths)


class EmptyColumnsToZero(TransformerMixin, BaseEstimator):
    """Replace columns with no value at all in the training data by zeros (HistGradientBoosting cannot
    bin an all-missing column; e.g. no scores exist yet on day 14 in some cohorts)."""

    def fit(self, x: Array, y: Any = None) -> "EmptyColumnsToZero":
        self.empty_ = np.isnan(np.asarray(x, dtype=np.float64)).all(axis=0)
        return self

    def transform(self, x: Array) -> Array:
        out = np.array(x, dtype=np.float64, copy=True)
        out[:, self.empty_] = 0.0
        return out


def _gbm(config: ModelConfig, feature_names: Sequence[str]) -> Pipeline:
    monotone = [MONOTONE.get(name, 0) for name in feature_names] if config.monotone else None
    return Pipeline([("empty", EmptyColumnsToZero()), ("model", HistGradientBoostingClassifier(
        learning_rate=config.learning_rate, max_iter=config.max_iter, max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf, l2_regularization=config.l2_regularization,
        monotonic_cst=monotone, early_stopping=False, random_state=config.seed))])


def _logreg(config: ModelConfig) -> Pipeline:
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("model", LogisticRegression(C=config.logreg_c, max_iter=2000)),
    ])


def _background(x: Array, size: int, seed: int) -> Array:
    rng = np.random.default_rng(seed)
    take = rng.choice(x.shape[0], size=min(size, x.shape[0]), replace=False)
    return x[np.sort(take)]


def _check(x: Array, y: NDArray[np.int_], feature_names: Sequence[str]) -> None:
    if x.ndim != 2 or x.shape[1] != len(feature_names):
        raise ValueError(f"expected {len(feature_names)} features per row, got shape {x.shape}")
    if x.shape[0] != y.size:
        raise ValueError(f"{x.shape[0]} rows but {y.size} labels")
    if y.size == 0 or y.min() == y.max():
        raise ValueError("training needs learners of both outcomes")


def fit_gbm(x: Array, y: Sequence[int], groups: Sequence[str] | None = None, config: ModelConfig = ModelConfig(),
            feature_names: Sequence[str] = MODEL_FEATURES) -> RiskModel:
    """Our model: gradient boosting calibrated on grouped folds (groups = cohorts, e.g. presentations)."""
    x = np.asarray(x, dtype=np.float64)
    y_arr = np.asarray(y, dtype=np.int_)
    _check(x, y_arr, feature_names)
    folds = _folds(y_arr, groups, config.max_folds, config.seed)
    calibrated = CalibratedClassifierCV(_gbm(config, feature_names), method=config.calibration, cv=folds,
                                        ensemble=True)
    with threadpool_limits(limits=config.threads, user_api="openmp"):
        calibrated.fit(x, y_arr)
    members = tuple(calibrated.calibrated_classifiers_)
    return RiskModel(MODEL_NAME, MODEL_VERSION, "gbm", tuple(feature_names), calibrated, members,
                     _background(x, config.background_size, config.seed), config, int(y_arr.size),
                     float(y_arr.mean()), (f"{len(folds)} calibration folds",))


def fit_logreg(x: Array, y: Sequence[int], groups: Sequence[str] | None = None, config: ModelConfig = ModelConfig(),
               feature_names: Sequence[str] = MODEL_FEATURES) -> RiskModel:
    """The baseline: logistic regression on the same features; fold models give its confidence."""
    x = np.asarray(x, dtype=np.float64)
    y_arr = np.asarray(y, dtype=np.int_)
    _check(x, y_arr, feature_names)
    model = _logreg(config).fit(x, y_arr)
    members = tuple(clone(_logreg(config)).fit(x[train], y_arr[train])
                    for train, _ in _folds(y_arr, groups, config.max_folds, config.seed))
    return RiskModel(BASELINE_NAME, BASELINE_VERSION, "logreg", tuple(feature_names), model, members,
                     _background(x, config.background_size, config.seed), config, int(y_arr.size),
                     float(y_arr.mean()))


def mean_abs_contributions(model: RiskModel, x: Array, n: int = 200, seed: int = 0) -> dict[str, float]:
    """Average |contribution| per feature over up to `n` rows: a global view of what drives the model."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] == 0:
        return {}
    rng = np.random.default_rng(seed)
    rows = x[np.sort(rng.choice(x.shape[0], size=min(n, x.shape[0]), replace=False))]
    total = np.zeros(x.shape[1])
    for row in rows:
        if model.kind == "logreg":
            total += np.abs(_logreg_contributions(model.estimator, row))
        else:
            total += np.abs(sampling_shapley(model.predict_proba, row, model.background[:8], 4, seed))
    values = total / rows.shape[0]
    return {name: float(v) for name, v in sorted(zip(model.feature_names, values), key=lambda kv: -kv[1])
            if not math.isnan(v)}
