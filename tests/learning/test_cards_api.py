"""Card review over the API: due list, review with replay, undo, 4xx with a message."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from medtutor.core import clock
from medtutor.learning.models import CardReview


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_due_review_replay_and_undo(client, student, deck):
    client.force_login(student)
    due = client.get("/api/v1/cards/due").json()
    assert due["new_available"] == 2 and len(due["cards"]) == 2
    first = due["cards"][0]
    assert set(first["intervals"]) == {"again", "hard", "good", "easy"} and first["intervals"]["good"] == "10 min"
    cloze_card = next(c for c in due["cards"] if c["kind"] == "cloze")
    assert "[a drug]" in cloze_card["front"] and "salbutamol" in cloze_card["back"]
    body = {"grade": 3, "client_seq": "api-1", "version": first["version"]}
    made = _post(client, f"/api/v1/cards/{first['card_id']}/reviews", body)
    replay = _post(client, f"/api/v1/cards/{first['card_id']}/reviews", body)
    assert made.status_code == 201 and replay.status_code == 200 and replay.json()["replayed"]
    data = made.json()
    assert data["interval"] == "10 min" and data["state"]["version"] == 1 and data["state"]["phase"] == "learning"
    assert set(data["next_intervals"]) == {"again", "hard", "good", "easy"}
    undone = _post(client, "/api/v1/cards/reviews/undo", {"review_id": data["review_id"]})
    assert undone.status_code == 200 and undone.json()["state"]["is_new"]
    assert CardReview.objects.get().undone_at is not None


@pytest.mark.parametrize("body,status", [
    ({"grade": 3, "client_seq": "a", "reviewed_at": "2020-01-01T00:00:00Z"}, 400),
    ({"grade": 3, "client_seq": "b", "reviewed_at": "2020-01-01T00:00:00"}, 400),
    ({"grade": 7, "client_seq": "c"}, 422),
    ({"grade": 3}, 422),
])
def test_bad_reviews_are_4xx_with_a_message(client, student, deck, body, status):
    client.force_login(student)
    response = _post(client, f"/api/v1/cards/{deck[0].pk}/reviews", body)
    assert response.status_code == status and response.json()["detail"]
    assert not CardReview.objects.exists()


def test_future_review_is_400(client, student, deck):
    client.force_login(student)
    future = (clock.now() + timedelta(hours=2)).isoformat()
    response = _post(client, f"/api/v1/cards/{deck[0].pk}/reviews", {"grade": 3, "client_seq": "f", "reviewed_at": future})
    assert response.status_code == 400 and "future" in response.json()["detail"]


def test_unknown_or_another_students_card_is_404(client, student, other_student, item):
    from medtutor.learning.cards import make_card_from_answer
    from medtutor.learning.services import record_answer

    theirs = make_card_from_answer(other_student, record_answer(other_student, item.pk, None, 1, "tok-o").response.pk).card
    client.force_login(student)
    for card_id in (987654, theirs.pk, 2**64):
        response = _post(client, f"/api/v1/cards/{card_id}/reviews", {"grade": 3, "client_seq": f"x{card_id}"})
        assert response.status_code == 404 and "no card" in response.json()["detail"]
    assert theirs.pk not in [c["card_id"] for c in client.get("/api/v1/cards/due").json()["cards"]]


def test_stale_version_is_409_and_nothing_to_undo_is_409(client, student, deck):
    client.force_login(student)
    assert _post(client, "/api/v1/cards/reviews/undo", {}).status_code == 409
    _post(client, f"/api/v1/cards/{deck[0].pk}/reviews", {"grade": 3, "client_seq": "one", "version": 0})
    stale = _post(client, f"/api/v1/cards/{deck[0].pk}/reviews", {"grade": 3, "client_seq": "two", "version": 0})
    assert stale.status_code == 409 and "already reviewed" in stale.json()["detail"]


def test_cards_api_is_for_students(client, faculty, deck):
    client.force_login(faculty)
    assert client.get("/api/v1/cards/due").status_code == 403
    assert _post(client, f"/api/v1/cards/{deck[0].pk}/reviews", {"grade": 3, "client_seq": "f"}).status_code == 403
