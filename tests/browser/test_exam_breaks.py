"""Rest-break pause and resume, and the lab-values panel, in Debian chromium (desktop and phone)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from medtutor.accounts.models import Accommodation
from medtutor.assessment.models import Attempt, AttemptBreak
from tests.assessment.factories import make_exam, make_items
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def bank(transactional_db, outline, faculty):
    return make_items(3, actor=faculty)


def _start(page, base_url, student, title):
    login(page, base_url, student.username, PASSWORD)
    page.goto(f"{base_url}/exams/")
    page.get_by_role("link", name=title).click()
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")


def test_pause_hides_the_questions_and_resume_survives_a_reload(page, live_server, bank, student):
    Accommodation.objects.create(user=student, rest_breaks=True, rest_break_minutes=15)
    make_exam(bank, time_limit_minutes=30, title="Timed with breaks")
    _start(page, live_server.url, student, "Timed with breaks")
    stem = page.locator(".stem").inner_text()
    page.locator("label[for=choice-2]").click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved"))
    page.get_by_label("Your note").fill("recheck the potassium")  # not yet autosaved: the pause carries it

    page.get_by_role("button", name="Take a rest break").click()
    expect(page.get_by_role("heading", name="Your exam is paused for a rest break")).to_be_visible()
    assert stem not in page.content() and page.locator("form[data-exam-form]").count() == 0
    expect(page.locator("#break-timer")).to_have_text(re.compile(r"^1[45]:\d\d$"))

    page.reload()  # still paused after a reload: the server holds the pause
    expect(page.get_by_role("heading", name="Your exam is paused for a rest break")).to_be_visible()
    assert stem not in page.content()

    page.get_by_role("button", name="Resume the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    assert page.locator(".stem").inner_text() == stem
    assert page.locator("#choice-2").is_checked()
    assert page.get_by_label("Your note").input_value() == "recheck the potassium"
    expect(page.locator("#exam-timer")).to_be_visible()
    attempt = Attempt.objects.get(exam__title="Timed with breaks")
    pause = AttemptBreak.objects.get(attempt=attempt)
    assert pause.ended_by == "student" and pause.ended_at is not None
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_no_pause_button_without_the_accommodation_and_the_lab_panel_toggles(page, live_server, bank, student):
    make_exam(bank, time_limit_minutes=30, title="Timed plain")
    _start(page, live_server.url, student, "Timed plain")
    assert page.get_by_role("button", name="Take a rest break").count() == 0
    sodium = page.get_by_role("rowheader", name="Sodium")
    expect(sodium).to_be_hidden()
    page.get_by_text("Lab values", exact=False).first.click()
    expect(sodium).to_be_visible()
    assert "135–145 mmol/L" in page.locator("#lab-chemistry").inner_text()
    page.locator(".stem").click()
    page.keyboard.press("l")  # the shortcut closes it again
    expect(sodium).to_be_hidden()
    page.keyboard.press("l")
    expect(sodium).to_be_visible()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_lab_panel_is_usable_on_a_phone(phone, live_server, bank, student):
    make_exam(bank, time_limit_minutes=30, title="Phone exam")
    _start(phone, live_server.url, student, "Phone exam")
    phone.locator("#lab-panel summary").tap()
    expect(phone.get_by_role("rowheader", name="Creatinine")).to_be_visible()
    # Nothing spills sideways off the page; wide tables scroll inside their own box.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    expect(phone.locator("#lab-haematology")).to_be_attached()
