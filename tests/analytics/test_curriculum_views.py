"""Curriculum analytics page: roles, what it shows, suppression, CSV export, bad input, opt-out."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from medtutor.accounts.models import Cohort
from medtutor.analytics import curriculum_services as services
from medtutor.content.models import Competency, LearningObjective
from medtutor.content.services import save_item
from medtutor.governance import privacy
from medtutor.simulation.models import Case
from tests.analytics.aggregate_fixtures import MONDAY, answer, make_items
from tests.conftest import make_record


@pytest.fixture
def school(outline, faculty, make_user):
    """Cohort A (faculty a member) and cohort B (not), 7 students each, answering three filed items;
    the unfiled item is answered by 2 students only; an item on cardio.hf.3 is never answered."""
    bank = make_items(faculty)
    cardio_hf = Competency.objects.get(code="cardio.hf")
    LearningObjective.objects.create(code="cardio.hf.2", competency=cardio_hf,
                                     text="Name the drugs that lower mortality in HFrEF.")
    LearningObjective.objects.create(code="cardio.hf.3", competency=cardio_hf, text="Recognise digoxin toxicity.")
    save_item(None, make_record("q-hf-3", objective="cardio.hf.3", stem="An 80-year-old on digoxin sees yellow."),
              actor=faculty)
    Competency.objects.create(code="renal", name="Renal", kind="system", weight=1.0)
    cohorts = {}
    for name in ("a", "b"):
        cohort = Cohort.objects.create(code=f"md-{name}", name=f"MD cohort {name.upper()}", year=2026)
        students = [make_user(f"{name}-stu-{n}") for n in range(7)]
        cohort.members.add(*students)
        for n, s in enumerate(students):
            answer(s, bank["q-hf-1"], n % 2 == 0, MONDAY + timedelta(hours=n))
            answer(s, bank["q-hf-2"], n % 3 == 0, MONDAY + timedelta(hours=n, minutes=5))
            answer(s, bank["q-asthma"], name == "a" or n < 2, MONDAY + timedelta(hours=n, minutes=9))
        for s in students[:1]:
            answer(s, bank["q-none"], True, MONDAY + timedelta(days=1))
        cohorts[name] = cohort
    cohorts["a"].members.add(faculty)
    return cohorts


def test_roles(client, school, student, faculty, admin_user):
    url = reverse("curriculum_analytics")
    export = reverse("curriculum_export")
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get(export).status_code == 302
    client.force_login(student)
    assert client.get(url).status_code == 403
    assert client.get(export).status_code == 403
    client.force_login(faculty)
    assert client.get(url).status_code == 200
    assert client.get(url, {"cohort": school["b"].pk}).status_code == 404   # not theirs: no hint it exists
    client.force_login(admin_user)
    assert client.get(url, {"cohort": school["b"].pk}).status_code == 200


def test_faculty_see_only_their_cohorts_where_they_struggle(school, faculty, admin_user):
    mine = services.page(faculty)
    assert {s.group for s in mine.struggle.rows} == {"md-a"} and mine.struggle.cohorts == 1
    everyone = services.page(admin_user)
    assert {s.group for s in everyone.struggle.rows} == {"md-a", "md-b"}
    worst = everyone.struggle.rows[0]
    # cohort B answered the asthma item correctly 2 times out of 7: the lowest accuracy
    assert (worst.group, worst.key, worst.students, worst.answers, worst.accuracy) == ("md-b", "resp", 7, 7, 28.6)
    assert all(s.students >= 5 for s in everyone.struggle.rows)


def test_page_shows_coverage_items_and_never_assessed_objectives(client, school, admin_user):
    Case.objects.create(slug="wheeze", title="Wheeze", data={"tags": ["respiratory", "emergency"]},
                        created_at=timezone.now(), updated_at=timezone.now())
    client.force_login(admin_user)
    html = client.get(reverse("curriculum_analytics")).content.decode()
    for table in ("table-coverage", "table-difficulty", "table-items", "table-struggle", "table-objectives"):
        assert f'id="{table}"' in html
    assert 'id="chart-curriculum-coverage-data"' in html and 'id="chart-curriculum-difficulty-data"' in html
    report = services.page(admin_user)
    coverage = {r.code: r for r in report.coverage}
    assert coverage["renal"].flags == ("items", "cases")  # none while a sibling has some
    assert coverage["resp"].counts["cases"] == 1 and coverage["cardio"].counts["cases"] == 0
    assert coverage["cardio"].counts["items"] >= 2
    status = {o.objective.code: o.status for o in report.objectives}
    assert status["cardio.hf.2"] == "no item" and status["cardio.hf.3"] == "no answers"
    assert status["cardio.hf.1"] == "assessed" and status["resp.asthma.1"] == "assessed"
    assert 'data-objective="cardio.hf.2"' in html and 'data-objective="cardio.hf.1"' not in html
    assert [f"{m:%Y-%m}" for m in report.months] == ["2026-11"]
    items = {i.external_id: i for i in report.items}
    assert items["q-hf-1"].cell.students == 14 and items["q-hf-1"].cell.facility == 57.1   # 8 of 14
    assert items["q-none"].cell.suppressed                  # 2 students
    assert "data-suppressed" in html


def test_csv_export(client, school, admin_user, faculty):
    client.force_login(admin_user)
    response = client.get(reverse("curriculum_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "# medtutor curriculum analytics" and "min_cell=5" in rows[0]
    sections = {r[0] for r in rows[2:]}
    assert {"coverage", "difficulty", "item", "struggle", "objective"} <= sections
    none_row = next(r for r in rows if r[0] == "item" and r[1].startswith("q-none"))
    assert none_row[4] == "suppressed" and none_row[5] == "suppressed"
    for username in ("a-stu-0", "b-stu-3", "adm"):
        assert username not in body
    client.force_login(faculty)
    mine = client.get(reverse("curriculum_export")).content.decode()
    assert "md-b" not in mine and "md-a" in mine


@pytest.mark.parametrize("query", [{"month": "2026-13"}, {"month": "nov"}, {"month": "2020-01"},
                                   {"cohort": "abc"}, {"cohort": "-1"}])
def test_bad_input_is_a_clear_400(client, school, admin_user, query):
    client.force_login(admin_user)
    response = client.get(reverse("curriculum_analytics"), query)
    assert response.status_code == 400
    assert "alert-error" in response.content.decode()
    assert client.get(reverse("curriculum_export"), query).status_code == 400


def test_opted_out_students_are_not_counted(school, admin_user):
    before = services.page(admin_user)
    leaver = school["a"].members.get(username="a-stu-0")
    privacy.set_analytics_opt_out(leaver, True)
    after = services.page(admin_user)
    item_before = {i.external_id: i.cell for i in before.items}["q-hf-1"]
    item_after = {i.external_id: i.cell for i in after.items}["q-hf-1"]
    assert (item_before.students, item_after.students) == (14, 13)
    assert {(s.group, s.key): s.students for s in after.struggle.rows}[("md-a", "cardio")] == 6
    assert {i.external_id: i.cell for i in after.items}["q-none"].suppressed


def test_same_figures_without_the_pre_aggregates(school, admin_user, settings):
    ours = services.page(admin_user)
    settings.MEDTUTOR_ANALYTICS_AGGREGATES = False
    raw = services.page(admin_user)
    assert ours.items == raw.items
    assert [(r.code, r.cells) for r in ours.difficulty] == [(r.code, r.cells) for r in raw.difficulty]
    assert ours.struggle.rows == raw.struggle.rows
    assert [o.status for o in ours.objectives] == [o.status for o in raw.objectives]
