"""Answering a practice question: committed, idempotent, and no key before the answer."""

import pytest

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.learning.models import ItemResponse
from medtutor.learning.services import record_answer


def test_question_page_holds_no_key_or_explanation(client, student, item):
    client.force_login(student)
    page = client.get(f"/practice/{item.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "Furosemide" in html
    for secret in ("offloads fluid", "Loop diuretics are first-line", "Long-term benefit"):
        assert secret not in html
    assert "not for patient care" in html.lower()


def test_answer_shows_result_explanations_and_objective(client, student, item):
    client.force_login(student)
    page = client.post(f"/practice/{item.pk}/", {"choice": "1", "version": item.current_version_id,
                                                  "client_token": "tok-12345678"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Incorrect" in html or "incorrect" in html
    for text in ("offloads fluid", "Long-term benefit", "does not relieve congestion quickly",
                 "Explain how loop diuretics relieve congestion."):
        assert text in html
    response = ItemResponse.objects.get(learner=student)
    assert response.chosen_index == 1 and not response.is_correct


def test_resubmitting_the_same_token_records_one_answer(client, student, item):
    client.force_login(student)
    for _ in range(3):
        client.post(f"/practice/{item.pk}/", {"choice": "0", "client_token": "same-token-1"})
    assert ItemResponse.objects.filter(learner=student).count() == 1


def test_replay_with_another_choice_keeps_the_first_answer(student, item):
    first = record_answer(student, item.pk, None, 0, "tok-a")
    again = record_answer(student, item.pk, None, 2, "tok-a")
    assert again.replayed and again.response.pk == first.response.pk and again.response.chosen_index == 0


def test_htmx_answer_returns_only_the_card(client, student, item):
    client.force_login(student)
    page = client.post(f"/practice/{item.pk}/", {"choice": "0", "client_token": "tok-htmx-1"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and b"<html" not in page.content and b"question-card" in page.content


def test_missing_choice_is_refused_and_nothing_is_saved(client, student, item):
    client.force_login(student)
    page = client.post(f"/practice/{item.pk}/", {"client_token": "tok-none"})
    assert page.status_code == 400 and b"choose one of the 3 options" in page.content.lower()
    assert not ItemResponse.objects.exists()


@pytest.mark.parametrize("choice", [-1, 3, 99])
def test_out_of_range_choice(student, item, choice):
    with pytest.raises(InvalidInput):
        record_answer(student, item.pk, None, choice, "tok-x")


def test_unknown_item_and_version(student, item):
    with pytest.raises(NotFound):
        record_answer(student, 987654, None, 0, "tok-y")
    with pytest.raises(NotFound):
        record_answer(student, item.pk, 987654, 0, "tok-z")


def test_answer_to_an_old_version_is_scored_against_that_version(student, item, faculty):
    from medtutor.content.services import save_item
    from tests.conftest import make_record

    old = item.current_version
    save_item(item, make_record(key=1), actor=faculty)
    result = record_answer(student, item.pk, old.pk, 0, "tok-old")
    assert result.is_correct and result.version.pk == old.pk


def test_practice_picks_an_unanswered_question(client, student, item):
    client.force_login(student)
    response = client.get("/practice/")
    assert response.status_code == 302 and response["Location"].startswith(f"/practice/{item.pk}/")


def test_unknown_question_is_a_404_page_not_a_500(client, student, item):
    client.force_login(student)
    assert client.get("/practice/987654/").status_code == 404
    response = client.post("/practice/987654/", {"choice": "0", "client_token": "tok-404"})
    assert response.status_code == 404 and b"no question" in response.content


def test_practice_in_a_topic_names_the_topic(client, student, item):
    client.force_login(student)
    page = client.get(f"/practice/{item.pk}/?competency=cardio.hf")
    assert b"Heart failure" in page.content
