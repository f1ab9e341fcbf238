"""OIDC third-party login initiation and the resource-link / deep-linking launch (LTI Core 1.3 §5,
Security Framework §5.1.1).

Login: the platform names itself (iss), we answer with a redirect to its authorization endpoint
carrying a fresh state and nonce. The state is bound to this browser by a short-lived signed cookie
(SameSite=None; Secure, since the launch arrives as a cross-site form POST) holding the nonce.

Launch: the id_token must be RS256-signed by a key in the platform's JWKS, name the platform as
iss, our client id as aud (and azp when there are several audiences), be unexpired with a sane iat,
carry the nonce from our cookie, a nonce never used before, and a registered deployment id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from medtutor.accounts.models import Cohort, ExternalIdentity, Role, User
from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.integrations.lti import claims as c
from medtutor.integrations.lti.http import get_json
from medtutor.integrations.models import LtiLaunch, LtiNonce, LtiPlatform, LtiResourceLink

CLOCK_SKEW = 60            # seconds of leeway on exp/iat
MAX_TOKEN_AGE = 600        # an id_token issued longer ago than this is refused even if exp is far away
STATE_MAX_AGE = 600        # the login -> launch round trip must finish within 10 minutes
STATE_SALT = "medtutor.lti.state"
JWKS_CACHE_SECONDS = 300
RANK = {Role.STUDENT: 0, Role.FACULTY: 1, Role.ADMIN: 2}


class LaunchRefused(Exception):
    """A login or launch we will not accept; the message is shown to the user and audited."""


def state_cookie_name(state: str) -> str:
    return "lti-state-" + re.sub(r"[^A-Za-z0-9_-]", "", state)[:43]


def find_platform(issuer: str, client_id: str | None) -> LtiPlatform:
    platforms = LtiPlatform.objects.filter(issuer=issuer)
    if client_id:
        platforms = platforms.filter(client_id=client_id)
    found = list(platforms[:2])
    if not found:
        raise LaunchRefused(f"the platform {issuer[:100]!r} is not registered with medtutor")
    if len(found) > 1:
        raise LaunchRefused("several registrations share this issuer; the platform must send client_id")
    return found[0]


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    cookie_value: str


def begin_login(params: dict[str, str], redirect_uri: str) -> LoginRedirect:
    """Third-party initiated login: check who asks, then send the browser to the platform."""
    for field in ("iss", "login_hint", "target_link_uri"):
        if not params.get(field):
            raise LaunchRefused(f"the login request has no {field}")
    platform = find_platform(params["iss"], params.get("client_id"))
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in platform.deployment_ids:
        raise LaunchRefused(f"the deployment {deployment[:60]!r} is not registered for this platform")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": redirect_uri, "login_hint": params["login_hint"],
             "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    cookie = signing.dumps({"nonce": nonce, "platform": platform.pk}, salt=STATE_SALT + state)
    return LoginRedirect(platform.auth_login_url + separator + urllib.parse.urlencode(query), state, cookie)


def _platform_key(platform: LtiPlatform, kid: str | None):
    cache_key = f"lti:jwks:{platform.pk}"
    for attempt in (0, 1):
        keys = cache.get(cache_key) if attempt == 0 else None
        if keys is None:
            try:
                keys = get_json(platform.jwks_url).get("keys", [])
            except OSError as error:
                raise LaunchRefused(f"the platform's keys could not be fetched ({error})") from None
            cache.set(cache_key, keys, JWKS_CACHE_SECONDS)
        candidates = [k for k in keys if k.get("kty") == "RSA" and (kid is None or k.get("kid") == kid)]
        if candidates:
            return jwt.algorithms.RSAAlgorithm.from_jwk(candidates[0])
        # An unknown kid may be a key the platform has just rotated in: fetch once more, no cache.
    raise LaunchRefused("the launch was signed with a key the platform does not publish")


def verify_id_token(id_token: str, state: str, state_cookie: str | None) -> tuple[LtiPlatform, dict]:
    """Every check of LTI Security Framework §5.1.3; returns the platform and the verified claims."""
    if not id_token or not state:
        raise LaunchRefused("the launch has no id_token or no state")
    if not state_cookie:
        raise LaunchRefused("this browser did not start the launch (no state cookie): open medtutor "
                            "from the course again, in a new window if your browser blocks cookies")
    try:
        bound = signing.loads(state_cookie, salt=STATE_SALT + state, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise LaunchRefused("the launch took too long; open medtutor from the course again") from None
    except signing.BadSignature:
        raise LaunchRefused("the launch state does not match this browser") from None
    try:
        header = jwt.get_unverified_header(id_token)
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise LaunchRefused("the id_token is not a JSON Web Token") from None
    if header.get("alg") != "RS256":
        raise LaunchRefused("the id_token must be signed with RS256")
    audiences = unverified.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    platform = LtiPlatform.objects.filter(pk=bound["platform"]).first()
    if platform is None or unverified.get("iss") != platform.issuer or platform.client_id not in audiences:
        raise LaunchRefused("the id_token was not issued by the platform this launch started with, for medtutor")
    key = _platform_key(platform, header.get("kid"))
    try:
        payload = jwt.decode(id_token, key, algorithms=["RS256"], audience=platform.client_id,
                             issuer=platform.issuer, leeway=CLOCK_SKEW,
                             options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]})
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("the launch has expired") from None
    except jwt.InvalidSignatureError:
        raise LaunchRefused("the launch's signature is not valid: it was not signed by the platform") from None
    except jwt.ImmatureSignatureError:
        raise LaunchRefused("the launch claims to be issued in the future") from None
    except jwt.InvalidTokenError as error:
        raise LaunchRefused(f"the launch is not valid ({error})") from None
    if payload["iat"] < time.time() - MAX_TOKEN_AGE:
        raise LaunchRefused("the launch was issued too long ago")
    if len(audiences) > 1 and payload.get("azp") != platform.client_id:
        raise LaunchRefused("the launch names several audiences but not medtutor as the authorized party")
    if "azp" in payload and payload["azp"] != platform.client_id:
        raise LaunchRefused("the launch was authorized for another tool")
    if not secrets.compare_digest(str(payload["nonce"]), str(bound["nonce"])):
        raise LaunchRefused("the launch's nonce is not the one this browser was given")
    if payload.get(c.VERSION) != "1.3.0":
        raise LaunchRefused("only LTI 1.3.0 launches are accepted")
    if payload.get(c.MESSAGE_TYPE) not in (c.RESOURCE_LINK_REQUEST, c.DEEP_LINKING_REQUEST):
        raise LaunchRefused(f"the message type {str(payload.get(c.MESSAGE_TYPE))[:60]!r} is not supported")
    deployment = payload.get(c.DEPLOYMENT_ID)
    if not deployment or deployment not in platform.deployment_ids:
        raise LaunchRefused(f"the deployment {str(deployment)[:60]!r} is not registered for this platform")
    try:
        with transaction.atomic():
            LtiNonce.objects.filter(expires_at__lt=clock.now()).delete()
            LtiNonce.objects.create(platform=platform, nonce=str(payload["nonce"])[:255],
                                    expires_at=clock.now() + timedelta(seconds=MAX_TOKEN_AGE + 2 * CLOCK_SKEW))
    except IntegrityError:
        raise LaunchRefused("this launch has already been used (a replay)") from None
    return platform, payload


def _username(base: str) -> str:
    base = re.sub(r"[^\w.@+-]", "", base)[:120] or "lti-user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def ensure_user(issuer: str, subject: str, roles, profile: dict) -> User:
    """The account linked to (issuer, subject), created on first sight. A role only ever rises here:
    a teacher who joins a course as a learner keeps their faculty account."""
    role = c.role_from_lti(roles)
    identity = ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        base = profile.get("preferred_username") or (profile.get("email") or "").split("@")[0] \
            or profile.get("given_name") or "lti-user"
        name = profile.get("name") or " ".join(filter(None, [profile.get("given_name"), profile.get("family_name")]))
        with transaction.atomic():
            user = User.objects.create_user(username=_username(base), email=profile.get("email") or "", role=role,
                                            display_name=name[:150])
            user.set_unusable_password()  # signs in through the LMS only
            user.save(update_fields=["password"])
            ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            record_action(None, "login.lti.account_created", subject=user, data={"issuer": issuer, "role": role})
        return user
    user = identity.user
    if RANK[role] > RANK[user.role]:
        record_action(None, "user.role_changed", subject=user,
                      data={"from": user.role, "to": role, "by": "LTI platform roles"})
        user.role = role
        user.save(update_fields=["role"])
    return user


def context_cohort(platform: LtiPlatform, context: dict) -> Cohort | None:
    """One cohort per LMS course (context), named after it."""
    context_id = str(context.get("id") or "")
    if not context_id:
        return None
    digest = hashlib.sha256(f"{platform.issuer}|{context_id}".encode()).hexdigest()[:12]
    code = f"lti-{slugify(context.get('label') or '')[:30]}-{digest}".replace("--", "-")
    name = (context.get("title") or context.get("label") or f"LMS course {context_id}")[:150]
    cohort, _ = Cohort.objects.get_or_create(code=code, defaults={"name": name})
    if cohort.name != name:
        cohort.name = name
        cohort.save(update_fields=["name"])
    return cohort


def _target_url(target: str, user: User) -> str:
    from django.urls import reverse

    kind, _, ident = target.partition(":")
    if kind == "exam" and ident.isdigit():
        return reverse("exam_detail", args=[int(ident)])
    if kind == "case" and ident.isdigit():  # students start a case from their list; faculty see its page
        return reverse("vp_cases") if user.role == Role.STUDENT else reverse("vp_case", args=[int(ident)])
    if kind == "practice":
        return reverse("practice")
    return "/"


def _open_target_to(target: str, cohort: Cohort | None) -> None:
    """A case placed in a course is assigned to the course's cohort; an exam restricted to some cohorts
    gains this one (an exam open to everyone stays open)."""
    kind, _, ident = target.partition(":")
    if cohort is None or not ident.isdigit():
        return
    if kind == "case":
        from medtutor.simulation.models import Case, CaseAssignment

        if Case.objects.filter(pk=int(ident)).exists():
            CaseAssignment.objects.get_or_create(case_id=int(ident), cohort=cohort,
                                                 defaults={"created_at": clock.now()})
    elif kind == "exam":
        from medtutor.assessment.models import Exam

        exam = Exam.objects.filter(pk=int(ident)).first()
        if exam is not None and exam.cohorts.exists():
            exam.cohorts.add(cohort)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def complete_launch(platform: LtiPlatform, payload: dict) -> tuple[User, str, dict | None]:
    """Create or link the user and record the resource link; returns (user, where to go, deep-linking
    settings for an LtiDeepLinkingRequest else None)."""
    roles = payload.get(c.ROLES) if isinstance(payload.get(c.ROLES), list | str) else []
    with transaction.atomic():
        user = ensure_user(platform.issuer, str(payload["sub"]), roles, payload)
        if not user.is_active:
            raise LaunchRefused("this medtutor account is disabled; ask your medtutor administrator")
        ExternalIdentity.objects.filter(user=user, issuer=platform.issuer).update(last_login_at=clock.now())
        context = _dict(payload.get(c.CONTEXT))
        cohort = context_cohort(platform, context)
        if cohort is not None and user.role == Role.STUDENT:
            cohort.members.add(user)
        if payload[c.MESSAGE_TYPE] == c.DEEP_LINKING_REQUEST:
            if user.role not in (Role.FACULTY, Role.ADMIN):
                raise LaunchRefused("only instructors can place medtutor content in a course")
            dl = _dict(payload.get(c.DL_SETTINGS))
            if urllib.parse.urlsplit(str(dl.get("deep_link_return_url") or "")).scheme not in ("https", "http"):
                raise LaunchRefused("the deep-linking request has no http(s) deep_link_return_url")
            if "ltiResourceLink" not in (dl.get("accept_types") or ["ltiResourceLink"]):
                raise LaunchRefused("the course accepts no LTI resource links here, which is all medtutor places")
            return user, "", {"platform": platform.pk, "deployment_id": payload[c.DEPLOYMENT_ID],
                              "return_url": dl["deep_link_return_url"], "data": dl.get("data"),
                              "accept_types": dl.get("accept_types") or ["ltiResourceLink"]}
        link_claim = _dict(payload.get(c.RESOURCE_LINK))
        if not link_claim.get("id"):
            raise LaunchRefused("the launch names no resource link")
        custom = _dict(payload.get(c.CUSTOM))
        ags = _dict(payload.get(c.AGS_ENDPOINT))
        nrps = _dict(payload.get(c.NRPS))
        link, _ = LtiResourceLink.objects.update_or_create(
            platform=platform, deployment_id=payload[c.DEPLOYMENT_ID], resource_link_id=str(link_claim["id"])[:255],
            defaults={"title": str(link_claim.get("title") or "")[:255], "context_id": str(context.get("id") or "")[:255],
                      "context_title": str(context.get("title") or "")[:255],
                      "target": str(custom.get(c.TARGET_PARAM) or "")[:60],
                      "lineitem_url": str(ags.get("lineitem") or "")[:500], "ags_scopes": [str(s) for s in ags.get("scope") or [] if isinstance(s, str)],
                      "memberships_url": str(nrps.get("context_memberships_url") or "")[:500],
                      "cohort": cohort, "updated_at": clock.now()})
        _open_target_to(link.target, cohort)
        LtiLaunch.objects.create(resource_link=link, user=user, lti_user_id=str(payload["sub"]),
                                 launched_at=clock.now())
        record_action(user, "login.lti", subject=link, data={"issuer": platform.issuer, "target": link.target,
                                                            "role": user.role})
    return user, _target_url(link.target, user), None
