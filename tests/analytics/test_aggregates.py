"""Pre-aggregated answer tables: hand-checked values, incremental refresh = rebuild, idempotence,
pending ids, opt-out and deletion."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from medtutor.analytics import aggregates
from medtutor.analytics.models import (
    AggregateState,
    CompetencyMonthStats,
    ItemMonthStats,
    LearnerCompetencyTotal,
    LearnerItemMonth,
    LearnerWeekTotal,
)
from medtutor.content.models import Competency, Discipline, Item
from medtutor.governance import privacy
from medtutor.learning.models import ItemResponse
from tests.analytics.aggregate_fixtures import MONDAY, answer, make_items


@pytest.fixture
def bank(outline, faculty):
    return make_items(faculty)


@pytest.fixture
def learners(make_user):
    return [make_user(f"agg-{n}") for n in range(3)]


def _competency(code):
    return Competency.objects.get(code=code).pk


def test_hand_computed_rows(bank, learners):
    a, b, _ = learners
    answer(a, bank["q-hf-1"], True, MONDAY, 30)
    answer(a, bank["q-hf-1"], False, MONDAY + timedelta(hours=2), 50)
    answer(a, bank["q-hf-2"], True, MONDAY + timedelta(days=2), 20)        # Wednesday
    answer(a, bank["q-asthma"], True, MONDAY + timedelta(days=8), None)    # next Tuesday, 1 December
    answer(b, bank["q-none"], False, MONDAY + timedelta(days=6), 10)       # Sunday
    report = aggregates.refresh()
    assert report.folded_answers == 5
    pharm, phys = Discipline.objects.get(code="pharm").pk, Discipline.objects.get(code="phys").pk
    totals = {(r.learner_id, r.competency_id, r.discipline_id): (r.answers, r.correct, r.seconds)
              for r in LearnerCompetencyTotal.objects.all()}
    assert totals == {(a.pk, _competency("cardio.hf"), pharm): (2, 1, 80),
                      (a.pk, _competency("cardio.hf"), phys): (1, 1, 20),
                      (a.pk, _competency("resp.asthma"), pharm): (1, 1, 0),
                      (b.pk, None, None): (1, 0, 10)}
    weeks = {(r.learner_id, r.week, r.whole, r.root_id): (r.answers, r.correct, r.day_mask, r.active_days)
             for r in LearnerWeekTotal.objects.all()}
    w1, w2 = date(2026, 11, 23), date(2026, 11, 30)
    assert weeks == {(a.pk, w1, True, None): (3, 2, 0b101, 2),                   # Monday and Wednesday
                     (a.pk, w1, False, _competency("cardio")): (3, 2, 0b101, 2),
                     (a.pk, w2, True, None): (1, 1, 0b10, 1),
                     (a.pk, w2, False, _competency("resp")): (1, 1, 0b10, 1),
                     (b.pk, w1, True, None): (1, 0, 0b1000000, 1),
                     (b.pk, w1, False, None): (1, 0, 0b1000000, 1)}              # unfiled item: no system
    months = {(r.learner_id, r.item_version_id, r.month): (r.answers, r.correct) for r in LearnerItemMonth.objects.all()}
    assert months[(a.pk, bank["q-hf-1"].current_version_id, date(2026, 11, 1))] == (2, 1)
    assert months[(a.pk, bank["q-asthma"].current_version_id, date(2026, 12, 1))] == (1, 1)
    assert len(months) == 4
    stats = {(r.item_version_id, r.month): (r.students, r.answers, r.correct, r.facility)
             for r in ItemMonthStats.objects.all()}
    assert stats[(bank["q-hf-1"].current_version_id, date(2026, 11, 1))] == (1, 2, 1, 0.5)
    cardio = CompetencyMonthStats.objects.get(competency_id=_competency("cardio"), month=date(2026, 11, 1))
    assert (cardio.students, cardio.answers, cardio.correct, cardio.items) == (1, 3, 2, 2)
    state = AggregateState.objects.get(name=aggregates.STATE)
    assert state.last_response_id == ItemResponse.objects.order_by("-id").first().pk
    assert state.dirty_months == [] and state.item_stats_at is not None


def _many(bank, learners, start, n=12):
    items = [bank["q-hf-1"], bank["q-hf-2"], bank["q-asthma"], bank["q-none"]]
    for k in range(n):
        learner = learners[k % len(learners)]
        answer(learner, items[(k * 7) % 4], (k * 5) % 3 != 0, start + timedelta(hours=13 * k), 10 + k)


def test_incremental_refresh_equals_rebuild_and_is_idempotent(bank, learners, make_user):
    _many(bank, learners, MONDAY)
    aggregates.refresh()
    first = aggregates.snapshot()
    assert aggregates.refresh().folded_answers == 0          # nothing new: nothing changes
    assert aggregates.snapshot() == first
    late = make_user("agg-late")
    _many(bank, [*learners, late], MONDAY + timedelta(days=5), n=20)   # new weeks, a new month, a new student
    report = aggregates.refresh()
    assert report.folded_answers == 20
    incremental = aggregates.snapshot()
    assert incremental != first
    aggregates.rebuild()
    assert aggregates.snapshot() == incremental
    assert sum(r[3] for r in incremental["competency"]) == ItemResponse.objects.count()


def test_item_statistics_match_a_computation_from_raw_answers(bank, learners, make_user):
    more = [*learners, *(make_user(f"agg-x{n}") for n in range(5))]
    _many(bank, more, MONDAY, n=60)
    aggregates.refresh()
    items, competencies = aggregates.raw_item_stats()
    raw = sorted(((r.item_version_id, r.month, r.students, r.answers, r.correct, round(r.facility, 9),
                   None if r.point_biserial is None else round(r.point_biserial, 9)) for r in items), key=repr)
    stored = sorted(((r.item_version_id, r.month, r.students, r.answers, r.correct, round(r.facility, 9),
                      None if r.point_biserial is None else round(r.point_biserial, 9))
                     for r in ItemMonthStats.objects.all()), key=repr)
    assert raw == stored and stored
    assert len(competencies) == CompetencyMonthStats.objects.count()


def test_a_pending_id_is_folded_in_when_it_appears(bank, learners):
    a = learners[0]
    first = answer(a, bank["q-hf-1"], True, MONDAY)
    late = answer(a, bank["q-hf-1"], True, MONDAY + timedelta(hours=1))
    last = answer(a, bank["q-hf-2"], False, MONDAY + timedelta(hours=2))
    fields = {f.attname: getattr(late, f.attname) for f in ItemResponse._meta.concrete_fields}
    late.delete()   # as if its transaction had not committed yet when the refresh ran
    report = aggregates.refresh()
    assert report.folded_answers == 2 and report.new_gaps == 1
    state = AggregateState.objects.get(name=aggregates.STATE)
    assert state.last_response_id == last.pk and [g[0] for g in state.pending_gaps] == [fields["id"]]
    assert aggregates.is_stale() is False
    ItemResponse.objects.create(**fields)   # ...and now it commits, below the watermark
    assert aggregates.is_stale() is True
    assert aggregates.refresh().folded_answers == 1
    assert AggregateState.objects.get(name=aggregates.STATE).pending_gaps == []
    row = LearnerCompetencyTotal.objects.get(learner=a, competency__code="cardio.hf", discipline__code="pharm")
    assert (row.answers, row.correct) == (2, 2)
    assert first.pk < fields["id"] < last.pk


def test_opted_out_students_leave_the_aggregates_and_come_back(bank, learners):
    _many(bank, learners, MONDAY, n=18)
    aggregates.refresh()
    everyone = aggregates.snapshot()
    leaver = learners[1]
    privacy.set_analytics_opt_out(leaver, True)
    assert aggregates.is_stale()
    report = aggregates.refresh()
    assert report.excluded_removed == 1
    for model in (LearnerCompetencyTotal, LearnerWeekTotal, LearnerItemMonth):
        assert not model.objects.filter(learner=leaver).exists()
    answer(leaver, bank["q-hf-1"], True, MONDAY + timedelta(days=1))   # new answers are not folded in either
    aggregates.refresh()
    assert not LearnerCompetencyTotal.objects.filter(learner=leaver).exists()
    assert sum(r.students for r in ItemMonthStats.objects.filter(item_version=bank["q-hf-1"].current_version)) == 2
    without = aggregates.snapshot()
    aggregates.rebuild()
    assert aggregates.snapshot() == without
    privacy.set_analytics_opt_out(leaver, False)
    assert aggregates.refresh().readmitted == 1
    back = aggregates.snapshot()
    aggregates.rebuild()
    assert aggregates.snapshot() == back
    assert back["competency"] != everyone["competency"]   # the answer given while opted out counts now


def test_deletion_removes_personal_aggregates(bank, learners, admin_user):
    _many(bank, learners, MONDAY, n=9)
    aggregates.refresh()
    gone = learners[2]
    assert LearnerWeekTotal.objects.filter(learner=gone).exists()
    request = privacy.request_deletion(gone)
    privacy.confirm_deletion(request.pk, admin_user)
    for model in (LearnerCompetencyTotal, LearnerWeekTotal, LearnerItemMonth):
        assert not model.objects.filter(learner=gone).exists()   # privacy.POLICY: DELETE
    aggregates.refresh()   # the kept (anonymised) answers are never folded in again
    for model in (LearnerCompetencyTotal, LearnerWeekTotal, LearnerItemMonth):
        assert not model.objects.filter(learner=gone).exists()
    assert ItemResponse.objects.filter(learner=gone).exists()
    items, _ = aggregates.raw_item_stats()
    assert sum(r.answers for r in items) == sum(r.answers for r in ItemMonthStats.objects.all())


def test_ensure_fresh_only_refreshes_when_something_changed(bank, learners, django_assert_max_num_queries):
    _many(bank, learners, MONDAY, n=6)
    aggregates.ensure_fresh()
    assert LearnerCompetencyTotal.objects.exists()
    with django_assert_max_num_queries(6):
        aggregates.ensure_fresh()
    answer(learners[0], bank["q-asthma"], True, MONDAY + timedelta(days=3))
    aggregates.ensure_fresh()
    assert AggregateState.objects.get(name=aggregates.STATE).last_response_id == ItemResponse.objects.latest("id").pk


def test_the_job_rebuilds_when_items_are_refiled(bank, learners):
    from medtutor.core.jobs import JOBS

    job = next(j for j in JOBS if j.name == "analytics.refresh_aggregates")
    _many(bank, learners, MONDAY, n=8)
    assert "folded 8 answer(s)" in job.run(MONDAY)
    moved = Item.objects.get(external_id="q-none")
    moved.competency = Competency.objects.get(code="resp.asthma")
    moved.save(update_fields=["competency"])
    assert job.run(MONDAY).startswith("rebuilt")
    assert not LearnerCompetencyTotal.objects.filter(competency__isnull=True).exists()
