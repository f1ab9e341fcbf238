"""The optional deep knowledge tracer (DKT, a GRU) and its stack with the feature models.

Small synthetic BKT data and a small network so the file runs in seconds. Everything that needs
torch skips without it (the extra 'ml'); the error shown when torch is missing is tested always.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from medtutor.learning.engine.kt import KnowledgeTracer, online_predictions
from medtutor.learning.engine.kt_data import BKTTruth, StudentSequence, flatten, generate_bkt_sequences
from medtutor.learning.engine.kt_metrics import roc_auc

TRUTHS = [BKTTruth(0.3, 0.15, 0.2, 0.1), BKTTruth(0.6, 0.05, 0.25, 0.15), BKTTruth(0.1, 0.3, 0.15, 0.05)]
# chunk (7) shorter than the sequences (30): training carries the hidden state across chunks
SMALL = {"hidden": 16, "max_epochs": 6, "chunk": 7, "batch_size": 32}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def train():
    return generate_bkt_sequences(TRUTHS, n_students=240, length=30, seed=11)


@pytest.fixture(scope="module")
def test_set():
    return generate_bkt_sequences(TRUTHS, n_students=80, length=30, seed=12)


@pytest.fixture(scope="module")
def dkt(torch, train):
    from medtutor.learning.engine.kt_deep import DKT

    return DKT(**SMALL).fit(train, seed=0)


def _with_items(sequences: list[StudentSequence]) -> list[StudentSequence]:
    """Items distinct from skills (two items per skill), as Statics problem steps with a Q-matrix."""
    out = []
    for i, s in enumerate(sequences):
        items = s.skills * 10 + (np.arange(len(s)) + i) % 2
        out.append(StudentSequence(student=s.student, skills=s.skills, items=items, correct=s.correct))
    return out


@pytest.fixture(scope="module")
def small_features():
    from medtutor.learning.engine.kt_models import FeatureEnsemble, FeatureGBM

    def make() -> FeatureEnsemble:
        ensemble = FeatureEnsemble()
        ensemble.gbm = FeatureGBM(max_iter=30)
        return ensemble

    return make


@pytest.fixture(scope="module")
def stacked(torch, train, small_features):
    from medtutor.learning.engine.kt_deep import DKTFeatureEnsemble

    return DKTFeatureEnsemble(dkt_options=SMALL, feature_model=small_features).fit(train, seed=0)


def test_dkt_implements_the_protocol(dkt, stacked):
    assert isinstance(dkt, KnowledgeTracer)
    assert isinstance(stacked, KnowledgeTracer)
    assert dkt.chosen["epochs"] >= 1 and 0.5 < dkt.chosen["inner_auc"] <= 1.0


def test_batch_predictions_equal_the_online_loop(dkt, test_set):
    sample = test_set[:5]
    batch = dkt.predict_sequences(sample)
    online = np.concatenate([online_predictions(dkt, s) for s in sample])
    np.testing.assert_allclose(batch, online, atol=1e-9)


def test_batch_equals_online_with_item_ids(torch, train, test_set):
    from medtutor.learning.engine.kt_deep import DKT

    model = DKT(**{**SMALL, "max_epochs": 2}).fit(_with_items(train[:120]), seed=0)
    assert model.use_items
    sample = _with_items(test_set[:4])
    sample[0] = StudentSequence(student="unseen", skills=np.array([0, 2, 7]), items=np.array([999, 21, 5]),
                                correct=np.array([1, 0, 1]))
    batch = model.predict_sequences(sample)
    online = np.concatenate([online_predictions(model, s) for s in sample])
    np.testing.assert_allclose(batch, online, atol=1e-9)


def test_stacked_batch_equals_online(stacked, test_set):
    sample = test_set[:3]
    np.testing.assert_allclose(stacked.predict_sequences(sample),
                               np.concatenate([online_predictions(stacked, s) for s in sample]), atol=1e-9)


def test_probabilities_in_unit_interval_and_states_immutable(dkt, stacked, test_set):
    p = dkt.predict_sequences(test_set)
    assert np.all((p > 0) & (p < 1))
    for model in (dkt, stacked):
        state = model.initial_state()
        for skill, correct in [(0, True), (1, False), (2, True), (99, True)]:  # 99: an unseen skill
            before = model.predict_next(state, skill)
            new = model.update(state, skill, correct)
            assert model.predict_next(state, skill) == before  # the old state did not change
            state = new
            for k in (0, 1, 2, 99):
                assert 0.0 < model.predict_next(state, k) < 1.0
                assert 0.0 <= model.mastery(state, k) <= 1.0
    with pytest.raises(ValueError):
        dkt.initial_state().hidden[0] = 1.0  # read-only


def test_correct_answers_raise_the_prediction_on_average(dkt):
    state = dkt.initial_state()
    right, wrong = dkt.update(state, 0, True), dkt.update(state, 0, False)
    assert dkt.predict_next(right, 0) > dkt.predict_next(wrong, 0)


def test_deterministic_given_seed(torch, train, test_set):
    from medtutor.learning.engine.kt_deep import DKT

    options = {**SMALL, "max_epochs": 2}
    a = DKT(**options).fit(train[:120], seed=3).predict_sequences(test_set[:10])
    b = DKT(**options).fit(train[:120], seed=3).predict_sequences(test_set[:10])
    c = DKT(**options).fit(train[:120], seed=4).predict_sequences(test_set[:10])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dkt_and_the_stack_beat_chance_on_bkt_data(dkt, stacked, test_set):
    y = flatten(test_set).correct
    assert roc_auc(y, dkt.predict_sequences(test_set)) > 0.65
    assert roc_auc(y, stacked.predict_sequences(test_set)) > 0.65
    intercept, w_dkt, w_features = stacked.weights
    assert w_dkt != 0 and w_features != 0
    assert set(stacked.chosen["inner_auc"]) == {"dkt", "features", "stacked"}


def test_online_update_is_well_under_a_millisecond(torch, train):
    from medtutor.learning.engine.kt_deep import DKT

    model = DKT(**{**SMALL, "hidden": 128, "max_epochs": 1}).fit(train[:60], seed=0)
    state = model.initial_state()
    start = time.perf_counter()
    for i in range(500):
        state = model.update(state, i % 3, i % 2 == 0)
        model.predict_next(state, (i + 1) % 3)
    per_answer = (time.perf_counter() - start) / 500
    assert per_answer < 5e-4, f"{per_answer * 1e6:.0f} µs per update + prediction"


def test_missing_torch_says_how_to_install(monkeypatch):
    from medtutor.learning.engine.kt_deep import TORCH_MISSING, require_torch
    from medtutor.learning.kt_benchmark import MODELS

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match="pip install 'medtutor\\[ml\\]'"):
        require_torch()
    for key in ("dkt", "ens+dkt"):
        with pytest.raises(ImportError) as error:
            MODELS[key]()
        assert str(error.value) == TORCH_MISSING


def test_benchmark_reports_a_deep_model_as_not_run_without_torch(monkeypatch, tmp_path):
    from medtutor.learning.kt_benchmark import format_result, run_kt_benchmark

    sequences = generate_bkt_sequences(TRUTHS, n_students=40, length=10, seed=1)
    lines = []
    for s in sequences:
        lines += [str(len(s)), ",".join(str(k + 1) for k in s.skills.tolist()), ",".join(map(str, s.correct.tolist()))]
    path = tmp_path / "synth_train.csv"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setitem(sys.modules, "torch", None)
    result = run_kt_benchmark([path], None, models=["bkt", "dkt"], with_pybkt=False, online_answers=10)
    assert [m.name for m in result.models] == ["BKT", "dkt"]
    text = "\n".join(format_result(result))
    assert "dkt            not run: the deep model (DKT) needs torch" in text
