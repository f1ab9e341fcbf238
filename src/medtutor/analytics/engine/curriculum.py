"""Curriculum analytics (pure): blueprint coverage, item difficulty and discrimination per period,
the competencies where cohorts struggle, and learning objectives never assessed.

Conventions, so every number can be checked by hand:

* Blueprint coverage compares siblings of the competency tree. A node's *expected share* is its weight
  over the sum of its siblings' weights; its *actual share* of a resource (active items, shared cards,
  virtual-patient cases) is its subtree's count over the siblings' subtree counts. Coverage is actual
  over expected (1.0 = in proportion to the weight). A node is flagged for a resource when its coverage
  is under `UNDER_COVERED_BELOW` (half its weight's share), or when it has none of the resource while
  a sibling does. Roots are siblings of each other.
* Item statistics per period use one row per (student, item): answers and correct answers in that
  period. Facility is correct over answers (all students' answers pooled). The discrimination is the
  Pearson correlation between the student's proportion correct on the item (0 or 1 when answered
  once, so a point-biserial) and the student's *rest score*: proportion correct on the period's other
  items, so an item does not correlate with itself; students with no other answer in the period are
  left out of it. The upper-lower index is the facility of the top round(27% of n) students by rest
  score minus that of the bottom as many (ties broken by student id), the same conventions as the
  exam item analysis (assessment/engine/itemanalysis.py).
* Cells about fewer than MIN_CELL students are suppressed (analytics/engine/cohort.py) by the callers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from medtutor.analytics.engine.cohort import MIN_CELL, suppress_line

UNDER_COVERED_BELOW = 0.5
GROUP_FRACTION = 0.27
TOO_EASY_ABOVE = 0.95
TOO_HARD_BELOW = 0.2
NON_DISCRIMINATING_BELOW = 0.15
RESOURCES = ("items", "cards", "cases")


# --- blueprint coverage ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    id: int
    code: str
    name: str
    parent_id: int | None
    weight: float


@dataclass(frozen=True)
class CoverageRow:
    id: int
    code: str
    name: str
    depth: int
    weight: float
    expected_share: float | None        # among siblings; None when the siblings' weights sum to 0
    counts: dict[str, int]              # subtree counts per resource
    shares: dict[str, float | None]     # subtree share among siblings per resource
    coverage: dict[str, float | None]   # share / expected share
    flags: tuple[str, ...]              # resources that are under-covered

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def tree_order(nodes: Sequence[Node]) -> list[tuple[Node, int]]:
    """Depth-first, children by code; nodes whose parent is unknown are treated as roots."""
    ids = {n.id for n in nodes}
    children: dict[int | None, list[Node]] = defaultdict(list)
    for n in nodes:
        children[n.parent_id if n.parent_id in ids else None].append(n)
    for kids in children.values():
        kids.sort(key=lambda n: n.code)
    out: list[tuple[Node, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for n in children.get(parent, []):
            if n.id in seen:  # a cycle in bad data: stop rather than loop
                continue
            seen.add(n.id)
            out.append((n, depth))
            walk(n.id, depth + 1)

    walk(None, 0)
    return out


def blueprint_coverage(nodes: Sequence[Node], direct: Mapping[int, Mapping[str, int]],
                       resources: Sequence[str] = RESOURCES,
                       under_below: float = UNDER_COVERED_BELOW) -> list[CoverageRow]:
    """Coverage rows in tree order. `direct[node_id][resource]` counts what is linked to that node
    itself (an item on a topic counts for the topic, and through the subtree for its system)."""
    order = tree_order(nodes)
    by_id = {n.id: n for n, _ in order}
    parent_of = {n.id: (n.parent_id if n.parent_id in by_id else None) for n, _ in order}
    subtree: dict[int, dict[str, int]] = {n.id: {r: int(direct.get(n.id, {}).get(r, 0)) for r in resources}
                                          for n, _ in order}
    for n, _ in reversed(order):   # children come after their parent in depth-first order
        p = parent_of[n.id]
        if p is not None:
            for r in resources:
                subtree[p][r] += subtree[n.id][r]
    siblings: dict[int | None, list[int]] = defaultdict(list)
    for n, _ in order:
        siblings[parent_of[n.id]].append(n.id)
    rows = []
    for n, depth in order:
        group = siblings[parent_of[n.id]]
        weight_sum = sum(max(0.0, by_id[s].weight) for s in group)
        expected = max(0.0, n.weight) / weight_sum if weight_sum > 0 else None
        shares: dict[str, float | None] = {}
        coverage: dict[str, float | None] = {}
        flags = []
        for r in resources:
            total = sum(subtree[s][r] for s in group)
            share = subtree[n.id][r] / total if total else None
            shares[r] = share
            if expected is None or expected == 0 or share is None:
                coverage[r] = None
            else:
                coverage[r] = share / expected
            if expected and total and (subtree[n.id][r] == 0 or (coverage[r] or 0.0) < under_below):
                flags.append(r)
        rows.append(CoverageRow(id=n.id, code=n.code, name=n.name, depth=depth, weight=n.weight,
                                expected_share=expected, counts=dict(subtree[n.id]), shares=shares,
                                coverage=coverage, flags=tuple(flags)))
    return rows


def match_case_competencies(tags: Iterable[str], explicit: Iterable[str], nodes: Sequence[Node]) -> set[int]:
    """Competencies a virtual-patient case covers. Cases carry no competency link, only tags (and
    optionally a `competencies` list of codes): a tag matches a competency whose code or name equals it,
    whose code is its last code segment, or a root whose code (4+ letters) begins the tag
    ("cardiology" -> "cardio", "neurology" -> "neuro"), or whose name begins with it ("sepsis" ->
    "Sepsis and antimicrobial therapy")."""
    by_code = {n.code.lower(): n for n in nodes}
    found = {by_code[c.strip().lower()].id for c in explicit if c and c.strip().lower() in by_code}
    if found:
        return _deepest(found, nodes)
    for raw in tags:
        tag = str(raw).strip().lower()
        if not tag:
            continue
        for n in nodes:
            code, name = n.code.lower(), n.name.lower()
            last = code.rsplit(".", 1)[-1]
            first_word = name.split(" ", 1)[0] if name else ""
            if (tag in (code, name, last) or (n.parent_id is None and len(code) >= 4 and tag.startswith(code))
                    or first_word == tag):
                found.add(n.id)
    return _deepest(found, nodes)


def _deepest(found: set[int], nodes: Sequence[Node]) -> set[int]:
    """Drop a match whose descendant matched too, so a subtree counts the case once."""
    parent = {n.id: n.parent_id for n in nodes}
    above: set[int] = set()
    for node in found:
        p = parent.get(node)
        while p is not None and p not in above:
            above.add(p)
            p = parent.get(p)
    return found - above


# --- item statistics per period -----------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One student's answers to one item in one period."""

    learner: int
    item: int
    answers: int
    correct: int


@dataclass(frozen=True)
class ItemPeriod:
    item: int
    students: int
    answers: int
    correct: int
    facility: float | None            # 0..1, pooled answers
    point_biserial: float | None      # item-rest correlation
    upper_lower: float | None         # D index
    discriminating_students: int      # students with a rest score (used for the two indices)

    @property
    def flags(self) -> tuple[str, ...]:
        out = []
        if self.facility is not None and self.facility > TOO_EASY_ABOVE:
            out.append("too easy")
        if self.facility is not None and self.facility < TOO_HARD_BELOW:
            out.append("too hard")
        if self.point_biserial is not None and self.point_biserial < NON_DISCRIMINATING_BELOW:
            out.append("non-discriminating")
        return tuple(out)


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, or None with fewer than two pairs or no variance on either side."""
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return float(dx @ dy) / math.sqrt(sxx * syy)


def upper_lower(x: np.ndarray, rest: np.ndarray, learners: np.ndarray) -> float | None:
    """Facility of the top round(27% n) students by rest score minus the bottom as many (n >= 2)."""
    n = len(x)
    if n < 2:
        return None
    g = max(1, min(n // 2, round(GROUP_FRACTION * n)))
    order = np.lexsort((learners, -rest))   # rest score descending, then student id
    return float(x[order[:g]].mean() - x[order[n - g:]].mean())


def item_statistics(cells: Iterable[Cell]) -> dict[int, ItemPeriod]:
    """Facility and discrimination of every item in one period's cells."""
    rows = list(cells)
    if not rows:
        return {}
    learner = np.array([c.learner for c in rows], dtype=np.int64)
    item = np.array([c.item for c in rows], dtype=np.int64)
    answers = np.array([c.answers for c in rows], dtype=np.float64)
    correct = np.array([c.correct for c in rows], dtype=np.float64)
    keys, inverse = np.unique(learner, return_inverse=True)
    total_a = np.bincount(inverse, weights=answers, minlength=len(keys))
    total_c = np.bincount(inverse, weights=correct, minlength=len(keys))
    rest_a = total_a[inverse] - answers
    rest_c = total_c[inverse] - correct
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.where(rest_a > 0, rest_c / np.where(rest_a > 0, rest_a, 1), np.nan)
        score = correct / np.where(answers > 0, answers, 1)
    out: dict[int, ItemPeriod] = {}
    order = np.argsort(item, kind="stable")
    item_sorted = item[order]
    bounds = np.flatnonzero(np.r_[True, item_sorted[1:] != item_sorted[:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[start:stop]
        a, c = int(answers[idx].sum()), int(correct[idx].sum())
        usable = idx[~np.isnan(rest[idx])]
        x, y = score[usable], rest[usable]
        out[int(item_sorted[start])] = ItemPeriod(
            item=int(item_sorted[start]), students=len(np.unique(learner[idx])), answers=a, correct=c,
            facility=(c / a) if a else None, point_biserial=pearson(x, y),
            upper_lower=upper_lower(x, y, learner[usable]), discriminating_students=len(usable))
    return out


@dataclass(frozen=True)
class GroupPeriod:
    """Items of one competency in one period, pooled."""

    students: int
    answers: int
    correct: int
    items: int
    facility: float | None
    mean_point_biserial: float | None   # answer-weighted over items that have one
    mean_upper_lower: float | None


def pool_items(stats: Sequence[ItemPeriod], students: int) -> GroupPeriod:
    """Pool the items of one group; `students` is the group's distinct students (not additive)."""
    answers = sum(s.answers for s in stats)
    correct = sum(s.correct for s in stats)

    def weighted(attr: str) -> float | None:
        pairs = [(getattr(s, attr), s.answers) for s in stats if getattr(s, attr) is not None]
        weight = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / weight if weight else None

    return GroupPeriod(students=students, answers=answers, correct=correct, items=len(stats),
                       facility=(correct / answers) if answers else None,
                       mean_point_biserial=weighted("point_biserial"), mean_upper_lower=weighted("upper_lower"))


def suppress_items(students: Sequence[int], k: int = MIN_CELL) -> list[bool]:
    """Items of one competency and period add up to the competency's pooled figures, which are shown
    too: one line, suppressed with complementary cells (cohort.suppress_line)."""
    return suppress_line(list(students), k)


# --- struggling competencies ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StruggleCell:
    group: str        # e.g. the cohort
    key: str          # competency code
    label: str
    students: int
    answers: int
    accuracy: float   # percent, as the cohort dashboard shows it


def lowest_accuracy(cells: Iterable[StruggleCell], limit: int = 15, min_answers: int = 1) -> list[StruggleCell]:
    """Cells about MIN_CELL+ students with enough answers, by accuracy ascending, then most students."""
    shown = [c for c in cells if c.answers >= min_answers and c.students >= MIN_CELL]
    shown.sort(key=lambda c: (c.accuracy, -c.students, c.group, c.key))
    return shown[:limit]


# --- learning objectives never assessed ----------------------------------------------------------------

@dataclass(frozen=True)
class Objective:
    id: int
    code: str
    text: str
    competency: str


@dataclass(frozen=True)
class ObjectiveStatus:
    objective: Objective
    items: int
    answers: int

    @property
    def status(self) -> str:
        if self.items == 0:
            return "no item"
        if self.answers == 0:
            return "no answers"
        return "assessed"


def objective_status(objectives: Sequence[Objective], items_per_objective: Mapping[int, int],
                     answers_per_objective: Mapping[int, int]) -> list[ObjectiveStatus]:
    """Every objective with its active item count and answers; never-assessed ones first."""
    rows = [ObjectiveStatus(o, int(items_per_objective.get(o.id, 0)), int(answers_per_objective.get(o.id, 0)))
            for o in objectives]
    rank = {"no item": 0, "no answers": 1, "assessed": 2}
    rows.sort(key=lambda r: (rank[r.status], r.objective.code))
    return rows


# --- incremental folding (used by the aggregate refresh; pure so it can be tested by hand) -----------

@dataclass
class Totals:
    answers: int = 0
    correct: int = 0
    seconds: int = 0
    day_mask: int = 0

    def add(self, correct: bool, seconds: int | None, weekday: int | None = None) -> None:
        self.answers += 1
        self.correct += int(bool(correct))
        self.seconds += int(seconds or 0)
        if weekday is not None:
            self.day_mask |= 1 << weekday

    def merge(self, other: Totals) -> None:
        self.answers += other.answers
        self.correct += other.correct
        self.seconds += other.seconds
        self.day_mask |= other.day_mask

    @property
    def active_days(self) -> int:
        return bin(self.day_mask).count("1")


@dataclass
class Fold:
    """New answers folded into keyed totals; the caller merges them into stored rows."""

    totals: dict[tuple, Totals] = field(default_factory=lambda: defaultdict(Totals))

    def add(self, key: tuple, correct: bool, seconds: int | None, weekday: int | None = None) -> None:
        self.totals[key].add(correct, seconds, weekday)
