"""End-to-end in Debian chromium: a student opens a model card (calibration chart drawn under the CSP),
predicts one patient and sees the reasons; on a phone the form fits the screen."""

from __future__ import annotations

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.decision.risk_fixtures import register

HF = "heart_failure_clinical_records"


@pytest.fixture
def risk_student(transactional_db, django_user_model):
    register(HF)
    return django_user_model.objects.create_user("b-risk", password=PASSWORD, role=Role.STUDENT)


def test_student_reads_a_model_card_and_predicts_one_patient(page, live_server, risk_student):
    from medtutor.decision.models import RegisteredModel

    login(page, live_server.url, "b-risk", PASSWORD)
    page.get_by_role("link", name="Risk lab", exact=True).click()
    page.wait_for_url(f"{live_server.url}/risk/")
    assert "For education, not patient care" in page.content()
    model = RegisteredModel.objects.get(name=f"risk-{HF}-recommended")
    page.goto(f"{live_server.url}/risk/models/{model.pk}/")
    page.wait_for_function("document.getElementById('chart-calibration').chart !== undefined")
    assert page.locator("#table-reliability tbody tr").count() == 10
    page.goto(f"{live_server.url}/risk/predict/?dataset={HF}&example=1")
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("#table-explanation")
    assert "Model's risk" in page.content()
    assert page.locator("#table-explanation tbody tr").count() == 11
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_predict_form_fits_a_phone(phone, live_server, risk_student):
    login(phone, live_server.url, "b-risk", PASSWORD)
    phone.goto(f"{live_server.url}/risk/predict/?dataset={HF}")
    phone.wait_for_selector("#f-age")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1
