"""Exam pages and the exams API: what each role sees, autosave over HTTP, keys kept back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from medtutor.accounts.models import ApiToken
from medtutor.assessment import services
from medtutor.assessment.models import Attempt, Exam, ExamMode
from medtutor.core.models import AuditRecord
from tests.assessment.factories import make_exam, make_items


@pytest.fixture
def items(outline, faculty):
    return make_items(4, actor=faculty)


@pytest.fixture
def timed(items):
    return make_exam(items, time_limit_minutes=30)


@pytest.fixture
def tutor(items):
    return make_exam(items, mode=ExamMode.TUTOR, time_limit_minutes=None, title="Tutor block")


def _explanations(items) -> list[str]:
    texts = []
    for item in items:
        version = item.current_version
        texts += [o["explanation"] for o in version.options] + [version.explanation]
    return texts


def _start(client, exam) -> Attempt:
    response = client.post(f"/exams/{exam.pk}/start/")
    assert response.status_code == 302
    return Attempt.objects.get(exam=exam)


def _autosave(client, attempt, position, **fields):
    data = {"seq": fields.pop("seq", 1), **fields}
    return client.post(f"/attempts/{attempt.pk}/q/{position}/", data, HTTP_ACCEPT="application/json")


def test_student_sits_a_timed_exam_and_no_key_is_in_any_page_or_api_response(fake_clock, client, student, timed,
                                                                           items):
    client.force_login(student)
    assert timed.title in client.get("/exams/").content.decode()
    attempt = _start(client, timed)
    token = ApiToken.issue(student, "t")[1]
    secrets = _explanations(items)
    for position in range(1, 5):
        saved = _autosave(client, attempt, position, choice=1, flagged="1" if position == 2 else "")
        assert saved.status_code == 200 and saved.json()["status"] == "saved"
        page = client.get(f"/attempts/{attempt.pk}/q/{position}/").content.decode()
        assert not [s for s in secrets if s in page]
        assert "Correct answer" not in page and "option-key" not in page and "Teaching point" not in page
        assert 'id="choice-1" value="1" checked' in page
    api = client.get(f"/api/v1/attempts/{attempt.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert not [s for s in secrets if s in api]
    assert '"is_key"' not in api and '"explanation"' not in api and '"score_correct"' not in api
    page = client.get(f"/attempts/{attempt.pk}/q/2/").content.decode()
    assert "is-flagged" in page and "Time left" in page
    # submit, then the report shows everything
    assert client.post(f"/attempts/{attempt.pk}/submit/").status_code == 302
    report = client.get(f"/attempts/{attempt.pk}/report/").content.decode()
    assert all(s in report for s in secrets if s)
    assert "By competency" in report and "By discipline" in report and "percentile" in report


def test_a_late_autosave_is_refused_with_a_message_and_the_page_says_so(fake_clock, client, student, timed):
    client.force_login(student)
    attempt = _start(client, timed)
    fake_clock.advance(minutes=31)
    late = _autosave(client, attempt, 1, choice=2, seq=7)
    assert late.status_code == 409
    body = late.json()
    assert body["code"] == "deadline_passed" and "after the deadline" in body["detail"]
    assert body["report_url"] == f"/attempts/{attempt.pk}/report/"
    # a form post without JavaScript gets a page that says the same
    page = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 8, "choice": 1, "action": "next"})
    assert page.status_code == 409 and "has been submitted" in page.content.decode()
    assert client.get(f"/attempts/{attempt.pk}/q/1/")["Location"] == f"/attempts/{attempt.pk}/report/"
    assert Attempt.objects.get(pk=attempt.pk).items.get(position=1).chosen_index is None


def test_lazy_submit_when_the_student_comes_back_after_the_deadline(fake_clock, client, student, timed):
    client.force_login(student)
    attempt = _start(client, timed)
    _autosave(client, attempt, 1, choice=0)
    fake_clock.advance(hours=2)
    response = client.get(f"/attempts/{attempt.pk}/")
    assert response["Location"] == f"/attempts/{attempt.pk}/report/"
    assert Attempt.objects.get(pk=attempt.pk).submit_reason == "deadline"


def test_resume_goes_back_to_the_last_question(fake_clock, client, student, timed):
    client.force_login(student)
    attempt = _start(client, timed)
    client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 1, "choice": 0, "action": "next"})
    client.get(f"/attempts/{attempt.pk}/q/3/")
    assert client.get(f"/attempts/{attempt.pk}/")["Location"] == f"/attempts/{attempt.pk}/q/3/"
    assert client.post(f"/exams/{timed.pk}/start/")["Location"] == f"/attempts/{attempt.pk}/q/3/"


def test_another_students_attempt_is_404_on_pages_and_api(fake_clock, client, student, other_student, timed):
    attempt = services.start_attempt(student, timed.pk)
    client.force_login(other_student)
    for url in (f"/attempts/{attempt.pk}/", f"/attempts/{attempt.pk}/q/1/", f"/attempts/{attempt.pk}/submit/",
                f"/attempts/{attempt.pk}/report/"):
        assert client.get(url).status_code == 404, url
    assert _autosave(client, attempt, 1, choice=0).status_code == 404
    assert client.post(f"/attempts/{attempt.pk}/submit/").status_code == 404
    token = ApiToken.issue(other_student, "t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"/api/v1/attempts/{attempt.pk}", **auth).status_code == 404
    put = client.put(f"/api/v1/attempts/{attempt.pk}/items/1", json.dumps({"seq": 1, "choice": 0}),
                     content_type="application/json", **auth)
    assert put.status_code == 404 and "detail" in put.json()


def test_tutor_mode_shows_feedback_only_after_the_answer(fake_clock, client, student, tutor, items):
    client.force_login(student)
    attempt = _start(client, tutor)
    before = client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
    assert "Why A for" not in before and "Learning objective" not in before and "Check answer" in before
    checked = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 1, "choice": 2, "action": "check"})
    assert checked["Location"] == f"/attempts/{attempt.pk}/q/1/"
    after = client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
    assert all(f"Why {letter} for" in after for letter in "ABCD")
    assert "Learning objective" in after and "Correct answer" in after and "Your answer" in after
    assert "Why A for" not in client.get(f"/attempts/{attempt.pk}/q/2/").content.decode()
    changed = _autosave(client, attempt, 1, choice=3, seq=5)
    assert changed.status_code == 409 and changed.json()["code"] == "answer_locked"


def test_api_lifecycle(fake_clock, client, student, tutor):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(student, 't')[1]}"}
    listed = client.get("/api/v1/exams", **auth).json()
    assert listed[0]["can_start"] is True
    started = client.post(f"/api/v1/exams/{tutor.pk}/attempts", **auth)
    assert started.status_code == 201
    again = client.post(f"/api/v1/exams/{tutor.pk}/attempts", **auth)
    assert again.status_code == 200 and again.json()["id"] == started.json()["id"]
    attempt_id = started.json()["id"]
    assert all("is_key" not in o or o["is_key"] is None for i in started.json()["items"] for o in i["options"])
    put = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json.dumps({"seq": 3, "choice": 1, "note": "hmm"}),
                     content_type="application/json", **auth)
    assert put.json() == {"status": "saved", "position": 1, "seq": 3, "choice": 1, "is_flagged": False}
    replay = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json.dumps({"seq": 3, "choice": 1}),
                        content_type="application/json", **auth)
    assert replay.json()["status"] == "duplicate"
    revealed = client.post(f"/api/v1/attempts/{attempt_id}/items/1/reveal", **auth).json()
    assert revealed["is_revealed"] and sum(o["is_key"] for o in revealed["options"]) == 1
    assert client.get(f"/api/v1/attempts/{attempt_id}/report", **auth).status_code == 409
    submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", **auth).json()
    assert submitted["score_total"] == 4
    report = client.get(f"/api/v1/attempts/{attempt_id}/report", **auth).json()
    assert report["total"] == 4 and report["by_competency"][0]["total"] == 4
    late = client.put(f"/api/v1/attempts/{attempt_id}/items/2", json.dumps({"seq": 9, "choice": 1}),
                      content_type="application/json", **auth)
    assert late.status_code == 409 and "submitted" in late.json()["detail"]
    bad = client.put(f"/api/v1/attempts/{attempt_id}/items/2", json.dumps({"seq": -1, "choice": "x"}),
                     content_type="application/json", **auth)
    assert bad.status_code == 422


def test_faculty_build_an_exam_by_hand_and_it_is_audited(fake_clock, client, faculty, items):
    client.force_login(faculty)
    response = client.post("/exams/new/", {
        "title": "Hand-picked", "mode": "timed", "build": "manual", "time_limit_minutes": "20",
        "max_attempts": "1", "shuffle_options": "on", "opens_at": "", "closes_at": "",
        "rows-TOTAL_FORMS": "3", "rows-INITIAL_FORMS": "0"})
    exam = Exam.objects.get(title="Hand-picked")
    assert response["Location"] == f"/exams/{exam.pk}/items/"
    search = client.get(f"/exams/{exam.pk}/items/?q=ex-1").content.decode()
    assert "ex-1" in search
    client.post(f"/exams/{exam.pk}/items/", {"action": "add", "item": items[1].pk})
    client.post(f"/exams/{exam.pk}/items/", {"action": "add", "item": items[0].pk})
    client.post(f"/exams/{exam.pk}/items/", {"action": "up", "item": items[0].pk})
    assert [e.item_id for e in exam.exam_items.order_by("position")] == [items[0].pk, items[1].pk]
    actions = list(AuditRecord.objects.filter(subject_type="assessment.exam", subject_id=str(exam.pk))
                   .order_by("seq").values_list("action", flat=True))
    assert actions[0] == "exam.created" and actions.count("exam.edited") == 3
    bad = client.post(f"/exams/{exam.pk}/edit/", {
        "title": "Hand-picked", "mode": "timed", "build": "manual", "time_limit_minutes": "0", "max_attempts": "1",
        "opens_at": "2030-03-02T10:00", "closes_at": "2030-03-01T10:00",
        "rows-TOTAL_FORMS": "3", "rows-INITIAL_FORMS": "0"})
    assert bad.status_code == 400
    assert "must close after it opens" in bad.content.decode() and "between 1 and 1440" in bad.content.decode()


def test_faculty_blueprint_form_reports_a_shortfall(fake_clock, client, faculty, items):
    client.force_login(faculty)
    response = client.post("/exams/new/", {
        "title": "Blueprint", "mode": "timed", "build": "blueprint", "max_attempts": "1",
        "rows-TOTAL_FORMS": "3", "rows-INITIAL_FORMS": "0", "rows-0-competency": "cardio", "rows-0-count": "9"})
    assert response.status_code == 400
    assert "cannot fill this blueprint" in response.content.decode()
    assert not Exam.objects.exists()


def test_monitor_lists_attempts_in_progress(fake_clock, client, faculty, student, other_student, timed):
    attempt = services.start_attempt(student, timed.pk)
    services.save_response(student, attempt.pk, 1, services.ItemChange(seq=1, choice=0, is_flagged=True))
    late = services.start_attempt(other_student, timed.pk)
    fake_clock.advance(minutes=10)
    client.force_login(faculty)
    page = client.get(f"/exams/{timed.pk}/monitor/").content.decode()
    assert 'hx-trigger="every 5s"' in page and "1 / 4" in page and "20:00" in page
    fake_clock.advance(minutes=25)
    rows = client.get(f"/exams/{timed.pk}/monitor/", HTTP_HX_REQUEST="true")
    assert "<html" not in rows.content.decode() and "Nobody is sitting" in rows.content.decode()
    assert Attempt.objects.get(pk=late.pk).is_submitted


def test_faculty_set_an_override_from_the_page(fake_clock, client, faculty, student, timed):
    client.force_login(faculty)
    response = client.post(f"/exams/{timed.pk}/overrides/", {"student": student.username, "extra_attempts": "2",
                                                            "closes_at": "2030-03-05T12:00", "reason": "illness"})
    assert response.status_code == 302
    assert services.availability(timed, student).attempts_allowed == 3
    assert client.post(f"/exams/{timed.pk}/overrides/", {"student": "nobody", "extra_attempts": "1"}).status_code == 400


def test_students_cannot_author_or_monitor(client, student, timed):
    client.force_login(student)
    for url in ("/exams/new/", f"/exams/{timed.pk}/edit/", f"/exams/{timed.pk}/monitor/",
                f"/exams/{timed.pk}/items/", f"/exams/{timed.pk}/overrides/"):
        assert client.get(url).status_code == 403, url


def test_exam_closed_window_shows_the_reason(fake_clock, client, student, timed):
    timed.closes_at = fake_clock.at - timedelta(minutes=1)
    timed.save()
    client.force_login(student)
    page = client.get(f"/exams/{timed.pk}/").content.decode()
    assert "This exam has closed" in page
    assert client.post(f"/exams/{timed.pk}/start/").status_code == 409


def test_an_autosave_and_a_question_page_stay_within_their_query_budget(client, student, timed,
                                                                           django_assert_max_num_queries):
    """The two requests of a sitting that a thousand students repeat: each extra query costs every one of them.
    An autosave: session, user, the locked attempt, the locked item, the item's update (the attempt's last
    position only when it moves), and the savepoint and its release that the test's transaction turns the
    save's transaction into. A page: session, user, attempt, its exam, navigator, question, its version
    (prepared reads: two cost less CPU than the ORM's join they replace), accommodation, last position; no
    break rows without the accommodation, no card-count badge during an exam, no objective before feedback."""
    client.force_login(student)
    attempt = _start(client, timed)
    client.get(f"/attempts/{attempt.pk}/q/2/")
    with django_assert_max_num_queries(7):
        saved = client.post(f"/attempts/{attempt.pk}/q/2/", {"seq": 1, "choice": 1}, HTTP_ACCEPT="application/json")
    assert saved.json()["status"] == "saved"
    with django_assert_max_num_queries(9):
        page = client.get(f"/attempts/{attempt.pk}/q/3/")
    html = page.content.decode()
    assert page.status_code == 200 and f'href="/attempts/{attempt.pk}/q/4/"' in html
    assert (f'<a href="/attempts/{attempt.pk}/q/2/" data-nav-position="2" class="nav-item is-answered" '
            'aria-label="Question 2: answered">2</a>') in html
    assert 'data-nav-position="3" class="nav-item" aria-current="step" aria-label="Question 3: unanswered">3<' in html
    assert attempt.items.get(position=2).chosen_displayed == 1
