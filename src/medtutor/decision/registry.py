"""The model registry's service API: the one way any lab (risk, imaging, ...) stores and serves a model.

Stable API (other parts of medtutor call these; keep the signatures):

    register_model(*, name, kind, version=None, data_digest, params, metrics, card, artifact_bytes,
                   trained_by=None) -> RegisteredModel
        Validates everything first, then writes one row in one transaction. `version=None` gives the
        next integer version for that name ("1", "2", ...). Raises InvalidInput with the reason
        (bad name, duplicate version, empty artifact, params/metrics not JSON, digest not hex).
    latest(name, *, include_disabled=False) -> RegisteredModel | None
        Newest version of a name; by default only enabled versions.
    get_model(name, version) -> RegisteredModel            (NotFound if absent)
    get_model_by_id(model_id) -> RegisteredModel           (NotFound if absent)
    list_models(kind=None) -> list[RegisteredModel]        (all versions, newest first per name)
    load_artifact(model) -> bytes
        The stored bytes after checking their SHA-256 against the registry; refuses a disabled model
        (ModelDisabled) and a corrupted artifact (ArtifactCorrupted).
    load_object(model) -> Any
        `load_artifact` + joblib.load, for artifacts written with `dump_object`.
    dump_object(obj) -> bytes                              (joblib bytes of a fitted estimator)
    set_enabled(model, enabled, *, actor, reason) -> RegisteredModel
        Faculty/admin switch; needs a reason; logged with record_action ("decision.model.disable" /
        "decision.model.enable"). A disabled model serves nothing.
    ensure_servable(model) -> None                         (raises ModelDisabled)
    record_prediction(model, *, actor, subject, inputs, output, explanation, confidence) -> AuditRecord
        record_decision with the model's name and version; refuses a disabled model.
    render_card_html(model) -> str                         (the Markdown card as safe HTML)

Artifacts live in the database (BinaryField): one transaction covers row and bytes, so nothing is
ever half-written, and backups carry the models with their metadata. Only artifacts this server
wrote are unpickled, and only after their digest matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

from django.db import IntegrityError, transaction

from medtutor.core import clock
from medtutor.core.audit import record_action, record_decision
from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.decision.models import RegisteredModel

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,99}$")
_KIND = re.compile(r"^[a-z][a-z0-9_\-]{1,39}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_ARTIFACT_BYTES = 200 * 1024 * 1024


class ModelDisabled(DomainError):
    """A disabled model was asked to serve."""

    status = 409


class ArtifactCorrupted(DomainError):
    """The stored bytes no longer match the digest written with them (the model is unavailable)."""

    status = 503


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_object(obj: Any) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    return buffer.getvalue()


def _check_json(field: str, value: Any, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{field}: must be a JSON object (dict), got {type(value).__name__}")
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        problems.append(f"{field}: not storable as JSON ({error})")


def _next_version(name: str) -> str:
    numbers = [int(v) for v in RegisteredModel.objects.filter(name=name).values_list("version", flat=True)
               if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def register_model(*, name: str, kind: str, version: str | None = None, data_digest: str,
                   params: dict[str, Any], metrics: dict[str, Any], card: str, artifact_bytes: bytes,
                   trained_by: Any = None) -> RegisteredModel:
    problems: list[str] = []
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append("name: 2-100 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit")
    if not isinstance(kind, str) or not _KIND.match(kind):
        problems.append("kind: 2-40 characters of a-z, 0-9, '_', '-', starting with a letter")
    if version is not None and (not isinstance(version, str) or not _VERSION.match(version)):
        problems.append("version: up to 40 characters of letters, digits, '_', '.', '-'")
    if not isinstance(data_digest, str) or not _HEX64.match(data_digest):
        problems.append("data_digest: a SHA-256 hex digest (64 lowercase hex characters)")
    _check_json("params", params, problems)
    _check_json("metrics", metrics, problems)
    if not isinstance(card, str) or not card.strip():
        problems.append("card: the model card (Markdown) must not be empty")
    if not isinstance(artifact_bytes, (bytes, bytearray)) or not artifact_bytes:
        problems.append("artifact_bytes: the serialized model must be non-empty bytes")
    elif len(artifact_bytes) > MAX_ARTIFACT_BYTES:
        problems.append(f"artifact_bytes: {len(artifact_bytes)} bytes is over the {MAX_ARTIFACT_BYTES} limit")
    if problems:
        raise InvalidInput("the model was not registered", details=problems)
    if trained_by is not None and not getattr(trained_by, "is_authenticated", False):
        trained_by = None
    artifact = bytes(artifact_bytes)
    try:
        with transaction.atomic():
            chosen = version or _next_version(name)
            if RegisteredModel.objects.filter(name=name, version=chosen).exists():
                raise InvalidInput("the model was not registered",
                                   details=[f"version: {name} v{chosen} already exists; versions are never replaced"])
            return RegisteredModel.objects.create(
                name=name, kind=kind, version=chosen, data_digest=data_digest, params=params, metrics=metrics,
                card=card, artifact=artifact, artifact_digest=sha256_hex(artifact), artifact_size=len(artifact),
                trained_by=trained_by, created_at=clock.now(), enabled=True)
    except IntegrityError as error:  # a concurrent registration took the same version
        raise InvalidInput("the model was not registered",
                           details=[f"version: {name} was registered concurrently ({error}); try again"]) from error


def latest(name: str, *, include_disabled: bool = False) -> RegisteredModel | None:
    rows = RegisteredModel.objects.filter(name=name)
    if not include_disabled:
        rows = rows.filter(enabled=True)
    return rows.order_by("-created_at", "-id").first()


def get_model(name: str, version: str) -> RegisteredModel:
    found = RegisteredModel.objects.filter(name=name, version=version).first()
    if found is None:
        raise NotFound(f"no registered model {name} v{version}")
    return found


def get_model_by_id(model_id: int) -> RegisteredModel:
    found = RegisteredModel.objects.filter(pk=model_id).first()
    if found is None:
        raise NotFound(f"no registered model with id {model_id}")
    return found


def list_models(kind: str | None = None) -> list[RegisteredModel]:
    rows = RegisteredModel.objects.defer("artifact").order_by("name", "-created_at", "-id")
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows)


def ensure_servable(model: RegisteredModel) -> None:
    if not model.enabled:
        reason = f": {model.status_reason}" if model.status_reason else ""
        raise ModelDisabled(f"{model.name} v{model.version} is disabled and serves nothing{reason}")


def load_artifact(model: RegisteredModel) -> bytes:
    ensure_servable(model)
    data = bytes(model.artifact)
    if sha256_hex(data) != model.artifact_digest or len(data) != model.artifact_size:
        raise ArtifactCorrupted(f"{model.name} v{model.version}: stored artifact does not match its digest; "
                                "refusing to load it")
    return data


def load_object(model: RegisteredModel) -> Any:
    import joblib

    return joblib.load(io.BytesIO(load_artifact(model)))


def set_enabled(model: RegisteredModel, enabled: bool, *, actor: Any, reason: str) -> RegisteredModel:
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", details=["reason: say why the model is being "
                                                            + ("enabled" if enabled else "disabled")])
    with transaction.atomic():
        row = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        row.enabled = bool(enabled)
        row.status_changed_at = clock.now()
        row.status_reason = reason.strip()[:2000]
        row.save(update_fields=["enabled", "status_changed_at", "status_reason"])
        record_action(actor, "decision.model.enable" if enabled else "decision.model.disable", subject=row,
                      data={"name": row.name, "version": row.version, "reason": row.status_reason})
    model.enabled, model.status_changed_at, model.status_reason = row.enabled, row.status_changed_at, row.status_reason
    return row


def record_prediction(model: RegisteredModel, *, actor: Any, subject: Any, inputs: Any, output: Any,
                      explanation: str, confidence: float | None, action: str = "decision.predict"):
    ensure_servable(model)
    return record_decision(model_name=model.name, model_version=model.version, subject=subject, inputs=inputs,
                           output=output, explanation=explanation, confidence=confidence, action=action,
                           actor=actor)


def render_card_html(model: RegisteredModel) -> str:
    from markdown_it import MarkdownIt

    # html=False: raw HTML in a card is shown as text, never executed.
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(model.card)
