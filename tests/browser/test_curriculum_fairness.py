"""Program administrators in Debian chromium: curriculum analytics (charts with their tables, a filter, the
CSV) and the fairness reports down to an exam's DIF table, on a desktop and on a phone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.governance.test_fairness_reports import make_dif_exam


@pytest.fixture
def school(transactional_db, outline, faculty, django_user_model):
    from medtutor.analytics.synthetic_services import simulate_cohort

    django_user_model.objects.create_user("b-programme", password=PASSWORD, role=Role.ADMIN)
    simulate_cohort(40, 4, seed=5, code="curriculum", start=datetime(2026, 9, 7, tzinfo=UTC), faculty=faculty)
    return make_dif_exam(faculty, per_group=35)


def test_admin_reads_curriculum_analytics_and_downloads_it(page, live_server, school, tmp_path):
    login(page, live_server.url, "b-programme", PASSWORD)
    page.get_by_role("link", name="Curriculum", exact=True).click()
    page.wait_for_selector("#table-coverage")
    assert page.locator("#table-coverage tbody tr").count() > 0
    assert page.locator("#table-difficulty tbody tr").count() > 0
    page.wait_for_function("() => !!document.getElementById('chart-curriculum-coverage').chart")
    months = page.locator("#filter-month option")
    if months.count() > 1:  # pick another month: the items table follows it
        page.locator("#filter-month").select_option(index=1)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**month=**")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV (aggregates)").click()
    target = Path(tmp_path) / "curriculum.csv"
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert "coverage" in text and "synthetic-curriculum-s0001" not in text  # aggregates, no student
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_admin_follows_the_fairness_reports_to_an_items_dif(page, live_server, school):
    login(page, live_server.url, "b-programme", PASSWORD)
    page.get_by_role("link", name="Fairness", exact=True).click()
    page.wait_for_selector("h1:has-text('Fairness reports')")
    page.goto(f"{live_server.url}/governance/fairness/exams/{school.pk}/dif/")
    row = page.locator('tr[data-item="dif-0 v1"]')
    assert row.get_attribute("data-class") == "C"  # the planted biased item
    assert "MH D-DIF" in page.content()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_fairness_and_curriculum_pages_fit_a_phone(phone, live_server, school):
    login(phone, live_server.url, "b-programme", PASSWORD)
    for path in ("/analytics/curriculum/", f"/governance/fairness/exams/{school.pk}/dif/", "/governance/fairness/"):
        phone.goto(f"{live_server.url}{path}")
        phone.wait_for_selector("h1")
        overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, path
