"""End-to-end in Debian chromium: a student opens the imaging lab, picks a film, reads the model's
probability and occlusion map, and moves the threshold; on a phone the page still fits."""

from __future__ import annotations

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD, shared_data


@pytest.fixture
def trained_lab(transactional_db, settings, django_user_model):
    from medtutor.decision import imaging_services

    settings.MEDTUTOR_IMAGING_DATA = str(shared_data("imaging", "pneumoniamnist", "pneumoniamnist_trainval.npz"))
    imaging_services.train_and_register(["logreg"], train_limit=600, seed=0)
    return django_user_model.objects.create_user("b-img", password=PASSWORD, role=Role.STUDENT)


def test_student_reads_a_prediction_and_moves_the_threshold(page, live_server, trained_lab):
    login(page, live_server.url, "b-img", PASSWORD)
    page.get_by_role("link", name="Imaging lab").click()
    page.wait_for_url(f"{live_server.url}/decision/imaging/")
    assert "For education, not patient care" in page.content()
    page.locator(".imaging-gallery a").first.click()
    page.wait_for_selector("#prediction")
    probability = page.locator("[data-probability]").inner_text()
    assert probability.endswith("%") and 0 <= float(probability[:-1]) <= 100
    assert page.get_by_alt_text("The same film with the occlusion saliency map overlaid").is_visible()
    missed_at_half = int(page.locator("[data-fn]").inner_text().split()[0])
    # The whole confusion matrix is in view, not scrolled off inside its box.
    assert page.evaluate("(e => e.scrollWidth <= e.clientWidth + 1)(document.querySelector('.imaging-confusion-table'))")
    page.locator("[data-threshold-range]").fill("0.15")
    assert page.locator("[data-threshold-output]").inner_text() == "0.15"  # the static script updates it
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**threshold=0.15**")
    assert int(page.locator("[data-fn]").inner_text().split()[0]) <= missed_at_half
    assert page.locator("#prediction").count() == 1  # the same film stays open
    page.get_by_label("pneumonia", exact=True).check()
    page.get_by_label("What you saw").fill("patchy opacity, right lower zone")
    page.get_by_role("button", name="Save my read").click()
    page.wait_for_selector("text=Your read (pneumonia) is saved")
    assert "threshold=0.15" in page.url
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_lab_fits_a_phone(phone, live_server, trained_lab):
    login(phone, live_server.url, "b-img", PASSWORD)
    phone.goto(f"{live_server.url}/decision/imaging/?image=3")
    phone.wait_for_selector("#prediction")
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1  # wide tables scroll inside their own box
