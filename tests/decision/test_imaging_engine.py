"""Imaging-lab engine: data checks, metrics by hand, occlusion saliency, and real training on a subset."""

from __future__ import annotations

import io

import numpy as np
import pytest

from medtutor.decision.engine import imaging
from tests.conftest import shared_data


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _pneumonia_npz():
    return shared_data("imaging", "pneumoniamnist", "pneumoniamnist_trainval.npz")


# ------------------------------------------------------------------------------------------ data

def test_load_npz_reads_medmnist_keys_and_squeezes_labels():
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28) % 256
    data = imaging.load_npz(_npz(train_images=images.astype(np.uint8), train_labels=np.array([[0], [1], [1]])),
                            "train")
    assert data.images.shape == (3, 28, 28) and data.images.dtype == np.uint8
    assert data.labels.tolist() == [0, 1, 1] and data.positives == 2


def test_load_npz_joins_splits_and_accepts_float_images():
    raw = _npz(train_images=np.full((2, 28, 28), 0.5), train_labels=np.array([0, 1]),
               val_images=np.zeros((1, 28, 28, 1), np.uint8), val_labels=np.array([1]))
    data = imaging.load_npz(raw, "train,val")
    assert len(data) == 3 and data.images[0, 0, 0] == 128 and data.labels.tolist() == [0, 1, 1]


@pytest.mark.parametrize("arrays,fragment", [
    ({"train_images": np.zeros((4, 32, 32), np.uint8), "train_labels": np.zeros(4)}, "shape (4, 32, 32)"),
    ({"train_images": np.zeros((4, 28, 28), np.uint8), "train_labels": np.zeros(3)}, "train_labels: shape (3,)"),
    ({"train_images": np.zeros((2, 28, 28), np.uint8), "train_labels": np.array([0, 2])}, "0 (normal) or 1"),
    ({"train_images": np.full((2, 28, 28), 300.0), "train_labels": np.array([0, 1])}, "values from 300"),
    ({"train_images": np.zeros((2, 28, 28), np.uint8)}, "no 'train_labels' array"),
])
def test_wrong_shaped_or_valued_npz_is_refused_with_the_reason(arrays, fragment):
    with pytest.raises(imaging.ImagingDataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        imaging.load_npz(_npz(**arrays), "train")


def test_non_npz_bytes_are_refused():
    with pytest.raises(imaging.ImagingDataError, match="not a readable numpy .npz"):
        imaging.load_npz(b"this is not an archive", "train")


def test_ambiguous_file_asks_for_a_split():
    raw = _npz(train_images=np.zeros((1, 28, 28), np.uint8), train_labels=np.zeros(1),
               val_images=np.zeros((1, 28, 28), np.uint8), val_labels=np.zeros(1))
    with pytest.raises(imaging.ImagingDataError, match="name one"):
        imaging.load_npz(raw)


# ------------------------------------------------------------------------------------------ metrics

def test_auc_on_a_hand_made_example():
    # Positives 0.9, 0.4; negatives 0.5, 0.1: of 4 pairs, (0.9>0.5), (0.9>0.1), (0.4>0.1) win, (0.4<0.5) loses.
    assert imaging.roc_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == pytest.approx(0.75)
    # A tie between a positive and a negative counts half: 1 + 0.5 of 2 pairs.
    assert imaging.roc_auc(np.array([1, 0, 0]), np.array([0.5, 0.5, 0.2])) == pytest.approx(0.75)


def test_auc_matches_scikit_learn_on_random_scores():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + labels * 0.3, 2)  # rounding makes ties
    assert imaging.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_confusion_and_rates_at_a_threshold_by_hand():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probabilities = np.array([0.9, 0.8, 0.6, 0.2, 0.7, 0.4, 0.3, 0.2, 0.1, 0.05])
    at = imaging.metrics_at(labels, probabilities, 0.5)
    assert (at.true_positive, at.false_negative, at.false_positive, at.true_negative) == (3, 1, 1, 5)
    assert at.sensitivity == pytest.approx(0.75) and at.specificity == pytest.approx(5 / 6)
    assert at.ppv == pytest.approx(0.75) and at.npv == pytest.approx(5 / 6) and at.accuracy == pytest.approx(0.8)
    low = imaging.metrics_at(labels, probabilities, 0.15)
    assert low.sensitivity == 1.0 and low.specificity == pytest.approx(2 / 6)
    with pytest.raises(imaging.ImagingDataError, match="threshold"):
        imaging.metrics_at(labels, probabilities, 1.5)


def test_ppv_falls_with_prevalence():
    # Sensitivity 0.9, specificity 0.8 at prevalence 0.1: 0.09 / (0.09 + 0.18) = 1/3.
    assert imaging.ppv_at_prevalence(0.9, 0.8, 0.1) == pytest.approx(1 / 3)
    assert imaging.ppv_at_prevalence(0.9, 0.8, 0.74) > 0.9


# ------------------------------------------------------------------------------------------ saliency

def _planted_patch_predictor(image_batch: np.ndarray) -> np.ndarray:
    """A 'model' that only looks at a bright 4x4 patch at rows 4-7, columns 22-25."""
    return image_batch[:, 4:8, 22:26].astype(np.float64).mean(axis=(1, 2)) / 255.0


def test_occlusion_map_has_image_shape_and_finds_the_planted_patch():
    image = np.full((28, 28), 40, np.uint8)
    image[4:8, 22:26] = 250
    result = imaging.occlusion_map(_planted_patch_predictor, image, patch=6, stride=2)
    assert result.drop.shape == (28, 28)
    assert result.base_probability == pytest.approx(250 / 255)
    row, col = result.peak
    assert 2 <= row <= 9 and 20 <= col <= 27
    assert result.drop[5, 23] > 0.3  # covering the patch removes most of the evidence
    assert abs(result.drop[22, 5]) < 1e-9  # far away, covering changes nothing
    assert "upper" in result.region_summary() and "patient's left" in result.region_summary()


def test_overlay_png_is_a_png_of_the_enlarged_image():
    from PIL import Image

    image = np.zeros((28, 28), np.uint8)
    heat = np.zeros((28, 28))
    heat[3:9, 3:9] = 0.4
    heat[20:25, 20:25] = -0.2
    png = imaging.render_png(image, heat, scale=4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    assert picture.size == (112, 112)
    red, green, blue = picture.getpixel((24, 24))
    assert red > 100 and red > green + 50 and red > blue + 50  # evidence for pneumonia shows red
    red, green, blue = picture.getpixel((90, 90))
    assert blue > red + 30  # evidence against shows blue
    with pytest.raises(imaging.ImagingDataError, match="heat"):
        imaging.render_png(image, np.zeros((10, 10)))


def test_augment_keeps_shape_and_moves_pixels():
    rng = np.random.default_rng(0)
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 200
    out = imaging.augment(images, copies=2, rng=rng)
    assert out.shape == (10, 28, 28) and out.dtype == np.uint8
    assert not np.array_equal(out[:5], images)


# ------------------------------------------------------------------------------------------ training

@pytest.fixture(scope="module")
def small_split():
    path = _pneumonia_npz()
    train = imaging.stratified_subset(imaging.load_npz(path, "train"), 500, seed=1)
    test = imaging.stratified_subset(imaging.load_npz(path, "val"), 200, seed=2)
    return train, test


def test_stratified_subset_keeps_the_class_mix(small_split):
    train, _ = small_split
    assert 480 <= len(train) <= 520 and 0.68 < train.labels.mean() < 0.80


@pytest.mark.parametrize("key", ["logreg", "svm"])
def test_training_on_a_small_subset_gives_auc_well_above_chance(small_split, key):
    train, test = small_split
    options = {"augment_copies": 0} if key == "svm" else {}
    model = imaging.make_model(key, **options)
    evaluation = imaging.train_and_evaluate(model, train, test, seed=0)
    assert evaluation.auc > 0.85
    probabilities = model.predict_proba(test.images[:7])
    assert probabilities.shape == (7,) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_occlusion_on_a_trained_model_is_deterministic(small_split):
    train, test = small_split
    model = imaging.PixelLogistic().fit(train, seed=0)
    first = imaging.occlusion_map(model.predict_proba, test.images[0])
    second = imaging.occlusion_map(model.predict_proba, test.images[0])
    assert np.array_equal(first.drop, second.drop) and np.abs(first.drop).max() > 0


def test_class_weighting_trades_sensitivity_for_specificity(small_split):
    train, test = small_split
    plain = imaging.PixelLogistic(class_weight=None).fit(train, seed=0)
    weighted = imaging.PixelLogistic(class_weight="balanced").fit(train, seed=0)
    plain_at = imaging.metrics_at(test.labels, plain.predict_proba(test.images), 0.5)
    weighted_at = imaging.metrics_at(test.labels, weighted.predict_proba(test.images), 0.5)
    assert weighted_at.specificity >= plain_at.specificity
    assert weighted_at.sensitivity <= plain_at.sensitivity


def test_unknown_model_key_is_refused():
    with pytest.raises(imaging.ImagingDataError, match="unknown model"):
        imaging.make_model("resnet152")


def test_small_cnn_learns_when_torch_is_installed(small_split):
    pytest.importorskip("torch")
    from medtutor.decision.engine.imaging_cnn import SmallCnn

    train, test = small_split
    model = SmallCnn(epochs=3, width=8)
    evaluation = imaging.train_and_evaluate(model, train, test, seed=0)
    assert evaluation.auc > 0.8
    import pickle

    restored = pickle.loads(pickle.dumps(model))
    assert np.allclose(restored.predict_proba(test.images[:5]), model.predict_proba(test.images[:5]), atol=1e-6)
