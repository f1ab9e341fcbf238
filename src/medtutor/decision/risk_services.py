"""Risk lab services: train and register the clinical risk models, serve predictions with their reasons
(each one recorded with record_decision), and the four student exercises.

Training data: `MEDTUTOR_CLINICAL_DATA` (a folder holding the five dataset folders), default
../shared/data/clinical beside the checkout. Models are trained by `medtutor decision train`, by the
faculty "Train" button, or on first use of a dataset that has never been trained (about 5–15 s per
dataset on two cores); `medtutor demo load` does not train them (all five take 30–60 s).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.decision import registry
from medtutor.decision.engine import calibration as cal
from medtutor.decision.engine import clinical_data as cd
from medtutor.decision.engine import risk
from medtutor.decision.engine.risk_card import risk_model_card
from medtutor.decision.models import RegisteredModel, RiskExerciseAnswer

KIND = "risk"
LEAKAGE_DATASET = "heart_failure_clinical_records"
TRANSPORT_DATASET = "heart_disease_uci"
# Stated purposes for the threshold exercise: what the threshold must achieve on the test rows.
THRESHOLD_PURPOSES = {
    "screen": {"label": "Screening: refer for a confirmatory test; missing a case is much worse than an extra test",
               "metric": "sensitivity", "target": 0.90},
    "rule_in": {"label": "Rule in before an invasive, risky procedure: a false alarm harms a healthy person",
                "metric": "specificity", "target": 0.90},
}


def clinical_data_dir() -> Path:
    configured = os.environ.get("MEDTUTOR_CLINICAL_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "clinical"


def model_name(key: str, kind: str) -> str:
    return f"risk-{key}-{kind}"


def spec_for(key: str) -> cd.DatasetSpec:
    if key not in cd.DATASETS:
        raise NotFound(f"no dataset '{key}'")
    return cd.DATASETS[key]


def _to_invalid(error: cd.DataError) -> InvalidInput:
    return InvalidInput(error.message, details=error.problems)


def _json_ready(value: Any) -> Any:
    """NaN/inf -> None and numpy scalars -> floats so metrics store as strict JSON."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --- training ---------------------------------------------------------------------------------------

def train_and_register(keys: list[str] | None = None, *, actor: Any = None, data_dir: str | Path | None = None,
                       csv_text: str | None = None, config: risk.TrainConfig | None = None) -> list[RegisteredModel]:
    """Train every model of the given datasets, then register them all in one transaction.

    `csv_text` replaces the shared file of a single dataset (faculty upload); it is validated whole first:
    unknown columns, wrong types or too few rows refuse the upload with the reason, and nothing is written.
    """
    folder = Path(data_dir) if data_dir else clinical_data_dir()
    keys = keys or cd.available_datasets(folder)
    if not keys:
        raise InvalidInput("no clinical datasets found", details=[f"data: nothing under {folder}"])
    if csv_text is not None and len(keys) != 1:
        raise InvalidInput("an uploaded CSV trains one dataset", details=["dataset: choose exactly one"])
    config = config or risk.TrainConfig()
    trained = []
    for key in keys:
        spec = spec_for(key)
        try:
            if csv_text is not None:
                data = cd.read_csv_text(spec, csv_text)
                full = cd.read_csv_text(spec, csv_text, features=tuple(
                    f for f in spec.feature_names if f in csv_text.splitlines()[0].split(",")))
            else:
                data = cd.load_dataset(folder, key)
                full = cd.load_dataset(folder, key, features=spec.feature_names)
        except cd.DataError as error:
            raise _to_invalid(error) from error
        trained.append((spec, risk.train_dataset(data, config, leakage_data=full)))
    return register_reports(trained, actor=actor, uploaded=csv_text is not None)


def register_reports(trained: list[tuple[cd.DatasetSpec, risk.DatasetReport]], *, actor: Any = None,
                     uploaded: bool = False) -> list[RegisteredModel]:
    """Register every model of the given training reports, all or nothing (one transaction)."""
    registered = []
    with transaction.atomic():
        for spec, report in trained:
            leakage = [_json_ready(f.__dict__) for f in report.leakage]
            for kind, model in report.models.items():
                params = _json_ready({**model.params, "features": list(report.features), "dataset": spec.key})
                metrics = _json_ready({**model.metrics, "leakage": leakage, "external": report.external,
                                       "warnings": list(report.warnings), "goal": report.goal,
                                       "recommended": kind == "recommended", "train_seconds": report.seconds})
                name = model_name(spec.key, kind)
                card = risk_model_card(spec=spec, name=name, kind=kind, params=params, metrics=metrics,
                                       leakage=leakage, external=report.external, data_digest=report.data_digest)
                registered.append(registry.register_model(
                    name=name, kind=KIND, data_digest=report.data_digest, params=params, metrics=metrics,
                    card=card, artifact_bytes=registry.dump_object(model.artifact), trained_by=actor))
        record_action(actor, "decision.risk.train", data={
            "datasets": [spec.key for spec, _ in trained],
            "models": [f"{m.name} v{m.version}" for m in registered], "uploaded_csv": uploaded})
    return registered


def ensure_trained(key: str, actor: Any = None) -> None:
    """Train a dataset on first use (never registered before). A dataset whose models were disabled is
    not retrained: disabled means serve nothing."""
    spec_for(key)
    if not RegisteredModel.objects.filter(name=model_name(key, "recommended")).exists():
        train_and_register([key], actor=actor)


# --- serving ----------------------------------------------------------------------------------------------

_ARTIFACTS: dict[tuple[int, str], dict] = {}


def servable(key: str, kind: str = "recommended") -> RegisteredModel:
    """The newest enabled version; ModelDisabled when every version is disabled, NotFound if never trained."""
    name = model_name(key, kind)
    model = registry.latest(name)
    if model is None:
        newest = registry.latest(name, include_disabled=True)
        if newest is None:
            raise NotFound(f"{spec_for(key).title} has no trained model yet")
        registry.ensure_servable(newest)
    return model


def artifact_of(model: RegisteredModel) -> dict:
    registry.ensure_servable(model)  # checked on every use, even when cached
    cache_key = (model.pk, model.artifact_digest)
    if cache_key not in _ARTIFACTS:
        _ARTIFACTS[cache_key] = registry.load_object(model)
    return _ARTIFACTS[cache_key]


@dataclass
class Prediction:
    model: RegisteredModel
    risk: float
    explanation: risk.Explanation
    explanation_text: str
    rows: list[dict]  # contributions with labels, for the page
    audit_id: int
    confidence: float  # as recorded: max(risk, 1 − risk), how far the risk is from a coin flip


def explanation_rows(spec: cd.DatasetSpec, explanation: risk.Explanation) -> list[dict]:
    rows = []
    for c in explanation.contributions:
        feature = spec.feature(c.feature)
        shown = "not given (imputed)" if c.value is None else cd._fmt(c.value)
        if feature.levels and c.value is not None:
            shown = next((text for text, code in feature.levels.items() if code == c.value), shown)
        rows.append({"feature": c.feature, "label": feature.label, "value": shown, "unit": feature.unit,
                     "contribution": c.contribution, "direction": "raises" if c.contribution > 0 else "lowers"})
    return rows


def explanation_text(spec: cd.DatasetSpec, explanation: risk.Explanation, top: int = 3) -> str:
    unit = "log-odds" if explanation.scale == "log-odds" else "risk points"
    parts = [f"{row['label']} = {row['value']} {row['direction']} it ({row['contribution']:+.3f} {unit})"
             for row in explanation_rows(spec, explanation)[:top]]
    method = ("exact linear contributions" if explanation.method == "exact-linear"
              else "Shapley values estimated by permutation sampling")
    return f"Largest reasons ({method}): " + "; ".join(parts)


def predict(user: Any, key: str, raw: dict[str, Any], *, kind: str = "recommended",
            action: str = "decision.risk.predict", allow_missing: bool = False) -> Prediction:
    """Validate one patient's values, predict, explain, and record the decision before returning it."""
    spec = spec_for(key)
    model = servable(key, kind)
    artifact = artifact_of(model)
    features = tuple(artifact["features"])
    try:
        x = cd.validate_patient(spec, features, raw, allow_missing=allow_missing)
    except cd.DataError as error:
        raise _to_invalid(error) from error
    explanation = risk.explain(artifact, x)
    text = explanation_text(spec, explanation)
    inputs = {"dataset": key, "values": {f: (None if math.isnan(v) else float(v)) for f, v in zip(features, x,
                                                                                               strict=True)}}
    confidence = max(explanation.risk, 1 - explanation.risk)
    record = registry.record_prediction(
        model, actor=user, subject=model, inputs=inputs, action=action,
        output={"risk": round(explanation.risk, 4), "method": explanation.method},
        explanation=text, confidence=confidence)
    return Prediction(model, explanation.risk, explanation, text, explanation_rows(spec, explanation), record.pk,
                      confidence)


# --- exercises --------------------------------------------------------------------------------------------

def test_patient(key: str, index: int | None = None, *, seed: int | None = None) -> tuple[int, dict[str, str]]:
    """A patient from the model's test rows (never seen in training), as form values."""
    artifact = artifact_of(servable(key))
    rows = artifact.get("test_X")
    if rows is None or not len(rows):
        raise NotFound("this model has no stored test patients; retrain it")
    if index is None:
        # prefer a patient with every required value recorded, so the form can be submitted as shown
        spec = spec_for(key)
        required = [i for i, f in enumerate(artifact["features"]) if spec.feature(f).required]
        complete = np.flatnonzero(~np.isnan(rows[:, required]).any(axis=1)) if required else np.arange(len(rows))
        pool = complete if complete.size else np.arange(len(rows))
        index = int(pool[np.random.default_rng(seed).integers(0, pool.size)])
    if not 0 <= index < len(rows):
        raise NotFound("no such test patient")
    values = {f: ("" if math.isnan(v) else cd._fmt(float(v))) for f, v in zip(artifact["features"], rows[index],
                                                                              strict=True)}
    return index, values


def _now():
    return clock.now()


def score_estimate(user: Any, key: str, index: int, estimate_percent: Any) -> RiskExerciseAnswer:
    """Student estimates the risk first; then the model's risk and the true outcome are revealed.
    Score: 1 − (estimate − outcome)², beside the model's own 1 − (risk − outcome)² (Brier skill)."""
    try:
        estimate = float(estimate_percent)
    except (TypeError, ValueError):
        raise InvalidInput("please give your estimate", details=["estimate: a number from 0 to 100 (%)"]) from None
    if not 0 <= estimate <= 100:
        raise InvalidInput("please correct your estimate", details=[f"estimate: {estimate:g} is outside 0–100 %"])
    index, values = test_patient(key, index)
    artifact = artifact_of(servable(key))
    outcome = int(artifact["test_y"][index])
    with transaction.atomic():
        prediction = predict(user, key, values, action="decision.risk.exercise.estimate", allow_missing=True)
        mine, model_score = 1 - (estimate / 100 - outcome) ** 2, 1 - (prediction.risk - outcome) ** 2
        return RiskExerciseAnswer.objects.create(
            learner=user, kind=RiskExerciseAnswer.Kind.ESTIMATE, model=prediction.model, dataset=key,
            answer={"patient": index, "estimate": estimate / 100},
            feedback={"model_risk": prediction.risk, "outcome": outcome, "model_score": model_score,
                      "audit_id": prediction.audit_id, "explanation": prediction.explanation_text},
            score=mine, created_at=_now())


def leakage_candidates() -> list[dict]:
    spec = spec_for(LEAKAGE_DATASET)
    return [{"name": f.name, "label": f.label, "unit": f.unit} for f in spec.features]


def answer_leakage(user: Any, feature: str, reason: str) -> RiskExerciseAnswer:
    spec = spec_for(LEAKAGE_DATASET)
    if feature not in spec.feature_names:
        raise InvalidInput("please choose a variable",
                           details=[f"feature: choose one of {', '.join(spec.feature_names)}"])
    if not reason.strip():
        raise InvalidInput("please say why", details=["reason: explain why this variable would leak the outcome"])
    model = servable(LEAKAGE_DATASET)
    findings = model.metrics.get("leakage", [])
    correct = any(f["feature"] == feature and f["severity"] == "leak" for f in findings)
    with transaction.atomic():
        return RiskExerciseAnswer.objects.create(
            learner=user, kind=RiskExerciseAnswer.Kind.LEAKAGE, model=model, dataset=LEAKAGE_DATASET,
            answer={"feature": feature, "reason": reason.strip()[:2000]},
            feedback={"correct": correct, "findings": findings}, score=1.0 if correct else 0.0, created_at=_now())


def transport_report(train_site: str) -> dict:
    """Train at one heart-disease site, test at the others (computed from the shared data, ~1 s)."""
    data = cd.load_dataset(clinical_data_dir(), TRANSPORT_DATASET)
    try:
        return _json_ready(risk.transport(data, train_site, risk.TrainConfig(n_boot=200)))
    except ValueError as error:
        raise InvalidInput("unknown site", details=[f"site: {error}"]) from error


def answer_transport(user: Any, train_site: str, worst_site: str, reason: str) -> RiskExerciseAnswer:
    report = transport_report(train_site)
    sites = {s["site"]: s for s in report["sites"]}
    if worst_site not in sites:
        raise InvalidInput("please choose a site", details=[f"worst_site: one of {', '.join(sites)}"])
    if not reason.strip():
        raise InvalidInput("please say why", details=["reason: what differs at that hospital?"])
    # "worst" by calibration-in-the-large (how far off the average risk is) or by AUC: either counts.
    by_auc = min(sites.values(), key=lambda s: s["auc"] if s["auc"] is not None else 1)["site"]
    by_calibration = max(sites.values(), key=lambda s: abs(s["calibration_intercept"] or 0))["site"]
    correct = worst_site in (by_auc, by_calibration)
    with transaction.atomic():
        return RiskExerciseAnswer.objects.create(
            learner=user, kind=RiskExerciseAnswer.Kind.TRANSPORT, dataset=TRANSPORT_DATASET,
            answer={"train_site": train_site, "worst_site": worst_site, "reason": reason.strip()[:2000]},
            feedback={"worst_by_auc": by_auc, "worst_by_calibration": by_calibration, "report": report},
            score=1.0 if correct else 0.0, created_at=_now())


def threshold_table(key: str, threshold: float) -> dict:
    artifact = artifact_of(servable(key))
    risks = risk.predict_risk(artifact["estimator"], artifact["test_X"])
    return _json_ready(cal.at_threshold(artifact["test_y"], risks, threshold).__dict__)


def answer_threshold(user: Any, key: str, purpose: str, threshold_percent: Any, defence: str) -> RiskExerciseAnswer:
    if purpose not in THRESHOLD_PURPOSES:
        raise InvalidInput("please choose a purpose", details=[f"purpose: one of {', '.join(THRESHOLD_PURPOSES)}"])
    try:
        threshold = float(threshold_percent) / 100
    except (TypeError, ValueError):
        raise InvalidInput("please give a threshold", details=["threshold: a number from 1 to 99 (%)"]) from None
    if not 0.01 <= threshold <= 0.99:
        raise InvalidInput("please correct the threshold", details=["threshold: between 1 and 99 %"])
    if not defence.strip():
        raise InvalidInput("please defend your threshold", details=["defence: say why this threshold fits the purpose"])
    model = servable(key)
    metrics = threshold_table(key, threshold)
    goal = THRESHOLD_PURPOSES[purpose]
    achieved = metrics[goal["metric"]]
    met = achieved is not None and achieved >= goal["target"]
    useful = metrics["net_benefit"] > max(0.0, metrics["treat_all_net_benefit"])
    with transaction.atomic():
        return RiskExerciseAnswer.objects.create(
            learner=user, kind=RiskExerciseAnswer.Kind.THRESHOLD, model=model, dataset=key,
            answer={"purpose": purpose, "threshold": threshold, "defence": defence.strip()[:4000]},
            feedback={"metrics": metrics, "goal": goal, "met": met, "useful": useful},
            score=(0.5 if met else 0.0) + (0.5 if useful else 0.0), created_at=_now())


# --- overview ---------------------------------------------------------------------------------------------

def overview() -> list[dict]:
    rows = []
    for key, spec in cd.DATASETS.items():
        models = {}
        for kind in risk.MODEL_KINDS:
            newest = registry.latest(model_name(key, kind), include_disabled=True)
            enabled = registry.latest(model_name(key, kind))
            models[kind] = {"newest": newest, "serving": enabled}
        rows.append({"key": key, "spec": spec, "models": models,
                     "recommended": models["recommended"]["serving"]})
    return rows
