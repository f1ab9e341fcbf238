"""Early-warning pages: who sees which flag, the decision form (validation, CSRF) and running the model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from medtutor.accounts.models import Cohort, Role
from medtutor.analytics import early_warning as ew
from medtutor.analytics.cohort_services import pseudonym
from medtutor.analytics.models import EarlyWarningDecision, EarlyWarningFlag, EarlyWarningRun, FlagStatus
from medtutor.analytics.synthetic_services import simulate_cohort
from medtutor.core.models import AuditKind, AuditRecord


@pytest.fixture
def setup(db, faculty):
    """Two earlier synthetic cohorts and a later one taught by `faculty`, with one run (20 x 2 weeks)."""
    for n, start in enumerate((datetime(2024, 9, 2, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC))):
        simulate_cohort(20, 2, seed=60 + n, start=start, code=f"v{n}")
    target = simulate_cohort(20, 2, seed=62, start=datetime(2026, 1, 5, tzinfo=UTC), code="v2", faculty=faculty).cohort
    run = ew.run_early_warning(target, weeks=1)
    return target, run


def _flagged(run: EarlyWarningRun) -> EarlyWarningFlag:
    return run.flags.filter(flagged=True).select_related("student").first()


def test_anonymous_goes_to_login_and_students_get_403(client, setup, student):
    target, _ = setup
    for name in ("early_warning_home", "my_early_warning"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    page = reverse("early_warning_cohort", args=[target.pk])
    assert client.get(page).status_code == 302
    client.force_login(student)
    assert client.get(page).status_code == 403
    assert client.get(reverse("early_warning_home")).status_code == 403
    assert client.post(reverse("early_warning_decide", args=[target.pk]), {"flag_id": 1}).status_code == 403


def test_faculty_see_their_cohort_with_names_and_others_get_404(client, setup, faculty, make_user, admin_user):
    target, run = setup
    flag = _flagged(run)
    client.force_login(faculty)
    page = client.get(reverse("early_warning_cohort", args=[target.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert flag.student.name in html and "A person decides" in html
    assert flag.reasons[0]["label"] in html.replace("&#x27;", "'")  # main reasons shown
    assert "data-evaluation" in html and "data-subgroups" in html  # the run's evaluation tables
    assert target.name in client.get(reverse("early_warning_home")).content.decode()
    # every student, flagged or not, on request
    assert html.count('id="flag-') == run.flags.filter(flagged=True).count()
    everyone = client.get(reverse("early_warning_cohort", args=[target.pk]), {"all": "1"}).content.decode()
    assert everyone.count('id="flag-') == 20

    stranger = make_user("fac-x", Role.FACULTY)
    Cohort.objects.create(code="other", name="Other").members.add(stranger)
    client.force_login(stranger)
    assert client.get(reverse("early_warning_cohort", args=[target.pk])).status_code == 404
    assert client.post(reverse("early_warning_decide", args=[target.pk]),
                       {"flag_id": flag.pk, "action": "no_action"}).status_code == 404
    assert client.post(reverse("early_warning_run", args=[target.pk])).status_code == 404
    assert target.name not in client.get(reverse("early_warning_home")).content.decode()
    # a flag of another cohort is not reachable through a cohort the faculty member does teach
    Cohort.objects.get(code="other").members.add(faculty)
    client.force_login(faculty)
    other = Cohort.objects.get(code="other")
    assert client.post(reverse("early_warning_decide", args=[other.pk]),
                       {"flag_id": flag.pk, "action": "no_action"}).status_code == 404
    assert not EarlyWarningDecision.objects.exists()

    # administrators who do not teach the cohort see pseudonyms, not names
    client.force_login(admin_user)
    html = client.get(reverse("early_warning_cohort", args=[target.pk])).content.decode()
    assert pseudonym(flag.student_id) in html and flag.student.name not in html


def test_decision_form_records_the_decision_and_its_audit_override(client, setup, faculty):
    target, run = setup
    flag = _flagged(run)
    client.force_login(faculty)
    response = client.post(reverse("early_warning_decide", args=[target.pk]),
                           {"flag_id": flag.pk, "action": "tutoring", "support_offered": "Weekly tutorial", "note": ""})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == FlagStatus.SUPPORT_OFFERED
    decision = flag.decisions.get()
    assert AuditRecord.objects.get(seq=decision.audit_seq).kind == AuditKind.OVERRIDE
    page = client.get(response["Location"]).content.decode()
    assert "Weekly tutorial" in page and "Support offered" in page


def test_bad_decisions_get_400_with_a_message_and_change_nothing(client, setup, faculty):
    target, run = setup
    flag = _flagged(run)
    client.force_login(faculty)
    audit_before = AuditRecord.objects.count()
    url = reverse("early_warning_decide", args=[target.pk])
    for data, message in (({"action": "expel"}, "action: choose one of"),
                          ({"action": "contact", "support_offered": ""}, "say what support was offered"),
                          ({"action": "dismiss", "note": "  "}, "say why the flag is dismissed")):
        response = client.post(url, {"flag_id": flag.pk, **data})
        assert response.status_code == 400
        assert message in response.content.decode()
    for flag_id in ("999999", "abc", ""):
        assert client.post(url, {"flag_id": flag_id, "action": "no_action"}).status_code == 404
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN and not EarlyWarningDecision.objects.exists()
    assert AuditRecord.objects.count() == audit_before


def test_posts_need_the_csrf_token(setup, faculty):
    target, run = setup
    client = Client(enforce_csrf_checks=True)
    client.force_login(faculty)
    response = client.post(reverse("early_warning_decide", args=[target.pk]),
                           {"flag_id": _flagged(run).pk, "action": "no_action"})
    assert response.status_code == 403 and not EarlyWarningDecision.objects.exists()
    assert client.post(reverse("early_warning_run", args=[target.pk]), {"weeks": "2"}).status_code == 403
    # a GET on an action only leads back to the page
    assert client.get(reverse("early_warning_run", args=[target.pk])).status_code == 302
    assert EarlyWarningRun.objects.count() == 1


def test_faculty_run_the_model_from_the_page_and_bad_options_get_400(client, setup, faculty):
    target, _ = setup
    client.force_login(faculty)
    for data, message in (({"weeks": "x"}, "weeks"), ({"weeks": "0"}, "weeks"),
                          ({"weeks": "2", "threshold": "high"}, "threshold"), ({"weeks": "2", "exam": "424242"}, "exam")):
        response = client.post(reverse("early_warning_run", args=[target.pk]), data)
        assert response.status_code == 400 and message in response.content.decode()
    assert EarlyWarningRun.objects.count() == 1
    response = client.post(reverse("early_warning_run", args=[target.pk]), {"weeks": "1", "threshold": "0.5"})
    assert response.status_code == 302
    run = EarlyWarningRun.objects.order_by("-id").first()
    assert run.created_by == faculty and run.threshold == 0.5 and run.metrics["threshold_rule"] == "set by hand"
    response = client.post(reverse("early_warning_outcomes", args=[target.pk]), {"run_id": run.pk})
    assert response.status_code == 302
    assert AuditRecord.objects.filter(action="analytics.early_warning.outcomes").exists()


def test_a_student_sees_only_their_own_flag_in_plain_words(client, setup):
    target, run = setup
    flag = _flagged(run)
    other = run.flags.exclude(pk=flag.pk).select_related("student").first()
    student = flag.student
    client.force_login(student)
    response = client.get(reverse("my_early_warning"))
    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert html.count("data-own-flag") == 1
    assert "You are on the list for a faculty member to review" in html
    assert flag.reasons[0]["label"] in html
    assert f"{round(flag.probability * 100)}%" in html
    assert "prediction, not a judgement" in html and reverse("transparency") in html
    assert other.student.name not in html and pseudonym(other.student_id) not in html
    decision = AuditRecord.objects.get(seq=flag.audit_seq)
    assert f"/contests/new/?decision={decision.pk}" in html  # the flag can be contested from here
    # the students' pages are for students only
    assert client.get(reverse("early_warning_cohort", args=[target.pk])).status_code == 403


def test_a_student_without_a_flag_sees_that(client, student):
    client.force_login(student)
    html = client.get(reverse("my_early_warning")).content.decode()
    assert "data-no-flag" in html
