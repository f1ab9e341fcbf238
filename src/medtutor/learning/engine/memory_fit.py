"""Per-student FSRS weights: fit them on a student's own reviews, keep them only if they predict better.

py-fsrs's optimizer does the fitting (gradient descent on the recall log-loss of each card's history);
it needs torch, an optional extra, so without torch `fit_memory_weights` says so and the caller keeps
the default weights. Fitting is checked against the defaults on the student's *later* reviews (a time
split: weights fitted on the first 80% of review days, both sets scored on the rest), and the fitted
weights are adopted only when their log-loss is lower: a student with little or odd data keeps the
population defaults rather than weights that fit noise.

Pure: reviews in, a `MemoryFit` out; nothing here touches a database or the clock.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import fsrs

from medtutor.learning.engine.memory import DEFAULT_PARAMS, Grade, MemoryParams, require_utc

# Fewer than this many reviews of already-learned cards (on a later day than the card's last review)
# and the optimizer has too little to learn from. FSRS's authors suggest about a thousand reviews for
# stable weights (open-spaced-repetition wiki, "The optimal retention"); 400 with the out-of-time check
# below is our compromise so that a student who studies daily for a semester benefits.
MIN_RECALL_REVIEWS = 400
HOLDOUT_SHARE = 0.2
OPTIMIZER_NAME = "fsrs-optimizer"


@dataclass(frozen=True, slots=True)
class PastReview:
    card_id: int
    grade: Grade
    reviewed_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class MemoryFit:
    adopted: bool
    weights: tuple[float, ...] | None       # the weights to use from now on; None = keep the defaults
    recall_reviews: int                     # reviews that carry a recall signal (what the optimizer learns from)
    default_log_loss: float | None          # on the held-out later reviews
    fitted_log_loss: float | None
    holdout_reviews: int
    reason: str

    @property
    def improvement(self) -> float | None:
        if self.default_log_loss is None or self.fitted_log_loss is None:
            return None
        return self.default_log_loss - self.fitted_log_loss

    def summary(self) -> dict:
        return {"adopted": self.adopted, "recall_reviews": self.recall_reviews,
                "holdout_reviews": self.holdout_reviews,
                "default_log_loss": _round(self.default_log_loss), "fitted_log_loss": _round(self.fitted_log_loss),
                "reason": self.reason}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def optimizer_available() -> bool:
    try:  # what py-fsrs's optimizer extra brings
        import pandas  # noqa: F401
        import torch  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _histories(reviews: list[PastReview]) -> dict[int, list[PastReview]]:
    by_card: dict[int, list[PastReview]] = defaultdict(list)
    for review in sorted(reviews, key=lambda r: (require_utc(r.reviewed_at), r.card_id)):
        by_card[review.card_id].append(review)
    return by_card


def recall_events(reviews: list[PastReview], params: MemoryParams = DEFAULT_PARAMS
                  ) -> list[tuple[datetime, float, int]]:
    """(time, predicted recall, recalled 0/1) for every review that tests memory: a card reviewed on a
    later day than its previous review, replayed through FSRS with `params` (same rule as py-fsrs's loss)."""
    scheduler = fsrs.Scheduler(parameters=params.weights, desired_retention=params.desired_retention,
                               learning_steps=params.learning_steps, relearning_steps=params.relearning_steps,
                               maximum_interval=params.maximum_interval_days, enable_fuzzing=False)
    events = []
    for card_id, history in _histories(reviews).items():
        card = fsrs.Card(card_id=card_id, due=history[0].reviewed_at)
        for review in history:
            at = require_utc(review.reviewed_at)
            if card.last_review is not None and (at - card.last_review).days > 0:
                predicted = min(max(scheduler.get_card_retrievability(card, at), 1e-6), 1 - 1e-6)
                events.append((at, predicted, int(review.grade != Grade.AGAIN)))
            card, _ = scheduler.review_card(card, fsrs.Rating(int(review.grade)), review_datetime=at)
    return events


def log_loss(events: list[tuple[datetime, float, int]]) -> float:
    if not events:
        raise ValueError("no reviews to score")
    return -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for _, p, y in events) / len(events)


def fit_memory_weights(reviews: list[PastReview], *, min_recall_reviews: int = MIN_RECALL_REVIEWS) -> MemoryFit:
    """Fit FSRS weights to one student's reviews and decide whether to adopt them."""
    events = recall_events(reviews)
    n = len(events)
    if n < min_recall_reviews:
        return MemoryFit(False, None, n, None, None, 0,
                         f"{n} review(s) of learned cards on later days; personal weights need at least "
                         f"{min_recall_reviews}, so the default FSRS weights stay")
    if not optimizer_available():
        return MemoryFit(False, None, n, None, None, 0,
                         "the FSRS optimizer needs the optional torch extra (pip install 'medtutor[ml]'); "
                         "the default FSRS weights stay")
    from fsrs import Optimizer  # imports torch

    cutoff = sorted(at for at, _, _ in events)[int(n * (1 - HOLDOUT_SHARE))]
    train = [r for r in reviews if require_utc(r.reviewed_at) < cutoff]
    logs = [fsrs.ReviewLog(card_id=r.card_id, rating=fsrs.Rating(int(r.grade)), review_datetime=r.reviewed_at,
                           review_duration=None) for r in train]
    fitted = MemoryParams(weights=tuple(float(w) for w in Optimizer(logs).compute_optimal_parameters()))
    holdout_default = [e for e in events if e[0] >= cutoff]
    holdout_fitted = [e for e in recall_events(reviews, fitted) if e[0] >= cutoff]
    default_loss, fitted_loss = log_loss(holdout_default), log_loss(holdout_fitted)
    if fitted_loss < default_loss:
        # Refit on everything now that the weights have shown they generalise to later reviews.
        all_logs = [fsrs.ReviewLog(card_id=r.card_id, rating=fsrs.Rating(int(r.grade)),
                                   review_datetime=r.reviewed_at, review_duration=None) for r in reviews]
        final = tuple(float(w) for w in Optimizer(all_logs).compute_optimal_parameters())
        MemoryParams(weights=final)  # validates the weights' ranges
        return MemoryFit(True, final, n, default_loss, fitted_loss, len(holdout_default),
                         f"personal weights predicted your later {len(holdout_default)} reviews better than the "
                         f"defaults (log-loss {fitted_loss:.3f} vs {default_loss:.3f})")
    return MemoryFit(False, None, n, default_loss, fitted_loss, len(holdout_default),
                     f"personal weights did not predict your later {len(holdout_default)} reviews better than the "
                     f"defaults (log-loss {fitted_loss:.3f} vs {default_loss:.3f}), so the defaults stay")


def simulate_reviews(true_params: MemoryParams, *, cards: int, days: int, start: datetime,
                     seed: int, new_per_day: int = 10) -> list[PastReview]:
    """A student whose memory follows FSRS with `true_params`, reviewing on the default schedule:
    each due card is recalled with its true retrievability. For tests and the benchmark."""
    import random
    from datetime import timedelta

    rng = random.Random(seed)
    truth = fsrs.Scheduler(parameters=true_params.weights, enable_fuzzing=False)
    schedule = fsrs.Scheduler(enable_fuzzing=False)
    true_cards: dict[int, fsrs.Card] = {}
    shown_cards: dict[int, fsrs.Card] = {}
    reviews: list[PastReview] = []
    next_card = 0
    for day in range(days):
        at = start + timedelta(days=day, hours=9)
        if next_card < cards:
            for card_id in range(next_card, min(cards, next_card + new_per_day)):
                true_cards[card_id] = fsrs.Card(card_id=card_id, due=at)
                shown_cards[card_id] = fsrs.Card(card_id=card_id, due=at)
            next_card = min(cards, next_card + new_per_day)
        for card_id in sorted(cid for cid, c in shown_cards.items() if c.due <= at + timedelta(hours=12)):
            moment = at + timedelta(minutes=len(reviews) % 600)
            true = true_cards[card_id]
            if true.last_review is None:
                grade = Grade.GOOD
            else:
                recalled = rng.random() < truth.get_card_retrievability(true, moment)
                grade = (Grade.EASY if rng.random() < 0.1 else Grade.GOOD) if recalled else Grade.AGAIN
            true_cards[card_id], _ = truth.review_card(true, fsrs.Rating(int(grade)), review_datetime=moment)
            shown_cards[card_id], _ = schedule.review_card(shown_cards[card_id], fsrs.Rating(int(grade)),
                                                           review_datetime=moment)
            reviews.append(PastReview(card_id, grade, moment))
    return reviews
