"""Sampling Shapley values for many rows at once (the same estimator as atrisk.sampling_shapley).

atrisk.sampling_shapley explains one row per model call; scoring a whole cohort that way spends most
of its time in per-call overhead. Here the feature orders are drawn once from `seed` (exactly the orders
sampling_shapley draws for every row, since it reseeds per row) and the paths of a chunk of rows go
through the model in one call. Pure numpy; deterministic given the seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def shapley_rows(f: Callable[[Array], Array], rows: Array, background: Array, permutations: int, seed: int,
                 chunk: int = 64) -> Array:
    """(rows, features) contributions; each row's contributions add up to f(row) - mean f(background)."""
    rows = np.asarray(rows, dtype=np.float64)
    background = np.asarray(background, dtype=np.float64)
    n_rows, n_features = rows.shape
    if n_rows == 0:
        return np.zeros((0, n_features))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(n_features) for _ in range(permutations)]
    # masks[k][step] = which features come from the explained row at that step of order k
    masks = []
    for order in orders:
        mask = np.zeros((n_features + 1, n_features), dtype=bool)
        for step, feature in enumerate(order, start=1):
            mask[step:, feature] = True
        masks.append(mask)
    out = np.zeros((n_rows, n_features))
    n_paths = permutations * background.shape[0]
    for begin in range(0, n_rows, chunk):
        block = rows[begin:begin + chunk]
        paths = np.empty((block.shape[0], n_paths, n_features + 1, n_features))
        p = 0
        for mask in masks:
            for b in background:
                paths[:, p] = np.where(mask[None, :, :], block[:, None, :], b[None, None, :])
                p += 1
        values = np.asarray(f(paths.reshape(-1, n_features)), dtype=np.float64).reshape(block.shape[0], n_paths,
                                                                                       n_features + 1)
        steps = np.diff(values, axis=2)  # (rows, paths, features): change when the k-th feature in the order switches
        p = 0
        for order in orders:
            for _ in range(background.shape[0]):
                out[begin:begin + block.shape[0], order] += steps[:, p, :]
                p += 1
    return out / n_paths
