"""`medtutor bench imaging` and `medtutor decision train-imaging` on small files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from medtutor.cli import app

runner = CliRunner()


def _films(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noise films; 'pneumonia' ones carry a brighter lower-left zone (a planted, learnable sign)."""
    labels = (rng.random(count) < 0.7).astype(np.uint8)
    images = rng.integers(40, 160, size=(count, 28, 28)).astype(np.uint8)
    images[labels == 1, 16:26, 3:12] += 60
    return images, labels[:, None]


@pytest.fixture
def small_npz(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    train_images, train_labels = _films(200, rng)
    val_images, val_labels = _films(80, rng)
    test_images, test_labels = _films(80, rng)
    path = tmp_path / "films.npz"
    np.savez_compressed(path, train_images=train_images, train_labels=train_labels, val_images=val_images,
                        val_labels=val_labels, test_images=test_images, test_labels=test_labels)
    return path


def test_bench_imaging_prints_models_beside_the_baseline_and_published_figure(small_npz):
    result = runner.invoke(app, ["bench", "imaging", "--train", str(small_npz), "--test", str(small_npz),
                                 "--models", "logreg"])
    assert result.exit_code == 0, result.output
    assert "films.npz:test" in result.output  # the test split was taken from the file's test arrays
    assert "[baseline]" in result.output and "MedMNIST v2 ResNet-18 (28), published test" in result.output
    assert "no class weights" in result.output and "goal: AUC > 0.944" in result.output
    baseline = next(line for line in result.output.splitlines() if "[baseline]" in line)
    assert float(baseline.split()[-5]) > 0.9  # AUC column on the planted sign


def test_bench_imaging_refuses_a_wrong_shaped_npz_with_the_reason(tmp_path, small_npz):
    bad = tmp_path / "bad.npz"
    np.savez(bad, test_images=np.zeros((10, 64, 64), np.uint8), test_labels=np.zeros(10))
    result = runner.invoke(app, ["bench", "imaging", "--train", str(small_npz), "--test", str(bad),
                                 "--models", "logreg"])
    assert result.exit_code == 2
    assert "test_images: shape (10, 64, 64); expected (n, 28, 28)" in result.output


def test_train_imaging_registers_the_baseline(db, small_npz):
    from medtutor.decision import registry

    result = runner.invoke(app, ["decision", "train-imaging", "--models", "logreg", "--data", str(small_npz)])
    assert result.exit_code == 0, result.output
    assert "registered imaging-pneumonia-logreg v1" in result.output
    row = registry.latest("imaging-pneumonia-logreg")
    assert row is not None and row.metrics["auc"] > 0.9 and row.metrics["n_heldout"] == 80


def test_train_imaging_refuses_unknown_models(db, small_npz):
    result = runner.invoke(app, ["decision", "train-imaging", "--models", "resnet", "--data", str(small_npz)])
    assert result.exit_code == 2 and "models: choose from" in result.output


def test_bench_imaging_adds_the_svm_cnn_average_when_both_run(small_npz):
    pytest.importorskip("torch")
    result = runner.invoke(app, ["bench", "imaging", "--train", str(small_npz), "--test", str(small_npz),
                                 "--models", "svm,cnn"])
    assert result.exit_code == 0, result.output
    assert "SVM + CNN, mean probability" in result.output and "Small CNN (torch, CPU)" in result.output
