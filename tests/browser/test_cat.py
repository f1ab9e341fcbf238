"""An adaptive exam in Debian chromium: one question at a time, no going back, the ability report."""

from __future__ import annotations

import pytest

from medtutor.assessment import cat_services
from medtutor.assessment.models import AdaptiveSettings, ExamMode
from tests.assessment.cat_factories import simulate_practice
from tests.assessment.factories import make_exam, make_items
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def adaptive(transactional_db, outline, faculty):
    pool = make_items(10, prefix="cat", actor=faculty)
    simulate_practice(pool, learners=50)
    cat_services.calibrate_items(actor=faculty, item_ids=[i.pk for i in pool], min_responses={"2pl": 40})
    exam = make_exam(pool, mode=ExamMode.ADAPTIVE, time_limit_minutes=20, title="Adaptive cardiology")
    AdaptiveSettings.objects.create(exam=exam, se_target=0.3, min_items=3, max_items=4)
    return exam


@pytest.mark.parametrize("viewport", ["page", "phone"])
def test_student_sits_an_adaptive_exam_to_its_report(request, viewport, live_server, adaptive, student):
    page = request.getfixturevalue(viewport)
    login(page, live_server.url, student.username, PASSWORD)
    page.goto(f"{live_server.url}/exams/{adaptive.pk}/")
    page.get_by_role("button", name="Start the exam").click()
    page.wait_for_selector("form[data-adaptive-form]")
    assert page.locator("#exam-timer").is_visible()
    for position in range(1, 5):
        if "/report/" in page.url:
            break
        assert page.locator("#question-heading").inner_text().startswith(f"Question {position}")
        assert page.locator(".option-explanation, .option-key").count() == 0
        page.locator("label[for=choice-0]").click()
        page.get_by_role("button", name="Submit answer and continue →").click()
        page.wait_for_load_state()
    page.wait_for_url("**/adaptive/report/")
    assert page.locator("[data-theta]").is_visible()
    assert page.locator("[data-adaptive-path] tbody tr").count() >= 3
    page.go_back()  # no going back: the question page sends a finished attempt to its report
    page.reload()
    page.wait_for_url("**/adaptive/report/")
