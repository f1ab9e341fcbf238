"""Imaging lab engine: pneumonia on 28x28 chest X-rays (PneumoniaMNIST), pure numpy + scikit-learn.

What is here, and why:
- `load_npz` reads MedMNIST-style `.npz` files (`<split>_images` / `<split>_labels`) and refuses anything
  that is not a stack of 28x28 grey images with 0/1 labels, naming the key and what was expected.
- Three classifiers with one small surface (`fit`, `predict_proba`): a pixel logistic regression (the
  baseline), an RBF support-vector machine on HOG + standardized pixels (the stronger non-torch model), and
  an optional small CNN (`imaging_cnn.py`, torch CPU, imported only when asked for).
- Metrics a student can check by hand: AUC by ranks, the confusion matrix at a threshold and the
  sensitivity, specificity, PPV and NPV that follow from it.
- Occlusion saliency (Zeiler & Fergus, ECCV 2014): grey out a patch, see how far the probability falls.
- A PNG of the image with the saliency overlaid, so the page needs no JavaScript to show it.

Everything is deterministic given a seed; no Django, no I/O other than reading the bytes handed in.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

IMAGE_SIDE = 28
LABEL_NAMES = ("normal", "pneumonia")
# MedMNIST v2 (Yang et al., Scientific Data 2023;10:41), PneumoniaMNIST test split, ResNet-18 at 28 px.
PUBLISHED_RESNET18_28_AUC = 0.944
PUBLISHED_RESNET18_28_ACC = 0.854


class ImagingDataError(ValueError):
    """An image file or array the lab cannot use; the message names the key or field and what was expected."""


@dataclass(frozen=True, slots=True)
class ImageSet:
    images: np.ndarray  # (n, 28, 28) uint8, 0 = black
    labels: np.ndarray  # (n,) int64, 0 = normal, 1 = pneumonia
    source: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    def subset(self, indices: Sequence[int] | np.ndarray) -> ImageSet:
        rows = np.asarray(indices, dtype=np.int64)
        return ImageSet(self.images[rows], self.labels[rows], self.source)

    def digest(self) -> str:
        """SHA-256 over the image and label bytes: what the registry records as the training data."""
        sha = hashlib.sha256()
        sha.update(np.ascontiguousarray(self.images).tobytes())
        sha.update(np.ascontiguousarray(self.labels.astype(np.uint8)).tobytes())
        return sha.hexdigest()


def available_splits(keys: Sequence[str]) -> list[str]:
    return sorted(k[: -len("_images")] for k in keys if k.endswith("_images"))


def load_npz(source: str | Path | bytes, split: str | None = None, *, min_images: int = 1) -> ImageSet:
    """Read one split of a MedMNIST-style npz (`train_images`, `train_labels`, ...).

    `split` may join several with commas ("train,val"). Left out, it takes `test` if present, else the
    only split in the file, else plain `images`/`labels` keys.
    """
    label = "uploaded file" if isinstance(source, bytes) else Path(source).name
    try:
        handle = np.load(io.BytesIO(source) if isinstance(source, bytes) else source, allow_pickle=False)
    except FileNotFoundError as error:
        raise ImagingDataError(f"{label}: file not found") from error
    except (ValueError, OSError, EOFError) as error:
        raise ImagingDataError(f"{label}: not a readable numpy .npz file ({error})") from error
    if not hasattr(handle, "files"):
        raise ImagingDataError(f"{label}: a single .npy array, not an .npz archive of named arrays")
    with handle:
        keys = list(handle.files)
        splits = available_splits(keys)
        if split is None:
            if "test" in splits:
                names = ["test"]
            elif len(splits) == 1:
                names = splits
            elif "images" in keys:
                names = [""]
            else:
                raise ImagingDataError(f"{label}: holds the splits {', '.join(splits) or 'none'}; "
                                       "name one (e.g. train, val or test)")
        else:
            names = [s.strip() for s in split.split(",") if s.strip()]
        parts = [_read_split(handle, keys, name, label) for name in names]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if len(images) < min_images:
        raise ImagingDataError(f"{label}: {len(images)} images; at least {min_images} are needed")
    return ImageSet(images, labels, f"{label}:{'+'.join(n or 'images' for n in names)}")


def _read_split(handle: Any, keys: list[str], name: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    image_key, label_key = (f"{name}_images", f"{name}_labels") if name else ("images", "labels")
    for key in (image_key, label_key):
        if key not in keys:
            raise ImagingDataError(f"{label}: no '{key}' array (the file has: {', '.join(keys) or 'nothing'})")
    try:
        raw_images, raw_labels = handle[image_key], handle[label_key]
    except ValueError as error:  # object arrays need pickle, which we never allow
        raise ImagingDataError(f"{label}: '{image_key}' or '{label_key}' is not a plain numeric array") from error
    return as_images(raw_images, key=f"{label}: {image_key}"), as_labels(raw_labels, len(raw_images),
                                                                         key=f"{label}: {label_key}")


def as_images(raw: np.ndarray, *, key: str = "images") -> np.ndarray:
    """(n, 28, 28) or (n, 28, 28, 1) grey images, uint8 0-255 or float 0-1, as uint8."""
    array = np.asarray(raw)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2 and array.shape == (IMAGE_SIDE, IMAGE_SIDE):
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ImagingDataError(f"{key}: shape {tuple(array.shape)}; expected (n, {IMAGE_SIDE}, {IMAGE_SIDE}) "
                               "grey images")
    if array.shape[0] == 0:
        raise ImagingDataError(f"{key}: holds no images")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ImagingDataError(f"{key}: dtype {array.dtype}; expected uint8 (0-255) or float (0-1)")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise ImagingDataError(f"{key}: contains NaN or infinite values")
    if np.issubdtype(array.dtype, np.floating) and values.min() >= 0 and values.max() <= 1:
        values = values * 255.0
    if values.min() < 0 or values.max() > 255:
        raise ImagingDataError(f"{key}: values from {values.min():g} to {values.max():g}; expected 0-255 "
                               "(or 0-1 as floats)")
    return np.rint(values).astype(np.uint8)


def as_labels(raw: np.ndarray, count: int, *, key: str = "labels") -> np.ndarray:
    array = np.asarray(raw)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.shape[0] != count:
        raise ImagingDataError(f"{key}: shape {tuple(np.asarray(raw).shape)}; expected ({count},) or ({count}, 1), "
                               "one label per image")
    if not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all():
        raise ImagingDataError(f"{key}: labels must be 0 (normal) or 1 (pneumonia)")
    return array.astype(np.int64)


# ---------------------------------------------------------------------------------------------- features

def pixels01(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def standardize_images(images: np.ndarray) -> np.ndarray:
    """Each image to zero mean and unit variance: exposure differs between machines, anatomy does not."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / (flat.std(axis=1, keepdims=True) + 1e-3)


def hog_features(images: np.ndarray, *, cell: int = 4, bins: int = 9) -> np.ndarray:
    """Histograms of oriented gradients (Dalal & Triggs, CVPR 2005): 4x4-pixel cells, unsigned
    orientations, 2x2-cell blocks L2-normalised and clipped at 0.2 (the paper's L2-Hys)."""
    grey = images.astype(np.float32) / 255.0
    grad_y, grad_x = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(grad_x, grad_y)
    orientation = np.minimum(((np.arctan2(grad_y, grad_x) % np.pi) / np.pi * bins).astype(np.int64), bins - 1)
    n, height, width = grey.shape
    cells_y, cells_x = height // cell, width // cell
    histograms = np.zeros((n, cells_y, cells_x, bins), np.float32)
    for b in range(bins):
        histograms[..., b] = (magnitude * (orientation == b)).reshape(n, cells_y, cell, cells_x, cell).sum((2, 4))
    blocks = []
    for i in range(cells_y - 1):
        for j in range(cells_x - 1):
            block = histograms[:, i:i + 2, j:j + 2].reshape(n, -1)
            block = block / np.sqrt((block ** 2).sum(axis=1, keepdims=True) + 1e-6)
            block = np.minimum(block, 0.2)
            blocks.append(block / np.sqrt((block ** 2).sum(axis=1, keepdims=True) + 1e-6))
    return np.concatenate(blocks, axis=1)


def augment(images: np.ndarray, *, copies: int, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """`copies` jittered versions of each image: a shift of up to `max_shift` pixels (edge pixels repeat)
    and a mild contrast/brightness change, so the model learns the lungs rather than the framing."""
    n = len(images)
    out = np.empty((copies * n, IMAGE_SIDE, IMAGE_SIDE), np.uint8)
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)), mode="edge")
    for c in range(copies):
        dy = rng.integers(0, 2 * max_shift + 1, n)
        dx = rng.integers(0, 2 * max_shift + 1, n)
        gain = rng.uniform(0.85, 1.15, n)[:, None, None]
        offset = rng.uniform(-15, 15, n)[:, None, None]
        for k in range(n):
            out[c * n + k] = padded[k, dy[k]:dy[k] + IMAGE_SIDE, dx[k]:dx[k] + IMAGE_SIDE]
        block = out[c * n:(c + 1) * n].astype(np.float32)
        mean = block.mean(axis=(1, 2), keepdims=True)
        out[c * n:(c + 1) * n] = np.clip((block - mean) * gain + mean + offset, 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------------------- models

def blas_threads(limit: int = 1) -> Any:
    """Cap BLAS/OpenMP threads while fitting or predicting: on a busy two-core machine two BLAS threads
    made a 600-image logistic regression 100x slower (4 s against 0.04 s, measured)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=limit)


class Classifier(Protocol):
    key: str
    title: str

    def fit(self, train: ImageSet, *, seed: int = 0) -> Classifier: ...

    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...

    def params(self) -> dict[str, Any]: ...


@dataclass
class PixelLogistic:
    """The baseline: logistic regression on the 784 raw pixel values (0-1)."""

    C: float = 0.05
    class_weight: str | None = "balanced"
    key: str = "logreg"
    title: str = "Logistic regression on pixels (baseline)"
    model: Any = field(default=None, repr=False)

    def fit(self, train: ImageSet, *, seed: int = 0) -> PixelLogistic:
        from sklearn.linear_model import LogisticRegression

        with blas_threads():
            self.model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000,
                                            random_state=seed).fit(pixels01(train.images), train.labels)
        return self

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        with blas_threads():
            return self.model.predict_proba(pixels01(images))[:, 1]

    def params(self) -> dict[str, Any]:
        return {"model": "LogisticRegression", "features": "784 pixels scaled to 0-1", "C": self.C,
                "class_weight": self.class_weight}


def hog_pixel_features(images: np.ndarray, pixel_weight: float = 0.5) -> np.ndarray:
    return np.hstack([hog_features(images), pixel_weight * standardize_images(images)]).astype(np.float32)


@dataclass
class HogSvm:
    """RBF support-vector machine on HOG + per-image-standardized pixels (PCA-reduced), trained on jittered
    copies too.

    Probabilities come from Platt scaling over 3 folds (each fold's SVM is kept and their probabilities
    averaged), so the model is a small ensemble and its scores are calibrated on data it did not fit.
    """

    C: float = 3.0
    class_weight: str | None = "balanced"
    augment_copies: int = 1
    components: int = 128  # PCA before the kernel: 2,080 -> 128 features cut fitting ~10x at equal val AUC
    key: str = "svm"
    title: str = "SVM (RBF) on HOG + pixels"
    model: Any = field(default=None, repr=False)
    scaler: Any = field(default=None, repr=False)  # standardize + PCA

    def fit(self, train: ImageSet, *, seed: int = 0) -> HogSvm:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.decomposition import PCA
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        rng = np.random.default_rng(seed)
        images, labels = train.images, train.labels
        if self.augment_copies:
            images = np.concatenate([images, augment(images, copies=self.augment_copies, rng=rng)])
            labels = np.concatenate([labels] * (self.augment_copies + 1))
        features = hog_pixel_features(images)
        with blas_threads():
            self.scaler = make_pipeline(StandardScaler(), PCA(min(self.components, *features.shape),
                                                              random_state=seed)).fit(features)
        svm = SVC(C=self.C, kernel="rbf", gamma="scale", class_weight=self.class_weight, cache_size=500)
        # Folds by original image, so an image and its jittered copy never sit on both sides of a split.
        n = len(train)
        order = rng.permutation(n)
        fold_of = np.empty(n, np.int64)
        fold_of[order] = np.arange(n) % 3
        folds = np.tile(fold_of, self.augment_copies + 1)
        splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(3)]
        self.model = CalibratedClassifierCV(svm, method="sigmoid", cv=splits, ensemble=True)
        with blas_threads():
            self.model.fit(self.scaler.transform(features), labels)
        return self

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        with blas_threads():
            return self.model.predict_proba(self.scaler.transform(hog_pixel_features(images)))[:, 1]

    def params(self) -> dict[str, Any]:
        return {"model": "SVC(rbf) + sigmoid calibration (3 folds, ensembled)",
                "features": f"HOG (4px cells, 9 bins) + standardized pixels, PCA to {self.components}",
                "C": self.C, "gamma": "scale",
                "class_weight": self.class_weight, "augment_copies": self.augment_copies}


MODEL_KEYS = ("logreg", "svm", "cnn")


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def make_model(key: str, **options: Any) -> Classifier:
    if key == "logreg":
        return PixelLogistic(**options)
    if key == "svm":
        return HogSvm(**options)
    if key == "cnn":
        if not torch_available():
            raise ImagingDataError("model cnn: needs the ml extra with torch (pip install 'medtutor[ml]')")
        from medtutor.decision.engine.imaging_cnn import SmallCnn

        return SmallCnn(**options)
    raise ImagingDataError(f"model: unknown model {key!r}; choose from {', '.join(MODEL_KEYS)}")


# ---------------------------------------------------------------------------------------------- metrics

def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve = the chance a random positive outscores a random negative (ties count
    half), computed from average ranks (the Mann-Whitney U statistic)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


@dataclass(frozen=True, slots=True)
class ThresholdMetrics:
    threshold: float
    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int

    @property
    def total(self) -> int:
        return self.true_positive + self.false_positive + self.true_negative + self.false_negative

    @staticmethod
    def _ratio(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def sensitivity(self) -> float | None:
        return self._ratio(self.true_positive, self.true_positive + self.false_negative)

    @property
    def specificity(self) -> float | None:
        return self._ratio(self.true_negative, self.true_negative + self.false_positive)

    @property
    def ppv(self) -> float | None:
        return self._ratio(self.true_positive, self.true_positive + self.false_positive)

    @property
    def npv(self) -> float | None:
        return self._ratio(self.true_negative, self.true_negative + self.false_negative)

    @property
    def accuracy(self) -> float | None:
        return self._ratio(self.true_positive + self.true_negative, self.total)


def metrics_at(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> ThresholdMetrics:
    """Confusion matrix when "pneumonia" means probability >= threshold."""
    if not 0.0 <= threshold <= 1.0:
        raise ImagingDataError(f"threshold: {threshold:g} is outside 0-1")
    truth = np.asarray(labels).astype(bool)
    called = np.asarray(probabilities) >= threshold
    return ThresholdMetrics(threshold, int((called & truth).sum()), int((called & ~truth).sum()),
                            int((~called & ~truth).sum()), int((~called & truth).sum()))


def threshold_table(labels: np.ndarray, probabilities: np.ndarray,
                    thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
                    ) -> list[ThresholdMetrics]:
    return [metrics_at(labels, probabilities, t) for t in thresholds]


def ppv_at_prevalence(sensitivity: float, specificity: float, prevalence: float) -> float | None:
    """Bayes: the PPV the same test would have where pneumonia is `prevalence` common."""
    true_pos = sensitivity * prevalence
    false_pos = (1 - specificity) * (1 - prevalence)
    return true_pos / (true_pos + false_pos) if true_pos + false_pos > 0 else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    model_key: str
    title: str
    auc: float
    accuracy: float
    train_seconds: float
    n_train: int
    n_test: int
    probabilities: np.ndarray = field(repr=False, compare=False)

    def at(self, labels: np.ndarray, threshold: float) -> ThresholdMetrics:
        return metrics_at(labels, self.probabilities, threshold)


def train_and_evaluate(model: Classifier, train: ImageSet, test: ImageSet, *, seed: int = 0) -> Evaluation:
    started = time.perf_counter()
    model.fit(train, seed=seed)
    seconds = time.perf_counter() - started
    probabilities = model.predict_proba(test.images)
    accuracy = metrics_at(test.labels, probabilities, 0.5).accuracy or 0.0
    return Evaluation(model.key, model.title, roc_auc(test.labels, probabilities), accuracy, seconds,
                      len(train), len(test), probabilities)


def stratified_subset(data: ImageSet, size: int, *, seed: int) -> ImageSet:
    """`size` images keeping the class mix (for fast tests and demos)."""
    rng = np.random.default_rng(seed)
    if size >= len(data):
        return data
    chosen: list[np.ndarray] = []
    for value in (0, 1):
        rows = np.flatnonzero(data.labels == value)
        take = max(1, round(size * len(rows) / len(data)))
        chosen.append(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return data.subset(np.sort(np.concatenate(chosen)))


# ---------------------------------------------------------------------------------------------- saliency

@dataclass(frozen=True, slots=True)
class OcclusionMap:
    base_probability: float
    drop: np.ndarray  # (28, 28): mean fall in P(pneumonia) when a patch covering the pixel is greyed out
    patch: int
    stride: int

    @property
    def peak(self) -> tuple[int, int]:
        row, col = np.unravel_index(int(np.argmax(np.abs(self.drop))), self.drop.shape)
        return int(row), int(col)

    def region_summary(self) -> str:
        """Which part of the film mattered most, in words a student can check against the image."""
        row, col = self.peak
        vertical = ("upper", "middle", "lower")[min(row * 3 // IMAGE_SIDE, 2)]
        # Radiographs are viewed as if facing the patient: the image's left is the patient's right.
        side = ("patient's right", "central", "patient's left")[min(col * 3 // IMAGE_SIDE, 2)]
        direction = "lowered" if self.drop[row, col] > 0 else "raised"
        return (f"covering the {vertical} {side} zone {direction} the pneumonia probability the most "
                f"({abs(float(self.drop[row, col])) * 100:.1f} points)")


def occlusion_map(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray, *, patch: int = 6,
                  stride: int = 2, fill: float | None = None) -> OcclusionMap:
    """Slide a `patch` x `patch` grey square over the image in `stride` steps, predict every occluded copy
    in one batch, and average, per pixel, how much P(pneumonia) fell when it was covered.

    Positive values: the region pushed the model towards pneumonia; negative: towards normal.
    """
    grey = as_images(image, key="image")[0]
    if not 1 <= patch <= IMAGE_SIDE or not 1 <= stride <= patch:
        raise ImagingDataError(f"patch/stride: need 1 <= stride <= patch <= {IMAGE_SIDE}")
    fill_value = np.uint8(round(float(grey.mean()) if fill is None else fill))
    starts = list(range(0, IMAGE_SIDE - patch + 1, stride))
    if starts[-1] != IMAGE_SIDE - patch:
        starts.append(IMAGE_SIDE - patch)
    positions = [(r, c) for r in starts for c in starts]
    batch = np.repeat(grey[None], len(positions) + 1, axis=0)
    for k, (r, c) in enumerate(positions, start=1):
        batch[k, r:r + patch, c:c + patch] = fill_value
    probabilities = np.asarray(predict(batch), dtype=np.float64)
    base = float(probabilities[0])
    total = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
    count = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
    for k, (r, c) in enumerate(positions, start=1):
        total[r:r + patch, c:c + patch] += base - probabilities[k]
        count[r:r + patch, c:c + patch] += 1
    return OcclusionMap(base, total / np.maximum(count, 1), patch, stride)


def render_png(image: np.ndarray, heat: np.ndarray | None = None, *, scale: int = 8,
               heat_limit: float | None = None) -> bytes:
    """The X-ray, enlarged `scale` times, with `heat` overlaid: red where covering the region lowered the
    pneumonia probability (evidence for pneumonia), blue where it raised it. Colour strength is
    |heat| / heat_limit (default: the map's own largest value)."""
    from PIL import Image

    grey = as_images(image, key="image")[0].astype(np.float32) / 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    if heat is not None:
        heat = np.asarray(heat, dtype=np.float32)
        if heat.shape != grey.shape:
            raise ImagingDataError(f"heat: shape {heat.shape}; expected {grey.shape}")
        limit = heat_limit if heat_limit else float(np.abs(heat).max())
        strength = np.clip(np.abs(heat) / limit, 0, 1)[..., None] * 0.65 if limit > 0 else np.zeros_like(rgb[..., :1])
        colour = np.where((heat >= 0)[..., None], np.array([0.9, 0.1, 0.1]), np.array([0.1, 0.35, 0.95]))
        rgb = rgb * (1 - strength) + colour * strength
    pixels = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels, mode="RGB").resize((IMAGE_SIDE * scale, IMAGE_SIDE * scale),
                                                          Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def confidence_label(probability: float) -> str:
    """How far from a coin toss the model is, in words (not a statement about the patient)."""
    distance = abs(probability - 0.5) * 2
    return "high" if distance >= 0.8 else "moderate" if distance >= 0.4 else "low"
