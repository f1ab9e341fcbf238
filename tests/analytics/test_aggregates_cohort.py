"""The cohort dashboard on the pre-aggregates: the same figures as from raw answers (every filter),
fresh after new answers, and students excluded from analytics counted nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from medtutor.analytics import cohort_services as services
from medtutor.analytics.models import LearnerCompetencyTotal
from medtutor.analytics.synthetic_services import simulate_cohort
from medtutor.governance import privacy
from medtutor.learning.models import ItemResponse

START = datetime(2026, 9, 7, tzinfo=UTC)


@pytest.fixture
def cohort(db, faculty):
    return simulate_cohort(40, 3, seed=31, start=START, faculty=faculty).cohort


def _figures(board):
    return (board.allowed, board.summary, board.by_system, board.by_topic, board.by_discipline, board.weekly,
            board.histogram, board.active_days, board.engagement)


def _filters(cohort):
    filters = [services.Filter(), *(services.Filter(system=s) for s in services.system_options(cohort))]
    for attribute, values in services.subgroup_options(cohort).items():
        filters += [services.Filter(attribute=attribute, value=v) for v in (*values, services.NOT_RECORDED)]
    return filters


def test_pre_aggregated_dashboard_equals_the_raw_one(cohort, settings):
    filters = _filters(cohort)
    assert len(filters) > 5
    ours = {f: _figures(services.dashboard(cohort, f)) for f in filters}
    assert LearnerCompetencyTotal.objects.exists()       # the dashboard refreshed the aggregates itself
    settings.MEDTUTOR_ANALYTICS_AGGREGATES = False
    raw = {f: _figures(services.dashboard(cohort, f)) for f in filters}
    for f in filters:
        assert ours[f] == raw[f], f


def test_new_answers_show_at_the_next_render(cohort):
    before = services.dashboard(cohort).summary.answers
    learner = cohort.members.filter(role="student").first()
    first = ItemResponse.objects.filter(learner=learner).first()
    ItemResponse.objects.create(learner=learner, item_version=first.item_version, chosen_index=0, is_correct=True,
                                client_token="late-1", answered_at=START + timedelta(days=20), seconds_taken=5)
    assert services.dashboard(cohort).summary.answers == before + 1


def test_opted_out_and_deleted_students_count_nowhere(client, cohort, faculty, admin_user):
    # Students who answered first (a synthetic student may drop out before answering anything), then the rest.
    members = list(cohort.members.filter(role="student").order_by("username"))
    answered = set(ItemResponse.objects.filter(learner__in=members).values_list("learner_id", flat=True))
    students = sorted(members, key=lambda s: s.pk not in answered)  # stable: username order within each group
    opted, deleted = students[0], students[1]
    whole = services.dashboard(cohort)
    privacy.set_analytics_opt_out(opted, True)
    privacy.confirm_deletion(privacy.request_deletion(deleted).pk, admin_user)
    kept = ItemResponse.objects.filter(learner__in=[opted, deleted]).count()
    assert kept > 0   # answers are kept for item statistics, but not for analytics
    board = services.dashboard(cohort)
    expected = ItemResponse.objects.filter(learner__in=students[2:])
    assert board.summary.answers == expected.count() == whole.summary.answers - kept
    assert board.summary.n == whole.summary.n - 2
    assert sum(r.n for r in board.histogram if not r.suppressed) <= whole.summary.n - 2
    for filt in _filters(cohort)[1:4]:
        assert services.dashboard(cohort, filt) is not None
    client.force_login(faculty)
    assert client.get(reverse("cohort_student", args=[cohort.pk, opted.pk])).status_code == 404
    assert client.get(reverse("cohort_student", args=[cohort.pk, students[2].pk])).status_code == 200
    listing = client.get(reverse("cohort_students", args=[cohort.pk])).content.decode()
    assert listing.count("opted out of analytics") == 1   # the deleted student left the cohort
    assert reverse("cohort_student", args=[cohort.pk, opted.pk]) not in listing
    assert not LearnerCompetencyTotal.objects.filter(learner__in=[opted, deleted]).exists()
