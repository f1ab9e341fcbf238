"""In Debian chromium: a student reviews a card, undoes it and sees the same card again."""

from __future__ import annotations

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def student_with_cards(transactional_db, django_user_model):
    from medtutor.content.models import Card

    Card.objects.create(external_id="b-card-1", kind="basic", front="Which drug relieves congestion fastest?",
                        back="Furosemide, a loop diuretic.")
    Card.objects.create(external_id="b-card-2", kind="cloze", front="Digoxin toxicity is worsened by {{c1::hypokalaemia}}.")
    return django_user_model.objects.create_user("b-cards", password=PASSWORD, role=Role.STUDENT)


def _card_id(page) -> str:
    return page.locator("[data-card-front]").get_attribute("data-card-id")


def test_review_a_card_then_undo_shows_it_again(page, live_server, student_with_cards):
    login(page, live_server.url, "b-cards", PASSWORD)
    page.get_by_role("link", name="Cards").first.click()
    page.wait_for_url(f"{live_server.url}/cards/")
    page.get_by_role("link", name="Start review").click()
    page.wait_for_selector("[data-card-front]")
    page.wait_for_load_state()  # the shortcuts below need the deferred script, which runs before "load"
    first = _card_id(page)
    assert not page.get_by_role("button", name="Good").is_visible()  # answer hidden until asked for
    page.keyboard.press("Space")
    good = page.get_by_role("button", name="Good")
    assert good.is_visible() and "10 min" in good.inner_text()
    page.keyboard.press("3")
    page.wait_for_selector("text=Saved: Good")
    assert _card_id(page) != first
    page.get_by_role("button", name="Undo last review").click()
    page.wait_for_selector("text=Review undone")
    assert _card_id(page) == first
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_review_works_without_javascript(browser, live_server, student_with_cards):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, live_server.url, "b-cards", PASSWORD)
        page.goto(f"{live_server.url}/cards/review/")
        first = _card_id(page)
        page.get_by_text("Show answer").click()
        page.get_by_role("button", name="Easy").click()
        page.wait_for_selector("text=Saved: Easy")
        page.get_by_role("button", name="Undo last review").click()
        page.wait_for_selector("text=Review undone")
        assert _card_id(page) == first
    finally:
        context.close()
