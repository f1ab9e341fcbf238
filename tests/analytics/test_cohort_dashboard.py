"""Cohort dashboard: who may see it, what it shows, and that no cell under 5 students leaks."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from medtutor.accounts.models import Cohort, SubgroupAttribute
from medtutor.analytics import cohort_services as services
from medtutor.analytics.engine.cohort import MIN_CELL
from medtutor.analytics.synthetic_services import simulate_cohort

START = datetime(2026, 9, 7, tzinfo=UTC)


@pytest.fixture
def synthetic(db, faculty):
    """60 synthetic students x 6 weeks, with `faculty` a member; 3 students moved to sex=other."""
    result = simulate_cohort(60, 6, seed=21, start=START, faculty=faculty)
    cohort = result.cohort
    students = list(cohort.members.filter(role="student").order_by("username"))
    SubgroupAttribute.objects.filter(user__in=students[:3], attribute="sex").update(value="other")
    return cohort


@pytest.fixture
def small(db, faculty):
    """A quicker cohort for permission and input checks: 20 students x 2 weeks."""
    return simulate_cohort(20, 2, seed=22, start=START, faculty=faculty).cohort


def _login(client, user):
    client.force_login(user)


# --- permissions -----------------------------------------------------------------------------------

def test_roles_and_cohort_membership(client, small, student, make_user, admin_user):
    url = reverse("cohort_dashboard", args=[small.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    _login(client, student)
    for name, args in (("cohort_analytics", []), ("cohort_dashboard", [small.pk]),
                       ("cohort_export", [small.pk]), ("cohort_students", [small.pk])):
        assert client.get(reverse(name, args=args)).status_code == 403
    stranger = make_user("fac-other", "faculty")
    Cohort.objects.create(code="other", name="Another cohort").members.add(stranger)
    _login(client, stranger)
    assert client.get(url).status_code == 404
    assert client.get(reverse("cohort_export", args=[small.pk])).status_code == 404
    learner = small.members.filter(role="student").first()
    assert client.get(reverse("cohort_student", args=[small.pk, learner.pk])).status_code == 404
    assert small.name not in client.get(reverse("cohort_analytics")).content.decode()
    _login(client, admin_user)
    assert client.get(url).status_code == 200


def test_faculty_sees_their_cohort_and_drills_down(client, small, faculty, student):
    _login(client, faculty)
    listing = client.get(reverse("cohort_analytics")).content.decode()
    assert small.name in listing and "synthetic" in listing
    page = client.get(reverse("cohort_dashboard", args=[small.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for heading in ("Performance by organ system", "Performance by topic", "Performance by discipline",
                    "Score distribution", "Weekly trends", "Engagement", "Comparison"):
        assert heading in html
    assert "Synthetic cohort: generated students" in html
    assert 'id="chart-cohort-weekly-data"' in html and "<table" in html
    learner = small.members.filter(role="student").order_by("username").first()
    drill = client.get(reverse("cohort_student", args=[small.pk, learner.pk])).content.decode()
    assert services.pseudonym(learner.pk) in drill and learner.name in drill
    # a student who is not in this cohort: 404, even for its faculty
    assert client.get(reverse("cohort_student", args=[small.pk, student.pk])).status_code == 404


def test_bad_filter_is_a_clear_400(client, small, faculty):
    _login(client, faculty)
    url = reverse("cohort_dashboard", args=[small.pk])
    response = client.get(url, {"group": "sex=unicorn"})
    assert response.status_code == 400 and "group: unknown subgroup" in response.content.decode()
    assert client.get(url, {"compare": "abc"}).status_code == 400
    assert client.get(url, {"group": "sex=female", "system": "x"}).status_code == 400
    assert client.get(reverse("cohort_export", args=[small.pk]), {"system": "nope"}).status_code == 400


# --- what it shows ---------------------------------------------------------------------------------

def test_aggregates_match_the_data(synthetic):
    from medtutor.learning.models import ItemResponse

    board = services.dashboard(synthetic)
    responses = ItemResponse.objects.filter(learner__cohorts=synthetic)
    assert board.summary.answers == responses.count()
    assert board.summary.accuracy == round(100 * responses.filter(is_correct=True).count() / responses.count(), 1)
    assert sum(r.answers for r in board.weekly if not r.suppressed) <= board.summary.answers
    assert len(board.weekly) == 6
    assert board.engagement["median_active_days"] > 0


def test_comparison_with_previous_year(synthetic, faculty):
    older = simulate_cohort(30, 2, seed=5, code="older", start=START, faculty=faculty, year=synthetic.year - 1).cohort
    other, rows = services.comparison(faculty, synthetic, None)
    assert other == older
    assert rows[0]["mine"].answers and rows[0]["theirs"].answers


# --- suppression and differencing -------------------------------------------------------------------

TABLES = ("by_system", "by_topic", "by_discipline", "weekly", "histogram", "active_days")


def test_small_subgroup_is_never_shown(client, synthetic, faculty):
    board = services.dashboard(synthetic, services.parse_filter(synthetic, "sex=other"))
    assert not board.allowed and board.summary is None
    _login(client, faculty)
    page = client.get(reverse("cohort_dashboard", args=[synthetic.pk]), {"group": "sex=other"}).content.decode()
    assert "data-filter-suppressed" in page
    exported = client.get(reverse("cohort_export", args=[synthetic.pk]), {"group": "sex=other"}).content.decode()
    assert "suppressed" in exported and "All answers" not in exported


@pytest.mark.parametrize("attribute", ["sex", "international", "first_generation"])
def test_differencing_filters_cannot_reveal_a_small_cell(synthetic, attribute):
    """Whole cohort minus every shown subgroup column, row by row: whatever is left is either
    nothing or spread over hidden cells that include 5+ students, never one small group alone."""
    whole = services.dashboard(synthetic)
    values = [*services.subgroup_options(synthetic)[attribute], services.NOT_RECORDED]
    boards = {v: services.dashboard(synthetic, services.Filter(attribute=attribute, value=v)) for v in values}
    if attribute == "sex":  # the 3 students of sex=other are in the data, so something must be hidden
        assert not boards["other"].allowed
    for table in TABLES:
        whole_rows = {r.key: r for r in getattr(whole, table)}
        for key, total in whole_rows.items():
            if total.suppressed:
                continue
            hidden = [v for v in values if not boards[v].allowed
                      or next((r for r in getattr(boards[v], table) if r.key == key), None) is None
                      or next(r for r in getattr(boards[v], table) if r.key == key).suppressed]
            shown_n = sum(next(r for r in getattr(boards[v], table) if r.key == key).n or 0
                          for v in values if v not in hidden)
            for v in values:
                if v in hidden:
                    continue
                row = next(r for r in getattr(boards[v], table) if r.key == key)
                assert row.n == 0 or row.n >= MIN_CELL, (table, key, v, row)
            if len(hidden) == 1:
                # one hidden column in a row: its count is the difference, and must not be small
                leaked = (total.n - shown_n) if table in ("histogram", "active_days") else None
                assert leaked is None or leaked == 0 or leaked >= MIN_CELL, (table, key, hidden, leaked)
                if table not in ("histogram", "active_days"):
                    answers_left = total.answers - sum(
                        next(r for r in getattr(boards[v], table) if r.key == key).answers or 0
                        for v in values if v not in hidden)
                    assert answers_left == 0, (table, key, hidden)


def test_every_shown_cell_covers_five_students(synthetic):
    # (every subgroup value is checked by the differencing test; here: the others)
    for filt in [services.Filter(), services.Filter(attribute="first_generation", value="yes"),
                 services.Filter(system=services.system_options(synthetic)[0])]:
        board = services.dashboard(synthetic, filt)
        if not board.allowed:
            continue
        for table in TABLES:
            for row in getattr(board, table):
                assert row.suppressed or row.n == 0 or row.n >= MIN_CELL, (filt, table, row)


def test_system_filters_differenced_against_the_whole_cohort(synthetic):
    """Weekly answers: the whole cohort minus every organ system's column never isolates one hidden cell."""
    whole = {r.key: r for r in services.dashboard(synthetic).weekly}
    systems = services.system_options(synthetic)
    boards = {s: {r.key: r for r in services.dashboard(synthetic, services.Filter(system=s)).weekly} for s in systems}
    for key, total in whole.items():
        if total.suppressed:
            continue
        hidden = [s for s in systems if key in boards[s] and boards[s][key].suppressed]
        assert len(hidden) != 1, (key, hidden)


# --- export ----------------------------------------------------------------------------------------

def test_csv_export_is_pseudonymous_and_suppressed(client, synthetic, faculty, settings):
    _login(client, faculty)
    response = client.get(reverse("cohort_export", args=[synthetic.pk]), {"group": "international=yes"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    expected = "p-" + hmac.new(settings.SECRET_KEY.encode(), f"medtutor-analytics:{faculty.pk}".encode(),
                               hashlib.sha256).hexdigest()[:16]
    assert f"exported_by={expected}" in body
    assert faculty.username not in body
    for user in synthetic.members.all():
        assert user.username not in body and (user.display_name or "@@") not in body
    rows = list(csv.reader(io.StringIO(body)))[2:]
    assert rows
    for row in rows:
        students = row[3]
        assert students == "suppressed" or int(students) == 0 or int(students) >= MIN_CELL, row


def test_cards_reviewed_cannot_be_differenced_between_subgroups(synthetic):
    """Card reviews by the 3 students of sex=other: whole cohort minus female minus male must not show them."""
    from medtutor.content.models import Card
    from medtutor.learning.models import CardReview

    card = Card.objects.create(external_id="syn-card", front="Q", back="A")
    now = datetime(2026, 9, 8, tzinfo=UTC)
    reviewers = list(synthetic.members.filter(role="student").order_by("username")[:20])  # first 3 are "other"
    CardReview.objects.bulk_create([
        CardReview(learner=u, card=card, grade=3, reviewed_at=now, recorded_at=now, client_seq=f"r{n}",
                   previous={}, result={}) for n, u in enumerate(reviewers)])
    whole = services.dashboard(synthetic).engagement
    assert whole["card_reviewers"] == 20 and whole["card_reviews"] == 20
    female = services.dashboard(synthetic, services.Filter(attribute="sex", value="female")).engagement
    male = services.dashboard(synthetic, services.Filter(attribute="sex", value="male")).engagement
    shown = [e.get("card_reviews") for e in (female, male) if e.get("card_reviews") is not None]
    assert len(shown) < 2, "both shown: whole - female - male would be the 3 students' reviews"


def test_cards_reviewed_small_group_of_reviewers_is_complemented(synthetic):
    from medtutor.content.models import Card
    from medtutor.learning.models import CardReview

    card = Card.objects.create(external_id="syn-card-2", front="Q", back="A")
    now = datetime(2026, 9, 8, tzinfo=UTC)
    members = synthetic.members.filter(role="student").order_by("username")
    yes = list(members.filter(subgroup_attributes__attribute="international", subgroup_attributes__value="yes")[:2])
    no = list(members.filter(subgroup_attributes__attribute="international", subgroup_attributes__value="no")[:15])
    CardReview.objects.bulk_create([
        CardReview(learner=u, card=card, grade=3, reviewed_at=now, recorded_at=now, client_seq=f"r{n}",
                   previous={}, result={}) for n, u in enumerate(yes + no)])
    boards = {v: services.dashboard(synthetic, services.Filter(attribute="international", value=v))
              for v in ("yes", "no")}
    assert all(b.allowed for b in boards.values())  # both groups have 5+ students
    assert services.dashboard(synthetic).engagement["card_reviews"] == 17
    # 2 reviewers among international students: hidden, and so is its complement
    assert boards["yes"].engagement["card_reviews"] is None
    assert boards["no"].engagement["card_reviews"] is None
