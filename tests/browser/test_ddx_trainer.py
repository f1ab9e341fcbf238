"""End-to-end in Debian chromium: a student interviews a DDXPlus patient, commits, and compares with the engine."""

from __future__ import annotations

import re

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD, shared_data


@pytest.fixture
def ddx_lab(tmp_path, monkeypatch):
    from medtutor.decision import ddx_services as ddx

    lab = ddx._build_lab(shared_data("ddxplus"), tmp_path / "ddx")
    monkeypatch.setattr(ddx, "_lab", lab)
    return lab


@pytest.fixture
def learner(transactional_db, django_user_model):
    return django_user_model.objects.create_user("b-ddx", password=PASSWORD, role=Role.STUDENT)


def test_student_interviews_commits_and_sees_the_engines_path(page, live_server, learner, ddx_lab):
    login(page, live_server.url, "b-ddx", PASSWORD)
    page.get_by_role("link", name="DDx trainer").click()
    page.wait_for_url(f"{live_server.url}/ddx/")
    assert "For education, not patient care" in page.content()
    page.get_by_label("Pathology").select_option("Acute otitis media")
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(re.compile(r"/ddx/\d+/$"))
    assert "For education, not patient care" in page.content()
    assert page.locator(".ddx-table tbody tr").count() == 10

    # search filters the list (English or French), then ask the first match
    search = page.get_by_label("Search the questions")
    search.fill("toux")
    visible = page.locator("#ddx-question-list li:not([hidden])")
    assert 0 < visible.count() < page.locator("#ddx-question-list li").count()
    first = visible.first.locator("button")
    asked_text = first.locator(".ddx-q-en").inner_text()
    first.click()
    page.wait_for_selector(".ddx-last[role=status]")
    assert "Your questions (1)" in page.content()
    assert asked_text in page.locator(".ddx-steps").inner_text()
    assert "Likelihood ratio of this finding" in page.locator(".ddx-last").inner_text()

    # a second question, chosen without searching
    page.locator("#ddx-question-list li button").first.click()
    page.wait_for_function("document.body.innerText.includes('Your questions (2)')")
    assert page.locator(".ddx-steps tbody tr").count() == 2

    # reload resumes where it stopped
    page.reload()
    assert page.locator(".ddx-steps tbody tr").count() == 2

    page.get_by_label("Diagnosis 1 (most likely)").select_option("Acute otitis media")
    page.get_by_label("Diagnosis 2", exact=True).select_option("Allergic sinusitis")
    page.get_by_role("button", name="Commit differential").click()
    page.wait_for_selector("#comparison")
    comparison = page.locator("#comparison").inner_text()
    assert "The patient has Acute otitis media" in comparison
    assert "You ranked it #1" in comparison
    assert "The engine's path" in comparison and "What you missed" in comparison
    assert page.locator(".ddx-steps .badge").count() == 2  # each question got a verdict
    assert "Commit differential" not in page.content()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_trainer_fits_a_phone(phone, live_server, learner, ddx_lab):
    login(phone, live_server.url, "b-ddx", PASSWORD)
    phone.goto(f"{live_server.url}/ddx/")
    phone.get_by_role("button", name="Start interview").click()
    phone.wait_for_url(re.compile(r"/ddx/\d+/$"))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1
