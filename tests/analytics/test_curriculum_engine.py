"""Curriculum engine (pure): values computed by hand."""

from __future__ import annotations

import math

import pytest

from medtutor.analytics.engine.curriculum import (
    Cell,
    ItemPeriod,
    Node,
    Objective,
    StruggleCell,
    Totals,
    blueprint_coverage,
    item_statistics,
    lowest_accuracy,
    match_case_competencies,
    objective_status,
    pool_items,
    suppress_items,
)

A, A1, A2, B, B1 = (Node(1, "a", "Alpha system", None, 2.0), Node(2, "a.one", "Alpha one", 1, 1.0),
                    Node(3, "a.two", "Alpha two", 1, 1.0), Node(4, "b", "Beta system", None, 1.0),
                    Node(5, "b.one", "Sepsis and shock", 4, 1.0))
NODES = [B1, A2, B, A1, A]   # any order in


def test_blueprint_coverage_by_hand():
    direct = {2: {"items": 6, "cards": 1}, 5: {"items": 3, "cards": 1}}
    rows = {r.code: r for r in blueprint_coverage(NODES, direct)}
    assert [r.code for r in blueprint_coverage(NODES, direct)] == ["a", "a.one", "a.two", "b", "b.one"]
    assert rows["a"].depth == 0 and rows["a.one"].depth == 1
    assert rows["a"].counts == {"items": 6, "cards": 1, "cases": 0}            # subtree sums
    assert rows["a"].expected_share == pytest.approx(2 / 3)
    assert rows["a"].coverage["items"] == pytest.approx(1.0)                   # 6/9 of items for 2/3 of weight
    assert rows["a"].coverage["cards"] == pytest.approx(0.5 / (2 / 3))         # 0.75: not under half
    assert rows["b"].coverage["cards"] == pytest.approx(1.5)
    assert rows["a"].coverage["cases"] is None and rows["a"].flags == ()       # no cases anywhere: no flag
    assert rows["a.one"].coverage["items"] == pytest.approx(2.0)
    assert rows["a.two"].coverage["items"] == 0.0 and rows["a.two"].flags == ("items", "cards")
    assert rows["b.one"].coverage["items"] == pytest.approx(1.0) and not rows["b.one"].flagged


def test_under_half_of_the_weight_is_flagged():
    rows = {r.code: r for r in blueprint_coverage(NODES, {2: {"items": 1}, 5: {"items": 9}})}
    assert rows["a"].coverage["items"] == pytest.approx(0.1 / (2 / 3))        # 0.15 < 0.5
    assert rows["a"].flags == ("items",) and rows["b"].flags == ()


def test_item_statistics_by_hand():
    # Two items, four students answering each once. Item x: 1,1,0,0; item y: 1,1,0,1.
    cells = [Cell(1, 10, 1, 1), Cell(2, 10, 1, 1), Cell(3, 10, 1, 0), Cell(4, 10, 1, 0),
             Cell(1, 20, 1, 1), Cell(2, 20, 1, 1), Cell(3, 20, 1, 0), Cell(4, 20, 1, 1)]
    stats = item_statistics(cells)
    x, y = stats[10], stats[20]
    assert (x.students, x.answers, x.correct, x.facility) == (4, 4, 2, 0.5)
    assert y.facility == 0.75
    # rest score of x is the score on y: r = 0.5 / sqrt(1 * 0.75)
    assert x.point_biserial == pytest.approx(0.5 / math.sqrt(0.75))
    assert y.point_biserial == pytest.approx(0.5 / math.sqrt(0.75))
    # groups of round(0.27 * 4) = 1: x's top by rest is student 1 (ties by id), bottom student 3 -> 1 - 0
    assert x.upper_lower == 1.0
    # y's rest scores 1,1,0,0: top student 1 (1), bottom student 4 (1) -> 0
    assert y.upper_lower == 0.0


def test_students_without_a_rest_score_and_repeats():
    cells = [Cell(1, 10, 2, 1), Cell(2, 10, 1, 1), Cell(2, 20, 1, 0), Cell(3, 10, 1, 0), Cell(3, 20, 1, 1)]
    x = item_statistics(cells)[10]
    assert (x.students, x.answers, x.correct) == (3, 4, 2)
    assert x.facility == 0.5                     # pooled answers, not mean of students
    assert x.discriminating_students == 2        # student 1 answered nothing else
    assert x.point_biserial == pytest.approx(-1.0)   # x (1, 0) against rest (0, 1)
    assert item_statistics([]) == {}
    single = item_statistics([Cell(1, 10, 1, 1)])[10]
    assert single.point_biserial is None and single.upper_lower is None


def test_flags_and_pooling():
    easy = ItemPeriod(1, 10, 100, 97, 0.97, 0.05, 0.1, 10)
    assert easy.flags == ("too easy", "non-discriminating")
    hard = ItemPeriod(2, 10, 100, 10, 0.10, 0.40, 0.3, 10)
    assert hard.flags == ("too hard",)
    pooled = pool_items([easy, hard], students=12)
    assert (pooled.students, pooled.answers, pooled.correct, pooled.items) == (12, 200, 107, 2)
    assert pooled.facility == pytest.approx(0.535)
    assert pooled.mean_point_biserial == pytest.approx(0.225)   # answer-weighted (equal weights here)
    assert suppress_items([12, 3, 7]) == [False, True, True]     # the 3 and its smallest complement


def test_case_matching():
    nodes = [Node(1, "cardio", "Cardiovascular system", None, 1.0), Node(2, "cardio.hf", "Heart failure", 1, 1.0),
             Node(3, "immuno", "Immunology", None, 1.0), Node(4, "immuno.sepsis", "Sepsis and antimicrobials", 3, 1.0)]
    assert match_case_competencies(["cardiology", "emergency"], [], nodes) == {1}
    assert match_case_competencies(["sepsis"], [], nodes) == {4}
    assert match_case_competencies(["cardiology", "hf"], [], nodes) == {2}      # the topic, not also its system
    assert match_case_competencies(["cardiology"], ["immuno.sepsis"], nodes) == {4}  # explicit codes win
    assert match_case_competencies(["toxicology"], [], nodes) == set()


def test_lowest_accuracy_and_objectives():
    cells = [StruggleCell("c1", "a", "A", 10, 100, 40.0), StruggleCell("c1", "b", "B", 4, 50, 10.0),
             StruggleCell("c2", "a", "A", 20, 300, 40.0), StruggleCell("c2", "b", "B", 8, 80, 62.5)]
    ranked = lowest_accuracy(cells, limit=2)
    assert [(c.group, c.key) for c in ranked] == [("c2", "a"), ("c1", "a")]   # ties: more students first; <5 dropped
    objs = [Objective(1, "o.1", "first", "a"), Objective(2, "o.2", "second", "a"), Objective(3, "o.3", "third", "b")]
    status = objective_status(objs, {1: 2, 2: 1}, {1: 30})
    assert [(s.objective.code, s.status) for s in status] == [("o.3", "no item"), ("o.2", "no answers"),
                                                             ("o.1", "assessed")]


def test_totals_fold_active_days():
    t = Totals()
    t.add(True, 30, weekday=0)
    t.add(False, None, weekday=0)
    t.add(True, 10, weekday=6)
    assert (t.answers, t.correct, t.seconds, t.active_days) == (3, 2, 40, 2)
    u = Totals(1, 1, 5, 0b10)
    u.merge(t)
    assert (u.answers, u.active_days, u.day_mask) == (4, 3, 0b1000011)


def test_group_counts_distinct_students_and_sums():
    import numpy as np

    from medtutor.analytics.engine.grouping import group

    rows = np.array([0, 0, 1, 1, 1])
    cols = np.array([2, 2, 0, 2, 2])
    learners = np.array([7, 7, 7, 8, 9])
    values = np.array([[1, 1], [2, 0], [3, 3], [4, 1], [5, 5]])
    found = {key: (n, sums) for key, n, sums in group([rows, cols], learners, values)}
    assert found == {(0, 2): (1, (3, 1)), (1, 0): (1, (3, 3)), (1, 2): (2, (9, 6))}
    assert group([np.array([], dtype=int)], np.array([], dtype=int), np.zeros((0, 2))) == []
    with pytest.raises(ValueError):
        group([np.array([-1])], np.array([1]), np.array([[1]]))
