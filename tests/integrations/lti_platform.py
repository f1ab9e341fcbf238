"""A small LTI 1.3 platform for tests, written on the IMS specifications: its own RSA key and JWKS, an
OIDC authorization endpoint that answers a login with a signed id_token in an auto-post form, a
client-credentials token endpoint that verifies the tool's signed assertion against the tool's JWKS,
an AGS scores endpoint that records what it receives, and a paged NRPS membership endpoint."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "medtutor-tool-7"
DEPLOYMENT_ID = "dep-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

PEOPLE = {
    "hint-student": {"sub": "lms-stu-1", "name": "Noor Haddad", "email": "noor@uni.example",
                     "roles": [ROLE + "Learner"]},
    "hint-faculty": {"sub": "lms-fac-1", "name": "Dr Ines Moreau", "email": "ines@uni.example",
                     "roles": [ROLE + "Instructor"]},
}


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Platform:
    def __init__(self, tool_jwks: dict):
        self.key, self.kid = new_key(), "platform-k1"
        self.sign_key = self.key          # a test may sign with a key the JWKS does not publish (forgery)
        self.tool_jwks = tool_jwks        # the tool's public keys, as it serves them at /lti/jwks.json
        self.messages: dict[str, dict] = {}   # lti_message_hint -> claims of that launch
        self.overrides: dict = {}         # claims a test forces into the next id_tokens
        self.scores: list[dict] = []      # what the AGS endpoint received
        self.tokens: dict[str, str] = {}  # access token -> granted scope
        self.down = 0                     # answer this many score posts with 503
        self.members: list[dict] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bytes, status=200, content_type="application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, body, status=200, headers=None):
                self._send(json.dumps(body).encode(), status, headers=headers)

            def _bearer_scope(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                return platform.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/jwks":
                    public = jwt.algorithms.RSAAlgorithm.to_jwk(platform.key.public_key(), as_dict=True)
                    self._json({"keys": [public | {"kid": platform.kid, "alg": "RS256", "use": "sig"}]})
                elif url.path == "/auth":
                    self._authorize(query)
                elif url.path == "/memberships":
                    if NRPS_SCOPE not in (self._bearer_scope() or "").split():
                        self._json({"error": "unauthorized"}, 401)
                        return
                    page = int(query.get("page", "1"))
                    half = len(platform.members) // 2
                    body = {"id": platform.url + self.path, "context": {"id": "course-42", "label": "CARD101",
                                                                       "title": "Cardiology 101"},
                            "members": platform.members[:half] if page == 1 else platform.members[half:]}
                    headers = {"Link": f'<{platform.url}/memberships?page=2>; rel="next"'} if page == 1 else {}
                    self._json(body, headers=headers)
                else:
                    self._json({"error": "not_found"}, 404)

            def _authorize(self, query: dict):
                if (query.get("client_id") != CLIENT_ID or query.get("response_type") != "id_token"
                        or query.get("scope") != "openid" or query.get("response_mode") != "form_post"):
                    self._json({"error": "invalid_request"}, 400)
                    return
                person = PEOPLE[query["login_hint"]]
                now = int(time.time())
                claims = {"iss": platform.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                          "nonce": query["nonce"], "sub": person["sub"], "name": person["name"],
                          "email": person["email"], LTI + "roles": person["roles"],
                          LTI + "version": "1.3.0", LTI + "deployment_id": DEPLOYMENT_ID,
                          **platform.messages[query["lti_message_hint"]], **platform.overrides}
                token = jwt.encode(claims, platform.sign_key, algorithm="RS256", headers={"kid": platform.kid})
                form = (f'<form method="post" action="{html.escape(query["redirect_uri"])}">'
                        f'<input type="hidden" name="id_token" value="{token}">'
                        f'<input type="hidden" name="state" value="{html.escape(query["state"])}"></form>')
                self._send(form.encode(), content_type="text/html")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urllib.parse.urlparse(self.path)
                if url.path == "/token":
                    self._token(dict(urllib.parse.parse_qsl(body.decode())))
                elif url.path == "/lineitems/7/scores":
                    if SCORE_SCOPE not in (self._bearer_scope() or "").split():
                        self._json({"error": "unauthorized"}, 401)
                    elif self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                        self._json({"error": "unsupported media type"}, 415)
                    elif platform.down > 0:
                        platform.down -= 1
                        self._json({"error": "maintenance"}, 503)
                    else:
                        platform.scores.append(json.loads(body))
                        self._send(b"", 204)
                else:
                    self._json({"error": "not_found"}, 404)

            def _token(self, form: dict):
                """Client credentials with a JWT assertion (IMS Security Framework §4.1)."""
                try:
                    header = jwt.get_unverified_header(form["client_assertion"])
                    jwk = next(k for k in platform.tool_jwks["keys"] if k["kid"] == header["kid"])
                    claims = jwt.decode(form["client_assertion"], jwt.algorithms.RSAAlgorithm.from_jwk(jwk),
                                        algorithms=["RS256"], audience=platform.url + "/token", issuer=CLIENT_ID)
                    assert claims["sub"] == CLIENT_ID and claims["jti"]
                    assert form["grant_type"] == "client_credentials"
                    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                except (KeyError, StopIteration, AssertionError, jwt.InvalidTokenError):
                    self._json({"error": "invalid_client"}, 401)
                    return
                token = secrets.token_urlsafe(16)
                platform.tokens[token] = form.get("scope", "")
                self._json({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                            "scope": form.get("scope", "")})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorize(self, location: str) -> dict[str, str]:
        """The browser follows the tool's redirect to the platform and reads the auto-post form."""
        with urllib.request.urlopen(location, timeout=10) as response:
            page = response.read().decode()
        return dict(re.findall(r'name="(id_token|state)" value="([^"]*)"', page))
