"""Sessions through the shared cache (REDIS_URL set): read from Redis, written through to the database,
and ended everywhere when medtutor ends them (logout, deletion)."""

from __future__ import annotations

import secrets

import pytest
from django.core.cache import caches

from medtutor.governance.privacy import end_sessions

REDIS = {"default": {"BACKEND": "medtutor.core.cache.ReusingRedisCache",
                     "LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": f"test-sessions-{secrets.token_hex(4)}"}}


@pytest.fixture
def cached_sessions(settings):
    settings.CACHES = REDIS
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    try:
        caches["default"].set("probe", 1)
    except Exception as error:  # noqa: BLE001 - no Redis on this machine
        pytest.skip(f"Redis not reachable: {error}")
    yield
    caches["default"].clear()


def test_a_signed_in_request_reads_its_session_from_the_cache_not_the_database(
        cached_sessions, client, student, django_assert_num_queries):
    client.force_login(student)
    client.get("/")  # the first read fills the cache
    with django_assert_num_queries(0):
        from django.contrib.sessions.backends.cached_db import SessionStore
        assert SessionStore(client.cookies["sessionid"].value).get("_auth_user_id") == str(student.pk)


def test_ending_a_users_sessions_ends_them_in_the_cache_too(cached_sessions, client, student):
    client.force_login(student)
    assert client.get("/").status_code == 200
    assert end_sessions(student.pk) == 1
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_logout_ends_the_cached_session(cached_sessions, client, student):
    client.force_login(student)
    key = client.cookies["sessionid"].value
    client.post("/logout/")
    from django.contrib.sessions.backends.cached_db import SessionStore
    assert not SessionStore(key).exists(key) and SessionStore(key).get("_auth_user_id") is None
