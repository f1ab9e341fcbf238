"""Cohort dashboard data: aggregated with the ORM, then small cells suppressed (analytics/engine/cohort.py).

Who sees what: administrators see every cohort; faculty see the cohorts they are members of;
students never reach these services (the views are faculty/admin only). Every number shown or
exported is an aggregate over at least MIN_CELL students, with complementary suppression so a hidden
cell cannot be recovered from totals; a filter (one subgroup value, or one organ system) selects one
column of a table that is suppressed for all its columns at once, so differencing two filters, or a
filter and the whole cohort, cannot reveal a small cell either.

Figures come from the pre-aggregated tables (analytics/aggregates.py, refreshed here when stale) unless
MEDTUTOR_ANALYTICS_AGGREGATES is False, when they are computed from the raw answers (the benchmark's
baseline); both give the same numbers. Students excluded from analytics
(privacy.analytics_excluded_user_ids: opted out, or deleted) count nowhere.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.http import Http404

from medtutor.accounts import subgroups
from medtutor.accounts.models import Cohort, Role
from medtutor.analytics.engine.cohort import (
    MIN_CELL,
    bin_index,
    histogram_bins,
    median,
    percent,
    suppress_grid,
    suppress_line,
)
from medtutor.core.errors import InvalidInput

NOT_RECORDED = "(not recorded)"
NO_DISCIPLINE = "(no discipline)"
ROOT_CODE = Coalesce("item_version__item__competency__parent__parent__code",
                     "item_version__item__competency__parent__code",
                     "item_version__item__competency__code")
# 20-point bands: with 10-point bands most cells of a class-sized cohort fall under 5 students.
HISTOGRAM_WIDTH = 20
ACTIVE_DAY_BINS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 10_000))


# --- access ----------------------------------------------------------------------------------------

def visible_cohorts(user: Any) -> QuerySet[Cohort]:
    if getattr(user, "role", None) == Role.ADMIN:
        return Cohort.objects.all()
    if getattr(user, "role", None) == Role.FACULTY:
        return Cohort.objects.filter(members=user)
    return Cohort.objects.none()


def cohort_for(user: Any, cohort_id: int) -> Cohort:
    """The cohort, or 404 when it does not exist or is not the viewer's (no hint that it exists)."""
    cohort = visible_cohorts(user).filter(pk=cohort_id).first()
    if cohort is None:
        raise Http404("no such cohort among yours")
    return cohort


def pseudonym(user_id: int) -> str:
    """A stable pseudonymous id for analytics and exports: HMAC-SHA256 of the user id with SECRET_KEY."""
    key = settings.SECRET_KEY.encode()
    return "p-" + hmac.new(key, f"medtutor-analytics:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def excluded_ids() -> set[int]:
    """Users analytics leave out: opted out, or deleted (governance/privacy.py)."""
    from medtutor.governance.privacy import analytics_excluded_user_ids

    return analytics_excluded_user_ids()


def analysed_students(cohort: Cohort) -> QuerySet:
    """The cohort's students whose data analytics may use (opted-out and deleted accounts left out)."""
    return cohort.members.filter(role=Role.STUDENT).exclude(pk__in=excluded_ids())


def student_ids(cohort: Cohort) -> QuerySet:
    return analysed_students(cohort).values("id")


def answers(cohort: Cohort) -> QuerySet:
    from medtutor.learning.models import ItemResponse

    return ItemResponse.objects.filter(learner_id__in=student_ids(cohort))


# --- filters ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    attribute: str = ""   # subgroup attribute, e.g. "sex"
    value: str = ""       # its value, e.g. "female"
    system: str = ""      # organ-system competency code

    @property
    def is_subgroup(self) -> bool:
        return bool(self.attribute)

    @property
    def label(self) -> str:
        if self.attribute:
            return f"{self.attribute.replace('_', ' ')} = {self.value}"
        if self.system:
            return f"organ system {self.system}"
        return "whole cohort"

    def query(self) -> str:
        """The filter as a URL query string (for the export link)."""
        from urllib.parse import urlencode

        if self.attribute:
            return urlencode({"group": f"{self.attribute}={self.value}"})
        if self.system:
            return urlencode({"system": self.system})
        return ""


def subgroup_options(cohort: Cohort) -> dict[str, list[str]]:
    return subgroups.attribute_values(student_ids(cohort))


def system_options(cohort: Cohort) -> list[str]:
    return _Source(cohort).systems()


def parse_filter(cohort: Cohort, group: str = "", system: str = "") -> Filter:
    group, system = (group or "").strip(), (system or "").strip()
    if group and system:
        raise InvalidInput("filter: choose a subgroup or an organ system, not both")
    if group:
        attribute, _, value = group.partition("=")
        if value not in subgroup_options(cohort).get(attribute, []):
            raise InvalidInput(f"group: unknown subgroup {group!r}")
        return Filter(attribute=attribute, value=value)
    if system:
        if system not in system_options(cohort):
            raise InvalidInput(f"system: unknown organ system {system!r}")
        return Filter(system=system)
    return Filter()


# --- aggregation -----------------------------------------------------------------------------------

@dataclass
class Agg:
    n: int = 0
    answers: int = 0
    correct: int = 0
    seconds: int = 0

    def minus(self, other: Agg) -> Agg:
        return Agg(self.n - other.n, self.answers - other.answers, self.correct - other.correct,
                   self.seconds - other.seconds)

    def plus(self, other: Agg) -> Agg:
        return Agg(self.n + other.n, self.answers + other.answers, self.correct + other.correct,
                   self.seconds + other.seconds)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    n: int | None           # None: suppressed
    answers: int | None
    accuracy: float | None
    seconds_per_answer: float | None
    suppressed: bool
    parent: str = ""

    @property
    def shown_n(self) -> str:
        return "suppressed (<5 or complementary)" if self.suppressed else str(self.n)


def _row(key: Hashable, label: str, agg: Agg, hidden: bool, parent: str = "") -> Row:
    if hidden or agg.n == 0:
        return Row(str(key), label, None if hidden else 0, None if hidden else 0, None, None, hidden, parent)
    return Row(str(key), label, agg.n, agg.answers, percent(agg.correct, agg.answers),
               round(agg.seconds / agg.answers, 1) if agg.answers else None, False, parent)


def _count_row(key: Hashable, label: str, n: int, hidden: bool) -> Row:
    """A row that counts students (histograms): no answers or accuracy of its own."""
    return Row(str(key), label, None if hidden else n, None, None, None, hidden)


def _aggregate(qs: QuerySet, row: Any, col: Any | None = None) -> dict[tuple, Agg]:
    annotations = {"r": row} if not isinstance(row, str) else {}
    row_field = "r" if annotations else row
    fields = [row_field]
    if col is not None:
        if isinstance(col, str):
            fields.append(col)
        else:
            annotations["c"] = col
            fields.append("c")
    rows = (qs.annotate(**annotations) if annotations else qs).values(*fields).annotate(
        _n=Count("learner", distinct=True), _answers=Count("id"),
        _correct=Count("id", filter=Q(is_correct=True)), _seconds=Coalesce(Sum("seconds_taken"), 0)).order_by()
    out: dict[tuple, Agg] = {}
    for r in rows:
        key = (r[fields[0]], r[fields[1]] if col is not None else None)
        out[key] = Agg(r["_n"], r["_answers"], r["_correct"], r["_seconds"])
    return out


class _Source:
    """Where the figures come from: the pre-aggregated tables (read once per page, grouped in numpy),
    or the raw answers (one SQL GROUP BY per table: the benchmark's baseline). Both give the same
    {(row value, column value): Agg} for a dimension ("role", "root", "topic", "discipline", "week")."""

    RAW = {"role": "learner__role", "root": ROOT_CODE, "topic": "item_version__item__competency__code",
           "discipline": Coalesce("item_version__item__discipline__name", Value(NO_DISCIPLINE)),
           "week": TruncWeek("answered_at")}

    def __init__(self, cohort: Cohort, *, by_root: bool = False) -> None:
        from medtutor.analytics import aggregates

        self.pre = aggregates.enabled()
        self.ids = student_ids(cohort)
        self.by_root = by_root
        self._competency: Any = None
        self._memo: dict[tuple, dict[tuple, Agg]] = {}
        self._weeks: Any = None
        self._maps: tuple[dict, dict, dict] | None = None
        if self.pre:
            aggregates.ensure_fresh(item_stats=None)
        else:
            from medtutor.learning.models import ItemResponse

            self.raw = ItemResponse.objects.filter(learner_id__in=self.ids)

    # -- raw answers
    def dimension(self, dim: str) -> tuple[QuerySet, Any]:
        return self.raw, self.RAW[dim]

    # -- pre-aggregates
    @property
    def competency(self) -> Any:
        if self._competency is None:
            from medtutor.analytics.aggregates import competency_rows

            self._competency = competency_rows(self.ids)
        return self._competency

    @property
    def weeks(self) -> Any:
        if self._weeks is None:
            from medtutor.analytics.aggregates import week_rows

            self._weeks = week_rows(self.ids, by_root=self.by_root)
        return self._weeks

    def _labels(self) -> tuple[dict, dict, dict]:
        """competency id -> code, competency id -> organ-system code (as ROOT_CODE), discipline id -> name."""
        if self._maps is None:
            from medtutor.content.models import Competency, Discipline

            nodes = {i: (code, parent) for i, code, parent in Competency.objects.values_list("id", "code", "parent_id")}
            code = {i: c for i, (c, _) in nodes.items()}
            root = {}
            for i, (c, parent) in nodes.items():
                grand = nodes[parent][1] if parent in nodes else None
                root[i] = code[grand] if grand in code else (code[parent] if parent in code else c)
            self._maps = (code, root, dict(Discipline.objects.values_list("id", "name")))
        return self._maps

    def aggregate(self, dim: str, column: Any = None) -> dict[tuple, Agg]:
        """{(row value, column value or None): Agg}; `column` is None, "system", or a {learner: value}
        map of a subgroup attribute (students without a value are left out, as in the SQL join)."""
        memo = (dim, column if column is None or isinstance(column, str) else id(column))
        if memo not in self._memo:
            self._memo[memo] = self._aggregate(dim, column)
        return self._memo[memo]

    def _aggregate(self, dim: str, column: Any) -> dict[tuple, Agg]:
        import numpy as np

        from medtutor.analytics.engine.grouping import group

        code, root, discipline = self._labels()
        if dim == "week":
            w = self.weeks
            w = w[w[:, 2] == (0 if column == "system" else 1)]
            learners, values = w[:, 0], w[:, 4:7]
            row_labels = _labelled(w[:, 1], lambda o: datetime.combine(date.fromordinal(o), time.min, tzinfo=UTC))
            col_ids, col_map = w[:, 3], code
        else:
            c = self.competency
            learners, values = c[:, 0], c[:, 3:6]
            if dim == "role":
                row_labels = _labelled(np.zeros(len(c), dtype=np.int64), lambda _: Role.STUDENT.value)
            elif dim == "root":
                row_labels = _labelled(c[:, 1], root.get)
            elif dim == "topic":
                row_labels = _labelled(c[:, 1], code.get)
            else:
                row_labels = _labelled(c[:, 2], lambda i: discipline.get(i, NO_DISCIPLINE))
            col_ids, col_map = c[:, 1], root
        keys = [row_labels[0]]
        col_names: list = [None]
        if column == "system":
            codes, col_names = _labelled(col_ids, col_map.get)
            keys.append(codes)
        elif column is not None:
            present = np.unique(learners)
            codes, col_names = _labelled(np.searchsorted(present, learners), lambda k: column.get(int(present[k])))
            keep = codes != (col_names.index(None) if None in col_names else -1)
            learners, values, codes = learners[keep], values[keep], codes[keep]
            keys = [row_labels[0][keep], codes]
        out: dict[tuple, Agg] = {}
        for key, n, (a, k, s) in group(keys, learners, values):
            out[(row_labels[1][key[0]], col_names[key[1]] if len(key) > 1 else None)] = Agg(n, a, k, s)
        return out

    def per_student(self, system: str = "") -> list[dict]:
        """Answers, correct, seconds and active days (d) per student, optionally in one organ system."""
        if not self.pre:
            qs = self.raw.annotate(root=ROOT_CODE).filter(root=system) if system else self.raw
            return list(qs.values("learner").annotate(
                a=Count("id"), c=Count("id", filter=Q(is_correct=True)), s=Coalesce(Sum("seconds_taken"), 0),
                d=Count(TruncDate("answered_at"), distinct=True)).order_by())
        from medtutor.analytics.engine.grouping import group

        w = self.weeks
        if system:
            code = self._labels()[0]
            w = w[(w[:, 2] == 0) & _labelled_is(w[:, 3], code.get, system)]
        else:
            w = w[w[:, 2] == 1]
        return [{"learner": key[0], "a": a, "c": c, "s": s, "d": d}
                for key, _, (a, c, s, d) in group([w[:, 0]], w[:, 0], w[:, 4:8])]

    def distinct(self, dim: str) -> list:
        """The dimension's values present in the cohort's answers, sorted (empty ones left out)."""
        if self.pre:
            return sorted({k[0] for k in self.aggregate(dim) if k[0]})
        qs, expr = self.dimension(dim)
        values = qs.annotate(v=F(expr) if isinstance(expr, str) else expr).order_by().values_list(
            "v", flat=True).distinct()
        return sorted({v for v in values if v})

    def systems(self) -> list[str]:
        """Organ systems present: a cheap query (no rows read) for filters and forms."""
        if not self.pre:
            return self.distinct("root")
        from medtutor.analytics.models import LearnerCompetencyTotal

        root = self._labels()[1]
        ids = LearnerCompetencyTotal.objects.filter(learner_id__in=self.ids).order_by().values_list(
            "competency_id", flat=True).distinct()
        return sorted({root[i] for i in ids if i in root})


def _labelled(ids: Any, label: Any) -> tuple[Any, list]:
    """Integer codes for the labels of `ids` (label(id) for each distinct id), and the label list."""
    import numpy as np

    unique, inverse = np.unique(ids, return_inverse=True)
    names: list = []
    index: dict = {}
    lut = np.empty(len(unique), dtype=np.int64)
    for j, u in enumerate(unique):
        name = label(int(u))
        if name not in index:
            index[name] = len(names)
            names.append(name)
        lut[j] = index[name]
    return lut[inverse.ravel()] if len(unique) else np.zeros(0, dtype=np.int64), names


def _labelled_is(ids: Any, label: Any, wanted: str) -> Any:
    codes, names = _labelled(ids, label)
    return codes == (names.index(wanted) if wanted in names else -1)


@dataclass
class Table:
    rows: list[Row]
    title: str = ""


class _Context:
    """One cohort and filter: the queryset, the filter's columns and the column it shows."""

    def __init__(self, cohort: Cohort, filt: Filter) -> None:
        self.cohort = cohort
        self.filter = filt
        self.source = _Source(cohort, by_root=bool(filt.system))
        self._cache: dict[tuple, dict[tuple, Agg]] = {}
        self._subgroup_of: dict[int, str] = {}
        self.columns: list[str] = []
        self.col_expr: Any = None
        self.col_hidden: list[bool] = []
        if filt.is_subgroup:
            values = subgroup_options(cohort).get(filt.attribute, [])
            self.columns = [*values, NOT_RECORDED]
            # values() reuses the join of this filter: one row per answer, the learner's value of the attribute
            self.col_expr = "learner__subgroup_attributes__value"
            if self.source.pre:
                self._subgroup_of = subgroups.values_of(student_ids(cohort), filt.attribute)
            self.group_sizes = self._group_sizes(values)
            self.col_hidden = suppress_line([self.group_sizes[c] for c in self.columns])
        elif filt.system:
            self.columns = self.source.systems()

    def _column_key(self, raw: Any) -> str:
        return raw

    @property
    def selected(self) -> str:
        return self.filter.value if self.filter.is_subgroup else self.filter.system

    def _cells(self, dim: str) -> dict[tuple, Agg]:
        """(row, column) aggregates of one dimension for the filter's columns (computed once)."""
        if ("cells", dim) not in self._cache:
            if self.source.pre:
                column = self._subgroup_of if self.filter.is_subgroup else "system"
                self._cache[("cells", dim)] = self.source.aggregate(dim, column)
            else:
                qs, row = self.source.dimension(dim)
                if self.filter.is_subgroup:
                    qs = qs.filter(learner__subgroup_attributes__attribute=self.filter.attribute)
                    self._cache[("cells", dim)] = _aggregate(qs, row, self.col_expr)
                else:
                    self._cache[("cells", dim)] = _aggregate(qs, row, ROOT_CODE)
        return self._cache[("cells", dim)]

    def _totals(self, dim: str) -> dict[Hashable, Agg]:
        if ("totals", dim) not in self._cache:
            if self.source.pre:
                found = self.source.aggregate(dim)
            else:
                qs, row = self.source.dimension(dim)
                found = _aggregate(qs, row)
            self._cache[("totals", dim)] = {k[0]: v for k, v in found.items()}
        return self._cache[("totals", dim)]  # type: ignore[return-value]

    def _group_sizes(self, values: Sequence[str]) -> dict[str, int]:
        members = analysed_students(self.cohort)
        total = members.count()
        counts = subgroups.value_counts(members.values("id"), self.filter.attribute)
        sizes = {v: counts.get(v, 0) for v in values}
        sizes[NOT_RECORDED] = total - sum(sizes.values())
        return sizes

    def filter_allowed(self) -> bool:
        if not self.filter.is_subgroup:
            return True
        return not self.col_hidden[self.columns.index(self.selected)]

    def table(self, dim: str, order: Sequence[Hashable], labels: dict[Hashable, str] | None = None,
              parents: dict[Hashable, str] | None = None) -> list[Row]:
        """Rows in `order` of a dimension ("role", "root", "topic", "discipline", "week"): whole-cohort
        figures, or the filter's column of the suppressed grid."""
        labels = labels or {}
        parents = parents or {}
        totals = self._totals(dim)
        order = [r for r in order if r in totals]
        total_hidden = suppress_line([totals[r].n for r in order])
        if not self.columns:
            return [_row(r, labels.get(r, str(r)), totals[r], total_hidden[i], parents.get(r, ""))
                    for i, r in enumerate(order)]
        raw = self._cells(dim)
        cells: dict[tuple, Agg] = defaultdict(Agg)
        for (r, c), agg in raw.items():
            cells[(r, self._column_key(c))] = cells[(r, self._column_key(c))].plus(agg)
        if self.filter.is_subgroup:
            for r in order:
                known = Agg()
                for c in self.columns[:-1]:
                    known = known.plus(cells[(r, c)])
                cells[(r, NOT_RECORDED)] = totals[r].minus(known)
        counts = [[cells[(r, c)].n for c in self.columns] for r in order]
        grid = suppress_grid(counts, row_hidden=total_hidden, col_hidden=self.col_hidden or None)
        j = self.columns.index(self.selected)
        return [_row(r, labels.get(r, str(r)), cells[(r, self.selected)],
                     grid.cells[i][j] or grid.columns[j] or total_hidden[i], parents.get(r, ""))
                for i, r in enumerate(order)]


# --- the dashboard ---------------------------------------------------------------------------------

@dataclass
class Dashboard:
    cohort: Cohort
    filter: Filter
    allowed: bool
    summary: Row | None = None
    n_members: int = 0
    by_system: list[Row] = field(default_factory=list)
    by_topic: list[Row] = field(default_factory=list)
    by_discipline: list[Row] = field(default_factory=list)
    weekly: list[Row] = field(default_factory=list)
    histogram: list[Row] = field(default_factory=list)
    active_days: list[Row] = field(default_factory=list)
    engagement: dict[str, Any] = field(default_factory=dict)


def _competency_labels() -> dict[str, str]:
    from medtutor.content.models import Competency

    return dict(Competency.objects.values_list("code", "name"))


def _students_in_view(ctx: _Context) -> QuerySet:
    ids = analysed_students(ctx.cohort)
    if ctx.filter.is_subgroup:
        if ctx.filter.value == NOT_RECORDED:
            ids = ids.exclude(pk__in=subgroups.user_ids_with_attribute(ctx.filter.attribute))
        else:
            ids = ids.filter(pk__in=subgroups.user_ids_with(ctx.filter.attribute, ctx.filter.value))
    return ids.values("id")


def _student_lines(ctx: _Context) -> tuple[list[Row], list[Row], dict[str, Any]]:
    """Histogram of per-student accuracy and of active days, plus engagement medians."""
    per_student = ctx.source.per_student(ctx.filter.system)
    selected_ids = None
    groups: dict[int, str] = {}
    if ctx.filter.is_subgroup:
        selected_ids = set(_students_in_view(ctx).values_list("id", flat=True))
        groups = subgroups.values_of(student_ids(ctx.cohort), ctx.filter.attribute)
    bins = histogram_bins(HISTOGRAM_WIDTH)
    acc_bin = {p["learner"]: bin_index(100.0 * p["c"] / p["a"], HISTOGRAM_WIDTH) for p in per_student if p["a"]}
    day_bin = {}
    for p in per_student:
        for i, (low, high) in enumerate(ACTIVE_DAY_BINS):
            if low <= p["d"] <= high:
                day_bin[p["learner"]] = i

    def line(assign: dict[int, int], n_rows: int, labels: list[str]) -> list[Row]:
        totals = [0] * n_rows
        for b in assign.values():
            totals[b] += 1
        total_hidden = suppress_line(totals)
        if not ctx.filter.is_subgroup:
            return [_count_row(i, labels[i], totals[i], total_hidden[i]) for i in range(n_rows)]
        counts = [[0] * len(ctx.columns) for _ in range(n_rows)]
        for uid, b in assign.items():
            counts[b][ctx.columns.index(groups.get(uid, NOT_RECORDED))] += 1
        grid = suppress_grid(counts, row_hidden=total_hidden, col_hidden=ctx.col_hidden)
        j = ctx.columns.index(ctx.selected)
        return [_count_row(i, labels[i], counts[i][j], grid.cells[i][j] or grid.columns[j] or total_hidden[i])
                for i in range(n_rows)]

    histogram = line(acc_bin, len(bins), [b.label for b in bins])
    days = line(day_bin, len(ACTIVE_DAY_BINS), [f"{lo}–{hi}" if hi < 10_000 else f"{lo}+" for lo, hi in ACTIVE_DAY_BINS])
    chosen = [p for p in per_student if selected_ids is None or p["learner"] in selected_ids]
    engagement: dict[str, Any] = {"n": len(chosen)}
    if len(chosen) >= MIN_CELL:
        engagement["median_active_days"] = median([p["d"] for p in chosen])
        engagement["median_minutes_on_task"] = round((median([p["s"] for p in chosen]) or 0) / 60.0, 1)
        engagement["median_answers"] = median([p["a"] for p in chosen])
    engagement.update(_cards_reviewed(ctx, selected_ids))
    return histogram, days, engagement


def _cards_reviewed(ctx: _Context, selected_ids: set[int] | None) -> dict[str, Any]:
    from medtutor.learning.models import CardReview

    reviews = CardReview.objects.filter(learner_id__in=student_ids(ctx.cohort), undone_at__isnull=True)
    if selected_ids is not None:
        reviews = reviews.filter(learner_id__in=selected_ids)
    if ctx.filter.system:
        # Cards without a competency would make a per-system split leak by differencing: not shown.
        return {"card_reviewers": None, "card_reviews": None}
    empty = {"card_reviewers": None, "card_reviews": None}
    if selected_ids is None:
        stats = reviews.aggregate(n=Count("learner", distinct=True), reviews=Count("id"))
        if stats["n"] < MIN_CELL:
            return empty
        return {"card_reviewers": stats["n"], "card_reviews": stats["reviews"]}
    # A subgroup: review counts add up over the attribute's values, so suppress them together.
    everyone = CardReview.objects.filter(learner_id__in=student_ids(ctx.cohort), undone_at__isnull=True)
    total = everyone.aggregate(n=Count("learner", distinct=True), reviews=Count("id"))
    if total["n"] < MIN_CELL:
        return empty
    by_value = {value: (n, r) for value, n, r in
                everyone.filter(learner__subgroup_attributes__attribute=ctx.filter.attribute)
                .values_list("learner__subgroup_attributes__value")
                .annotate(n=Count("learner", distinct=True), r=Count("id")).order_by()}
    known_n = sum(n for n, _ in by_value.values())
    known_r = sum(r for _, r in by_value.values())
    by_value[NOT_RECORDED] = (total["n"] - known_n, total["reviews"] - known_r)
    counts = [by_value.get(c, (0, 0))[0] for c in ctx.columns]
    grid = suppress_grid([counts], col_hidden=ctx.col_hidden)
    j = ctx.columns.index(ctx.selected)
    n, r = by_value.get(ctx.selected, (0, 0))
    if grid.cells[0][j] or grid.columns[j] or n < MIN_CELL:
        return empty
    return {"card_reviewers": n, "card_reviews": r}


def dashboard(cohort: Cohort, filt: Filter | None = None) -> Dashboard:
    filt = filt or Filter()
    ctx = _Context(cohort, filt)
    n_members = cohort.members.filter(role=Role.STUDENT).count()
    if not ctx.filter_allowed():
        return Dashboard(cohort=cohort, filter=filt, allowed=False, n_members=n_members)
    labels = _competency_labels()
    # The summary: one row, the filter's column of the cohort's single-row table.
    summary = ctx.table("role", [Role.STUDENT.value], {Role.STUDENT.value: "All answers"})
    summary_row = summary[0] if summary else None
    by_system, by_topic = _competency_tables(ctx, labels)
    if filt.system:
        by_system = [r for r in by_system if r.key == filt.system]
        by_topic = [r for r in by_topic if r.parent == filt.system]
    by_discipline = ctx.table("discipline", ctx.source.distinct("discipline"))
    weeks = ctx.source.distinct("week")
    weekly = ctx.table("week", weeks, {w: w.date().isoformat() for w in weeks})
    histogram, active_days, engagement = _student_lines(ctx)
    return Dashboard(cohort=cohort, filter=filt, allowed=True, summary=summary_row, n_members=n_members,
                     by_system=by_system, by_topic=by_topic, by_discipline=by_discipline, weekly=weekly,
                     histogram=histogram, active_days=active_days, engagement=engagement)


def _competency_tables(ctx: _Context, labels: dict[str, str]) -> tuple[list[Row], list[Row]]:
    """Rows by organ system and by topic; topics add up to their organ system, which is published, so
    each system's topics are one suppression line, and a hidden system hides its topics."""
    systems = ctx.source.distinct("root")
    by_system = ctx.table("root", systems, labels)
    hidden_systems = {r.key for r in by_system if r.suppressed}
    topics = ctx.source.distinct("topic")
    topic_parent = {}
    for code in topics:
        root = code.split(".")[0]
        topic_parent[code] = next((s for s in systems if code == s or code.startswith(s + ".")), root)
    by_topic = [row for system in systems for row in ctx.table(
        "topic", [t for t in topics if topic_parent[t] == system], labels, topic_parent)]
    by_topic = [Row(r.key, r.label, None, None, None, None, True, r.parent) if r.parent in hidden_systems else r
                for r in by_topic]
    return by_system, by_topic


def competency_rows(cohort: Cohort) -> list[Row]:
    """Whole-cohort rows by organ system and topic, suppressed exactly as on the dashboard
    (the curriculum page ranks them to show where cohorts struggle)."""
    by_system, by_topic = _competency_tables(_Context(cohort, Filter()), _competency_labels())
    return by_system + by_topic


def previous_year_cohort(user: Any, cohort: Cohort) -> Cohort | None:
    if cohort.year is None:
        return None
    return visible_cohorts(user).filter(year=cohort.year - 1).order_by("name").first()


def comparison(user: Any, cohort: Cohort, other_id: int | None,
               mine: tuple[Row | None, list[Row]] | None = None) -> tuple[Cohort | None, list[dict]]:
    """Whole-cohort accuracy by organ system, side by side (each cohort suppressed on its own).
    `mine`: the cohort's whole-cohort (summary, organ-system rows) when the caller has them already."""
    other = cohort_for(user, other_id) if other_id else previous_year_cohort(user, cohort)
    if other is None or other.pk == cohort.pk:
        return None, []
    (mine_summary, mine_systems), (their_summary, their_systems) = mine or _overview(cohort), _overview(other)
    keys = sorted({r.key for r in mine_systems} | {r.key for r in their_systems})
    a = {r.key: r for r in mine_systems}
    b = {r.key: r for r in their_systems}
    rows = [{"key": k, "label": (a.get(k) or b.get(k)).label, "mine": a.get(k), "theirs": b.get(k)} for k in keys]
    rows.insert(0, {"key": "", "label": "All answers", "mine": mine_summary, "theirs": their_summary})
    return other, rows


def _overview(cohort: Cohort) -> tuple[Row | None, list[Row]]:
    """Whole-cohort summary and organ-system rows: the same cells (and suppression) as the dashboard's."""
    ctx = _Context(cohort, Filter())
    summary = ctx.table("role", [Role.STUDENT.value], {Role.STUDENT.value: "All answers"})
    return (summary[0] if summary else None), ctx.table("root", ctx.source.distinct("root"), _competency_labels())


# --- one student (drill-down) ----------------------------------------------------------------------

@dataclass
class StudentSummary:
    pseudonym: str
    name: str
    answers: int
    accuracy: float | None
    active_days: int
    minutes_on_task: float
    by_system: list[dict]
    weekly: list[dict]


def student_summary(user: Any, cohort: Cohort, student_id: int) -> StudentSummary:
    """Only for faculty of the student's cohort (cohort_for checks the viewer's cohorts)."""
    student = analysed_students(cohort).filter(pk=student_id).first()
    if student is None:  # not a student here, or opted out of analytics
        raise Http404("no such student in this cohort")
    from medtutor.learning.models import ItemResponse

    qs = ItemResponse.objects.filter(learner=student)
    total = qs.aggregate(a=Count("id"), c=Count("id", filter=Q(is_correct=True)),
                         s=Coalesce(Sum("seconds_taken"), 0), d=Count(TruncDate("answered_at"), distinct=True))
    labels = _competency_labels()
    by_system = [{"label": labels.get(r["root"], r["root"]), "answers": r["a"], "accuracy": percent(r["c"], r["a"])}
                 for r in qs.annotate(root=ROOT_CODE).values("root").annotate(
                     a=Count("id"), c=Count("id", filter=Q(is_correct=True))).order_by("root")]
    weekly = [{"week": r["w"].date().isoformat(), "answers": r["a"], "accuracy": percent(r["c"], r["a"])}
              for r in qs.annotate(w=TruncWeek("answered_at")).values("w").annotate(
                  a=Count("id"), c=Count("id", filter=Q(is_correct=True))).order_by("w")]
    return StudentSummary(pseudonym=pseudonym(student.pk), name=student.name, answers=total["a"],
                          accuracy=percent(total["c"], total["a"]), active_days=total["d"],
                          minutes_on_task=round(total["s"] / 60.0, 1), by_system=by_system, weekly=weekly)


# --- export ----------------------------------------------------------------------------------------

def export_csv(board: Dashboard, exporter_id: int) -> str:
    """The dashboard's aggregates as CSV: no names or user ids, suppressed cells say so."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["# medtutor cohort aggregates", f"cohort={board.cohort.code}", f"filter={board.filter.label}",
                     f"exported_by={pseudonym(exporter_id)}", f"min_cell={MIN_CELL}"])
    writer.writerow(["section", "key", "label", "students", "answers", "accuracy_percent", "seconds_per_answer"])
    if not board.allowed:
        writer.writerow(["filter", "", board.filter.label, "suppressed", "", "", ""])
        return out.getvalue()
    sections = [("summary", [board.summary] if board.summary else []), ("organ_system", board.by_system),
                ("topic", board.by_topic), ("discipline", board.by_discipline), ("week", board.weekly),
                ("accuracy_histogram", board.histogram), ("active_days", board.active_days)]
    for name, rows in sections:
        for r in rows:
            if r.suppressed:
                writer.writerow([name, r.key, r.label, "suppressed", "suppressed", "suppressed", "suppressed"])
            else:
                per_student = name in ("accuracy_histogram", "active_days")
                writer.writerow([name, r.key, r.label, r.n,
                                 "" if per_student else r.answers,
                                 "" if r.accuracy is None or per_student else r.accuracy,
                                 "" if r.seconds_per_answer is None else r.seconds_per_answer])
    return out.getvalue()
