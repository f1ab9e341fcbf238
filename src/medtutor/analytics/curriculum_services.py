"""Curriculum analytics data (ORM side; the computations are in analytics/engine/curriculum.py).

Who sees what: program administrators see every cohort; faculty see the curriculum (outline, bank,
item statistics over every student, suppressed like every aggregate) and, for "where cohorts
struggle", only their own cohorts. Students never reach this (the views are faculty/admin only).

Item statistics and the per-cohort figures come from the pre-aggregated tables
(analytics/aggregates.py) unless MEDTUTOR_ANALYTICS_AGGREGATES is False, when they are computed from
the answers on every request (the benchmark's baseline). Students excluded from analytics
(privacy.analytics_excluded_user_ids) count nowhere on this page.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count

from medtutor.accounts.models import Cohort
from medtutor.analytics import aggregates
from medtutor.analytics import cohort_services
from medtutor.analytics.engine.cohort import MIN_CELL, suppress_line
from medtutor.analytics.engine.curriculum import (
    RESOURCES,
    CoverageRow,
    ItemPeriod,
    Node,
    Objective,
    ObjectiveStatus,
    StruggleCell,
    blueprint_coverage,
    lowest_accuracy,
    match_case_competencies,
    objective_status,
    tree_order,
)
from medtutor.core.errors import InvalidInput

MONTHS_SHOWN = 12
STRUGGLE_LIMIT = 15
STRUGGLE_COHORTS = 12   # the most recent; a cohort filter reaches any other
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --- the outline and the bank ----------------------------------------------------------------------------

def outline_nodes() -> list[Node]:
    from medtutor.content.models import Competency

    return [Node(id=i, code=c, name=n, parent_id=p, weight=w)
            for i, c, n, p, w in Competency.objects.values_list("id", "code", "name", "parent_id", "weight")]


def _case_counts(nodes: list[Node]) -> dict[int, int]:
    from medtutor.simulation.models import Case

    counts: dict[int, int] = defaultdict(int)
    for data in Case.objects.filter(is_active=True).values_list("data", flat=True).iterator(500):
        data = data if isinstance(data, dict) else {}
        tags = data.get("tags") or []
        explicit = data.get("competencies") or []
        for node_id in match_case_competencies(tags if isinstance(tags, list) else [],
                                               explicit if isinstance(explicit, list) else [], nodes):
            counts[node_id] += 1
    return counts


def blueprint(nodes: list[Node] | None = None) -> list[CoverageRow]:
    """Coverage of the outline by active items, shared cards and active virtual-patient cases."""
    from medtutor.content.models import Card, Item

    nodes = nodes if nodes is not None else outline_nodes()
    direct: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, n in (Item.objects.active().filter(competency__isnull=False).values_list("competency_id")
                   .annotate(n=Count("id")).order_by()):
        direct[cid]["items"] = n
    for cid, n in (Card.objects.shared().filter(competency__isnull=False).values_list("competency_id")
                   .annotate(n=Count("id")).order_by()):
        direct[cid]["cards"] = n
    for cid, n in _case_counts(nodes).items():
        direct[cid]["cases"] = n
    return blueprint_coverage(nodes, direct)


# --- item statistics: by competency over time, and per item ---------------------------------------------

@dataclass(frozen=True)
class StatCell:
    students: int | None
    answers: int | None
    facility: float | None          # percent
    point_biserial: float | None
    upper_lower: float | None
    suppressed: bool = False

    @property
    def empty(self) -> bool:
        return not self.suppressed and not self.students


EMPTY = StatCell(0, 0, None, None, None)
HIDDEN = StatCell(None, None, None, None, None, True)


def _cell(students: int, answers: int, facility: float | None, rpb: float | None, ul: float | None,
          hidden: bool) -> StatCell:
    if hidden:
        return HIDDEN
    return StatCell(students, answers, None if facility is None else round(100.0 * facility, 1),
                    None if rpb is None else round(rpb, 2), None if ul is None else round(ul, 2))


@dataclass
class DifficultyRow:
    code: str
    name: str
    depth: int
    cells: list[StatCell]


@dataclass(frozen=True)
class ItemRow:
    external_id: str
    version: int
    competency: str
    cell: StatCell
    flags: tuple[str, ...]


def _stats_source() -> tuple[list[Any], list[Any]]:
    """(item rows, competency rows) with item_version_id / competency_id, month, counts, indices."""
    from medtutor.analytics.models import CompetencyMonthStats, ItemMonthStats

    if aggregates.enabled():
        return list(ItemMonthStats.objects.all()), list(CompetencyMonthStats.objects.all())
    return aggregates.raw_item_stats()


def _hide_descendants(hidden: set[int], parent: dict[int, int | None]) -> set[int]:
    out = set(hidden)
    for node in parent:
        p = parent.get(node)
        while p is not None:
            if p in hidden:
                out.add(node)
                break
            p = parent.get(p)
    return out


def difficulty_over_time(nodes: list[Node], competency_rows: list[Any]) -> tuple[list[date], list[DifficultyRow],
                                                                                  dict[date, set[int]]]:
    """Competency x month table; siblings in a month are one suppression line (their answers add up
    to the parent's), and a hidden node hides its subtree. Returns (months, rows, hidden ids per month)."""
    months = sorted({r.month for r in competency_rows})[-MONTHS_SHOWN:]
    by_key = {(r.competency_id, r.month): r for r in competency_rows}
    parent = {n.id: n.parent_id for n in nodes}
    hidden_by_month: dict[date, set[int]] = {}
    for month in months:
        siblings: dict[int | None, list[int]] = defaultdict(list)
        for n in nodes:
            if (n.id, month) in by_key:
                siblings[n.parent_id].append(n.id)
        hidden: set[int] = set()
        for ids in siblings.values():
            mask = suppress_line([by_key[(i, month)].students for i in ids])
            hidden |= {i for i, h in zip(ids, mask, strict=True) if h}
        hidden_by_month[month] = _hide_descendants(hidden, parent)
    rows = []
    for n, depth in tree_order(nodes):
        if not any((n.id, m) in by_key for m in months):
            continue
        cells = []
        for m in months:
            r = by_key.get((n.id, m))
            cells.append(EMPTY if r is None else _cell(r.students, r.answers, r.facility, r.mean_point_biserial,
                                                      r.mean_upper_lower, n.id in hidden_by_month[m]))
        rows.append(DifficultyRow(n.code, n.name, depth, cells))
    return months, rows, hidden_by_month


def items_in_month(month: date | None, item_rows: list[Any], hidden_nodes: set[int]) -> list[ItemRow]:
    """Every item answered in the month; items of one competency are one suppression line."""
    from medtutor.content.models import ItemVersion

    if month is None:
        return []
    rows = [r for r in item_rows if r.month == month]
    info = {v["id"]: v for v in ItemVersion.objects.filter(id__in=[r.item_version_id for r in rows]).values(
        "id", "number", "item__external_id", "item__competency_id", "item__competency__code")}
    lines: dict[int | None, list[Any]] = defaultdict(list)
    for r in rows:
        lines[info.get(r.item_version_id, {}).get("item__competency_id")].append(r)
    out = []
    for competency_id, group in lines.items():
        mask = suppress_line([r.students for r in group])
        for r, hidden in zip(group, mask, strict=True):
            v = info.get(r.item_version_id, {})
            hide = hidden or (competency_id in hidden_nodes)
            period = ItemPeriod(r.item_version_id, r.students, r.answers, r.correct, r.facility, r.point_biserial,
                                r.upper_lower, r.discriminating_students)
            out.append(ItemRow(external_id=v.get("item__external_id", "?"), version=v.get("number", 0),
                               competency=v.get("item__competency__code") or "(none)",
                               cell=_cell(r.students, r.answers, r.facility, r.point_biserial, r.upper_lower, hide),
                               flags=() if hide else period.flags))
    out.sort(key=lambda r: (r.competency, r.external_id, r.version))
    return out


# --- where cohorts struggle ------------------------------------------------------------------------------

@dataclass
class Struggle:
    rows: list[StruggleCell]
    cohorts: int
    hidden: int


def struggle(user: Any, cohort: Cohort | None = None) -> Struggle:
    """Lowest-accuracy competencies (organ systems and topics) per cohort, with the cohort dashboard's
    own suppressed cells, so nothing here is finer than what the dashboard shows."""
    cohorts = [cohort] if cohort is not None else list(
        cohort_services.visible_cohorts(user).order_by("-year", "-created_at", "name")[:STRUGGLE_COHORTS])
    cells: list[StruggleCell] = []
    hidden = 0
    for c in cohorts:
        for row in cohort_services.competency_rows(c):
            if row.suppressed:
                hidden += 1
                continue
            if not row.answers or row.accuracy is None:
                continue
            cells.append(StruggleCell(group=c.code, key=row.key, label=row.label, students=row.n or 0,
                                      answers=row.answers, accuracy=row.accuracy))
    return Struggle(lowest_accuracy(cells, STRUGGLE_LIMIT), len(cohorts), hidden)


# --- learning objectives never assessed ------------------------------------------------------------------

def objectives(item_rows: list[Any]) -> list[ObjectiveStatus]:
    from medtutor.content.models import Item, ItemVersion, LearningObjective

    objs = [Objective(i, c, t, cc) for i, c, t, cc in LearningObjective.objects.order_by("code").values_list(
        "id", "code", "text", "competency__code")]
    items = dict(Item.objects.active().filter(current_version__objective__isnull=False)
                 .values_list("current_version__objective_id").annotate(n=Count("id")).order_by())
    per_version: dict[int, int] = defaultdict(int)
    for r in item_rows:
        per_version[r.item_version_id] += r.answers
    answered: dict[int, int] = defaultdict(int)
    for vid, obj in ItemVersion.objects.filter(id__in=list(per_version), objective__isnull=False).values_list(
            "id", "objective_id"):
        answered[obj] += per_version[vid]
    return objective_status(objs, items, answered)


# --- the page --------------------------------------------------------------------------------------------

@dataclass
class CurriculumPage:
    coverage: list[CoverageRow]
    months: list[date]
    difficulty: list[DifficultyRow]
    month: date | None
    items: list[ItemRow]
    struggle: Struggle
    objectives: list[ObjectiveStatus]
    cohort: Cohort | None = None
    chart_coverage: dict = field(default_factory=dict)
    chart_difficulty: dict = field(default_factory=dict)

    @property
    def flagged_competencies(self) -> int:
        return sum(1 for r in self.coverage if r.flagged)

    @property
    def coverage_table(self) -> list[dict[str, Any]]:
        """Rows for the template: shares in percent, one cell per resource."""
        return [{"code": r.code, "name": r.name, "depth": r.depth, "weight": r.weight,
                 "expected": None if r.expected_share is None else round(100.0 * r.expected_share, 1),
                 "flagged": r.flagged,
                 "cells": [{"resource": res, "count": r.counts[res],
                            "share": None if r.shares[res] is None else round(100.0 * r.shares[res], 1),
                            "coverage": None if r.coverage[res] is None else round(r.coverage[res], 2),
                            "flagged": res in r.flags} for res in RESOURCES]}
                for r in self.coverage]

    @property
    def never_assessed(self) -> list[ObjectiveStatus]:
        return [o for o in self.objectives if o.status != "assessed"]


def parse_month(raw: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _MONTH.match(raw):
        raise InvalidInput("month: use YYYY-MM, e.g. 2026-11")
    return date(int(raw[:4]), int(raw[5:7]), 1)


def parse_cohort(user: Any, raw: str) -> Cohort | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput("cohort: must be a cohort id (a whole number)")
    return cohort_services.cohort_for(user, int(raw))


def page(user: Any, month: date | None = None, cohort: Cohort | None = None) -> CurriculumPage:
    aggregates.ensure_fresh(item_stats=None)
    nodes = outline_nodes()
    coverage = blueprint(nodes)
    item_rows, competency_rows = _stats_source()
    months, difficulty, hidden_by_month = difficulty_over_time(nodes, competency_rows)
    if month is not None and month not in months:
        raise InvalidInput(f"month: no item statistics for {month:%Y-%m}")
    chosen = month or (months[-1] if months else None)
    items = items_in_month(chosen, item_rows, hidden_by_month.get(chosen, set()) if chosen else set())
    roots = [r for r in coverage if r.depth == 0]
    chart_coverage = {"labels": [r.name for r in roots],
                      "datasets": {res: [None if r.coverage[res] is None else round(r.coverage[res], 2) for r in roots]
                                   for res in RESOURCES}}
    chart_difficulty = {"labels": [f"{m:%Y-%m}" for m in months],
                        "series": [{"label": r.name, "values": [c.facility for c in r.cells]}
                                   for r in difficulty if r.depth == 0]}
    return CurriculumPage(coverage=coverage, months=months, difficulty=difficulty, month=chosen, items=items,
                          struggle=struggle(user, cohort), objectives=objectives(item_rows), cohort=cohort,
                          chart_coverage=chart_coverage, chart_difficulty=chart_difficulty)


# --- export ----------------------------------------------------------------------------------------------

def _fmt(value: Any) -> Any:
    return "" if value is None else value


def export_csv(p: CurriculumPage, exporter_id: int) -> str:
    """The page's tables as CSV: no names or user ids; suppressed cells say so."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["# medtutor curriculum analytics", f"exported_by={cohort_services.pseudonym(exporter_id)}",
                f"min_cell={MIN_CELL}", f"month={p.month:%Y-%m}" if p.month else "month=",
                f"cohort={p.cohort.code}" if p.cohort else "cohort=all visible"])
    w.writerow(["section", "key", "label", "period", "students", "answers", "value_1", "value_2", "value_3", "note"])
    for r in p.coverage:
        for res in RESOURCES:
            w.writerow(["coverage", r.code, r.name, "", "", "", res, r.counts[res],
                        _fmt(None if r.coverage[res] is None else round(r.coverage[res], 3)),
                        "under-covered" if res in r.flags else ""])
    for r in p.difficulty:
        for m, c in zip(p.months, r.cells, strict=True):
            if c.suppressed:
                w.writerow(["difficulty", r.code, r.name, f"{m:%Y-%m}", "suppressed", "suppressed", "", "", "", ""])
            elif not c.empty:
                w.writerow(["difficulty", r.code, r.name, f"{m:%Y-%m}", c.students, c.answers, _fmt(c.facility),
                            _fmt(c.point_biserial), _fmt(c.upper_lower), "facility %, point-biserial, upper-lower"])
    for it in p.items:
        c = it.cell
        if c.suppressed:
            w.writerow(["item", f"{it.external_id} v{it.version}", it.competency, f"{p.month:%Y-%m}",
                        "suppressed", "suppressed", "", "", "", ""])
        else:
            w.writerow(["item", f"{it.external_id} v{it.version}", it.competency, f"{p.month:%Y-%m}", c.students,
                        c.answers, _fmt(c.facility), _fmt(c.point_biserial), _fmt(c.upper_lower), "; ".join(it.flags)])
    for s in p.struggle.rows:
        w.writerow(["struggle", s.key, s.label, s.group, s.students, s.answers, _fmt(s.accuracy), "", "", "accuracy %"])
    for o in p.objectives:
        w.writerow(["objective", o.objective.code, o.objective.text, "", "", o.answers, o.items, "", "", o.status])
    return out.getvalue()
