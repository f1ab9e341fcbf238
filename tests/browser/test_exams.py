"""Exams in Debian chromium: autosave, flag, strike, reload and resume, submit, report; tutor feedback."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from medtutor.assessment.models import Attempt, ExamMode
from tests.assessment.factories import make_exam, make_items
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def bank(transactional_db, outline, faculty):
    return make_items(4, actor=faculty)


def _wait_saved(page):
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved"))


def test_timed_exam_with_flag_reload_resume_and_report(page, live_server, bank, student):
    exam = make_exam(bank, time_limit_minutes=30, title="Timed cardiology")
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_server.url, student.username, PASSWORD)
    page.get_by_role("link", name="Exams").first.click()
    page.get_by_role("link", name="Timed cardiology").click()
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    assert page.locator("#exam-timer").is_visible()
    assert page.locator(".option-explanation").count() == 0

    page.locator("label[for=choice-1]").click()
    _wait_saved(page)
    page.get_by_label("Flag for review").check()
    _wait_saved(page)
    assert "is-flagged" in page.locator('[data-nav-position="1"]').get_attribute("class")
    assert page.locator("[data-count-answered]").inner_text() == "1"
    assert page.locator("[data-count-flagged]").inner_text() == "1"

    page.get_by_role("button", name="Next →").click()
    page.wait_for_url("**/q/2/")
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")  # the shortcut needs the script
    page.keyboard.press("3")  # keyboard shortcut: option C
    _wait_saved(page)
    page.locator('[data-strike="0"]').click()
    _wait_saved(page)

    page.reload()  # the browser closes or crashes mid-exam: everything comes back from the server
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    assert page.locator("#choice-2").is_checked()
    assert "is-struck" in page.locator('[data-option="0"]').get_attribute("class")

    fresh = page.context.new_page()  # a new tab, started from the exam list, resumes at question 2
    fresh.goto(f"{live_server.url}/exams/")
    fresh.get_by_role("link", name="Resume", exact=True).click()
    fresh.wait_for_url("**/q/2/")
    fresh.close()

    page.locator('[data-nav-position="1"]').click()
    page.wait_for_url("**/q/1/")
    assert page.locator("#choice-1").is_checked() and page.get_by_label("Flag for review").is_checked()
    assert "answered" in page.locator('[data-nav-position="2"]').get_attribute("class")

    page.get_by_role("button", name="Review and submit").click()
    page.wait_for_url("**/submit/")
    assert "2 are unanswered" in page.content()
    page.get_by_role("button", name="Submit exam").click()
    page.wait_for_url("**/report/")
    assert page.get_by_role("heading", name="Score report: Timed cardiology").is_visible()
    assert page.locator(".review-item").count() == 4
    assert page.locator(".option-explanation").count() == 16
    assert "percentile" in page.content() and "By discipline" in page.content()
    attempt = Attempt.objects.get(exam=exam)
    assert attempt.submit_reason == "manual" and attempt.items.filter(chosen_index__isnull=False).count() == 2
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_tutor_mode_shows_feedback_after_an_answer(page, live_server, bank, student):
    make_exam(bank, mode=ExamMode.TUTOR, time_limit_minutes=None, title="Tutor cardiology")
    login(page, live_server.url, student.username, PASSWORD)
    page.goto(f"{live_server.url}/exams/")
    page.get_by_role("link", name="Tutor cardiology").click()
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    assert page.locator(".option-explanation").count() == 0
    assert page.locator("#exam-timer").count() == 0
    page.locator("label[for=choice-0]").click()
    _wait_saved(page)
    page.get_by_role("button", name="Check answer").click()
    page.wait_for_selector("#result")
    assert page.locator("#result").inner_text().startswith(("Correct", "Incorrect"))
    assert page.locator(".option-explanation").count() == 4
    assert "Learning objective" in page.content()
    assert page.locator("#choice-1").is_disabled()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_an_answer_given_while_the_script_loads_is_saved_once_it_runs(page, live_server, bank, student):
    """A slow phone: the student picks an option before exam.js arrives; it must still reach the server."""
    make_exam(bank, time_limit_minutes=30, title="Slow network")
    login(page, live_server.url, student.username, PASSWORD)
    page.goto(f"{live_server.url}/exams/")
    page.get_by_role("link", name="Slow network").click()
    held = []
    page.route("**/exam*.js", lambda route: held.append(route))
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form]")
    page.locator("label[for=choice-3]").click()
    expect(page.locator("#save-status")).to_have_text("All answers saved")  # nothing has saved it yet
    assert Attempt.objects.get(exam__title="Slow network").items.filter(chosen_index__isnull=False).count() == 0
    assert held, "the exam script was requested"
    for route in held:
        route.continue_()
    _wait_saved(page)
    assert Attempt.objects.get(exam__title="Slow network").items.get(position=1).chosen_index is not None


def test_time_up_locks_the_form_and_shows_the_report_submitted_at_the_deadline(page, live_server, bank, student):
    from datetime import timedelta

    from medtutor.core import clock

    exam = make_exam(bank, time_limit_minutes=30, title="Short block")
    login(page, live_server.url, student.username, PASSWORD)
    page.goto(f"{live_server.url}/exams/")
    page.get_by_role("link", name="Short block").click()
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    page.locator("label[for=choice-1]").click()
    _wait_saved(page)
    attempt = Attempt.objects.get(exam=exam)
    Attempt.objects.filter(pk=attempt.pk).update(deadline_at=clock.now() + timedelta(seconds=4))
    page.reload()  # the timer counts down from the server's seconds left
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    expect(page.locator("[data-timer-announce]")).to_have_text(re.compile("Time is up"), timeout=10_000)
    assert page.locator("#choice-2").is_disabled()
    page.wait_for_url("**/report/", timeout=15_000)
    attempt.refresh_from_db()
    assert attempt.submit_reason == "deadline" and attempt.submitted_at == attempt.deadline_at
    assert attempt.items.get(position=1).chosen_index is not None  # the answer saved before the deadline counts
