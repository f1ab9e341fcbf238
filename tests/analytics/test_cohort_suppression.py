"""Small-cell suppression (pure): primary, complementary, and two-way tables."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.analytics.engine.cohort import MIN_CELL, bin_index, suppress_grid, suppress_line


def _line_is_safe(counts, hidden) -> bool:
    """Nothing hidden, or the hidden cells cannot be told apart from a published total: at least
    two of them including one of 5+ students, or every non-empty cell of the line is small."""
    idx = [i for i, h in enumerate(hidden) if h]
    if not idx:
        return True
    if any(0 < counts[i] < MIN_CELL and not hidden[i] for i in range(len(counts))):
        return False
    if all(counts[i] < MIN_CELL for i in range(len(counts)) if counts[i] > 0):
        return True
    return len(idx) >= 2 and any(counts[i] >= MIN_CELL for i in idx)


def test_primary_and_complementary_suppression():
    # one small cell: a second cell (the smallest with 5+) is hidden with it
    assert suppress_line([20, 3, 9, 40]) == [False, True, True, False]
    # two small cells together still need a large one: 3 + 1 could be one student's neighbourhood
    assert suppress_line([20, 3, 1, 40]) == [True, True, True, False]
    # nothing small: nothing hidden; empty cells are shown as empty
    assert suppress_line([20, 0, 9]) == [False, False, False]


def test_differencing_the_total_cannot_recover_a_small_cell():
    counts = [30, 4, 12]
    total = sum(counts)
    hidden = suppress_line(counts)
    recovered = total - sum(c for c, h in zip(counts, hidden, strict=True) if not h)
    assert recovered >= MIN_CELL and hidden.count(True) >= 2


def _determined_small_cells(counts, result, row_hidden=None):
    """The attacker: every published total and shown cell is an equation; a hidden cell is exposed
    when it is fixed by them (its unit vector lies in the row space of the equations)."""
    n_rows, n_cols = len(counts), len(counts[0])
    row_hidden = row_hidden or [False] * n_rows
    unknown = [(r, c) for r in range(n_rows) for c in range(n_cols) if result.cells[r][c]]
    index = {cell: i for i, cell in enumerate(unknown)}
    if not unknown:
        return []
    equations = []
    for r in range(n_rows):
        if not row_hidden[r]:
            equations.append([1.0 if cell[0] == r else 0.0 for cell in unknown])
    for c in range(n_cols):
        if not result.columns[c]:
            equations.append([1.0 if cell[1] == c else 0.0 for cell in unknown])
    a = np.array(equations) if equations else np.zeros((0, len(unknown)))
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    exposed = []
    for cell, i in index.items():
        unit = np.zeros(len(unknown))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank and 0 < counts[cell[0]][cell[1]] < MIN_CELL:
            exposed.append(cell)
    return exposed


def test_grid_complements_rows_and_columns():
    # weeks x (female, male, other): "other" has 2 students in week 1
    counts = [[20, 18, 2], [21, 19, 0], [19, 17, 0]]
    result = suppress_grid(counts)
    assert result.cells[0][2] and result.cells[0][1]  # the small cell and its row complement
    assert _determined_small_cells(counts, result) == []


def test_grid_respects_hidden_rows_and_columns():
    result = suppress_grid([[10, 10], [10, 10]], row_hidden=[True, False], col_hidden=[False, False])
    assert result.cells[0] == [True, True]
    # the columns now each have one hidden cell: complemented by the other row
    assert result.cells[1] == [True, True]


def test_grid_hides_a_column_when_no_complement_exists():
    # one row: the male cell equals its column total, so the female cell (1) could be recovered
    result = suppress_grid([[1, 5]])
    assert _determined_small_cells([[1, 5]], result) == []
    assert result.cells[0][0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=4), min_size=1, max_size=6))
def test_no_small_cell_can_be_solved_for(rows):
    width = min(len(r) for r in rows)
    counts = [r[:width] for r in rows]
    totals = [sum(r) for r in counts]
    row_hidden = suppress_line(totals)  # as the views do: the whole-cohort line first
    result = suppress_grid(counts, row_hidden=row_hidden)
    for r in range(len(counts)):
        for c in range(width):
            if 0 < counts[r][c] < MIN_CELL:
                assert result.cells[r][c]
    assert _determined_small_cells(counts, result, row_hidden) == []


@given(st.lists(st.integers(0, 30), min_size=1, max_size=12))
def test_line_is_always_safe(counts):
    assert _line_is_safe(counts, suppress_line(counts))


def test_bin_index_edges():
    assert bin_index(0, 20) == 0 and bin_index(19.9, 20) == 0 and bin_index(20, 20) == 1 and bin_index(100, 20) == 4
