"""Risk lab JSON API (mounted at /api/v1/ by one line in medtutor.api).

GET  /risk/models                   every registered model (all labs), newest first per name
GET  /risk/models/{model_id}        one model: metrics summary and model card (Markdown)
POST /risk/models/{model_id}/status faculty/admin: {"enabled": bool, "reason": str}; logged
POST /risk/predict/{dataset}        {"values": {feature: value}}: risk + per-feature reasons, recorded
                                    with record_decision. A model is never trained by an API call: a
                                    dataset that was never trained answers 404; a disabled model 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import ADMIN, EVERYONE, FACULTY, has_role
from medtutor.decision import registry
from medtutor.decision import risk_services as services

router = Router(tags=["risk"])


def _require(request: HttpRequest, *roles: str) -> None:
    if not has_role(request.auth, *roles):
        raise HttpError(403, f"this needs a {' or '.join(roles)} account")


class ModelOut(Schema):
    id: int
    name: str
    kind: str
    version: str
    enabled: bool
    data_digest: str
    artifact_digest: str
    created_at: datetime
    auc: float | None = None
    ece: float | None = None
    brier: float | None = None
    recommended: bool = False


class ModelDetailOut(ModelOut):
    params: dict[str, Any]
    card_markdown: str
    status_reason: str


class StatusIn(Schema):
    enabled: bool
    reason: str


class PredictIn(Schema):
    values: dict[str, str | float | int | None]


class ContributionOut(Schema):
    feature: str
    label: str
    value: str
    contribution: float


class PredictionOut(Schema):
    model: str
    version: str
    risk: float
    method: str
    scale: str
    base_value: float
    explanation: str
    contributions: list[ContributionOut]
    audit_id: int
    notice: str = "For education, not patient care."


def _model_out(model) -> dict:
    metrics = model.metrics or {}
    return {"id": model.pk, "name": model.name, "kind": model.kind, "version": model.version,
            "enabled": model.enabled, "data_digest": model.data_digest, "artifact_digest": model.artifact_digest,
            "created_at": model.created_at, "auc": metrics.get("auc"), "ece": metrics.get("ece"),
            "brier": metrics.get("brier"), "recommended": bool(metrics.get("recommended"))}


@router.get("/risk/models", response=list[ModelOut])
def list_models(request: HttpRequest):
    _require(request, *EVERYONE)
    return [_model_out(m) for m in registry.list_models()]


@router.get("/risk/models/{model_id}", response=ModelDetailOut)
def model_detail(request: HttpRequest, model_id: int):
    _require(request, *EVERYONE)
    model = registry.get_model_by_id(model_id)
    return {**_model_out(model), "params": model.params, "card_markdown": model.card,
            "status_reason": model.status_reason}


@router.post("/risk/models/{model_id}/status", response=ModelOut)
def set_status(request: HttpRequest, model_id: int, body: StatusIn):
    _require(request, FACULTY, ADMIN)
    model = registry.get_model_by_id(model_id)
    return _model_out(registry.set_enabled(model, body.enabled, actor=request.auth, reason=body.reason))


@router.post("/risk/predict/{dataset}", response=PredictionOut)
def predict(request: HttpRequest, dataset: str, body: PredictIn):
    _require(request, *EVERYONE)
    spec = services.spec_for(dataset)
    unknown = sorted(set(body.values) - set(spec.feature_names))
    if unknown:
        raise InvalidInput("unknown fields", details=[f"{name}: not a feature of {spec.title} (features: "
                                                      f"{', '.join(spec.feature_names)})" for name in unknown])
    values = {k: ("" if v is None else str(v)) for k, v in body.values.items()}
    result = services.predict(request.auth, dataset, values)
    return {"model": result.model.name, "version": result.model.version, "risk": result.risk,
            "method": result.explanation.method, "scale": result.explanation.scale,
            "base_value": result.explanation.base_value, "explanation": result.explanation_text,
            "contributions": [{"feature": r["feature"], "label": r["label"], "value": r["value"],
                               "contribution": r["contribution"]} for r in result.rows],
            "audit_id": result.audit_id}
