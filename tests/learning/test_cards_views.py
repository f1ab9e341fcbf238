"""Card pages: deck, one card at a time (HTMX and plain forms), undo, catch-up form, Make a card."""

from __future__ import annotations

import re

from medtutor.core.models import AuditRecord
from medtutor.learning.models import CardReview, CardState, DeckSettings, PersonalCard


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_deck_page_shows_counts_forecast_and_controls(client, student, deck):
    client.force_login(student)
    page = client.get("/cards/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "new cards" in html and "Reviews per day" in html and html.count("<meter") == 14
    assert 'name="daily_cap"' in html and "not for patient care" in html.lower()
    assert "Start review" in html


def test_review_page_hides_the_cloze_answer_on_the_front(client, student, deck):
    client.force_login(student)
    html = client.get(f"/cards/review/?card={deck[1].pk}").content.decode()
    front = html.split("data-card-front", 1)[1].split("</div>", 1)[0]
    assert "[a drug]" in front and "salbutamol" not in front
    assert '<mark class="cloze-answer">salbutamol</mark>' in html
    assert "Asthma" in html  # the competency
    for label in ("Again", "Hard", "Good", "Easy", "1 min", "10 min"):
        assert label in html
    assert "not for patient care" in html.lower()


def test_plain_form_grade_redirects_then_undo_brings_the_same_card_back(client, student, deck):
    client.force_login(student)
    html = client.get("/cards/review/").content.decode()
    card_id = int(_hidden(html, "card"))
    posted = client.post("/cards/review/", {"card": card_id, "version": _hidden(html, "version"),
                                            "client_seq": _hidden(html, "client_seq"), "grade": "3"})
    assert posted.status_code == 302 and posted["Location"] == "/cards/review/"
    after = client.get("/cards/review/").content.decode()
    assert "Saved: Good" in after and "Undo last review" in after
    assert int(_hidden(after, "card")) != card_id
    undo = client.post("/cards/undo/", {"review_id": _hidden(after, "review_id")})
    assert undo.status_code == 302 and undo["Location"] == f"/cards/review/?card={card_id}"
    again = client.get(undo["Location"]).content.decode()
    assert int(_hidden(again, "card")) == card_id and "Review undone" in again
    assert CardReview.objects.get().undone_at is not None
    assert CardState.objects.get(card_id=card_id).is_new


def test_htmx_grade_swaps_only_the_card_and_a_double_post_is_one_review(client, student, deck):
    client.force_login(student)
    html = client.get("/cards/review/").content.decode()
    form = {"card": _hidden(html, "card"), "version": _hidden(html, "version"),
            "client_seq": _hidden(html, "client_seq"), "grade": "4"}
    first = client.post("/cards/review/", form, HTTP_HX_REQUEST="true")
    second = client.post("/cards/review/", form, HTTP_HX_REQUEST="true")
    assert first.status_code == 200 and b"<html" not in first.content and b'id="card-review"' in first.content
    assert b"Saved: Easy" in first.content and b"already saved" in second.content
    assert CardReview.objects.count() == 1


def test_a_stale_tab_gets_a_409_and_nothing_changes(client, student, deck):
    client.force_login(student)
    html = client.get(f"/cards/review/?card={deck[0].pk}").content.decode()
    base = {"card": deck[0].pk, "version": _hidden(html, "version"), "grade": "3"}
    client.post("/cards/review/", base | {"client_seq": "tab-a-123"}, HTTP_HX_REQUEST="true")
    stale = client.post("/cards/review/", base | {"client_seq": "tab-b-123"}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409 and b"already reviewed" in stale.content
    assert CardReview.objects.count() == 1


def test_bad_review_posts_get_a_4xx_page(client, student, deck, other_student):
    client.force_login(student)
    assert client.post("/cards/review/", {"card": "987654", "version": "0", "client_seq": "x", "grade": "3"}).status_code == 404
    assert client.post("/cards/review/", {"card": deck[0].pk, "version": "0", "client_seq": "x", "grade": "9"}).status_code == 400
    assert client.post("/cards/review/", {"card": deck[0].pk, "client_seq": "x", "grade": "3"}).status_code == 400
    assert client.post("/cards/undo/", {}).status_code == 409
    assert not CardReview.objects.exists()


def test_catch_up_form_saves_the_cap_and_records_the_plan(client, student, deck):
    client.force_login(student)
    bad = client.post("/cards/plan/", {"daily_cap": "0", "new_per_day": "5"})
    assert bad.status_code == 400 and not DeckSettings.objects.exists()
    good = client.post("/cards/plan/", {"daily_cap": "80", "new_per_day": "5"})
    assert good.status_code == 302 and DeckSettings.objects.get().daily_cap == 80
    assert AuditRecord.objects.filter(model_name="catchup-planner", actor=student).count() == 1
    assert "at most 80 reviews a day" in client.get("/cards/").content.decode()


def test_get_on_post_only_card_urls_redirects(client, student):
    client.force_login(student)
    for url in ("/cards/undo/", "/cards/plan/", "/cards/from-answer/"):
        assert client.get(url).status_code == 302


def test_make_a_card_button_on_a_wrong_answer(client, student, other_student, item):
    client.force_login(student)
    wrong = client.post(f"/practice/{item.pk}/", {"choice": "1", "client_token": "tok-wrong-1"})
    html = wrong.content.decode()
    assert "Make a card" in html
    response_id = _hidden(html, "response")
    made = client.post("/cards/from-answer/", {"response": response_id}, HTTP_HX_REQUEST="true")
    again = client.post("/cards/from-answer/", {"response": response_id})
    assert made.status_code == 200 and b"Card added" in made.content
    assert again.status_code == 302 and PersonalCard.objects.count() == 1
    card = PersonalCard.objects.get().card
    page = client.get(f"/cards/review/?card={card.pk}").content.decode()
    assert "basal crackles" in page and "Your card" in page
    client.force_login(other_student)
    theirs = client.get(f"/cards/review/?card={card.pk}").content.decode()
    assert "basal crackles" not in theirs
    assert client.post("/cards/from-answer/", {"response": response_id}).status_code == 404


def test_right_answer_has_no_make_a_card_button(client, student, item):
    client.force_login(student)
    right = client.post(f"/practice/{item.pk}/", {"choice": "0", "client_token": "tok-right-1"})
    assert b"Make a card" not in right.content


def test_nav_shows_cards_with_a_due_badge(client, student, deck, faculty):
    from medtutor.learning import cards
    from tests.learning.conftest import T0

    client.force_login(student)
    assert b'href="/cards/"' in client.get("/").content
    cards.record_review(student, deck[0].pk, "again", client_seq="1", at=T0)
    assert b"badge-count" in client.get("/").content
    client.force_login(faculty)
    assert b'href="/cards/"' not in client.get("/").content
