"""Clinical risk models for teaching: training, evaluation, explanation, subgroup audit, transport, leakage.

Pure (no Django); deterministic given `seed`. Models (scikit-learn):
- logistic regression: median imputation + standardisation of numeric/binary columns, mode imputation
  + one-hot of categorical ones (the same-run baseline);
- gradient boosting (HistGradientBoosting, native missing-value handling, shallow trees for small data);
- recommended: of {logistic regression, gradient boosting, their soft-vote blend}, the one with the best
  5-fold cross-validated AUC on the training rows (a more complex model must beat logistic regression
  by 0.005 to be chosen), then recalibrated by Platt scaling fitted on out-of-fold predictions of the
  training rows (CalibratedClassifierCV(method="sigmoid", ensemble=False)): a monotone map, so the
  ranking and AUC of the chosen model are kept. Platt rather than isotonic because the datasets have
  231–693 rows, where isotonic regression overfits (Niculescu-Mizil & Caruana, ICML 2005).

Explanations of one prediction:
- "exact-linear": logistic regression's contribution of each feature on the log-odds scale,
  coef·(x − mean of training), summed over the one-hot columns of a categorical feature; exact, and
  equal to the interventional SHAP values of a linear model with independent features.
- "sampling-shapley": for other models, Shapley values of the risk estimated by permutation sampling
  against background training rows (Štrumbelj & Kononenko, Knowl Inf Syst 2014); contributions sum
  exactly to risk − base value (mean risk of the background rows drawn). The `shap` package is not used.
Model importance: permutation importance (drop in test AUC when a column is shuffled).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from medtutor.decision.engine import calibration as cal
from medtutor.decision.engine.clinical_data import ClinicalData, DatasetSpec, SubgroupSpec

MODEL_KINDS = ("logreg", "gbm", "recommended")
KIND_LABELS = {"logreg": "Logistic regression", "gbm": "Gradient boosting", "recommended": "Recommended (calibrated)",
               "blend": "Blend of logistic regression and gradient boosting"}
# Commonly recorded at every heart-disease site (ca/thal/slope are mostly missing outside Cleveland).
HEART_TRANSPORT_FEATURES = ("age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak")
MIN_GROUP_CLASS = 5  # a subgroup AUC needs at least this many of each class


def _one_thread(function):
    """Run single-threaded: on small tables OpenMP threads cost far more than they save (and the
    server's cores are shared), e.g. a 700-row gradient-boosting predict goes from ~1 s to ~20 ms."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return function(*args, **kwargs)
    return wrapper


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    test_fraction: float = 0.3
    n_boot: int = 1000
    cv_folds: int = 5
    importance_repeats: int = 5
    threshold: float = 0.5


# --- model construction ---------------------------------------------------------------------------

def _column_groups(spec: DatasetSpec, features: tuple[str, ...]) -> tuple[list[int], list[int]]:
    categorical = [i for i, n in enumerate(features) if spec.feature(n).kind == "categorical"]
    other = [i for i in range(len(features)) if i not in categorical]
    return other, categorical


def make_logreg(spec: DatasetSpec, features: tuple[str, ...], seed: int = 0) -> Pipeline:
    numeric, categorical = _column_groups(spec, features)
    transformers = [("num", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                                      ("scale", StandardScaler())]), numeric)]
    if categorical:
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent",
                                                                       keep_empty_features=True)),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical))
    return Pipeline([("prep", ColumnTransformer(transformers, sparse_threshold=0)),
                     ("model", LogisticRegression(C=1.0, max_iter=5000, random_state=seed))])


def make_gbm(spec: DatasetSpec, features: tuple[str, ...], seed: int = 0) -> Pipeline:
    numeric, categorical = _column_groups(spec, features)
    transformers: list = [("num", "passthrough", numeric)]  # NaN kept: the trees learn where missing goes
    if categorical:
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent",
                                                                       keep_empty_features=True)),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical))
    model = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=150, max_depth=3, min_samples_leaf=10,
                                           l2_regularization=1.0, early_stopping=False, random_state=seed)
    return Pipeline([("prep", ColumnTransformer(transformers, sparse_threshold=0)), ("model", model)])


def make_blend(spec: DatasetSpec, features: tuple[str, ...], seed: int = 0) -> VotingClassifier:
    return VotingClassifier([("logreg", make_logreg(spec, features, seed)), ("gbm", make_gbm(spec, features, seed))],
                            voting="soft")


_MAKERS = {"logreg": make_logreg, "gbm": make_gbm, "blend": make_blend}


def _fit(estimator, X: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


def predict_risk(estimator, X: np.ndarray) -> np.ndarray:
    return estimator.predict_proba(np.atleast_2d(X))[:, 1]


def cross_validated_auc(maker, spec: DatasetSpec, features: tuple[str, ...], X, y, *, folds: int, seed: int) -> float:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        risks = cross_val_predict(maker(spec, features, seed), X, y, cv=splitter, method="predict_proba")[:, 1]
    return cal.auc(y, risks) or 0.5


def choose_and_calibrate(spec: DatasetSpec, features: tuple[str, ...], X, y, config: TrainConfig, repeats: int = 2):
    """Pick the base model on training rows only, then Platt-recalibrate it.

    Repeated stratified K-fold: per fold, logistic regression and gradient boosting are fitted and the
    blend is their mean risk (what a soft vote predicts). A more complex model replaces logistic
    regression only if its mean paired AUC gain is at least 0.005 and above one (corrected) standard error
    of the per-fold gains (the one-standard-error rule: on 160–500 rows, prefer the simpler model unless
    the evidence is clear)."""
    per_fold: dict[str, list[float]] = {"logreg": [], "gbm": [], "blend": []}
    for r in range(repeats):
        splitter = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=config.seed + r)
        for train_rows, test_rows in splitter.split(X, y):
            lr = _fit(make_logreg(spec, features, config.seed), X[train_rows], y[train_rows])
            gb = _fit(make_gbm(spec, features, config.seed), X[train_rows], y[train_rows])
            p_lr, p_gb = predict_risk(lr, X[test_rows]), predict_risk(gb, X[test_rows])
            for kind, p in (("logreg", p_lr), ("gbm", p_gb), ("blend", (p_lr + p_gb) / 2)):
                per_fold[kind].append(cal.auc(y[test_rows], p) or 0.5)
    cv_auc = {kind: float(np.mean(values)) for kind, values in per_fold.items()}
    base, best_gain = "logreg", 0.0
    baseline = np.asarray(per_fold["logreg"])
    for kind in ("blend", "gbm"):
        gains = np.asarray(per_fold[kind]) - baseline
        mean_gain = float(gains.mean())
        # Nadeau & Bengio (Mach Learn 2003) corrected resampled variance: folds share training rows, so
        # the naive SE (sd/√k) is too small; the correction adds n_test/n_train = 1/(folds − 1).
        standard_error = float(math.sqrt(gains.var(ddof=1) * (1 / gains.size + 1 / (config.cv_folds - 1))))
        if mean_gain >= 0.005 and mean_gain > standard_error and mean_gain > best_gain:
            base, best_gain = kind, mean_gain
    splitter = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=config.seed)
    calibrated = CalibratedClassifierCV(_MAKERS[base](spec, features, config.seed), method="sigmoid",
                                        cv=splitter, ensemble=False)
    return _fit(calibrated, X, y), base, cv_auc


# --- evaluation -------------------------------------------------------------------------------------

def group_labels(sub: SubgroupSpec, values: list[str]) -> list[str]:
    labels = []
    for raw in values:
        if raw in ("", "?"):
            labels.append("unknown")
        elif sub.bands:
            age = float(raw)
            cuts = sub.bands
            if age < cuts[0]:
                labels.append(f"<{cuts[0]:g}")
            elif age >= cuts[-1]:
                labels.append(f"≥{cuts[-1]:g}")
            else:
                i = max(k for k, c in enumerate(cuts) if age >= c)
                labels.append(f"{cuts[i]:g}–{cuts[i + 1] - 1:g}")
        elif sub.names:
            key = raw[:-2] if raw.endswith(".0") else raw
            labels.append(sub.names.get(key, raw))
        else:
            labels.append(raw)
    return labels


def subgroup_audit(data: ClinicalData, risks: np.ndarray, threshold: float) -> dict:
    """AUC, sensitivity and specificity per subgroup (own implementation, in the style of fairlearn's
    MetricFrame); `largest_auc_gap` over groups with at least MIN_GROUP_CLASS of each class."""
    attributes = []
    largest = None
    for sub in data.spec.subgroups:
        if sub.attribute not in data.columns:
            continue
        labels = np.asarray(group_labels(sub, data.column(sub.attribute)))
        groups = []
        for label in sorted(set(labels.tolist())):
            mask = labels == label
            y_g, p_g = data.y[mask], risks[mask]
            n_pos = int(y_g.sum())
            n_neg = int(mask.sum()) - n_pos
            enough = n_pos >= MIN_GROUP_CLASS and n_neg >= MIN_GROUP_CLASS
            m = cal.at_threshold(y_g, p_g, threshold)
            groups.append({"group": label, "n": int(mask.sum()), "positives": n_pos,
                           "auc": cal.auc(y_g, p_g) if enough else None,
                           "sensitivity": m.sensitivity, "specificity": m.specificity,
                           "mean_risk": float(p_g.mean()), "observed": float(y_g.mean()),
                           "note": "" if enough else f"fewer than {MIN_GROUP_CLASS} of a class: AUC not reported"})
        aucs = [g["auc"] for g in groups if g["auc"] is not None]
        gap = (max(aucs) - min(aucs)) if len(aucs) >= 2 else None
        if gap is not None and (largest is None or gap > largest["gap"]):
            largest = {"attribute": sub.attribute, "gap": gap}
        attributes.append({"attribute": sub.attribute, "label": sub.label, "groups": groups, "auc_gap": gap})
    return {"threshold": threshold, "attributes": attributes, "largest_auc_gap": largest}


@_one_thread
def evaluate(estimator, data: ClinicalData, config: TrainConfig, *, importance: bool = True) -> dict:
    """Everything the model card and the pages show, computed on rows the model did not train on."""
    risks = predict_risk(estimator, data.X)
    metrics = cal.summary(data.y, risks, n_boot=config.n_boot, seed=config.seed)
    metrics["ece_noise_floor"], metrics["ece_noise_p95"] = cal.ece_under_perfect_calibration(risks, seed=config.seed)
    metrics["reliability"] = [b.__dict__ for b in cal.reliability_bins(data.y, risks)]
    metrics["decision_curve"] = cal.decision_curve(data.y, risks)
    metrics["at_threshold"] = cal.at_threshold(data.y, risks, config.threshold).__dict__
    metrics["subgroups"] = subgroup_audit(data, risks, config.threshold)
    if importance:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = permutation_importance(estimator, data.X, data.y, scoring="roc_auc",
                                            n_repeats=config.importance_repeats, random_state=config.seed)
        order = np.argsort(-result.importances_mean)
        metrics["importance"] = [{"feature": data.features[i], "auc_drop": float(result.importances_mean[i]),
                                  "sd": float(result.importances_std[i])} for i in order]
    return metrics


# --- explanations ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float | None
    contribution: float


@dataclass(frozen=True)
class Explanation:
    method: str  # "exact-linear" (log-odds) or "sampling-shapley" (risk)
    scale: str  # "log-odds" | "risk"
    base_value: float
    risk: float
    contributions: tuple[Contribution, ...]  # largest absolute first


def _linear_contributions(pipeline: Pipeline, features: tuple[str, ...], x: np.ndarray,
                          background: np.ndarray) -> tuple[np.ndarray, float]:
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    z = prep.transform(np.atleast_2d(x))[0]
    z_mean = prep.transform(background).mean(axis=0)
    per_column = model.coef_[0] * (z - z_mean)
    owners: list[int] = []
    for name, _, columns in prep.transformers_:
        if name == "num":
            owners.extend(columns)
        elif name == "cat":
            encoder = prep.named_transformers_["cat"].named_steps["onehot"]
            for column, categories in zip(columns, encoder.categories_, strict=True):
                owners.extend([column] * len(categories))
    totals = np.zeros(len(features))
    for owner, value in zip(owners, per_column, strict=True):
        totals[owner] += value
    base = float(model.intercept_[0] + model.coef_[0] @ z_mean)
    return totals, base


def sampling_shapley(predict, x: np.ndarray, background: np.ndarray, *, n_permutations: int = 64,
                     seed: int = 0) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    m = x.size
    batches = np.empty((n_permutations, m + 1, m))
    orders = np.empty((n_permutations, m), dtype=int)
    for k in range(n_permutations):
        order = rng.permutation(m)
        current = background[rng.integers(0, background.shape[0])].copy()
        batches[k, 0] = current
        for step, j in enumerate(order, start=1):
            current[j] = x[j]
            batches[k, step] = current
        orders[k] = order
    risks = predict(batches.reshape(-1, m)).reshape(n_permutations, m + 1)
    phi = np.zeros(m)
    for k in range(n_permutations):
        phi[orders[k]] += np.diff(risks[k])
    return phi / n_permutations, float(risks[:, 0].mean())


@_one_thread
def explain(artifact: dict, x: np.ndarray) -> Explanation:
    """Per-feature reasons for one patient's risk (see module docstring for the two methods)."""
    estimator, features, background = artifact["estimator"], tuple(artifact["features"]), artifact["background"]
    risk = float(predict_risk(estimator, x)[0])
    if artifact["kind"] == "logreg":
        values, base = _linear_contributions(estimator, features, x, background)
        method, scale = "exact-linear", "log-odds"
    else:
        values, base = sampling_shapley(lambda rows: predict_risk(estimator, rows), np.asarray(x, dtype=float),
                                        background, seed=artifact.get("seed", 0))
        method, scale = "sampling-shapley", "risk"
    order = np.argsort(-np.abs(values))
    contributions = tuple(Contribution(features[i], None if math.isnan(x[i]) else float(x[i]), float(values[i]))
                          for i in order)
    return Explanation(method, scale, base, risk, contributions)


# --- leakage -----------------------------------------------------------------------------------------

_TEMPORAL_HINTS = ("time", "follow", "duration", "days_to", "discharge", "death", "los", "outcome", "survival")


@dataclass(frozen=True)
class LeakageFinding:
    feature: str
    severity: str  # "leak" (excluded) | "suspect" (check it)
    reasons: tuple[str, ...]
    single_feature_auc: float | None
    auc_drop_without: float | None


@_one_thread
def detect_leakage(data: ClinicalData, *, seed: int = 0, folds: int = 5, single_auc_limit: float = 0.9,
                   drop_limit: float = 0.05) -> list[LeakageFinding]:
    """Flag columns that may carry the outcome: declared post-outcome measurements, names that look
    temporal, or a column that alone nearly separates the classes. The drop in cross-validated AUC without
    the column is measured for flagged columns and reported as supporting
    evidence: a large drop alone only means the column is important."""
    spec = data.spec
    full_auc = cross_validated_auc(make_logreg, spec, data.features, data.X, data.y, folds=folds, seed=seed)
    findings = []
    for i, name in enumerate(data.features):
        reasons: list[str] = []
        column = data.X[:, i]
        present = ~np.isnan(column)
        single = cal.auc(data.y[present], column[present]) if present.sum() >= 10 else None
        single = None if single is None else max(single, 1 - single)
        if name in spec.leaking:
            reasons.append(f"known leak: {spec.leaking[name]}")
        elif any(hint in name.lower() for hint in _TEMPORAL_HINTS):
            reasons.append("its name suggests it is recorded during or after follow-up; check when it is measured")
        if single is not None and single >= single_auc_limit:
            reasons.append(f"alone it separates the classes with AUC {single:.2f}; check whether it is measured "
                           "after, or because of, the outcome")
        drop = None
        # the drop needs one refit per column: always for declared or temporal-looking columns, and for
        # strong single predictors only in narrow tables (in WDBC's 30 correlated columns it is ~0 anyway)
        if reasons and (len(reasons) > 1 or single is None or single < single_auc_limit or len(data.features) <= 15):
            rest = tuple(f for f in data.features if f != name)
            without = cross_validated_auc(make_logreg, spec, rest, data.X[:, [data.features.index(f) for f in rest]],
                                          data.y, folds=folds, seed=seed)
            drop = full_auc - without
            # a large drop alone only says the column is important; it supports the other reasons
            if drop >= drop_limit and reasons:
                reasons.append(f"the cross-validated AUC falls from {full_auc:.2f} to {without:.2f} without it")
        if reasons:
            severity = "leak" if name in spec.leaking or (drop is not None and drop >= drop_limit and
                                                          any("name suggests" in r for r in reasons)) else "suspect"
            findings.append(LeakageFinding(name, severity, tuple(reasons), single, drop))
    findings.sort(key=lambda f: (f.severity != "leak", -(f.auc_drop_without or 0), -(f.single_feature_auc or 0)))
    return findings


# --- training a dataset --------------------------------------------------------------------------------

@dataclass
class TrainedModel:
    kind: str
    artifact: dict  # estimator + what serving and explaining need; joblib-serialisable
    params: dict
    metrics: dict


@dataclass
class DatasetReport:
    key: str
    features: tuple[str, ...]
    n_train: int
    n_test: int
    test_source: str
    models: dict[str, TrainedModel]
    recommended_base: str
    cv_auc: dict[str, float]
    leakage: list[LeakageFinding]
    external: dict | None
    warnings: tuple[str, ...]
    seconds: float
    data_digest: str
    goal: dict = field(default_factory=dict)


def stratified_split(data: ClinicalData, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(data.n)
    train, test = train_test_split(index, test_size=config.test_fraction, stratify=data.y,
                                   random_state=config.seed)
    return np.sort(train), np.sort(test)


def _artifact(kind: str, estimator, data: ClinicalData, train_rows: np.ndarray, config: TrainConfig,
              base: str | None = None, held: ClinicalData | None = None) -> dict:
    """What serving needs: the estimator, 100 background rows for explanations, and (recommended model)
    the test rows, for the exercises (a patient the model never saw; threshold tables)."""
    rng = np.random.default_rng(config.seed)
    take = rng.choice(train_rows, size=min(100, train_rows.size), replace=False)
    extra = {"test_X": held.X, "test_y": held.y} if held is not None else {}
    return {**extra, "kind": kind, "base": base, "dataset": data.spec.key, "features": list(data.features),
            "estimator": estimator, "background": data.X[np.sort(take)], "seed": config.seed,
            "threshold": config.threshold, "train_prevalence": float(data.y[train_rows].mean())}


@_one_thread
def train_dataset(data: ClinicalData, config: TrainConfig = TrainConfig(), *, test: ClinicalData | None = None,
                  leakage_data: ClinicalData | None = None, importance: bool = True) -> DatasetReport:
    """Train and evaluate the three models of one dataset. `test`: an external test file (e.g. the
    held-out rows); otherwise a fixed stratified split of `data`. `leakage_data`: the table with every
    column (including declared leaks) for the leakage detector; defaults to `data`."""
    started = time.perf_counter()
    if test is None:
        train_rows, test_rows = stratified_split(data, config)
        train, held = data.subset(np.isin(np.arange(data.n), train_rows)), data.subset(np.isin(np.arange(data.n),
                                                                                           test_rows))
        source = f"stratified {config.test_fraction:.0%} split (seed {config.seed})"
    else:
        train, held = data, test.with_features(data.features)
        source = "external test file"
    train_index = np.arange(train.n)
    models: dict[str, TrainedModel] = {}
    for kind in ("logreg", "gbm"):
        estimator = _fit(_MAKERS[kind](data.spec, data.features, config.seed), train.X, train.y)
        models[kind] = TrainedModel(kind, _artifact(kind, estimator, train, train_index, config),
                                    _params(kind, estimator, config), evaluate(estimator, held, config,
                                                                               importance=importance))
    recommended, base, cv_auc = choose_and_calibrate(data.spec, data.features, train.X, train.y, config)
    params = {"base": base, "calibration": "Platt (sigmoid) on 5-fold out-of-fold predictions",
              "cv_auc": cv_auc, **_params(base, None, config)}
    models["recommended"] = TrainedModel("recommended", _artifact("recommended", recommended, train, train_index,
                                                                  config, base, held),
                                         params, evaluate(recommended, held, config, importance=importance))
    for model in models.values():
        model.metrics["n_train"], model.metrics["n_test"], model.metrics["test_source"] = train.n, held.n, source
    rec, baseline = models["recommended"].metrics, models["logreg"].metrics
    goal = {"as_discriminating": (rec["auc"] or 0) >= (baseline["auc"] or 0) - 1e-9, "ece_ok": rec["ece"] <= 0.05,
            "ece_within_noise": rec["ece"] <= rec["ece_noise_p95"]}
    leak = detect_leakage(leakage_data or data, seed=config.seed)
    external = None
    if data.spec.site_column:
        external = transport(data, "cleveland", config)
    return DatasetReport(data.spec.key, data.features, train.n, held.n, source, models, base, cv_auc, leak, external,
                         data.warnings, time.perf_counter() - started, data.digest, goal)


def _params(kind: str, estimator, config: TrainConfig) -> dict:
    common = {"seed": config.seed, "test_fraction": config.test_fraction}
    if kind == "logreg":
        return {**common, "model": "LogisticRegression", "C": 1.0, "imputation": "median (numeric), mode (categorical)",
                "scaling": "standardise", "encoding": "one-hot"}
    if kind == "gbm":
        return {**common, "model": "HistGradientBoostingClassifier", "learning_rate": 0.05, "max_iter": 150,
                "max_depth": 3, "min_samples_leaf": 10, "l2_regularization": 1.0,
                "missing": "native (learned split direction)", "encoding": "one-hot"}
    return {**common, "model": "soft vote of LogisticRegression and HistGradientBoosting"}


# --- transport to other hospitals --------------------------------------------------------------------------

@_one_thread
def transport(data: ClinicalData, train_site: str, config: TrainConfig = TrainConfig(),
              features: tuple[str, ...] = HEART_TRANSPORT_FEATURES) -> dict:
    """Train logistic regression at one site and test it at each other site (external validation)."""
    spec = data.spec
    if not spec.site_column:
        raise ValueError(f"{spec.title} has no site column")
    sites = np.asarray(data.column(spec.site_column))
    if train_site not in set(sites.tolist()):
        raise ValueError(f"unknown site '{train_site}' (known: {', '.join(sorted(set(sites.tolist())))})")
    subset = data.with_features(tuple(f for f in features if f in data.features))
    home = subset.subset(sites == train_site)
    model = _fit(make_logreg(spec, subset.features, config.seed), home.X, home.y)
    internal = cross_validated_auc(make_logreg, spec, subset.features, home.X, home.y, folds=config.cv_folds,
                                   seed=config.seed)
    results = []
    for site in sorted(set(sites.tolist()) - {train_site}):
        away = subset.subset(sites == site)
        risks = predict_risk(model, away.X)
        summary = cal.summary(away.y, risks, n_boot=min(config.n_boot, 500), seed=config.seed)
        summary.update(site=site, mean_risk=float(risks.mean()))
        results.append(summary)
    return {"train_site": train_site, "features": list(subset.features), "n_train": home.n,
            "train_prevalence": float(home.y.mean()), "internal_cv_auc": internal, "sites": results}
