"""End-to-end in Debian chromium: faculty open the cohort dashboard of a synthetic cohort, filter it,
see charts drawn with their tables, and download the pseudonymous CSV; a phone layout works too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def teacher(transactional_db, django_user_model):
    from medtutor.analytics.synthetic_services import simulate_cohort

    user = django_user_model.objects.create_user("b-cohort-fac", password=PASSWORD, role=Role.FACULTY)
    simulate_cohort(40, 4, seed=13, code="browser", start=datetime(2026, 9, 7, tzinfo=UTC), faculty=user)
    return user


def test_faculty_uses_the_cohort_dashboard(page, live_server, teacher, tmp_path):
    login(page, live_server.url, "b-cohort-fac", PASSWORD)
    page.get_by_role("link", name="Cohort analytics", exact=True).click()
    page.get_by_role("link", name="Synthetic cohort browser", exact=False).click()
    page.wait_for_selector("#table-weekly")
    assert page.locator("#table-weekly tbody tr").count() == 4
    # Chart.js drew the charts (an instance on each canvas)
    page.wait_for_function("() => !!document.getElementById('chart-cohort-weekly').chart")
    assert page.evaluate("() => !!document.getElementById('chart-cohort-systems').chart")
    assert "Synthetic cohort: generated students" in page.content()
    page.get_by_label("Subgroup").select_option("first_generation=no")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**group=first_generation%3Dno**")
    assert "first generation = no" in page.content()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV (aggregates)").click()
    target = Path(tmp_path) / "cohort.csv"
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert "exported_by=p-" in text and "synthetic-browser-s0001" not in text
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_cohort_dashboard_on_a_phone(phone, live_server, teacher):
    login(phone, live_server.url, "b-cohort-fac", PASSWORD)
    from medtutor.accounts.models import Cohort

    cohort = Cohort.objects.get(code="synthetic-browser")
    phone.goto(f"{live_server.url}/analytics/cohorts/{cohort.pk}/")
    phone.wait_for_selector("#table-systems")
    overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
