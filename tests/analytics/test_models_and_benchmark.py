"""Models (reasons, confidence, determinism) and the benchmark end to end on the hand-made fixture."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from medtutor.analytics.benchmark import format_report, parse_days, run_early_warning
from medtutor.analytics.engine.atrisk import (
    MODEL_FEATURES, MODEL_NAME, MODEL_VERSION, ModelConfig, fit_gbm, fit_logreg, rows_to_matrix, sampling_shapley)
from medtutor.analytics.engine.features import cohort_features
from medtutor.analytics.engine.oulad import OuladDataError, is_positive, load_oulad

from .oulad_fixture import write


def test_sampling_shapley_is_exact_for_a_linear_function():
    w = np.array([1.0, -2.0, 0.5])
    background = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, -1.0]])
    x = np.array([1.0, 1.0, 1.0])
    values = sampling_shapley(lambda m: m @ w, x, background, permutations=5, seed=0)
    assert values == pytest.approx(w * (x - background.mean(axis=0)))


def _training(tmp_path):
    data = load_oulad(write(tmp_path), ["2013J"])
    day = cohort_features(data.enrolments, data.courses, data.submissions, 28)
    y = [int(is_positive(e.outcome)) for e in day.enrolments]
    return day, y


def test_models_predict_with_reasons_and_confidence(tmp_path):
    day, y = _training(tmp_path)
    x = rows_to_matrix(day.rows)
    config = ModelConfig(min_samples_leaf=3, max_iter=30, background_size=8, shapley_permutations=4, threads=1)
    for fit in (fit_gbm, fit_logreg):
        model = fit(x, y, None, config)
        again = fit(x, y, None, config)
        assert np.array_equal(model.predict_proba(x), again.predict_proba(x))  # deterministic given the seed
        (prediction,) = model.predict(day.rows[:1])
        assert 0 <= prediction.probability <= 1 and 0 <= prediction.confidence <= 1
        low, high = prediction.interval
        assert low <= high and prediction.reasons and prediction.reasons[0].feature in MODEL_FEATURES
    gbm = fit_gbm(x, y, None, config)
    assert (gbm.name, gbm.version) == (MODEL_NAME, MODEL_VERSION) == ("early-warning-gbm", "1.0")


def test_benchmark_end_to_end_on_the_fixture(tmp_path):
    folder = write(tmp_path)
    config = ModelConfig(min_samples_leaf=3, max_iter=20, background_size=4, shapley_permutations=2, threads=1)
    result = run_early_warning(folder, folder, (14, 28), train_presentations=["2013J"],
                               test_presentations=["2014B"], n_boot=20, importance_rows=3, config=config)
    d14, d28 = result.days
    assert (d14.n_test, d14.excluded_withdrawn, d14.excluded_not_registered) == (20, 1, 1)
    assert (d28.n_test, d28.excluded_withdrawn, d28.excluded_not_registered) == (21, 1, 0)
    assert 0 <= d28.ours.summary.auc <= 1 and 0 <= d28.baseline.summary.auc <= 1
    assert {g.attribute for g in d28.ours.gaps} == {"gender", "age_band", "disability", "imd_band"}
    text = "\n".join(format_report(result))
    assert "ours" in text and "logistic" in text and "excl.wd" in text and "imd_band" in text


def test_benchmark_refuses_overlapping_or_unspecified_splits(tmp_path):
    folder = write(tmp_path)
    with pytest.raises(OuladDataError, match="same folder"):
        run_early_warning(folder, folder, (14,))
    with pytest.raises(OuladDataError, match="in both"):
        run_early_warning(folder, folder, (14,), train_presentations=["2013J"], test_presentations=["2013J"])
    with pytest.raises(ValueError, match="whole numbers"):
        parse_days("14,two")


def test_cli_reports_bad_data_without_a_traceback(tmp_path):
    from medtutor.cli import app

    folder = write(tmp_path / "oulad")
    (folder / "assessments.csv.gz").unlink()
    result = CliRunner().invoke(app, ["bench", "early-warning", "--train", str(folder), "--test", str(folder),
                                      "--train-presentations", "2013J", "--test-presentations", "2014B"])
    assert result.exit_code == 2
    assert "missing table" in result.output and "assessments" in result.output
    assert "Traceback" not in result.output
