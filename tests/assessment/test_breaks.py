"""Rest-break pauses (an accommodation) with a fake clock: the server's clock, hidden items, audit, 403."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medtutor.accounts.models import Accommodation, ApiToken
from medtutor.assessment import breaks, services
from medtutor.assessment.models import Attempt, AttemptBreak, SubmitReason
from medtutor.core.errors import InvalidInput, NotFound, PermissionDenied
from medtutor.core.models import AuditRecord
from tests.assessment.factories import T0, make_exam, make_items

Change = services.ItemChange


@pytest.fixture
def items(outline, faculty):
    return make_items(3, actor=faculty)


@pytest.fixture
def exam(items):
    return make_exam(items, time_limit_minutes=60)


@pytest.fixture
def rester(student):
    Accommodation.objects.create(user=student, rest_breaks=True, rest_break_minutes=10)
    return student


def _actions(action: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


def test_paused_time_does_not_count_and_every_pause_and_resume_is_audited(fake_clock, exam, rester):
    attempt = services.start_attempt(rester, exam.pk)
    assert attempt.deadline_at == T0 + timedelta(minutes=60)
    fake_clock.advance(minutes=20)
    rest = breaks.pause(rester, attempt.pk)
    assert rest.is_paused and rest.exam_seconds_left == 40 * 60 and rest.left_seconds == 600
    attempt.refresh_from_db()
    # While paused the deadline already allows the whole grant, so auto-submission stays right.
    assert attempt.deadline_at == T0 + timedelta(minutes=70)

    fake_clock.advance(minutes=4)
    rest = breaks.state(attempt)
    assert rest.is_paused and rest.exam_seconds_left == 40 * 60 and rest.used_seconds == 240
    rest = breaks.resume(rester, attempt.pk)
    attempt.refresh_from_db()
    assert not rest.is_paused and rest.left_seconds == 360
    assert attempt.deadline_at == T0 + timedelta(minutes=64)
    assert rest.exam_seconds_left == 40 * 60  # the clock did not run during the break

    paused, resumed = _actions("exam.attempt.paused"), _actions("exam.attempt.resumed")
    assert len(paused) == 1 and len(resumed) == 1
    assert paused[0].actor_id == rester.pk and paused[0].output["granted_seconds"] == 600
    assert resumed[0].output["paused_seconds"] == 240 and resumed[0].output["ended_by"] == "student"

    # Pausing twice or resuming a running attempt changes nothing and records nothing more.
    breaks.resume(rester, attempt.pk)
    breaks.pause(rester, attempt.pk)
    breaks.pause(rester, attempt.pk)
    assert len(_actions("exam.attempt.paused")) == 2 and len(_actions("exam.attempt.resumed")) == 1
    assert AttemptBreak.objects.filter(attempt=attempt).count() == 2


def test_nothing_is_answered_while_paused(fake_clock, exam, rester):
    attempt = services.start_attempt(rester, exam.pk)
    services.save_response(rester, attempt.pk, 1, Change(seq=1, choice=2))
    breaks.pause(rester, attempt.pk)
    with pytest.raises(breaks.AttemptPaused, match="paused for a rest break"):
        services.save_response(rester, attempt.pk, 1, Change(seq=2, choice=0))
    ai = attempt.items.get(position=1)
    assert ai.last_seq == 1 and ai.chosen_displayed == 2
    fake_clock.advance(minutes=1)
    breaks.resume(rester, attempt.pk)
    assert services.save_response(rester, attempt.pk, 1, Change(seq=2, choice=0)).applied


def test_breaks_stop_at_the_allowance_and_an_unattended_pause_ends_by_itself(fake_clock, exam, rester):
    attempt = services.start_attempt(rester, exam.pk)
    breaks.pause(rester, attempt.pk)
    fake_clock.advance(minutes=25)  # away longer than the 10 minutes allowed
    rest = breaks.state(attempt)
    assert not rest.is_paused and rest.left_seconds == 0 and rest.exam_seconds_left == 45 * 60
    assert services.save_response(rester, attempt.pk, 2, Change(seq=1, choice=1)).applied
    with pytest.raises(breaks.NoBreakTimeLeft, match="used all 10 minutes"):
        breaks.pause(rester, attempt.pk)
    breaks.resume(rester, attempt.pk)  # books the pause that ran out
    done = AttemptBreak.objects.get(attempt=attempt)
    assert done.used_seconds == 600 and done.ended_by == "allowance" and done.ended_at == T0 + timedelta(minutes=10)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=70)


def test_a_student_who_never_comes_back_is_submitted_at_limit_plus_allowance(fake_clock, exam, rester):
    attempt = services.start_attempt(rester, exam.pk)
    fake_clock.advance(minutes=50)
    breaks.pause(rester, attempt.pk)
    assert services.close_expired(at=T0 + timedelta(minutes=69, seconds=59)) == 0
    assert services.close_expired(at=T0 + timedelta(minutes=70)) == 1
    attempt.refresh_from_db()
    assert attempt.submit_reason == SubmitReason.DEADLINE and attempt.submitted_at == T0 + timedelta(minutes=70)
    ended = AttemptBreak.objects.get(attempt=attempt)
    assert ended.ended_by == "submit" and ended.used_seconds == 600


def test_a_break_never_extends_past_the_close_time(fake_clock, items, rester):
    exam = make_exam(items, time_limit_minutes=60, closes_at=T0 + timedelta(minutes=62))
    attempt = services.start_attempt(rester, exam.pk)
    rest = breaks.pause(rester, attempt.pk)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=62) and rest.resumes_at == T0 + timedelta(minutes=2)


def test_a_student_without_the_accommodation_cannot_pause(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    with pytest.raises(PermissionDenied, match="rest-break accommodation"):
        breaks.pause(student, attempt.pk)
    Accommodation.objects.create(user=student, extra_time_percent=25)  # extra time only
    with pytest.raises(PermissionDenied):
        breaks.pause(student, attempt.pk)
    assert not AttemptBreak.objects.exists() and not _actions("exam.attempt.paused")
    assert not breaks.state(attempt).allowed


def test_untimed_exams_have_no_clock_to_pause(fake_clock, items, rester):
    exam = make_exam(items, time_limit_minutes=None)
    attempt = services.start_attempt(rester, exam.pk)
    with pytest.raises(InvalidInput, match="no time limit"):
        breaks.pause(rester, attempt.pk)


def test_nobody_else_can_pause_or_resume_an_attempt(fake_clock, exam, rester, other_student, faculty):
    attempt = services.start_attempt(rester, exam.pk)
    Accommodation.objects.create(user=other_student, rest_breaks=True, rest_break_minutes=10)
    for user in (other_student, faculty):
        with pytest.raises(NotFound):
            breaks.pause(user, attempt.pk)
    breaks.pause(rester, attempt.pk)
    with pytest.raises(NotFound):
        breaks.resume(other_student, attempt.pk)
    assert breaks.state(attempt).is_paused


def test_an_override_keeps_the_break_time_taken(fake_clock, exam, rester, faculty):
    attempt = services.start_attempt(rester, exam.pk)
    breaks.pause(rester, attempt.pk)
    fake_clock.advance(minutes=3)
    breaks.resume(rester, attempt.pk)
    services.set_override(exam, rester, extra_attempts=0, closes_at=T0 + timedelta(hours=5), reason="r", actor=faculty)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=63)
    breaks.pause(rester, attempt.pk)  # an override during a pause rebases it
    services.set_override(exam, rester, extra_attempts=1, closes_at=None, reason="r", actor=faculty)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=63 + 7)
    fake_clock.advance(minutes=2)
    breaks.resume(rester, attempt.pk)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=65)


def test_submitting_during_a_pause_ends_it(fake_clock, exam, rester):
    attempt = services.start_attempt(rester, exam.pk)
    breaks.pause(rester, attempt.pk)
    fake_clock.advance(seconds=30)
    services.submit_attempt(rester, attempt.pk)
    ended = AttemptBreak.objects.get(attempt=attempt)
    assert ended.ended_by == "submit" and ended.used_seconds == 30
    with pytest.raises(Exception, match="submitted"):
        breaks.pause(rester, attempt.pk)


# --- over HTTP: the pages and the API -------------------------------------------------------------

def test_pages_hide_the_questions_while_paused_and_resume_after_a_reload(fake_clock, client, exam, items, rester):
    client.force_login(rester)
    client.post(f"/exams/{exam.pk}/start/")
    attempt = Attempt.objects.get(exam=exam)
    page = client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
    assert "Take a rest break" in page and "10:00 of break time left" in page
    stems = [item.current_version.stem for item in items]
    assert any(stem in page for stem in stems)

    # The pause button posts the question form: its pending note is saved before the clock stops.
    response = client.post(f"/attempts/{attempt.pk}/pause/", {"seq": 5, "choice": 1, "note": "come back to this",
                                                              "position": 1, "action": "pause"})
    assert response.status_code == 302
    assert attempt.items.get(position=1).note == "come back to this"
    for _ in range(2):  # a reload shows the paused page again, never a question
        fake_clock.advance(minutes=1)
        page = client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
        assert "Your exam is paused" in page and not any(stem in page for stem in stems)
        assert "come back to this" not in page and 'data-break-seconds="' in page
    assert "Your exam is paused" in client.get(f"/attempts/{attempt.pk}/submit/").content.decode()
    saved = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 9, "choice": 2}, HTTP_ACCEPT="application/json")
    assert saved.status_code == 409 and "paused" in saved.json()["detail"]

    response = client.post(f"/attempts/{attempt.pk}/pause/end/")
    assert response.status_code == 302
    page = client.get(response["Location"], follow=True).content.decode()
    assert any(stem in page for stem in stems) and "8:00 of break time left" in page
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=62)


def test_pause_without_the_accommodation_is_a_clear_403(fake_clock, client, exam, student):
    client.force_login(student)
    client.post(f"/exams/{exam.pk}/start/")
    attempt = Attempt.objects.get(exam=exam)
    assert "Take a rest break" not in client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
    page = client.post(f"/attempts/{attempt.pk}/pause/")
    assert page.status_code == 403 and "rest-break accommodation" in page.content.decode()
    as_json = client.post(f"/attempts/{attempt.pk}/pause/", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 403 and "rest-break accommodation" in as_json.json()["detail"]
    assert client.get(f"/attempts/{attempt.pk}/pause/").status_code == 302  # a GET pauses nothing
    token = ApiToken.issue(student, "t")[1]
    api = client.post(f"/api/v1/attempts/{attempt.pk}/pause", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 403 and "rest-break accommodation" in api.json()["detail"]
    assert not AttemptBreak.objects.exists()


def test_api_pause_hides_items_until_resumed(fake_clock, client, exam, items, rester):
    token = ApiToken.issue(rester, "t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    attempt = client.post(f"/api/v1/exams/{exam.pk}/attempts", **auth).json()
    paused = client.post(f"/api/v1/attempts/{attempt['id']}/pause", **auth)
    assert paused.status_code == 200 and paused.json()["paused"] and paused.json()["break_seconds_left"] == 600
    body = client.get(f"/api/v1/attempts/{attempt['id']}", **auth).json()
    assert body["paused"] is True and body["items"] == []
    assert items[0].current_version.stem not in str(body)
    save = client.put(f"/api/v1/attempts/{attempt['id']}/items/1", {"seq": 1, "choice": 0},
                      content_type="application/json", **auth)
    assert save.status_code == 409 and "paused" in save.json()["detail"]
    fake_clock.advance(seconds=90)
    resumed = client.post(f"/api/v1/attempts/{attempt['id']}/resume", **auth).json()
    assert resumed["paused"] is False and resumed["break_seconds_used"] == 90
    body = client.get(f"/api/v1/attempts/{attempt['id']}", **auth).json()
    assert body["paused"] is False and len(body["items"]) == 3
