"""Per-student FSRS weights: fitted on a student's reviews, adopted only when they predict later reviews better."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from medtutor.learning.engine import memory_fit
from medtutor.learning.engine.memory import DEFAULT_PARAMS, Grade, MemoryParams
from medtutor.learning.engine.memory_fit import (PastReview, fit_memory_weights, log_loss, optimizer_available,
                                                 recall_events, simulate_reviews)

START = datetime(2026, 1, 5, tzinfo=UTC)


def fast_forgetter() -> MemoryParams:
    weights = list(DEFAULT_PARAMS.weights)
    for i in (0, 1, 2):          # initial stability after Again/Hard/Good: lower
        weights[i] *= 0.4
    weights[8] *= 0.5            # stability grows less after each successful review
    return MemoryParams(weights=tuple(weights))


def test_log_loss_by_hand():
    events = [(START, 0.9, 1), (START, 0.2, 0)]
    assert log_loss(events) == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    with pytest.raises(ValueError):
        log_loss([])


def test_recall_events_skip_same_day_reviews_and_score_again_as_forgotten():
    card = 7
    reviews = [PastReview(card, Grade.GOOD, START), PastReview(card, Grade.GOOD, START + timedelta(minutes=10)),
               PastReview(card, Grade.AGAIN, START + timedelta(days=3)),
               PastReview(card, Grade.GOOD, START + timedelta(days=3, minutes=10))]
    events = recall_events(reviews)
    assert [(at, y) for at, _, y in events] == [(START + timedelta(days=3), 0)]
    assert 0 < events[0][1] < 1


def test_too_few_reviews_keep_the_defaults_with_the_reason():
    reviews = simulate_reviews(DEFAULT_PARAMS, cards=10, days=10, start=START, seed=1)
    fit = fit_memory_weights(reviews)
    assert not fit.adopted and fit.weights is None
    assert f"at least {memory_fit.MIN_RECALL_REVIEWS}" in fit.reason
    assert fit.recall_reviews == len(recall_events(reviews))


def test_without_the_optimizer_the_defaults_stay(monkeypatch):
    monkeypatch.setattr(memory_fit, "optimizer_available", lambda: False)
    reviews = simulate_reviews(DEFAULT_PARAMS, cards=60, days=40, start=START, seed=2)
    fit = fit_memory_weights(reviews, min_recall_reviews=10)
    assert not fit.adopted and "torch" in fit.reason


def test_simulated_forgetter_forgets_more_than_the_default_schedule_expects():
    reviews = simulate_reviews(fast_forgetter(), cards=80, days=60, start=START, seed=3)
    events = recall_events(reviews)
    observed = sum(y for _, _, y in events) / len(events)
    predicted = sum(p for _, p, _ in events) / len(events)
    assert observed < predicted - 0.05


@pytest.mark.skipif(not optimizer_available(), reason="the FSRS optimizer needs the optional torch extra")
def test_fitted_weights_are_adopted_when_they_predict_a_fast_forgetter_better():
    reviews = simulate_reviews(fast_forgetter(), cards=120, days=60, start=START, seed=4)
    fit = fit_memory_weights(reviews, min_recall_reviews=200)
    assert fit.adopted, fit.reason
    assert fit.fitted_log_loss < fit.default_log_loss
    assert len(fit.weights) == len(DEFAULT_PARAMS.weights)
    MemoryParams(weights=fit.weights)  # valid for the scheduler
