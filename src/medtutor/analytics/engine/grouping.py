"""Group-by over pre-aggregated per-student rows (pure numpy): distinct students and sums per key.

The cohort dashboard reads a cohort's per-student rows once and computes every table from them here,
instead of one SQL GROUP BY with COUNT(DISTINCT) per table and filter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def group(keys: Sequence[np.ndarray], learners: np.ndarray, values: np.ndarray
          ) -> list[tuple[tuple[int, ...], int, tuple[int, ...]]]:
    """For each distinct combination of `keys` (integer codes, one array per key, one entry per row):
    (the key tuple, the number of distinct learners, the column sums of `values`)."""
    n = len(learners)
    if n == 0:
        return []
    stacked = np.stack([np.asarray(k, dtype=np.int64) for k in keys], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    values = np.asarray(values, dtype=np.int64).reshape(n, -1)
    sums = np.stack([np.bincount(inverse, weights=values[:, j], minlength=len(uniq)) for j in range(values.shape[1])],
                    axis=1)
    span = int(learners.max()) + 1 if n else 1
    pairs = np.unique(inverse.astype(np.int64) * span + np.asarray(learners, dtype=np.int64))
    distinct = np.bincount(pairs // span, minlength=len(uniq))
    return [(tuple(int(v) for v in uniq[i]), int(distinct[i]), tuple(int(round(v)) for v in sums[i]))
            for i in range(len(uniq))]
