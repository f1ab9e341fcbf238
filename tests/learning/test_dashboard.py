"""The student dashboard's numbers on a small hand-made history."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from medtutor.accounts.models import Cohort, Role
from medtutor.learning import dashboard
from medtutor.learning.models import ItemResponse
from medtutor.learning.practice import DEFAULT_BKT

NOW = datetime(2025, 3, 5, 12, tzinfo=UTC)   # a Wednesday; the week began Monday 3 March


def answer(learner, item, at, correct=True, n=1, seconds=None, tag="a"):
    for i in range(n):
        ItemResponse.objects.create(learner=learner, item_version=item.current_version, chosen_index=0,
                                    is_correct=correct, client_token=f"{tag}-{learner.pk}-{at.isoformat()}-{i}",
                                    answered_at=at + timedelta(seconds=i), seconds_taken=seconds)


@pytest.fixture
def history(student, item):
    answer(student, item, NOW - timedelta(days=1), correct=True, n=3, seconds=60, tag="w0")    # this week
    answer(student, item, NOW - timedelta(days=8), correct=False, n=2, seconds=30, tag="w1")   # last week
    answer(student, item, NOW - timedelta(days=70), correct=True, n=1, seconds=None, tag="old")  # > 8 weeks ago
    return student


def test_topics_systems_and_weakest(history, item):
    topics = {r.code: r for r in dashboard.topic_rows(history)}
    assert topics["cardio.hf"].answered == 6 and topics["cardio.hf"].correct == 4
    assert topics["resp.asthma"].answered == 0 and topics["resp.asthma"].mastery == DEFAULT_BKT.prior
    assert 0 < topics["cardio.hf"].uncertainty < topics["resp.asthma"].uncertainty
    weakest = dashboard.weakest(list(topics.values()))
    assert [r.code for r in weakest] == ["cardio.hf"]          # only topics with an answer
    systems = {s.code: s for s in dashboard.system_rows(list(topics.values()), {"cardio": 2.0, "resp": 1.0})}
    assert systems["cardio"].mastery == topics["cardio.hf"].mastery
    assert 0 <= systems["resp"].low < systems["resp"].mastery < systems["resp"].high <= 1


def test_weekly_trend_and_time_on_task(history):
    trend = dashboard.weekly_trend(history, now=NOW)
    assert len(trend) == 8 and trend[-1].start == datetime(2025, 3, 3, tzinfo=UTC)
    assert (trend[-1].answered, trend[-1].correct, trend[-1].percent) == (3, 3, 100)
    assert (trend[-2].answered, trend[-2].percent) == (2, 0)
    assert sum(w.answered for w in trend) == 5 and trend[0].percent is None
    assert dashboard.time_on_task(history, now=NOW) == {"week_seconds": 180, "total_seconds": 240,
                                                        "week_minutes": 3, "total_minutes": 4}


def test_predicted_score_is_the_weighted_mean_with_a_clipped_interval(history):
    topics = dashboard.topic_rows(history)
    by_code = {r.code: r for r in topics}
    prediction = dashboard.predicted_score(topics, {"cardio": 2.0, "resp": 1.0})
    expected = (2 * by_code["cardio.hf"].mastery + by_code["resp.asthma"].mastery) / 3
    se = math.sqrt((2 / 3) ** 2 * by_code["cardio.hf"].uncertainty ** 2 + (1 / 3) ** 2 * by_code["resp.asthma"].uncertainty ** 2)
    assert prediction.score == round(100 * expected, 1)
    assert prediction.low == round(100 * max(0.0, expected - 1.96 * se), 1)
    assert prediction.high == round(100 * min(1.0, expected + 1.96 * se), 1)
    assert 0 <= prediction.low <= prediction.score <= prediction.high <= 100
    assert (prediction.topics, prediction.practised) == (2, 1)
    # zero weight on the practised system: only the prior counts
    only_resp = dashboard.predicted_score(topics, {"cardio": 0.0, "resp": 1.0})
    assert only_resp.score == round(100 * DEFAULT_BKT.prior, 1)
    assert only_resp.low == 0.0 and only_resp.high <= 100   # clipped
    assert dashboard.predicted_score(topics, {"cardio": 0.0, "resp": 0.0}) is None


def test_predicted_score_bounds_hold_for_extreme_histories(student, item):
    answer(student, item, NOW - timedelta(days=1), correct=True, n=60, tag="many")
    prediction = dashboard.predicted_score(dashboard.topic_rows(student), {"cardio": 1.0, "resp": 0.0})
    assert prediction.score > 95 and prediction.high == 100.0 and prediction.low < prediction.score


def _cohort_with(make_user, item, student, sizes):
    cohort = Cohort.objects.create(code="c1", name="Class of 2028")
    cohort.members.add(student)
    answer(student, item, NOW - timedelta(days=1), correct=True, n=5, tag="me")
    for k, (n, right) in enumerate(sizes):
        peer = make_user(f"peer{k}", Role.STUDENT)
        cohort.members.add(peer)
        answer(peer, item, NOW - timedelta(days=1), correct=True, n=right, tag="r")
        answer(peer, item, NOW - timedelta(days=1), correct=False, n=n - right, tag="w")
    return cohort


def test_percentile_is_suppressed_under_five_students(make_user, student, item):
    # four peers, but one has only four answers: three eligible peers + the student = 4 < 5
    _cohort_with(make_user, item, student, [(5, 1), (5, 2), (6, 6), (4, 0)])
    [result] = dashboard.cohort_percentiles(student)
    assert result.suppressed and result.percentile is None and result.members == 4


def test_percentile_among_members_with_enough_answers(make_user, student, item):
    _cohort_with(make_user, item, student, [(5, 1), (5, 2), (6, 6), (10, 5), (3, 0)])
    [result] = dashboard.cohort_percentiles(student)
    # eligible: me 100 %, 20 %, 40 %, 100 %, 50 % -> 3 below, 2 tied (me included) -> (3 + 1) / 5
    assert not result.suppressed and result.members == 5 and result.percentile == 80


def test_percentile_hidden_for_a_student_with_few_answers(make_user, student, item):
    cohort = Cohort.objects.create(code="c2", name="Small")
    cohort.members.add(student)
    for k in range(6):
        peer = make_user(f"p{k}", Role.STUDENT)
        cohort.members.add(peer)
        answer(peer, item, NOW, n=5, tag="p")
    [result] = dashboard.cohort_percentiles(student)
    assert result.suppressed


def test_home_page_shows_the_dashboard(client, history, make_user):
    client.force_login(history)
    response = client.get("/")
    assert response.status_code == 200 and response.context["answered"] == 6
    html = response.content.decode()
    assert 'id="chart-systems"' in html and 'id="table-systems"' in html and 'id="table-trend"' in html
    assert "<meter" in html and "± " in html and "estimate" in html
    assert "/practice/?competency=cardio.hf" in html
    data = json.loads(html.split('id="chart-systems-data" type="application/json">')[1].split("</script>")[0])
    assert data["labels"] == ["Cardiovascular", "Respiratory"] and len(data["low"]) == 2
    assert ' style="' not in html and "onclick" not in html   # CSP: no inline styles or handlers
