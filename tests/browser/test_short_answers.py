"""Short answers in chromium: typed text autosaves and survives a reload; the faculty queue confirms in bulk."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from medtutor.assessment.models import GradeStatus, ShortAnswerResponse
from tests.assessment.factories import make_exam
from tests.assessment.test_grading import GOOD, REFERENCE, make_short_item
from tests.browser.conftest import login
from tests.conftest import PASSWORD


def test_short_answer_autosaves_and_faculty_confirm_it(page, live_server, transactional_db, outline, student,
                                                       faculty, browser):
    item = make_short_item(actor=faculty)
    make_exam([item], time_limit_minutes=30, title="Diuretics short answers")
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_server.url, student.username, PASSWORD)
    page.goto(f"{live_server.url}/exams/")
    page.get_by_role("link", name="Diuretics short answers").click()
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-exam-form][data-autosave=on]")
    page.locator("#answer-text").fill(GOOD)  # no button pressed: the pause in typing saves it
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved"))
    assert REFERENCE not in page.content()
    page.reload()
    expect(page.locator("#answer-text")).to_have_value(GOOD)
    assert "is-answered" in page.locator('[data-nav-position="1"]').get_attribute("class")
    page.get_by_role("button", name="Review and submit").click()
    page.get_by_role("button", name=re.compile("Submit")).last.click()
    expect(page.locator("body")).to_contain_text("Provisional grade")
    assert page.csp_errors == []

    staff = browser.new_context(viewport={"width": 375, "height": 740}).new_page()  # on a phone
    login(staff, live_server.url, faculty.username, PASSWORD)
    staff.goto(f"{live_server.url}/grading/")
    expect(staff.locator(".grading-item")).to_have_count(1)
    staff.get_by_label("Select all 1 shown").check()
    staff.get_by_role("button", name="Confirm the automatic grades").click()
    expect(staff.locator("body")).to_contain_text("1 grade confirmed")
    assert ShortAnswerResponse.objects.get().status == GradeStatus.CONFIRMED
    staff.context.close()
