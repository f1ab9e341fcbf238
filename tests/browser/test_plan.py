"""End-to-end in Debian chromium: a student sets a study plan, downloads it, and sees the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def demo(transactional_db):
    from medtutor.content.demo import load_demo

    load_demo()


@pytest.fixture
def learner(transactional_db, django_user_model, demo):
    from medtutor.content.models import Item
    from medtutor.learning.models import ItemResponse

    user = django_user_model.objects.create_user("b-plan", password=PASSWORD, role=Role.STUDENT)
    now = datetime.now(UTC)
    for k, item in enumerate(Item.objects.filter(competency__isnull=False)[:6]):
        ItemResponse.objects.create(learner=user, item_version=item.current_version, chosen_index=0,
                                    is_correct=k % 2 == 0, client_token=f"b-{k}",
                                    answered_at=now - timedelta(days=k * 4), seconds_taken=45)
    return user


def test_student_sets_a_plan_and_downloads_the_calendar(page, live_server, learner, tmp_path):
    login(page, live_server.url, "b-plan", PASSWORD)
    page.get_by_role("link", name="Plan", exact=True).click()
    page.wait_for_url(f"{live_server.url}/plan/")
    exam = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    page.get_by_label("Exam date", exact=True).fill(exam)
    page.get_by_label("Minutes a day", exact=True).fill("60")
    page.get_by_role("button", name="Save and plan").click()
    page.wait_for_selector(".plan-table")
    assert page.locator(".plan-table tbody tr").count() == 14
    assert "Plan saved" in page.content()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download calendar (.ics)").click()
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    target = Path(tmp_path) / download.suggested_filename
    download.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VEVENT") == 30
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_home_dashboard_renders_charts_and_tables(page, live_server, learner):
    login(page, live_server.url, "b-plan", PASSWORD)
    page.wait_for_selector("#chart-systems")
    page.wait_for_function("() => document.getElementById('chart-systems').chart !== undefined")
    page.wait_for_function("() => document.getElementById('chart-trend').chart !== undefined")
    assert page.locator("#chart-systems").is_visible()
    assert page.locator("#table-systems tbody tr").count() >= 1
    assert page.locator("#table-trend tbody tr").count() == 8
    assert page.locator("meter").count() >= 1
    assert "estimate" in page.locator("#prediction-title").inner_text()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]
    assert not page.csp_errors


def test_dashboard_and_plan_fit_a_phone(phone, live_server, learner):
    login(phone, live_server.url, "b-plan", PASSWORD)
    for path in ("/", "/plan/"):
        phone.goto(f"{live_server.url}{path}")
        phone.wait_for_load_state("load")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, path
