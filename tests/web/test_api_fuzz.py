"""Whatever a client sends to the API, the answer is a 2xx/4xx with a JSON message, never a 500."""

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtutor.accounts.models import ApiToken

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12)

answer_like = st.fixed_dictionaries({}, optional={
    "choice": json_values, "client_token": json_values, "version_id": json_values, "seconds_taken": json_values})
item_like = st.fixed_dictionaries({}, optional={
    "external_id": json_values, "stem": json_values, "lead_in": json_values, "key": json_values,
    "options": st.lists(st.fixed_dictionaries({}, optional={"text": json_values, "explanation": json_values}),
                        max_size=12) | json_values,
    "competency": json_values, "objective": json_values, "tags": json_values, "difficulty": json_values})


def _api_paths() -> list[str]:
    """Every path of the OpenAPI schema, so a new endpoint is fuzzed without editing this test."""
    from medtutor.api import api

    return sorted(re.sub(r"\{[^}]+\}", "{id}", path) for path in api.get_openapi_schema()["paths"])


paths = st.sampled_from(_api_paths())
review_like = st.fixed_dictionaries({}, optional={
    "grade": json_values, "client_seq": json_values, "reviewed_at": json_values | st.datetimes().map(str),
    "version": json_values, "seq": json_values, "choice": json_values, "flagged": json_values,
    "struck": json_values, "note": json_values})
bodies = json_values | answer_like | item_like | review_like | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
ids = st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=8).map(lambda t: t.replace("/", "")))
queries = st.dictionaries(st.sampled_from(["q", "limit", "offset", "competency", "difficulty", "tag"]),
                          st.text(max_size=10), max_size=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["get", "post", "put", "delete"]), path=paths, item_id=ids, body=bodies, query=queries,
       role=st.sampled_from(["student", "faculty", "admin", None]))
def test_api_never_answers_500(client, users, item, method, path, item_id, body, query, role):
    url = path.replace("{id}", item_id or "0")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(users[role], 'fuzz')[1]}"} if role else {}
    payload = body if isinstance(body, str) else json.dumps(body)
    if method == "get":
        response = client.get(url, query, **headers)
    else:
        response = getattr(client, method)(url, data=payload, content_type="application/json", **headers)
    assert response.status_code < 500, (method, url, payload[:200], response.content[:300])
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert "detail" in response.json()
