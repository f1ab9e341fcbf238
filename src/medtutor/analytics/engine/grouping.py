"""Group-by over pre-aggregated per-student rows (pure numpy): distinct students and sums per key.

The cohort dashboard reads a cohort's per-student rows once and computes every table from them here,
instead of one SQL GROUP BY with COUNT(DISTINCT) per table and filter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def group(keys: Sequence[np.ndarray], learners: np.ndarray, values: np.ndarray
          ) -> list[tuple[tuple[int, ...], int, tuple[int, ...]]]:
    """For each distinct combination of `keys` (non-negative integer codes, one array per key, one entry
    per row): (the key tuple, the number of distinct learners, the column sums of `values`)."""
    learners = np.asarray(learners, dtype=np.int64)
    n = len(learners)
    if n == 0:
        return []
    columns = [np.asarray(k, dtype=np.int64) for k in keys]
    if any(len(c) and c.min() < 0 for c in columns):
        raise ValueError("group keys must be non-negative codes")
    radix = [int(c.max()) + 1 for c in columns]
    combined = np.zeros(n, dtype=np.int64)
    for c, r in zip(columns, radix, strict=True):
        combined = combined * r + c
    present, inverse = np.unique(combined, return_inverse=True)
    inverse = inverse.ravel()
    values = np.asarray(values, dtype=np.int64).reshape(n, -1)
    sums = np.rint(np.stack([np.bincount(inverse, weights=values[:, j], minlength=len(present))
                             for j in range(values.shape[1])], axis=1)).astype(np.int64)
    span = int(learners.max()) + 1
    pairs = np.unique(inverse.astype(np.int64) * span + learners)
    distinct = np.bincount(pairs // span, minlength=len(present))
    parts = []
    rest = present
    for r in reversed(radix):   # decode the mixed-radix key, last key first
        rest, part = np.divmod(rest, r)
        parts.append(part)
    key_columns = np.stack(parts[::-1], axis=1).tolist()
    return [(tuple(k), d, tuple(v)) for k, d, v in zip(key_columns, distinct.tolist(), sums.tolist(), strict=True)]
