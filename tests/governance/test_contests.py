"""Contests: a student contests an AI decision about them, faculty of their cohort decide, all audited."""

from __future__ import annotations

import pytest
from django.test import Client

from medtutor.accounts.models import Cohort, Role
from medtutor.analytics.models import EarlyWarningFlag, EarlyWarningRun
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.errors import PermissionDenied as DomainPermissionDenied
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.governance import contests, privacy
from medtutor.governance.oversight_models import Contest, ContestStatus


def _decision(subject, *, actor=None, action="practice.next_question", model="practice-selector"):
    return audit.record_decision(model_name=model, model_version="1.0", subject=subject, inputs={"n": 1},
                                 output={"item": "q-1"}, explanation="weakest topic first", confidence=0.6,
                                 action=action, actor=actor)


@pytest.fixture
def world(student, other_student, faculty, admin_user, make_user, item):
    from medtutor.assessment import services as exams
    from medtutor.learning.models import DeckSettings
    from tests.assessment.factories import make_exam

    other_faculty = make_user("fac2", Role.FACULTY)
    mine = Cohort.objects.create(code="md-2030", name="MD 2030")
    mine.members.add(student, faculty)
    theirs = Cohort.objects.create(code="md-2031", name="MD 2031")
    theirs.members.add(other_student, other_faculty)
    attempt = exams.start_attempt(student, make_exam([item], time_limit_minutes=None).pk)
    run = EarlyWarningRun.objects.create(cohort=mine, model_name="early-warning-gbm", model_version="1.0",
                                         cutoff=clock.now())
    flag = EarlyWarningFlag.objects.create(run=run, student=student, probability=0.7, confidence=0.8, flagged=True)
    decisions = {
        "about": _decision(("accounts.user", student.pk)),
        "by": _decision(("ddx.predict", student.pk), actor=student, action="ddx.predict", model="ddx-naive-bayes"),
        "deck": _decision(DeckSettings.objects.create(learner=student), action="cards.catchup.plan",
                          model="catchup-planner"),
        "attempt": _decision(attempt, action="exam.adaptive.ability", model="medtutor-cat"),
        "flag": _decision(flag, action="analytics.early_warning.flag", model="early-warning-gbm"),
        "other": _decision(("accounts.user", other_student.pk)),
    }
    audit.record_action(None, "user.updated", subject=student)  # about the student, but not a decision
    return {"d": decisions, "other_faculty": other_faculty}


def _file(client, decision, reason="The question was from a topic I had already mastered."):
    return client.post("/contests/new/", {"decision": decision.pk, "reason": reason})


# --- which decisions are the student's ---------------------------------------------------------------------

def test_decisions_about_a_student_cover_subject_actor_and_owned_rows(student, other_student, world):
    d = world["d"]
    mine = set(contests.decisions_about(student).values_list("pk", flat=True))
    assert mine == {d["about"].pk, d["by"].pk, d["deck"].pk, d["attempt"].pk, d["flag"].pk}
    assert contests.decision_label(d["flag"]) == "Early warning: risk of failing or withdrawing"
    assert set(contests.decisions_about(other_student).values_list("pk", flat=True)) == {d["other"].pk}


# --- filing ------------------------------------------------------------------------------------------------

def test_student_files_a_contest_and_it_is_audited_without_the_reason(client, student, world):
    client.force_login(student)
    decision = world["d"]["attempt"]
    form = client.get(f"/contests/new/?decision={decision.pk}")
    assert form.status_code == 200 and "Adaptive exam: ability estimate" in form.content.decode()
    response = _file(client, decision, "My answers to questions 3 and 4 were marked wrong but match the key.")
    assert response.status_code == 302 and response["Location"] == "/contests/"
    contest = Contest.objects.get()
    assert (contest.student, contest.decision, contest.status, contest.assigned_role) == (
        student, decision, ContestStatus.OPEN, "faculty")
    opened = AuditRecord.objects.get(action="contest.opened")
    assert opened.actor == student and (opened.subject_type, opened.subject_id) == ("governance.contest", str(contest.pk))
    assert opened.output["decision"] == decision.pk and "questions 3 and 4" not in str(opened.output)
    page = client.get("/contests/").content.decode()
    assert "questions 3 and 4" in page and "Open: waiting for a faculty review" in page


def test_a_student_cannot_contest_someone_elses_decision(client, student, world):
    client.force_login(student)
    before = AuditRecord.objects.count()
    assert _file(client, world["d"]["other"]).status_code == 404
    assert client.get(f"/contests/new/?decision={world['d']['other'].pk}").status_code == 404
    action = AuditRecord.objects.get(action="user.updated")
    assert _file(client, action).status_code == 404  # about them, but an action, not an AI decision
    assert not Contest.objects.exists() and AuditRecord.objects.count() == before


def test_duplicate_open_contest_is_a_clear_400(client, student, faculty, world):
    client.force_login(student)
    decision = world["d"]["about"]
    assert _file(client, decision).status_code == 302
    again = _file(client, decision)
    assert again.status_code == 400
    assert f"you already have an open contest on decision #{decision.pk}" in again.content.decode()
    assert Contest.objects.count() == 1 and AuditRecord.objects.filter(action="contest.opened").count() == 1
    contests.decide_contest(faculty, Contest.objects.get().pk, "upheld", "The choice followed your mastery.")
    assert _file(client, decision).status_code == 302  # once decided, it may be contested again
    assert Contest.objects.count() == 2


@pytest.mark.parametrize("reason,message", [("   ", "reason: say why"), ("x" * 2001, "reason: at most 2000")])
def test_bad_reason_changes_nothing(client, student, world, reason, message):
    client.force_login(student)
    response = _file(client, world["d"]["about"], reason)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Contest.objects.exists()


def test_bad_decision_id_is_a_400(client, student, world):
    client.force_login(student)
    assert client.post("/contests/new/", {"decision": "abc", "reason": "why"}).status_code == 400
    assert not Contest.objects.exists()


def test_filing_needs_csrf_and_the_student_role(student, faculty, admin_user, world):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(student)
    assert _file(csrf_client, world["d"]["about"]).status_code == 403
    for user in (faculty, admin_user):
        client = Client()
        client.force_login(user)
        assert client.get("/contests/new/").status_code == 403
        assert _file(client, world["d"]["about"]).status_code == 403
        assert client.get("/contests/").status_code == 403
    with pytest.raises(DomainPermissionDenied, match="only students"):
        contests.create_contest(faculty, world["d"]["about"].pk, "why")
    assert not Contest.objects.exists()


# --- the faculty queue -----------------------------------------------------------------------------------------

@pytest.fixture
def filed(student, other_student, world):
    mine = contests.create_contest(student, world["d"]["deck"].pk, "The plan ignores my exam next week.")
    theirs = contests.create_contest(other_student, world["d"]["other"].pk, "I was given the same topic again.")
    return {"mine": mine, "theirs": theirs}


def test_queue_shows_only_the_reviewers_cohorts_and_admins_see_all(client, faculty, admin_user, student, filed, world):
    client.force_login(faculty)
    page = client.get("/governance/contests/")
    assert [c.pk for c, _ in page.context["pending"]] == [filed["mine"].pk]
    assert "The plan ignores my exam next week." in page.content.decode()
    assert "same topic again" not in page.content.decode()
    client.force_login(world["other_faculty"])
    assert [c.pk for c, _ in client.get("/governance/contests/").context["pending"]] == [filed["theirs"].pk]
    client.force_login(admin_user)
    assert {c.pk for c, _ in client.get("/governance/contests/").context["pending"]} == {
        filed["mine"].pk, filed["theirs"].pk}
    client.force_login(student)
    assert client.get("/governance/contests/").status_code == 403


def test_upheld_is_an_action_and_the_student_sees_the_response(client, faculty, student, filed):
    client.force_login(faculty)
    response = client.post("/governance/contests/", {"contest_id": filed["mine"].pk, "outcome": "upheld",
                                                      "response": "The plan does include your exam date."})
    assert response.status_code == 302
    contest = Contest.objects.get(pk=filed["mine"].pk)
    assert contest.status == ContestStatus.UPHELD and contest.reviewer == faculty and contest.reviewed_at
    record = contest.outcome_record
    assert record.kind == AuditKind.ACTION and record.action == "contest.upheld" and record.actor == faculty
    assert not AuditRecord.objects.filter(kind=AuditKind.OVERRIDE).exists()
    client.force_login(student)
    page = client.get("/contests/").content.decode()
    assert "The plan does include your exam date." in page and "Upheld" in page


def test_changed_is_a_human_override_of_the_decision(client, faculty, filed, world):
    client.force_login(faculty)
    client.post("/governance/contests/", {"contest_id": filed["mine"].pk, "outcome": "changed",
                                          "corrected": "plan from next week", "response": "You are right."})
    contest = Contest.objects.get(pk=filed["mine"].pk)
    override = contest.outcome_record
    assert contest.status == ContestStatus.CHANGED
    assert override.kind == AuditKind.OVERRIDE and override.overrides == world["d"]["deck"]
    assert override.explanation == "You are right." and override.output == {
        "contest": contest.pk, "outcome": "changed", "corrected": "plan from next week"}
    assert audit.verify_chain().ok


@pytest.mark.parametrize("form,message", [
    ({"outcome": "maybe", "response": "x"}, "outcome: choose upheld, changed or rejected"),
    ({"outcome": "upheld", "response": " "}, "response: explain the outcome"),
    ({"outcome": "upheld", "response": "ok", "corrected": "5/5"}, "corrected: only a changed decision"),
])
def test_bad_decisions_are_a_400_and_change_nothing(client, faculty, filed, form, message):
    client.force_login(faculty)
    before = AuditRecord.objects.count()
    response = client.post("/governance/contests/", {"contest_id": filed["mine"].pk, **form})
    assert response.status_code == 400 and message in response.content.decode()
    assert Contest.objects.get(pk=filed["mine"].pk).status == ContestStatus.OPEN
    assert AuditRecord.objects.count() == before


def test_faculty_cannot_decide_another_cohorts_contest_nor_decide_twice(client, faculty, filed):
    client.force_login(faculty)
    before = AuditRecord.objects.count()
    other = client.post("/governance/contests/", {"contest_id": filed["theirs"].pk, "outcome": "rejected",
                                                  "response": "no"})
    assert other.status_code == 404 and Contest.objects.get(pk=filed["theirs"].pk).status == ContestStatus.OPEN
    assert AuditRecord.objects.count() == before
    contests.decide_contest(faculty, filed["mine"].pk, "rejected", "This concerns the exam rules.")
    with pytest.raises(InvalidInput, match="already decided"):
        contests.decide_contest(faculty, filed["mine"].pk, "changed", "Changed my mind.")
    with pytest.raises(NotFound):
        contests.decide_contest(faculty, 10**9, "upheld", "x")


def test_deciding_needs_csrf(faculty, filed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(faculty)
    response = client.post("/governance/contests/", {"contest_id": filed["mine"].pk, "outcome": "upheld",
                                                     "response": "ok"})
    assert response.status_code == 403 and Contest.objects.get(pk=filed["mine"].pk).status == ContestStatus.OPEN


def test_my_contests_shows_only_the_students_own(client, other_student, filed):
    client.force_login(other_student)
    page = client.get("/contests/")
    assert [c.pk for c, _ in page.context["contests"]] == [filed["theirs"].pk]
    assert "The plan ignores" not in page.content.decode()


# --- transparency page -------------------------------------------------------------------------------------------

def test_transparency_page_lists_the_students_decisions_with_a_contest_link(client, student, faculty, filed, world):
    client.force_login(student)
    html = client.get("/transparency/").content.decode()
    assert f'/contests/new/?decision={world["d"]["about"].pk}"' in html
    assert "Contest open" in html  # the deck-plan decision already has an open contest
    assert f'?decision={world["d"]["other"].pk}"' not in html
    client.force_login(faculty)
    faculty_html = client.get("/transparency/").content.decode()
    assert "/governance/contests/" in faculty_html and "/governance/ai-course/" in faculty_html


# --- privacy -------------------------------------------------------------------------------------------------------

def test_deletion_anonymises_the_students_contests_and_export_includes_them(student, faculty, admin_user, filed):
    contests.decide_contest(faculty, filed["mine"].pk, "upheld", "Your exam week was already in the plan.")
    assert "governance.Contest" in privacy.collect(student).tables
    assert privacy.unhandled_fields() == []
    request = privacy.request_deletion(student)
    privacy.confirm_deletion(request.pk, admin_user)
    kept = Contest.objects.get(pk=filed["mine"].pk)
    assert kept.reason == "" and kept.response == "" and kept.status == ContestStatus.UPHELD
    assert kept.decision_id and kept.reviewer == faculty
    assert Contest.objects.get(pk=filed["theirs"].pk).reason  # another student's contest is untouched


def test_contest_link_snippet_for_feature_pages(rf, student, faculty, world):
    from django.template.loader import render_to_string

    decision = world["d"]["about"]
    html = render_to_string("governance/_contest_link.html", {"user": student, "decision": decision})
    assert f'/contests/new/?decision={decision.pk}"' in html
    assert render_to_string("governance/_contest_link.html", {"user": student, "decision_id": decision.pk}) == html
    assert "contests/new" not in render_to_string("governance/_contest_link.html", {"user": faculty,
                                                                                    "decision": decision})
