"""Cohort aggregates and small-cell suppression (pure).

Rule: no aggregate about fewer than `MIN_CELL` (5) students is shown or exported. A cell is
described by the number of distinct students behind it (`n`). Primary suppression hides every cell
with 0 < n < 5. Complementary (secondary) suppression then makes sure a hidden cell cannot be
recovered by subtracting the shown cells of its line from the line's published total: in every line
(a row or a column of a table whose cells add up to a published margin) the hidden cells are either
none, or at least two of them including one about at least 5 students, so whatever can be derived
by differencing is an aggregate over at least 5 students. This is the usual rule of statistical
disclosure control (Hundepool et al., Statistical Disclosure Control, Wiley 2012, ch. 5: "primary
and secondary cell suppression"). Filters select columns of a table that is suppressed as a whole
(every value of the subgroup attribute at once), so two filters cannot be differenced either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_CELL = 5


@dataclass(frozen=True)
class Bin:
    low: float
    high: float

    @property
    def label(self) -> str:
        return f"{self.low:g}–{self.high:g}%"


def histogram_bins(width: int = 10) -> list[Bin]:
    if width <= 0 or 100 % width:
        raise ValueError("width must divide 100")
    return [Bin(float(lo), float(lo + width)) for lo in range(0, 100, width)]


def bin_index(percent: float, width: int = 10) -> int:
    """0..(100/width - 1); 100% falls in the top bin."""
    return min(int(percent // width), 100 // width - 1) if percent >= 0 else 0


def primary_mask(counts: Sequence[int], k: int = MIN_CELL) -> list[bool]:
    return [0 < n < k for n in counts]


def _line_safe(counts: Sequence[int], hidden: Sequence[bool], k: int) -> bool:
    hidden_idx = [i for i, h in enumerate(hidden) if h]
    if not hidden_idx:
        return True
    if any(0 < counts[i] < k and not hidden[i] for i in range(len(counts))):
        return False
    if len(hidden_idx) >= 2 and any(counts[i] >= k for i in hidden_idx):
        return True
    # every non-empty cell of the line is hidden: the total reveals their sum only, which is either
    # all-small (then the total is itself small and hidden) or one cell equal to the total
    return all(hidden[i] for i in range(len(counts)) if counts[i] > 0)


def _complete_line(counts: Sequence[int], hidden: list[bool], locked: Sequence[bool], k: int) -> str:
    """Add one complementary suppression to a line: "ok" (safe already), "changed", or "failed"
    (no cell may be hidden: the caller must hide the line's total instead)."""
    if _line_safe(counts, hidden, k):
        return "ok"
    candidates = [i for i in range(len(counts)) if not hidden[i] and not locked[i] and counts[i] > 0]
    if not candidates:
        return "failed"
    large = [i for i in candidates if counts[i] >= k]
    pick = min(large or candidates, key=lambda i: (counts[i], i))
    hidden[pick] = True
    return "changed"


def suppress_line(counts: Sequence[int], k: int = MIN_CELL) -> list[bool]:
    """Suppression mask for cells that add up to a published total (one-way table)."""
    hidden = primary_mask(counts, k)
    locked = [False] * len(counts)
    while _complete_line(counts, hidden, locked, k) == "changed":
        pass
    return hidden


@dataclass(frozen=True)
class GridSuppression:
    cells: list[list[bool]]   # hidden cells
    columns: list[bool]       # columns hidden whole (their totals too): e.g. a subgroup too small to show


def suppress_grid(counts: Sequence[Sequence[int]], row_hidden: Sequence[bool] | None = None,
                  col_hidden: Sequence[bool] | None = None, k: int = MIN_CELL) -> GridSuppression:
    """Suppression for a two-way table whose row totals and column totals are published.

    `counts[r][c]` is the number of students in cell (r, c); columns partition each row (e.g. the
    values of a subgroup attribute). `row_hidden[r]` says a row total is itself hidden, and
    `col_hidden[c]` a column total (a subgroup too small to show): all their cells are hidden. A
    cell that is the only non-empty one of its row or column equals a published total, so it is
    never used as a complement; where a line cannot be completed, its column is hidden whole (the
    column's total with it) and the work starts again.
    """
    n_rows = len(counts)
    n_cols = len(counts[0]) if n_rows else 0
    # A total over fewer than k students is hidden too (a sum under k means fewer than k students).
    rows_off = [bool(h) or 0 < sum(counts[r]) < k for r, h in enumerate(row_hidden or [False] * n_rows)]
    cols_off = [bool(h) or 0 < sum(counts[r][c] for r in range(n_rows)) < k
                for c, h in enumerate(col_hidden or [False] * n_cols)]
    col_sums = [sum(counts[r][c] for r in range(n_rows)) for c in range(n_cols)]
    while True:
        # Column totals add up to the grand total: one hidden column total alone could be recovered.
        while _complete_line(col_sums, cols_off, [False] * n_cols, k) == "changed":
            pass
        hidden = [primary_mask(row, k) for row in counts]
        for r in range(n_rows):
            for c in range(n_cols):
                if (rows_off[r] or cols_off[c]) and counts[r][c] > 0:
                    hidden[r][c] = True
        locked = [[False] * n_cols for _ in range(n_rows)]
        for r in range(n_rows):
            filled = [c for c in range(n_cols) if counts[r][c] > 0]
            if len(filled) == 1 and not rows_off[r]:
                locked[r][filled[0]] = True
        for c in range(n_cols):
            filled = [r for r in range(n_rows) if counts[r][c] > 0]
            if len(filled) == 1 and not cols_off[c]:
                locked[filled[0]][c] = True
        restart = False
        changed = True
        while changed and not restart:
            changed = False
            for r in range(n_rows):
                if rows_off[r]:
                    continue
                line = list(hidden[r])
                status = _complete_line(counts[r], line, locked[r], k)
                if status == "changed":
                    hidden[r] = line
                    changed = True
                elif status == "failed":
                    shown = [c for c in range(n_cols) if counts[r][c] > 0 and not hidden[r][c] and not cols_off[c]]
                    cols_off[min(shown, key=lambda c: (counts[r][c], c))] = True
                    restart = True
                    break
            if restart:
                break
            for c in range(n_cols):
                if cols_off[c]:
                    continue
                column = [counts[r][c] for r in range(n_rows)]
                line = [hidden[r][c] for r in range(n_rows)]
                status = _complete_line(column, line, [locked[r][c] for r in range(n_rows)], k)
                if status == "changed":
                    for r in range(n_rows):
                        hidden[r][c] = line[r]
                    changed = True
                elif status == "failed":
                    cols_off[c] = True
                    restart = True
                    break
        if restart:
            continue
        # Audit: lines can be safe one by one and still combine into a solvable system (a cycle
        # of complements). Hide more until no small cell is fixed by the published totals.
        exposed = exposed_cells(counts, hidden, rows_off, cols_off, k)
        if not exposed:
            return GridSuppression(cells=hidden, columns=cols_off)
        r, c = exposed[0]
        options = [j for j in range(n_cols) if counts[r][j] > 0 and not hidden[r][j] and not cols_off[j]]
        if not options:  # the row is hidden already: hide another column with its total
            options = [j for j in range(n_cols) if not cols_off[j] and col_sums[j] > 0]
        if not options:
            return GridSuppression(cells=hidden, columns=cols_off)
        cols_off[min(options, key=lambda j: (counts[r][j], j))] = True


def exposed_cells(counts: Sequence[Sequence[int]], hidden: Sequence[Sequence[bool]], rows_off: Sequence[bool],
                  cols_off: Sequence[bool], k: int = MIN_CELL) -> list[tuple[int, int]]:
    """Hidden small cells whose value follows from the published row and column totals and the
    shown cells: a cell is fixed when every solution of the totals' equations agrees on it, i.e.
    the null space of the equations has no component along it."""
    unknown = [(r, c) for r, row in enumerate(hidden) for c, h in enumerate(row) if h]
    if not unknown:
        return []
    equations = [[1.0 if cell[0] == r else 0.0 for cell in unknown] for r in range(len(hidden)) if not rows_off[r]]
    equations += [[1.0 if cell[1] == c else 0.0 for cell in unknown] for c in range(len(cols_off)) if not cols_off[c]]
    if not equations:
        return []
    matrix = np.array(equations)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    free = np.linalg.norm(null_space, axis=0) if len(null_space) else np.zeros(len(unknown))
    return [cell for cell, f in zip(unknown, free, strict=True)
            if f < 1e-9 and 0 < counts[cell[0]][cell[1]] < k]


def percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
