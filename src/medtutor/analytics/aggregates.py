"""Incremental refresh of the pre-aggregated answer tables (analytics/models/aggregates.py).

A refresh folds in the answers with an id above the watermark (three GROUP BY queries over that id
range), then, for the months those answers touched, recomputes the item statistics (difficulty and
discrimination need every student's answers of the month, so they are recomputed, not added up).

Exactness:
- Ids are handed out before commit, so on PostgreSQL an answer can commit after a larger id was folded
  in. Ids below the watermark that were missing at a refresh are kept as `pending_gaps` and folded in
  when they appear; after GAP_WAIT they are forgotten (rolled back, or a burnt sequence value).
- Students excluded from analytics (privacy.analytics_excluded_user_ids: opted out, or deleted) are
  never folded in; when a student becomes excluded their rows are deleted, and when they opt back in
  their answers up to the watermark are folded in again. Deletion also removes the rows directly
  (privacy.POLICY lists these tables as DELETE).
- The refresh holds a row lock on the state row, so two refreshes never fold the same answers.
  A page render that finds the lock taken does not wait: it shows the tables as they are.

`ensure_fresh()` is what pages call: a few cheap queries decide whether anything is new. The scheduled
job (core/jobs.py, "analytics.refresh_aggregates") also checks the filing signature (items moved to
another competency or discipline, the outline re-parented) and rebuilds when it changed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, IntegerField, Max, Q, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth

from medtutor.analytics.engine.curriculum import Cell, Totals, item_statistics, pool_items
from medtutor.analytics.models import (
    AggregateState,
    CompetencyMonthStats,
    ItemMonthStats,
    LearnerCompetencyTotal,
    LearnerItemMonth,
    LearnerWeekTotal,
)
from medtutor.core import clock

STATE = "answers"
GAP_WAIT = timedelta(hours=1)
MAX_GAPS = 5000
# Item statistics are estimates, recomputed per month: a page render recomputes them only when
# they are older than this (the scheduled job keeps them current).
ITEM_STATS_MAX_AGE = timedelta(hours=1)
WRITE_BATCH = 5000
PER_LEARNER_TABLES = (LearnerCompetencyTotal, LearnerWeekTotal, LearnerItemMonth)


def enabled() -> bool:
    """Pages read the pre-aggregates unless MEDTUTOR_ANALYTICS_AGGREGATES is False (the benchmark's baseline)."""
    return bool(getattr(settings, "MEDTUTOR_ANALYTICS_AGGREGATES", True))


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


# --- the outline: roots and ancestors -------------------------------------------------------------------

@dataclass(frozen=True)
class Outline:
    parent: dict[int, int | None]

    @classmethod
    def load(cls) -> Outline:
        from medtutor.content.models import Competency

        return cls(dict(Competency.objects.values_list("id", "parent_id")))

    def ancestors(self, competency_id: int | None) -> list[int]:
        """The competency and every node above it, nearest first."""
        out: list[int] = []
        node = competency_id
        while node is not None and node in self.parent and node not in out:
            out.append(node)
            node = self.parent[node]
        return out

    def root(self, competency_id: int | None) -> int | None:
        chain = self.ancestors(competency_id)
        return chain[-1] if chain else None


def signature() -> str:
    """Digest of how items are filed (competency, discipline) and of the outline's shape."""
    from medtutor.content.models import Competency, Item

    digest = hashlib.sha256()
    for row in Item.objects.order_by("id").values_list("id", "competency_id", "discipline_id").iterator(5000):
        digest.update(repr(row).encode())
    digest.update(b"|")
    for row in Competency.objects.order_by("id").values_list("id", "parent_id"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


# --- folding answers in ----------------------------------------------------------------------------------

@dataclass
class Folded:
    competency: dict[tuple, Totals]
    week: dict[tuple, Totals]
    item_month: dict[tuple, Totals]

    @property
    def months(self) -> set[date]:
        return {key[2] for key in self.item_month}

    @property
    def learners(self) -> set[int]:
        return {key[0] for key in self.competency}


def _measures() -> dict[str, Any]:
    return {"a": Count("id"), "c": Count("id", filter=Q(is_correct=True)), "s": Coalesce(Sum("seconds_taken"), 0)}


def fold(responses: Any, outline: Outline) -> Folded:
    """Group a queryset of answers into the three tables' keys (three GROUP BY queries)."""
    competency: dict[tuple, Totals] = defaultdict(Totals)
    for r in (responses.values("learner_id", "item_version__item__competency_id", "item_version__item__discipline_id")
              .annotate(**_measures()).order_by().iterator(20_000)):
        key = (r["learner_id"], r["item_version__item__competency_id"], r["item_version__item__discipline_id"])
        competency[key].merge(Totals(r["a"], r["c"], r["s"]))
    week: dict[tuple, Totals] = defaultdict(Totals)
    for r in (responses.annotate(day=TruncDate("answered_at"))
              .values("learner_id", "day", "item_version__item__competency_id")
              .annotate(**_measures()).order_by().iterator(20_000)):
        day = _as_date(r["day"])
        part = Totals(r["a"], r["c"], r["s"], 1 << day.weekday())
        week[(r["learner_id"], monday(day), True, None)].merge(part)
        week[(r["learner_id"], monday(day), False, outline.root(r["item_version__item__competency_id"]))].merge(part)
    item_month: dict[tuple, Totals] = defaultdict(Totals)
    for r in (responses.annotate(month=TruncMonth("answered_at")).values("learner_id", "item_version_id", "month")
              .annotate(a=Count("id"), c=Count("id", filter=Q(is_correct=True))).order_by().iterator(20_000)):
        item_month[(r["learner_id"], r["item_version_id"], month_start(_as_date(r["month"])))].merge(
            Totals(r["a"], r["c"]))
    return Folded(dict(competency), dict(week), dict(item_month))


def _merge_table(model: Any, folded: dict[tuple, Totals], key_fields: tuple[str, ...], value_fields: tuple[str, ...],
                 narrow: dict[str, Iterable]) -> int:
    """Add folded totals to stored rows (update, or insert the new keys); returns rows written."""
    if not folded:
        return 0
    existing = {}
    if model.objects.exists():   # an empty table (first build, rebuild) has nothing to merge with
        learners = sorted(narrow["learner_id"])
        others = {f"{k}__in": list(v) for k, v in narrow.items() if k != "learner_id"}
        for start in range(0, len(learners), 2000):   # bounded IN lists (SQLite's parameter limit)
            for row in model.objects.filter(learner_id__in=learners[start:start + 2000], **others).iterator(20_000):
                existing[tuple(getattr(row, f) for f in key_fields)] = row
    columns = list(value_fields) + (["active_days"] if "day_mask" in value_fields else [])
    to_update, to_insert = [], []
    for key, totals in folded.items():
        row = existing.get(key)
        if row is None:
            values = {"answers": totals.answers, "correct": totals.correct, "seconds": totals.seconds,
                      "day_mask": totals.day_mask, "active_days": totals.active_days}
            to_insert.append((*key, *(values[c] for c in columns)))
            continue
        stored = Totals(row.answers, row.correct, getattr(row, "seconds", 0) or 0, getattr(row, "day_mask", 0) or 0)
        stored.merge(totals)
        row.answers, row.correct = stored.answers, stored.correct
        if "seconds" in value_fields:
            row.seconds = stored.seconds
        if "day_mask" in value_fields:
            row.day_mask, row.active_days = stored.day_mask, stored.active_days
        to_update.append(row)
    if to_update:
        model.objects.bulk_update(to_update, columns, batch_size=WRITE_BATCH)
    insert_rows(model, [*key_fields, *columns], to_insert)
    return len(to_update) + len(to_insert)


def insert_rows(model: Any, columns: list[str], rows: list[tuple]) -> None:
    """Insert plain tuples: COPY on PostgreSQL (a rebuild writes hundreds of thousands), bulk_create elsewhere."""
    from django.db import connection

    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create((model(**dict(zip(columns, r, strict=True))) for r in rows), batch_size=WRITE_BATCH)
        return
    db_columns = ", ".join(f'"{model._meta.get_field(c.removesuffix("_id")).column}"' for c in columns)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{model._meta.db_table}" ({db_columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def write(folded: Folded) -> None:
    learners = folded.learners
    _merge_table(LearnerCompetencyTotal, folded.competency, ("learner_id", "competency_id", "discipline_id"),
                 ("answers", "correct", "seconds"), {"learner_id": learners})
    _merge_table(LearnerWeekTotal, folded.week, ("learner_id", "week", "whole", "root_id"),
                 ("answers", "correct", "seconds", "day_mask"),
                 {"learner_id": learners, "week": {k[1] for k in folded.week}})
    _merge_table(LearnerItemMonth, folded.item_month, ("learner_id", "item_version_id", "month"),
                 ("answers", "correct"), {"learner_id": learners, "month": folded.months})


# --- the refresh ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RefreshReport:
    folded_answers: int
    new_gaps: int
    excluded_removed: int
    readmitted: int
    item_months: int
    rebuilt: bool = False
    skipped: bool = False

    def describe(self) -> str:
        if self.skipped:
            return "skipped: another refresh is running"
        return (f"{'rebuilt; ' if self.rebuilt else ''}folded {self.folded_answers} answer(s), "
                f"{self.new_gaps} pending id(s), removed {self.excluded_removed} and re-admitted "
                f"{self.readmitted} student(s), item statistics for {self.item_months} month(s)")


def _excluded() -> set[int]:
    from medtutor.governance.privacy import analytics_excluded_user_ids

    return set(analytics_excluded_user_ids())


def _responses() -> Any:
    from medtutor.learning.models import ItemResponse

    return ItemResponse.objects.all()


def _months_of(learners: Iterable[int]) -> set[date]:
    learners = list(learners)
    if not learners:
        return set()
    return {month_start(_as_date(m)) for m in _responses().filter(learner_id__in=learners)
            .annotate(m=TruncMonth("answered_at")).values_list("m", flat=True).distinct().order_by()}


def _lock_state(wait: bool) -> AggregateState | None:
    AggregateState.objects.get_or_create(name=STATE)
    return AggregateState.objects.select_for_update(skip_locked=not wait).filter(name=STATE).first()


def refresh(*, item_stats: bool | None = True, wait: bool = True) -> RefreshReport:
    """Fold in new answers and apply exclusion changes; then item statistics for the touched months
    (`item_stats`: True always; None when exclusions changed or they are older than ITEM_STATS_MAX_AGE;
    False never)."""
    now = clock.now()
    with transaction.atomic():
        state = _lock_state(wait)
        if state is None:
            return RefreshReport(0, 0, 0, 0, 0, skipped=True)
        outline = Outline.load()
        dirty = {date.fromisoformat(m) for m in state.dirty_months}
        excluded = _excluded()
        before = set(state.excluded_user_ids)
        newly_excluded, readmitted = excluded - before, before - excluded
        if newly_excluded:
            dirty |= _months_of(newly_excluded)
            for model in PER_LEARNER_TABLES:
                model.objects.filter(learner_id__in=newly_excluded).delete()
        for model in PER_LEARNER_TABLES if readmitted else ():
            model.objects.filter(learner_id__in=readmitted).delete()  # none expected; never count twice

        old_watermark = state.last_response_id
        old_gaps = [g for g in state.pending_gaps if now - datetime.fromisoformat(g[1]) < GAP_WAIT]
        newest = _responses().aggregate(m=Max("id"))["m"] or 0
        gap_ids = [g[0] for g in old_gaps]
        found_gaps = set(_responses().filter(id__in=gap_ids).values_list("id", flat=True)) if gap_ids else set()
        new_range = Q(id__gt=old_watermark, id__lte=newest)
        gaps = [g for g in old_gaps if g[0] not in found_gaps]
        expected = newest - old_watermark
        if expected > 0 and _responses().filter(new_range).count() != expected:
            present = set(_responses().filter(new_range).values_list("id", flat=True))
            # the first refresh has no watermark: ids below the first answer are not waited for
            low = old_watermark + 1 if old_watermark else min(present, default=newest + 1)
            missing = (i for i in range(low, newest + 1) if i not in present)
            for i in missing:
                if len(gaps) >= MAX_GAPS:
                    break
                gaps.append([i, now.isoformat()])
        new_gap_count = len(gaps) - len([g for g in old_gaps if g[0] not in found_gaps])

        selection = new_range | Q(id__in=found_gaps) if found_gaps else new_range
        batch = _responses().filter(selection).exclude(learner_id__in=excluded)
        folded_count = batch.count()
        if folded_count:
            folded = fold(batch, outline)
            write(folded)
            dirty |= folded.months
        if readmitted:
            again = (_responses().filter(learner_id__in=readmitted, id__lte=old_watermark)
                     .exclude(id__in=gap_ids))
            folded = fold(again, outline)
            write(folded)
            dirty |= folded.months

        state.last_response_id = max(old_watermark, newest)
        state.pending_gaps = gaps
        state.excluded_user_ids = sorted(excluded)
        state.refreshed_at = now
        state.answers_folded += folded_count
        if not state.signature:
            state.signature = signature()
        # A change of who is excluded is applied to the item statistics at once (privacy), new answers
        # at most every ITEM_STATS_MAX_AGE when a page asks (the job does it every run).
        due = item_stats is True or (item_stats is None and bool(dirty) and (
            bool(newly_excluded or readmitted) or state.item_stats_at is None
            or now - state.item_stats_at > ITEM_STATS_MAX_AGE))
        months_done = 0
        if due and dirty:
            recompute_item_stats(sorted(dirty), outline)
            months_done = len(dirty)
            dirty = set()
            state.item_stats_at = now
        elif due:
            state.item_stats_at = now
        state.dirty_months = sorted(m.isoformat() for m in dirty)
        state.save()
    return RefreshReport(folded_count, max(0, new_gap_count), len(newly_excluded), len(readmitted), months_done)


def rebuild() -> RefreshReport:
    """Drop every aggregate and fold all answers in again (after items were re-filed)."""
    with transaction.atomic():
        _lock_state(wait=True)
        for model in (*PER_LEARNER_TABLES, ItemMonthStats, CompetencyMonthStats):
            model.objects.all().delete()
        AggregateState.objects.filter(name=STATE).update(
            last_response_id=0, pending_gaps=[], excluded_user_ids=[], dirty_months=[], signature=signature(),
            item_stats_at=None, answers_folded=0)
        report = refresh(item_stats=True)
    return RefreshReport(report.folded_answers, report.new_gaps, 0, 0, report.item_months, rebuilt=True)


def scheduled_refresh(now: datetime | None = None) -> str:
    """The job: rebuild when the filing changed, else refresh (item statistics included)."""
    state = AggregateState.objects.filter(name=STATE).first()
    if state is not None and state.signature and state.signature != signature():
        return rebuild().describe()
    return refresh(item_stats=True).describe()


def _state_and_newest() -> tuple[AggregateState | None, int]:
    """The state row and the newest answer id, in one query."""
    newest = Subquery(_responses().order_by("-id").values("id")[:1])
    state = AggregateState.objects.filter(name=STATE).annotate(newest=newest).first()
    if state is None:
        return None, _responses().aggregate(m=Max("id"))["m"] or 0
    return state, state.newest or 0


def is_stale(state: AggregateState | None = None, newest: int | None = None) -> bool:
    """Cheap: is there an answer above the watermark, a pending id that appeared, or an exclusion change?"""
    if state is None or newest is None:
        state, newest = _state_and_newest()
    if state is None:
        return True
    if newest > state.last_response_id:
        return True
    if set(state.excluded_user_ids) != _excluded():
        return True
    gap_ids = [g[0] for g in state.pending_gaps]
    return bool(gap_ids) and _responses().filter(id__in=gap_ids).exists()


def ensure_fresh(item_stats: bool | None = None) -> None:
    """What a page calls before reading the aggregates: refresh only when something changed."""
    if not enabled():
        return
    state, newest = _state_and_newest()
    stats_due = item_stats is None and state is not None and bool(state.dirty_months) and (
        state.item_stats_at is None or clock.now() - state.item_stats_at > ITEM_STATS_MAX_AGE)
    if stats_due or is_stale(state, newest):
        refresh(item_stats=item_stats, wait=False)


# --- item statistics (recomputed per month) -----------------------------------------------------------

def _version_filing(version_ids: Iterable[int]) -> dict[int, int | None]:
    from medtutor.content.models import ItemVersion

    ids = list(version_ids)
    out: dict[int, int | None] = {}
    for start in range(0, len(ids), 5000):
        out.update(ItemVersion.objects.filter(id__in=ids[start:start + 5000]).values_list("id", "item__competency_id"))
    return out


def compute_month(cells: list[Cell], filing: dict[int, int | None], outline: Outline,
                  month: date) -> tuple[list[ItemMonthStats], list[CompetencyMonthStats]]:
    """One month's item rows and competency rows (every ancestor pools its subtree's items)."""
    stats = item_statistics(cells)
    item_rows = [ItemMonthStats(item_version_id=s.item, month=month, students=s.students, answers=s.answers,
                                correct=s.correct, facility=s.facility, point_biserial=s.point_biserial,
                                upper_lower=s.upper_lower, discriminating_students=s.discriminating_students)
                 for s in stats.values()]
    students: dict[int, set[int]] = defaultdict(set)
    items: dict[int, list] = defaultdict(list)
    chains: dict[int | None, list[int]] = {}
    for cell in cells:
        competency = filing.get(cell.item)
        if competency not in chains:
            chains[competency] = outline.ancestors(competency)
        for node in chains[competency]:
            students[node].add(cell.learner)
    for item, s in stats.items():
        for node in chains.get(filing.get(item), []):
            items[node].append(s)
    competency_rows = []
    for node, group in items.items():
        pooled = pool_items(group, len(students[node]))
        competency_rows.append(CompetencyMonthStats(
            competency_id=node, month=month, students=pooled.students, answers=pooled.answers,
            correct=pooled.correct, items=pooled.items, facility=pooled.facility,
            mean_point_biserial=pooled.mean_point_biserial, mean_upper_lower=pooled.mean_upper_lower))
    return item_rows, competency_rows


def recompute_item_stats(months: Iterable[date], outline: Outline | None = None) -> None:
    outline = outline or Outline.load()
    for month in months:
        cells = [Cell(learner, item, a, c) for learner, item, a, c in LearnerItemMonth.objects.filter(month=month)
                 .values_list("learner_id", "item_version_id", "answers", "correct").iterator(20_000)]
        filing = _version_filing({c.item for c in cells})
        item_rows, competency_rows = compute_month(cells, filing, outline, month)
        ItemMonthStats.objects.filter(month=month).delete()
        CompetencyMonthStats.objects.filter(month=month).delete()
        ItemMonthStats.objects.bulk_create(item_rows, batch_size=WRITE_BATCH)
        CompetencyMonthStats.objects.bulk_create(competency_rows, batch_size=WRITE_BATCH)


def raw_item_stats(learner_ids: Iterable[int] | None = None) -> tuple[list[ItemMonthStats], list[CompetencyMonthStats]]:
    """The same statistics straight from the answers (unsaved rows): the benchmark's baseline and the
    tests' reference. Excluded students are left out, as in the refresh."""
    outline = Outline.load()
    qs = _responses().exclude(learner_id__in=_excluded())
    if learner_ids is not None:
        qs = qs.filter(learner_id__in=list(learner_ids))
    by_month: dict[date, list[Cell]] = defaultdict(list)
    for r in (qs.annotate(month=TruncMonth("answered_at")).values("learner_id", "item_version_id", "month")
              .annotate(a=Count("id"), c=Count("id", filter=Q(is_correct=True))).order_by().iterator(20_000)):
        by_month[month_start(_as_date(r["month"]))].append(Cell(r["learner_id"], r["item_version_id"], r["a"], r["c"]))
    items, competencies = [], []
    filing = _version_filing({c.item for cells in by_month.values() for c in cells})
    for month, cells in sorted(by_month.items()):
        a, b = compute_month(cells, filing, outline, month)
        items += a
        competencies += b
    return items, competencies


def snapshot() -> dict[str, list[tuple]]:
    """Every aggregate row as sorted tuples (tests compare an incremental refresh with a rebuild)."""
    def rows(model: Any, fields: list[str]) -> list[tuple]:
        return sorted((tuple(r) for r in model.objects.values_list(*fields)), key=repr)

    def rounded(values: list[tuple]) -> list[tuple]:
        return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in values]

    return {
        "competency": rows(LearnerCompetencyTotal, ["learner_id", "competency_id", "discipline_id", "answers",
                                                    "correct", "seconds"]),
        "week": rows(LearnerWeekTotal, ["learner_id", "week", "whole", "root_id", "answers", "correct", "seconds",
                                        "day_mask", "active_days"]),
        "item_month": rows(LearnerItemMonth, ["learner_id", "item_version_id", "month", "answers", "correct"]),
        "item_stats": rounded(rows(ItemMonthStats, ["item_version_id", "month", "students", "answers", "correct",
                                                    "facility", "point_biserial", "upper_lower",
                                                    "discriminating_students"])),
        "competency_stats": rounded(rows(CompetencyMonthStats, ["competency_id", "month", "students", "answers",
                                                                "correct", "items", "facility",
                                                                "mean_point_biserial", "mean_upper_lower"])),
    }


# --- a cohort's rows, read once per page -----------------------------------------------------------------

def _int_matrix(qs: Any, fields: list[str]) -> np.ndarray:
    """Integer columns of a queryset as an (n, len(fields)) array, fields never NULL. A dashboard reads
    tens of thousands of rows: PostgreSQL sends them as one text value (about twice as fast as rows)."""
    from django.db import connection

    sql, params = qs.values_list(*fields).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(f"c{i}" for i in range(len(fields)))
            cursor.execute(f"SELECT string_agg(concat_ws(',', {names}), ',') FROM ({sql}) AS rows ({names})", params)
            text = cursor.fetchone()[0] or ""
            flat = np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, dtype=np.int64)
            return flat.reshape(-1, len(fields))
        cursor.execute(sql, params)
        return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, len(fields))


def competency_rows(learner_ids: Any) -> np.ndarray:
    """Columns: learner, competency, discipline (-1: none), answers, correct, seconds."""
    missing = Value(-1)
    return _int_matrix(LearnerCompetencyTotal.objects.filter(learner_id__in=learner_ids).annotate(
        c=Coalesce("competency_id", missing), d=Coalesce("discipline_id", missing)),
        ["learner_id", "c", "d", "answers", "correct", "seconds"])


def week_rows(learner_ids: Any, *, by_root: bool) -> np.ndarray:
    """Columns: learner, week (date ordinal), whole (1/0), root (-1: none), answers, correct, seconds,
    active days; the per-system rows only when asked."""
    from django.db import connection

    qs = LearnerWeekTotal.objects.filter(learner_id__in=learner_ids).order_by()
    if not by_root:
        qs = qs.filter(whole=True)
    qs = qs.annotate(w=Cast("whole", IntegerField()), r=Coalesce("root_id", Value(-1)))
    if connection.vendor == "postgresql":
        # date minus date is a number of days on PostgreSQL: the proleptic ordinal of date.toordinal()
        table = LearnerWeekTotal._meta.db_table
        ordinal = RawSQL(f"(\"{table}\".\"week\" - DATE '0001-01-01') + 1", (), output_field=IntegerField())
        return _int_matrix(qs.annotate(o=ordinal),
                           ["learner_id", "o", "w", "r", "answers", "correct", "seconds", "active_days"])
    sql, params = qs.values_list("learner_id", "week", "w", "r", "answers", "correct", "seconds",
                                 "active_days").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ordinals = {w: _day(w).toordinal() for w in {r[1] for r in rows}}
    return np.array([(r[0], ordinals[r[1]], *r[2:]) for r in rows], dtype=np.int64).reshape(-1, 8)


def _day(value: Any) -> date:
    """A date from a raw cursor (SQLite gives ISO text)."""
    return date.fromisoformat(value) if isinstance(value, str) else _as_date(value)
