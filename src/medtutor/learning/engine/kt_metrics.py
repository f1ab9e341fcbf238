"""Metrics for binary next-response prediction (pure numpy, no sklearn needed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["roc_auc", "accuracy", "rmse", "log_loss", "expected_calibration_error", "Scores", "score"]


def _arrays(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError("labels and predictions differ in length")
    return y, p


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); nan if one class."""
    y, p = _arrays(y, p)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    sorted_p = p[order]
    ranks = np.empty(len(p), dtype=np.float64)
    # average rank (1-based) over runs of equal scores
    boundaries = np.flatnonzero(np.diff(sorted_p)) + 1
    run_starts = np.concatenate([[0], boundaries])
    run_ends = np.concatenate([boundaries, [len(p)]])
    avg = (run_starts + run_ends + 1) / 2.0
    ranks[order] = np.repeat(avg, run_ends - run_starts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def accuracy(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    y, p = _arrays(y, p)
    return float(np.mean((p >= threshold) == (y == 1))) if len(y) else float("nan")


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _arrays(y, p)
    return float(np.sqrt(np.mean((y - p) ** 2))) if len(y) else float("nan")


def log_loss(y: np.ndarray, p: np.ndarray, eps: float = 1e-12) -> float:
    y, p = _arrays(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if len(y) else float("nan")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    y, p = _arrays(y, p)
    if not len(y):
        return float("nan")
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    sum_p = np.bincount(index, weights=p, minlength=bins)
    sum_y = np.bincount(index, weights=y, minlength=bins)
    used = counts > 0
    return float(np.sum(np.abs(sum_y[used] - sum_p[used])) / len(y))


@dataclass(frozen=True)
class Scores:
    n: int
    auc: float
    accuracy: float
    rmse: float
    log_loss: float
    ece: float


def score(y: np.ndarray, p: np.ndarray) -> Scores:
    y, p = _arrays(y, p)
    return Scores(n=len(y), auc=roc_auc(y, p), accuracy=accuracy(y, p), rmse=rmse(y, p),
                  log_loss=log_loss(y, p), ece=expected_calibration_error(y, p))
