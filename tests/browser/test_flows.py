"""End-to-end in Debian chromium: a student answers, faculty imports, text stays text."""

from __future__ import annotations

from pathlib import Path

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD

MOODLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <name><text>Browser import check</text></name>
    <questiontext format="html"><text><![CDATA[<p>Which electrolyte disturbance makes digoxin toxicity more likely?</p>]]></text></questiontext>
    <generalfeedback format="html"><text>Low potassium increases digoxin binding to the Na/K ATPase.</text></generalfeedback>
    <single>true</single>
    <answer fraction="100"><text>Hypokalaemia</text><feedback><text>Right: it potentiates digoxin.</text></feedback></answer>
    <answer fraction="0"><text>Hyperkalaemia</text><feedback><text>High potassium competes with digoxin.</text></feedback></answer>
    <answer fraction="0"><text>Hyponatraemia</text><feedback><text>Not a recognised potentiator.</text></feedback></answer>
  </question>
</quiz>
"""


@pytest.fixture
def demo(transactional_db):
    from medtutor.content.demo import load_demo

    load_demo()


@pytest.fixture
def accounts(transactional_db, django_user_model):
    return {role: django_user_model.objects.create_user(f"b-{role}", password=PASSWORD, role=role)
            for role in Role.values}


def test_student_answers_a_demo_question_and_sees_why(page, live_server, demo, accounts):
    login(page, live_server.url, "b-student", PASSWORD)
    page.get_by_role("link", name="Practice").first.click()
    page.wait_for_selector("#question-card")
    assert page.locator(".option-explanation").count() == 0  # nothing given away before answering
    page.locator("input[name=choice]").first.check()
    page.get_by_role("button", name="Submit answer").click()
    page.wait_for_selector("#result")
    result = page.locator("#result").inner_text()
    assert "Correct" in result or "Incorrect" in result
    assert page.locator(".option-explanation").count() >= 4
    assert "Learning objective" in page.content()
    assert "not for patient care" in page.content().lower()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_faculty_imports_a_moodle_xml_file(page, live_server, accounts, transactional_db, tmp_path):
    from medtutor.content.models import Item

    upload = Path(tmp_path) / "quiz.xml"
    upload.write_text(MOODLE_XML, encoding="utf-8")
    login(page, live_server.url, "b-faculty", PASSWORD)
    page.goto(f"{live_server.url}/items/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    assert "created" in page.content()
    item = Item.objects.get()
    assert item.current_version.option_texts == ["Hypokalaemia", "Hyperkalaemia", "Hyponatraemia"]
    page.goto(f"{live_server.url}/items/?q=digoxin")
    assert page.get_by_role("link", name=item.external_id).count() == 1


def test_item_text_is_rendered_as_text_not_markup(page, live_server, accounts, transactional_db):
    """Stored XSS: even markup that got past the importers (an old row, a DB edit) stays inert."""
    from medtutor.content.models import Item, ItemVersion

    item = Item.objects.create(external_id="xss-1")
    version = ItemVersion.objects.create(
        item=item, number=1, stem='<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">',
        lead_in="<b>bold?</b>", options=[{"text": "<i>one</i>", "explanation": ""}, {"text": "two", "explanation": ""}],
        key_index=0)
    item.current_version = version
    item.save()
    login(page, live_server.url, "b-student", PASSWORD)
    page.goto(f"{live_server.url}/practice/{item.pk}/")
    page.wait_for_selector("#question-card")
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.locator("#question-card").inner_text()
    assert page.locator("#question-card b").count() == 0


def test_pages_fit_a_phone_screen(phone, live_server, demo, accounts):
    login(phone, live_server.url, "b-student", PASSWORD)
    for path in ("/", "/practice/"):
        phone.goto(live_server.url + path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
