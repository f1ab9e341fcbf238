import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import override_settings

from medtutor.accounts.models import ApiToken, Role
from tests.conftest import PASSWORD


def test_login_rotates_the_session_key(client, student):
    client.get("/login/")
    client.session["planted"] = "x"  # make sure a session exists before login
    session = client.session
    session["planted"] = "x"
    session.save()
    before = session.session_key
    response = client.post("/login/", {"username": "stu", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session.get("_auth_user_id") == str(student.pk)


def test_wrong_password_shows_an_error_and_keeps_user_out(client, student):
    response = client.post("/login/", {"username": "stu", "password": "wrong-password"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content.lower() or b"please enter" in response.content.lower()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_out(client, student, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "stu", "password": "wrong-password"})
    locked = client.post("/login/", {"username": "stu", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = django_user_model.objects.create_user("argo", password=PASSWORD)
    assert identify_hasher(user.password).algorithm == "argon2"


def test_pages_send_a_csp_without_inline_script(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert b"<script>" not in response.content and b"style=" not in response.content


def test_session_cookie_is_httponly_and_samesite(client, student):
    response = client.post("/login/", {"username": "stu", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-sessionid",
                   CSRF_COOKIE_NAME="__Host-csrftoken")
def test_https_cookies_use_the_host_prefix(client, student):
    response = client.post("/login/", {"username": "stu", "password": PASSWORD}, secure=True)
    cookie = response.cookies["__Host-sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"


def test_settings_switch_to_secure_cookies_when_https(monkeypatch, tmp_path):
    import importlib
    import medtutor.settings as settings_module

    monkeypatch.setenv("MEDTUTOR_HTTPS", "1")
    monkeypatch.setenv("MEDTUTOR_VAR_DIR", str(tmp_path))
    try:
        reloaded = importlib.reload(settings_module)
        assert reloaded.SESSION_COOKIE_NAME == "__Host-sessionid"
        assert reloaded.SESSION_COOKIE_SECURE and reloaded.CSRF_COOKIE_SECURE
        assert reloaded.SECURE_HSTS_SECONDS > 0
        assert (tmp_path / "secret_key").exists() or reloaded.SECRET_KEY
    finally:
        monkeypatch.delenv("MEDTUTOR_HTTPS")
        importlib.reload(settings_module)


def test_secret_key_is_generated_once_and_reused(monkeypatch, tmp_path):
    import importlib
    import medtutor.settings as settings_module

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MEDTUTOR_VAR_DIR", str(tmp_path))
    try:
        first = importlib.reload(settings_module).SECRET_KEY
        second = importlib.reload(settings_module).SECRET_KEY
        assert first == second and len(first) > 40
        assert (tmp_path / "secret_key").read_text().strip() == first
    finally:
        monkeypatch.undo()
        importlib.reload(settings_module)


def test_logout_needs_post(client, student):
    client.force_login(student)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_api_tokens_are_stored_hashed_and_revocable(client, student):
    client.force_login(student)
    response = client.post("/account/tokens/", {"name": "script"})
    token = ApiToken.objects.get(user=student)
    raw = response.context["new_token"]
    assert raw.startswith("mt_") and raw not in token.digest and token.digest != raw
    api = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 200 and api.json()["role"] == Role.STUDENT
    client.post(f"/account/tokens/{token.pk}/revoke/")
    client.logout()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(client, student, other_student):
    token, _ = ApiToken.issue(other_student, "theirs")
    client.force_login(student)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_logins_and_failures_are_audited_without_the_password(client, student):
    from medtutor.core.models import AuditRecord

    client.post("/login/", {"username": "stu", "password": "wrong-password"})
    client.post("/login/", {"username": "stu", "password": PASSWORD})
    actions = list(AuditRecord.objects.values_list("action", flat=True))
    assert actions[-2:] == ["auth.login_failed", "auth.login"]
    assert all(PASSWORD not in str(r.output) and "wrong-password" not in str(r.output)
               for r in AuditRecord.objects.all())
