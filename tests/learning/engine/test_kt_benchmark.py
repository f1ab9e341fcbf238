"""End-to-end: the KT benchmark on a small synthetic dataset written in the DKVMN format."""

from __future__ import annotations

import importlib.util

import pytest

from medtutor.learning.engine.kt_data import BKTTruth, generate_bkt_sequences
from medtutor.learning.kt_benchmark import format_result, run_kt_benchmark

TRUTHS = [BKTTruth(0.2, 0.2, 0.2, 0.1), BKTTruth(0.5, 0.1, 0.3, 0.1)]


def _write(path, sequences):
    lines = []
    for s in sequences:
        lines += [str(len(s)), ",".join(str(k + 1) for k in s.skills.tolist()), ",".join(map(str, s.correct.tolist()))]
    path.write_text("\n".join(lines) + "\n")


def test_benchmark_runs_end_to_end(tmp_path):
    train, test = tmp_path / "synth_train1.csv", tmp_path / "synth_valid1.csv"
    _write(train, generate_bkt_sequences(TRUTHS, n_students=150, length=25, seed=1))
    _write(test, generate_bkt_sequences(TRUTHS, n_students=60, length=25, seed=2))
    with_pybkt = importlib.util.find_spec("pyBKT") is not None
    result = run_kt_benchmark([train], [test], models=["bkt", "irt", "lr", "gbm"], with_pybkt=with_pybkt,
                              model_options={"gbm": {"max_iter": 20}}, online_answers=100)
    names = [m.name for m in result.models]
    assert names[:4] == ["BKT", "IRT", "Best-LR", "GBM-features"]
    bkt = result.models[0]
    assert bkt.all_rows.n == 60 * 25
    assert 0.6 < bkt.all_rows.auc < 1.0
    for m in result.models:
        assert 0.5 < m.all_rows.auc <= 1.0 and 0 < m.all_rows.rmse < 0.6
    if with_pybkt:
        ref, ours = result.models[4], result.models[5]
        assert (ref.name, ours.name) == ("pyBKT", "BKT (same)")
        assert abs(ref.all_rows.auc - ours.all_rows.auc) < 0.02
    text = "\n".join(format_result(result))
    assert "AUC" in text and "cannot be detected" in text
    assert "published" not in text  # an unknown dataset has no published context


def test_benchmark_holds_out_students_when_no_test_file(tmp_path):
    train = tmp_path / "synth_train.csv"
    _write(train, generate_bkt_sequences(TRUTHS, n_students=100, length=10, seed=3))
    result = run_kt_benchmark([train], None, models=["bkt"], with_pybkt=False, online_answers=10)
    assert result.n_train_students + result.n_test_students == 100
    assert result.n_test_students > 0


@pytest.mark.parametrize("name, key", [("assist2009_updated_train1.csv", "assist2009"),
                                       ("STATICS_valid1.csv", "statics2011"), ("x.csv", None)])
def test_published_context_by_file_name(tmp_path, name, key):
    from pathlib import Path

    from medtutor.learning.kt_benchmark import dataset_key

    assert dataset_key(Path(name)) == key
