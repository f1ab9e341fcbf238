"""In Debian chromium: a student runs a whole virtual-patient encounter, from the first question to the
debrief, on the anaphylaxis case (vital signs respond to epinephrine), then reloads mid-way without loss."""

from __future__ import annotations

import re

import pytest

from medtutor.accounts.models import Cohort, Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def vp_student(transactional_db, django_user_model):
    from tests.simulation.factories import assigned_case

    student = django_user_model.objects.create_user("b-vp", password=PASSWORD, role=Role.STUDENT)
    cohort = Cohort.objects.create(code="b-vp", name="Browser VP")
    cohort.members.add(student)
    assigned_case(cohort, "anaphylaxis-peanut")
    return student


def _systolic(page) -> int:
    return int(re.match(r"(\d+)/", page.locator('[data-vital="bp"]').inner_text()).group(1))


def test_encounter_from_first_question_to_debrief(page, live_server, vp_student):
    login(page, live_server.url, "b-vp", PASSWORD)
    page.get_by_role("link", name="Cases").first.click()
    page.wait_for_url(f"{live_server.url}/vp/")
    assert "not patient care" in page.content()
    page.get_by_role("button", name="Start encounter").click()
    page.wait_for_selector("text=nuts in my curry")
    page.wait_for_load_state()  # htmx (deferred) must be listening before the first question

    box = page.get_by_label("Ask the patient")
    box.fill("When did this start?")
    box.press("Enter")
    page.wait_for_selector("text=fifteen minutes after I started eating")
    assert page.evaluate("document.activeElement.id") == "vp-question"      # ready for the next question
    box = page.get_by_label("Ask the patient")
    box.fill("Do you have any allergies?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_selector("[data-vp-answer] >> text=Peanuts")

    page.get_by_label("Ask the patient").fill("Any fever?")                  # typing, then examining first
    page.get_by_role("button", name="Skin", exact=True).click()
    page.wait_for_selector("text=Widespread urticaria")
    assert page.get_by_label("Ask the patient").input_value() == "Any fever?"  # the draft survives the swap
    page.get_by_label("Ask the patient").fill("")
    low = _systolic(page)
    assert low < 95

    page.get_by_role("button", name="Epinephrine (adrenaline) 0.5 mg IM").click()
    page.wait_for_selector("text=Given")
    page.get_by_role("button", name="High-flow oxygen via mask").click()
    page.wait_for_selector(".vp-plain-list >> text=High-flow oxygen")       # wait for the swap before typing
    page.get_by_label("Order a test").fill("Mast cell tryptase")
    page.get_by_role("button", name="Order", exact=True).click()
    page.wait_for_selector("text=Pending")                                    # tryptase takes a day
    assert page.inner_text("[data-vp-minute]") == "7 min"                      # each action cost simulated time
    page.get_by_role("button", name="+15 min").first.click()
    page.wait_for_selector("[data-vp-minute] >> text=22 min")
    assert _systolic(page) > low + 20                                          # the patient responds
    assert "Pending" in page.inner_text(".vp-results")

    page.reload()                                                              # nothing is lost on reload
    page.wait_for_selector("text=fifteen minutes after I started eating")
    assert page.locator(".vp-student").count() == 2

    page.get_by_label("Leading diagnosis").fill("anaphylaxis to peanuts")
    page.get_by_label(re.compile("Differential")).fill("angioedema\nacute asthma")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit and see debrief").click()
    page.wait_for_url(re.compile(r".*/debrief/$"))
    text = page.inner_text("main")
    for expected in ("Components and reasons", "correct", "Critical actions", "done at", "Teaching points",
                     "You and the expert path", "Timeline", "vp-debrief"):
        assert expected in text, expected
    assert "not patient care" in page.content()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_encounter_fits_a_phone(phone, live_server, vp_student):
    login(phone, live_server.url, "b-vp", PASSWORD)
    phone.goto(f"{live_server.url}/vp/")
    phone.get_by_role("button", name="Start encounter").click()
    phone.wait_for_selector("text=nuts in my curry")
    wide = phone.evaluate("""Array.from(document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect().right > 380)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, wide
