"""The JSON API: roles, ownership, CSRF, no key before answering, 4xx (never 500) on bad input."""

import json
import re

import pytest
from django.test import Client

from medtutor.content.models import Item
from medtutor.learning.services import record_answer


def _json(client, method, url, body=None, **extra):
    return getattr(client, method)(url, data=json.dumps(body) if body is not None else None,
                                   content_type="application/json", **extra)


def test_openapi_schema_is_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and "/api/v1/items" in schema.json()["paths"]


def test_anonymous_gets_401(client, item):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get(f"/api/v1/items/{item.pk}").status_code == 401


def test_student_item_view_hides_key_and_explanations(client, student, item):
    client.force_login(student)
    data = client.get(f"/api/v1/items/{item.pk}").json()
    assert set(data) == {"id", "external_id", "version_id", "stem", "lead_in", "options", "competency", "difficulty"}
    assert all(set(o) == {"text"} for o in data["options"])


def test_faculty_item_view_has_key(client, faculty, item):
    client.force_login(faculty)
    data = client.get(f"/api/v1/items/{item.pk}").json()
    assert data["key"] == 0 and data["options"][0]["explanation"]


def test_students_cannot_list_or_write_the_bank(client, student, item):
    client.force_login(student)
    assert client.get("/api/v1/items").status_code == 403
    assert _json(client, "post", "/api/v1/items", {"external_id": "x"}).status_code in (403, 422)


def test_answer_then_see_key_and_replay(client, student, item):
    client.force_login(student)
    body = {"choice": 0, "client_token": "api-token-1"}
    first = _json(client, "post", f"/api/v1/items/{item.pk}/answers", body)
    assert first.status_code == 201 and first.json()["correct"] and first.json()["key"] == 0
    again = _json(client, "post", f"/api/v1/items/{item.pk}/answers", body)
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["id"] == first.json()["id"]


def test_session_writes_need_the_csrf_header(student, item):
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    refused = _json(client, "post", f"/api/v1/items/{item.pk}/answers", {"choice": 0, "client_token": "csrf-test-1"})
    assert refused.status_code == 403
    client.get("/")  # a page with a form sets the csrf cookie
    token = client.cookies["csrftoken"].value
    accepted = _json(client, "post", f"/api/v1/items/{item.pk}/answers", {"choice": 0, "client_token": "csrf-test-1"},
                     HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_a_student_never_reads_another_students_answer(client, student, other_student, faculty, item):
    theirs = record_answer(other_student, item.pk, None, 1, "theirs-1").response
    client.force_login(student)
    assert client.get(f"/api/v1/answers/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/me/answers").json() == []
    client.force_login(faculty)
    assert client.get(f"/api/v1/answers/{theirs.pk}").status_code == 200


@pytest.mark.parametrize("body", [
    {},
    {"choice": "zero", "client_token": "abcdefgh"},
    {"choice": 0},
    {"choice": 12, "client_token": "abcdefgh"},
    {"choice": 0, "client_token": "short"},
    [1, 2, 3],
])
def test_bad_answer_bodies_get_422_with_a_message(client, student, item, body):
    client.force_login(student)
    response = _json(client, "post", f"/api/v1/items/{item.pk}/answers", body)
    assert response.status_code == 422 and response.json()["detail"]


def test_choice_beyond_this_items_options_is_400(client, student, item):
    client.force_login(student)
    response = _json(client, "post", f"/api/v1/items/{item.pk}/answers", {"choice": 5, "client_token": "abcdefgh1"})
    assert response.status_code == 400 and "3 options" in response.json()["detail"]


def test_malformed_json_is_a_4xx(client, student, item):
    client.force_login(student)
    response = client.post(f"/api/v1/items/{item.pk}/answers", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500


def test_faculty_creates_and_edits_items(client, faculty, outline):
    client.force_login(faculty)
    body = {"external_id": "api-1", "stem": "Stem", "lead_in": "Lead?", "key": 1,
            "options": [{"text": "A", "explanation": "no"}, {"text": "B", "explanation": "yes"}],
            "competency": "cardio.hf", "objective": "cardio.hf.1", "tags": ["x"]}
    created = _json(client, "post", "/api/v1/items", body)
    assert created.status_code == 201 and created.json()["version"] == 1
    item_id = created.json()["id"]
    edited = _json(client, "put", f"/api/v1/items/{item_id}", body | {"stem": "New stem", "change_note": "typo"})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    duplicate = _json(client, "post", "/api/v1/items", body)
    assert duplicate.status_code == 400 and "already exists" in " ".join(duplicate.json()["errors"])
    wrong_key = _json(client, "post", "/api/v1/items", body | {"external_id": "api-2", "key": 4})
    assert wrong_key.status_code == 400
    assert not Item.objects.filter(external_id="api-2").exists()


def test_search_and_filters(client, faculty, item):
    client.force_login(faculty)
    assert [i["external_id"] for i in client.get("/api/v1/items?q=furosemide").json()] == ["q-1"]
    assert client.get("/api/v1/items?q=penicillin").json() == []
    assert len(client.get("/api/v1/items?competency=cardio").json()) == 1
    assert client.get("/api/v1/items?competency=resp").json() == []
    assert len(client.get("/api/v1/items?difficulty=easy&tag=heart-failure").json()) == 1
    assert client.get("/api/v1/items?limit=0").status_code == 422


def test_audit_verify_is_for_admins(client, admin_user, faculty):
    client.force_login(faculty)
    assert client.get("/api/v1/audit/verify").status_code == 403
    client.force_login(admin_user)
    assert client.get("/api/v1/audit/verify").json()["ok"] is True


def test_api_docs_load_swagger_from_our_own_static_files(client, student):
    client.force_login(student)
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "/static/ninja/swagger-ui-bundle" in html
    # no CDN host and no script from another origin ("cdn." so a random CSRF token cannot match)
    assert "cdn." not in html.lower() and not re.search(r'<script[^>]+src="(https?:)?//', html)
