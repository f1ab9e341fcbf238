"""Single sign-on against an OpenID Connect provider run in the test: real RS256 keys, JWKS, nonce and
state; forged, expired, misdirected and replayed sign-ins are refused and audited."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from medtutor.accounts.models import ExternalIdentity, Role, User
from medtutor.core.models import AuditRecord

CLIENT_ID, CLIENT_SECRET = "medtutor-test", "client-secret-5b2e"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Provider:
    """A small OpenID provider: authorization code flow with signed ID tokens."""

    def __init__(self):
        self.key, self.kid = _key(), "k1"
        self.sign_key = self.key           # a test may swap in a key the JWKS does not publish (forgery)
        self.claims = {"sub": "u-1001", "preferred_username": "asha", "email": "asha@school.example",
                       "name": "Asha Rao", "groups": ["students"]}
        self.token_overrides: dict = {}
        self.codes: dict[str, dict] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/authorize":
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"nonce": query.get("nonce"), "client_id": query["client_id"]}
                    target = query["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                elif url.path == "/jwks":
                    public = jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key(), as_dict=True)
                    self._json({"keys": [public | {"kid": provider.kid, "alg": "RS256", "use": "sig"}]})
                elif url.path == "/userinfo":
                    self._json(provider.claims)
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self):
                body = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                grant = provider.codes.pop(body.get("code"), None)  # a code works once
                if grant is None or body.get("client_secret") != CLIENT_SECRET:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                payload = {"iss": provider.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                           "nonce": grant["nonce"], **provider.claims, **provider.token_overrides}
                token = jwt.encode(payload, provider.sign_key, algorithm="RS256", headers={"kid": provider.kid})
                self._json({"id_token": token, "access_token": secrets.token_urlsafe(16), "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorize(self, location: str) -> str:
        """Follow the browser's redirect to the provider; return where the provider sends it back."""
        import http.client

        url = urllib.parse.urlparse(location)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", f"{url.path}?{url.query}")
        response = conn.getresponse()
        assert response.status == 302
        return response.getheader("Location")


@pytest.fixture
def provider(settings, db):
    idp = Provider()
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_OP_ISSUER = idp.issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{idp.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{idp.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{idp.issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{idp.issuer}/jwks"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "medtutor.accounts.sso.SchoolOIDCBackend"]
    yield idp
    idp.server.shutdown()


def _sign_in(client, idp) -> tuple[object, str]:
    start = client.get("/sso/start/")
    assert start.status_code == 302 and start["Location"].startswith(idp.issuer + "/authorize")
    back = idp.authorize(start["Location"])
    callback = urllib.parse.urlparse(back)
    return client.get(f"{callback.path}?{callback.query}"), f"{callback.path}?{callback.query}"


def test_first_sign_in_creates_the_account_with_its_role_and_rotates_the_session(client, provider):
    assert "Sign in with your school account" in client.get("/login/").content.decode()
    before = client.session.session_key
    response, _ = _sign_in(client, provider)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="asha")
    assert user.role == Role.STUDENT and user.email == "asha@school.example" and not user.has_usable_password()
    assert ExternalIdentity.objects.get(user=user).subject == "u-1001"
    assert client.session.session_key != before and client.get("/").status_code == 200
    assert AuditRecord.objects.filter(action="login.sso", actor=user).exists()


def test_groups_map_to_roles_and_follow_changes(client, provider):
    provider.claims["groups"] = ["faculty"]
    _sign_in(client, provider)
    assert User.objects.get(username="asha").role == Role.FACULTY
    client.logout()
    provider.claims["groups"] = ["medtutor-admins"]
    _sign_in(client, provider)
    assert User.objects.get(username="asha").role == Role.ADMIN
    assert AuditRecord.objects.filter(action="user.role_changed").exists()
    assert User.objects.filter(external_identities__subject="u-1001").count() == 1


def test_same_email_other_subject_is_another_account(client, provider):
    User.objects.create_user(username="asha", email="asha@school.example", password="x-long-password-1")
    _sign_in(client, provider)
    linked = User.objects.get(external_identities__subject="u-1001")
    assert linked.username == "asha-2"  # never taken over through a matching e-mail


@pytest.mark.parametrize("attack,reason", [
    ("forged", "signature is not valid"),
    ("expired", "expired"),
    ("audience", "another application"),
    ("issuer", "another identity provider"),
])
def test_bad_tokens_are_refused_with_a_page_and_audited(client, provider, attack, reason):
    if attack == "forged":
        provider.sign_key = _key()
    elif attack == "expired":
        provider.token_overrides = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}
    elif attack == "audience":
        provider.token_overrides = {"aud": "someone-else"}
    else:
        provider.token_overrides = {"iss": "https://evil.example"}
    response, _ = _sign_in(client, provider)
    assert response.status_code == 403 and reason in response.content.decode()
    assert not User.objects.filter(username="asha").exists() and "_auth_user_id" not in client.session
    assert AuditRecord.objects.filter(action="login.sso.refused").exists()


def test_a_replayed_callback_is_refused(client, provider):
    response, callback = _sign_in(client, provider)
    assert response.status_code == 302
    client.logout()
    replay = client.get(callback)
    assert replay.status_code == 403 and "_auth_user_id" not in client.session


def test_a_state_from_another_browser_is_refused(client, provider):
    other = client.__class__()
    start = other.get("/sso/start/")
    back = urllib.parse.urlparse(provider.authorize(start["Location"]))
    client.get("/login/")
    stolen = client.get(f"{back.path}?{back.query}")
    assert stolen.status_code == 403 and "_auth_user_id" not in client.session


def test_sso_is_off_without_configuration(client, db, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    assert client.get("/sso/start/").status_code == 404
    assert client.get("/sso/callback/?code=x&state=y").status_code == 404
    assert "school account" not in client.get("/login/").content.decode()
