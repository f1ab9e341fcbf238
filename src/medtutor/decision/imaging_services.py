"""Imaging lab services: train and register the pneumonia classifiers, serve predictions with occlusion
saliency, and the threshold and class-imbalance lessons. Views and the CLI call these; maths lives in
`decision.engine.imaging`, storage in the model registry (`decision.registry`).

The lab reads PneumoniaMNIST from `MEDTUTOR_IMAGING_DATA` (an npz with `train_*` and `val_*` arrays),
by default `../shared/data/imaging/pneumoniamnist/pneumoniamnist_trainval.npz` beside the checkout.
Models are fitted on the `train` split; the `val` split is never trained on and is the lab's image
gallery and the source of every metric shown.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from medtutor.core import clock
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.decision import registry
from medtutor.decision.engine import imaging as engine

__all__ = [
    "KIND", "LabImage", "Prediction", "TrainingStatus", "data_path", "lab_images", "gallery", "lab_models",
    "served_model", "predict_image", "threshold_lesson", "imbalance_lesson", "train_and_register",
    "start_training", "training_status", "model_name", "parse_threshold", "record_read", "ReadRecorded",
]

logger = logging.getLogger(__name__)

KIND = "imaging"
LAB_SPLIT = "val"
TRAIN_SPLIT = "train"
DEFAULT_DATA = (Path(__file__).resolve().parents[3].parent / "shared" / "data" / "imaging" / "pneumoniamnist"
                / "pneumoniamnist_trainval.npz")
EDUCATION_ONLY = "For education, not patient care."
PREFERENCE = ("cnn", "svm", "logreg")  # which model the lab shows first when several are enabled
LESSON_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def model_name(key: str) -> str:
    return f"imaging-pneumonia-{key}"


def data_path() -> Path:
    return Path(getattr(settings, "MEDTUTOR_IMAGING_DATA", None) or os.environ.get("MEDTUTOR_IMAGING_DATA")
                or DEFAULT_DATA)


_images_cache: dict[tuple[str, float], engine.ImageSet] = {}
_objects_cache: dict[str, Any] = {}
_lock = threading.Lock()


def lab_images() -> engine.ImageSet:
    """The gallery: the held-out `val` split (cached per file and modification time)."""
    path = data_path()
    if not path.exists():
        raise NotFound(f"the imaging data set is not installed (looked for {path}; set MEDTUTOR_IMAGING_DATA)")
    key = (str(path), path.stat().st_mtime)
    with _lock:
        if key not in _images_cache:
            _images_cache.clear()
            _images_cache[key] = engine.load_npz(path, LAB_SPLIT)
        return _images_cache[key]


@dataclass(frozen=True, slots=True)
class LabImage:
    index: int
    label: int
    png_data_uri: str

    @property
    def label_name(self) -> str:
        return engine.LABEL_NAMES[self.label]


def _data_uri(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def gallery(per_class: int = 6) -> list[LabImage]:
    """A fixed, mixed set of normal and pneumonia films (the same for everyone, so a class can discuss them)."""
    images = lab_images()
    rng = np.random.default_rng(2028)
    chosen: list[int] = []
    for value in (0, 1):
        rows = np.flatnonzero(images.labels == value)
        chosen.extend(int(i) for i in rng.choice(rows, size=min(per_class, len(rows)), replace=False))
    rng.shuffle(chosen)
    return [LabImage(i, int(images.labels[i]), _data_uri(engine.render_png(images.images[i], scale=3)))
            for i in chosen]


def lab_models() -> list[Any]:
    """The newest enabled version of each imaging model, best first (CNN, SVM, baseline)."""
    newest: dict[str, Any] = {}
    for row in registry.list_models(kind=KIND):
        if row.enabled and row.name not in newest:
            newest[row.name] = row
    rank = {model_name(k): i for i, k in enumerate(PREFERENCE)}
    servable = [row for row in newest.values() if _runs_here(row)]
    return sorted(servable, key=lambda row: (rank.get(row.name, 99), row.name))


def _runs_here(row: Any) -> bool:
    """A CNN needs torch to predict; without it the lab serves the other models."""
    return row.params.get("model_key") != "cnn" or engine.torch_available()


def all_versions() -> list[Any]:
    return registry.list_models(kind=KIND)


def served_model(model_id: int | None = None) -> Any | None:
    """The model the lab serves: the one asked for (if enabled and imaging), else the best enabled one."""
    models = lab_models()
    if model_id is not None:
        for row in models:
            if row.pk == model_id:
                return row
        row = registry.get_model_by_id(model_id)  # NotFound for a bad id
        if row.kind != KIND:
            raise NotFound(f"model {model_id} is not an imaging model")
        registry.ensure_servable(row)  # ModelDisabled (409) with its reason
        if not _runs_here(row):
            raise InvalidInput(f"model: {row.name} needs torch (the ml extra), which is not installed here")
        return row
    return models[0] if models else None


def _classifier(row: Any) -> Any:
    with _lock:
        found = _objects_cache.get(row.artifact_digest)
    if found is None:
        found = registry.load_object(row)
        with _lock:
            _objects_cache[row.artifact_digest] = found
    return found


@dataclass(frozen=True, slots=True)
class Prediction:
    model: Any
    image_index: int
    true_label: int
    probability: float
    threshold: float
    confidence: str
    occlusion: engine.OcclusionMap
    overlay_uri: str
    plain_uri: str
    explanation: str
    decision_id: int

    @property
    def called(self) -> str:
        return engine.LABEL_NAMES[int(self.probability >= self.threshold)]

    @property
    def true_name(self) -> str:
        return engine.LABEL_NAMES[self.true_label]

    @property
    def is_correct(self) -> bool:
        return int(self.probability >= self.threshold) == self.true_label

    @property
    def percent(self) -> float:
        return round(self.probability * 100, 1)


def parse_threshold(raw: str | None, default: float = 0.5) -> float:
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"threshold: {raw!r} is not a number; use a value from 0.01 to 0.99") from None
    if not np.isfinite(value) or not 0.01 <= value <= 0.99:
        raise InvalidInput(f"threshold: {raw} is out of range; use a value from 0.01 to 0.99")
    return value


def predict_image(row: Any, image_index: int, *, actor: Any, threshold: float = 0.5) -> Prediction:
    """Predict one gallery film with its occlusion map, and record the decision the student will see."""
    images = lab_images()
    if not 0 <= image_index < len(images):
        raise InvalidInput(f"image: {image_index} is not a gallery image (0 to {len(images) - 1})")
    registry.ensure_servable(row)
    image = images.images[image_index]
    cache_key = f"imaging:occlusion:{row.artifact_digest}:{image_index}"
    cached = cache.get(cache_key)
    if cached is None:
        classifier = _classifier(row)
        occlusion = engine.occlusion_map(classifier.predict_proba, image)
        cache.set(cache_key, (occlusion.base_probability, occlusion.drop.astype(np.float32).tobytes(),
                              occlusion.patch, occlusion.stride), 24 * 3600)
    else:
        base, raw, patch, stride = cached
        occlusion = engine.OcclusionMap(base, np.frombuffer(raw, np.float32).reshape(28, 28).astype(np.float64),
                                        patch, stride)
    probability = occlusion.base_probability
    confidence = engine.confidence_label(probability)
    called = engine.LABEL_NAMES[int(probability >= threshold)]
    explanation = (f"P(pneumonia) = {probability:.3f}; called {called} at threshold {threshold:.2f}. "
                   f"Occlusion saliency ({occlusion.patch}px patches): {occlusion.region_summary()}.")
    decision = registry.record_prediction(
        row, actor=actor, subject=("decision.imaging_image", f"{LAB_SPLIT}:{image_index}"),
        inputs={"image_sha256": engine.ImageSet(image[None], np.zeros(1, np.int64)).digest(),
                "split": LAB_SPLIT, "index": image_index, "threshold": threshold},
        output={"probability": round(probability, 4), "called": called, "threshold": threshold,
                "saliency_peak": list(occlusion.peak)},
        explanation=explanation, confidence=round(abs(probability - 0.5) * 2, 4), action="decision.imaging.predict")
    return Prediction(row, image_index, int(images.labels[image_index]), probability, threshold, confidence,
                      occlusion, _data_uri(engine.render_png(image, occlusion.drop)),
                      _data_uri(engine.render_png(image)), explanation, decision.pk)


@dataclass(frozen=True, slots=True)
class ReadRecorded:
    read: str
    model_call: str
    true_label: str
    override_id: int

    @property
    def agrees_with_label(self) -> bool:
        return self.read == self.true_label


def record_read(actor: Any, decision_id: int | None, read: str, reason: str) -> ReadRecorded:
    """A student's own reading of a film the model has just read for them, kept as a human override of
    that AI decision (never an edit of it), with the reason they give."""
    from medtutor.core.audit import record_override
    from medtutor.core.models import AuditKind, AuditRecord

    if read not in engine.LABEL_NAMES:
        raise InvalidInput(f"read: choose {' or '.join(engine.LABEL_NAMES)}")
    if not reason.strip():
        raise InvalidInput("reason: say what you saw on the film (a few words)")
    original = AuditRecord.objects.filter(pk=decision_id, kind=AuditKind.DECISION,
                                          action="decision.imaging.predict").first() if decision_id else None
    if original is None or original.actor_id != getattr(actor, "pk", None):
        raise NotFound("that prediction was not found among yours; open the film again")
    split, _, index = original.subject_id.partition(":")
    images = lab_images()
    if split != LAB_SPLIT or not index.isdigit() or int(index) >= len(images):
        raise NotFound("that film is no longer in the gallery")
    override = record_override(original, actor=actor, output={"read": read, "image": original.subject_id},
                               reason=reason.strip()[:1000])
    return ReadRecorded(read, str(original.output.get("called", "")),
                        engine.LABEL_NAMES[int(images.labels[int(index)])], override.pk)


@dataclass(frozen=True, slots=True)
class ThresholdLesson:
    threshold: float
    chosen: engine.ThresholdMetrics
    table: list[engine.ThresholdMetrics]
    auc: float
    n_images: int
    prevalence: float
    ppv_at_low_prevalence: float | None  # the same sensitivity/specificity where pneumonia is 10% of films
    low_prevalence: float = 0.10


def threshold_lesson(row: Any, threshold: float) -> ThresholdLesson:
    """Confusion matrix and metrics of the model's held-out probabilities at a chosen threshold."""
    validation = row.metrics.get("validation") or {}
    labels = np.asarray(validation.get("labels") or [], dtype=np.int64)
    probabilities = np.asarray(validation.get("probabilities") or [], dtype=np.float64)
    if len(labels) == 0 or len(labels) != len(probabilities):
        raise NotFound(f"{row.name} v{row.version} has no held-out predictions to teach thresholds with")
    chosen = engine.metrics_at(labels, probabilities, threshold)
    thresholds = sorted(set(LESSON_THRESHOLDS) | {round(threshold, 2)})
    low_ppv = None
    if chosen.sensitivity is not None and chosen.specificity is not None:
        low_ppv = engine.ppv_at_prevalence(chosen.sensitivity, chosen.specificity, 0.10)
    return ThresholdLesson(threshold, chosen, engine.threshold_table(labels, probabilities, thresholds),
                           float(validation.get("auc") or engine.roc_auc(labels, probabilities)), len(labels),
                           float(labels.mean()), low_ppv)


def imbalance_lesson() -> dict[str, Any] | None:
    """Class counts and the weighted-versus-unweighted comparison stored with the baseline model."""
    for row in lab_models():
        lesson = row.metrics.get("class_weighting")
        if lesson:
            return {"model": row, **lesson}
    return None


# ---------------------------------------------------------------------------------------------- training

def _metric_row(result: engine.ThresholdMetrics) -> dict[str, Any]:
    return {"threshold": result.threshold, "tp": result.true_positive, "fp": result.false_positive,
            "tn": result.true_negative, "fn": result.false_negative,
            "sensitivity": _round(result.sensitivity), "specificity": _round(result.specificity),
            "ppv": _round(result.ppv), "npv": _round(result.npv), "accuracy": _round(result.accuracy)}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _class_weighting_lesson(train: engine.ImageSet, held_out: engine.ImageSet, seed: int) -> dict[str, Any]:
    """The baseline fitted twice, with and without balanced class weights, compared at threshold 0.5."""
    rows = {}
    for label, weight in (("unweighted", None), ("balanced", "balanced")):
        model = engine.PixelLogistic(class_weight=weight).fit(train, seed=seed)
        probabilities = model.predict_proba(held_out.images)
        rows[label] = {**_metric_row(engine.metrics_at(held_out.labels, probabilities, 0.5)),
                       "auc": round(engine.roc_auc(held_out.labels, probabilities), 4),
                       "mean_probability_normal": round(float(probabilities[held_out.labels == 0].mean()), 4)}
    return {"train_normal": int((train.labels == 0).sum()), "train_pneumonia": int(train.positives),
            "heldout_normal": int((held_out.labels == 0).sum()), "heldout_pneumonia": int(held_out.positives),
            "rows": rows}


def model_card(key: str, model: engine.Classifier, train: engine.ImageSet, held_out: engine.ImageSet,
               evaluation: engine.Evaluation, at_half: engine.ThresholdMetrics) -> str:
    params = "\n".join(f"| {name} | {value} |" for name, value in model.params().items())
    return f"""# {model.title} — pneumonia on 28x28 chest X-rays

**{EDUCATION_ONLY}** This model exists to teach how image classifiers, saliency maps, thresholds and
class imbalance work. It must never be used to diagnose or treat anyone.

## Intended use
Teaching in the medtutor imaging lab: students compare its probability and occlusion map with their own
reading of a low-resolution film. Not for screening, triage or any clinical decision.

## Data
PneumoniaMNIST (MedMNIST v2; Yang et al., Scientific Data 2023;10:41; CC BY 4.0), from paediatric chest
X-rays of Kermany et al., Cell 2018;172:1122-1131, downsampled to 28x28 grey pixels. Trained on
{len(train)} `train` films ({int((train.labels == 0).sum())} normal, {train.positives} pneumonia); evaluated
on {len(held_out)} held-out `val` films ({int((held_out.labels == 0).sum())} normal, {held_out.positives}
pneumonia). Training data SHA-256: `{train.digest()}`.

## Model
| parameter | value |
|---|---|
{params}

## Metrics (held-out `val` split)
| metric | value |
|---|---|
| AUC | {evaluation.auc:.3f} |
| accuracy at 0.5 | {evaluation.accuracy:.3f} |
| sensitivity at 0.5 | {_fmt(at_half.sensitivity)} |
| specificity at 0.5 | {_fmt(at_half.specificity)} |
| PPV at 0.5 | {_fmt(at_half.ppv)} |
| training time | {evaluation.train_seconds:.1f} s |

Published reference: MedMNIST v2 ResNet-18 at 28 px reaches AUC {engine.PUBLISHED_RESNET18_28_AUC} and
accuracy {engine.PUBLISHED_RESNET18_28_ACC} on the official test split, which is harder than `val`
(different patients and period); expect lower figures there than the ones above.

## Limitations
- 28x28 pixels discard most of the detail a radiologist uses; one hospital, children only.
- Pneumonia is about three quarters of the films, far above most clinical settings: PPV here
  overstates PPV elsewhere (the lab shows the same test at 10% prevalence).
- Occlusion saliency shows where covering the film changed the output, not why; models can rely on
  markers, borders or exposure rather than lung findings.
- Labels come from the source data set's graders and include known duplicates across splits.

## Ethical considerations
Every prediction shown is recorded in the audit log with this model's name and version. Faculty can
disable the model, after which it serves nothing. Students should treat its output as a teaching prop.
"""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


Progress = Callable[[str], None]


def _check_model_keys(keys: Sequence[str]) -> None:
    unknown = [k for k in keys if k not in engine.MODEL_KEYS]
    if unknown or not keys:
        raise InvalidInput(f"models: choose from {', '.join(engine.MODEL_KEYS)}"
                           + (f" (not {', '.join(map(repr, unknown))})" if unknown else ""))
    if "cnn" in keys and not engine.torch_available():
        raise InvalidInput("models: the CNN needs torch (the ml extra), which is not installed here")


def train_and_register(keys: Sequence[str] = ("logreg", "svm"), *, actor: Any = None, seed: int = 0,
                       path: Path | None = None, train_limit: int | None = None,
                       progress: Progress | None = None) -> list[Any]:
    """Fit each model on the `train` split, evaluate on `val`, and register it (one row each).

    `train_limit` trains on a class-stratified subset (fast demos and tests). Returns the registry rows.
    """
    say = progress or (lambda message: None)
    _check_model_keys(keys)
    path = path or data_path()
    if not path.exists():
        raise InvalidInput(f"data: {path} not found; set MEDTUTOR_IMAGING_DATA to a PneumoniaMNIST npz")
    try:
        train = engine.load_npz(path, TRAIN_SPLIT, min_images=20)
        held_out = engine.load_npz(path, LAB_SPLIT, min_images=20)
    except engine.ImagingDataError as error:
        raise InvalidInput(str(error)) from error
    for name, part in (("train", train), ("val", held_out)):
        if len(set(part.labels.tolist())) < 2:
            raise InvalidInput(f"data: the {name} split holds only one class; both normal and pneumonia are needed")
    if train_limit:
        train = engine.stratified_subset(train, train_limit, seed=seed)
    registered = []
    lesson = None
    for key in keys:
        model = engine.make_model(key)
        say(f"training {model.title} on {len(train)} films")
        evaluation = engine.train_and_evaluate(model, train, held_out, seed=seed)
        at_half = evaluation.at(held_out.labels, 0.5)
        metrics: dict[str, Any] = {
            "auc": round(evaluation.auc, 4), "accuracy": round(evaluation.accuracy, 4),
            "train_seconds": round(evaluation.train_seconds, 2), "n_train": len(train), "n_heldout": len(held_out),
            "at_0_5": _metric_row(at_half),
            "thresholds": [_metric_row(m) for m in engine.threshold_table(held_out.labels, evaluation.probabilities)],
            "validation": {"split": LAB_SPLIT, "auc": round(evaluation.auc, 6),
                           "labels": held_out.labels.tolist(),
                           "probabilities": [round(float(p), 5) for p in evaluation.probabilities]},
            "published": {"resnet18_28_auc": engine.PUBLISHED_RESNET18_28_AUC,
                          "resnet18_28_acc": engine.PUBLISHED_RESNET18_28_ACC},
        }
        if key == "logreg":
            say("comparing class weights (the imbalance lesson)")
            lesson = lesson or _class_weighting_lesson(train, held_out, seed)
            metrics["class_weighting"] = lesson
        card = model_card(key, model, train, held_out, evaluation, at_half)
        row = registry.register_model(
            name=model_name(key), kind=KIND, data_digest=train.digest(),
            params={**json.loads(json.dumps(model.params(), default=str)), "model_key": key, "seed": seed,
                    "data_file": path.name, "train_split": TRAIN_SPLIT, "trained_at": clock.now().isoformat()},
            metrics=metrics, card=card, artifact_bytes=registry.dump_object(model), trained_by=actor)
        say(f"registered {row.name} v{row.version}: held-out AUC {evaluation.auc:.3f}, "
            f"{evaluation.train_seconds:.0f} s")
        registered.append(row)
    return registered


# Training from the web page runs in a background thread; its progress lives in a small JSON file under
# the var folder, so every worker process can show it.

@dataclass(frozen=True, slots=True)
class TrainingStatus:
    running: bool
    message: str
    started_at: str
    error: str = ""


def _status_path() -> Path:
    folder = Path(settings.VAR_DIR) / "imaging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "training.json"


def _write_status(**fields: Any) -> None:
    path = _status_path()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(fields))
    temporary.replace(path)


STALE_AFTER_SECONDS = 30 * 60  # a run "in progress" for longer than this died with its process


def training_status() -> TrainingStatus | None:
    try:
        data = json.loads(_status_path().read_text())
    except (OSError, ValueError):
        return None
    started = str(data.get("started_at", ""))
    running = bool(data.get("running"))
    if running:
        try:
            age = (clock.now() - datetime.fromisoformat(started)).total_seconds()
        except ValueError:
            age = STALE_AFTER_SECONDS + 1
        if age > STALE_AFTER_SECONDS:
            return TrainingStatus(False, "abandoned", started, "the training run stopped without finishing")
    return TrainingStatus(running, str(data.get("message", "")), started, str(data.get("error", "")))


_training_thread: threading.Thread | None = None


def start_training(keys: Sequence[str], *, actor: Any) -> threading.Thread:
    """Start training in the background unless a run is already going in this process."""
    global _training_thread
    _check_model_keys(keys)
    if not data_path().exists():
        raise InvalidInput(f"data: {data_path()} not found; set MEDTUTOR_IMAGING_DATA")
    with _lock:
        current = training_status()
        if (_training_thread is not None and _training_thread.is_alive()) or (current and current.running):
            raise InvalidInput("models: a training run is already in progress; wait for it to finish")
        started = clock.now().isoformat()
        _write_status(running=True, message="starting", started_at=started)

        def run() -> None:
            from django.db import connection

            try:
                train_and_register(list(keys), actor=actor,
                                   progress=lambda m: _write_status(running=True, message=m, started_at=started))
                _write_status(running=False, message="finished", started_at=started)
            except Exception as error:  # the page must say training failed, not spin forever
                logger.exception("imaging training failed")
                _write_status(running=False, message="failed", started_at=started, error=str(error))
            finally:
                connection.close()

        _training_thread = threading.Thread(target=run, name="imaging-training", daemon=True)
        _training_thread.start()
        return _training_thread
