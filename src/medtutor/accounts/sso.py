"""Single sign-on with OpenID Connect (mozilla-django-oidc), on when MEDTUTOR_OIDC_CLIENT_ID is set.

A school's identity provider signs in its people; medtutor links each to one account by issuer and
subject (`ExternalIdentity`), creates the account on first sign-in, and takes the role from a groups
claim (configured faculty and admin groups; everyone else is a student). The ID token must be signed
by a key from the provider's JWKS, carry our nonce, name us as audience and the configured issuer,
and be unexpired; anything else is refused with a page that says why, and audited.
"""

from __future__ import annotations

import logging
import re

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView
from requests import RequestException

from medtutor.accounts.models import ExternalIdentity, Role, User
from medtutor.core import clock
from medtutor.core.audit import record_action

logger = logging.getLogger(__name__)
CLOCK_SKEW = 60  # seconds of leeway on exp/iat between us and the provider


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def role_from_claims(claims: dict) -> str:
    groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    groups = {groups} if isinstance(groups, str) else {str(g) for g in groups}
    if groups & set(settings.OIDC_ADMIN_GROUPS):
        return Role.ADMIN
    if groups & set(settings.OIDC_FACULTY_GROUPS):
        return Role.FACULTY
    return Role.STUDENT


class SchoolOIDCBackend(OIDCAuthenticationBackend):
    """Users by (issuer, subject), never by e-mail alone: two people may share an address."""

    def verify_token(self, token, **kwargs):
        try:
            payload = super().verify_token(token, **kwargs)
        except SuspiciousOperation as error:
            if "verification failed" in str(error) and "Nonce" not in str(error):
                raise SuspiciousOperation("the token's signature is not valid: it was not signed by the "
                                          "identity provider's published keys") from None
            raise
        except jwt.InvalidTokenError:
            payload = None  # an expired token: named precisely just below
        try:
            # The signature was checked above against the provider's keys; these are the claims it left out.
            jwt.decode(token, options={"verify_signature": False, "verify_exp": True, "verify_iat": True,
                                       "verify_aud": True, "verify_iss": True,
                                       "require": ["exp", "iat", "iss", "aud", "sub"]},
                       audience=self.OIDC_RP_CLIENT_ID, issuer=settings.OIDC_OP_ISSUER, leeway=CLOCK_SKEW)
        except jwt.ExpiredSignatureError:
            raise SuspiciousOperation("the identity provider's token has expired") from None
        except jwt.InvalidAudienceError:
            raise SuspiciousOperation("the token was issued for another application") from None
        except jwt.InvalidIssuerError:
            raise SuspiciousOperation("the token comes from another identity provider") from None
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"the token is not valid ({error})") from None
        if payload is None:
            raise SuspiciousOperation("the token is not valid")
        return payload

    def get_token(self, payload):
        try:
            return super().get_token(payload)
        except RequestException as error:
            raise SuspiciousOperation(f"the identity provider refused the sign-in code ({type(error).__name__})") from None

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return User.objects.filter(external_identities__issuer=settings.OIDC_OP_ISSUER,
                                   external_identities__subject=str(claims["sub"]))

    def _username(self, claims: dict) -> str:
        base = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0] or "user"
        base = re.sub(r"[^\w.@+-]", "", base)[:120] or "user"
        candidate, n = base, 1
        while User.objects.filter(username=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def create_user(self, claims):
        role = role_from_claims(claims)
        with transaction.atomic():
            user = User.objects.create_user(username=self._username(claims), email=claims.get("email", ""),
                                            role=role, display_name=(claims.get("name") or "")[:150])
            user.set_unusable_password()  # signs in through the school only
            user.save(update_fields=["password"])
            ExternalIdentity.objects.create(user=user, issuer=settings.OIDC_OP_ISSUER, subject=str(claims["sub"]),
                                            last_login_at=clock.now())
            record_action(None, "login.sso.account_created", subject=user,
                          data={"issuer": settings.OIDC_OP_ISSUER, "role": role})
        return user

    def update_user(self, user, claims):
        role = role_from_claims(claims)
        if settings.OIDC_GROUPS_CLAIM in claims and role != user.role:
            record_action(None, "user.role_changed", subject=user,
                          data={"from": user.role, "to": role, "by": "identity provider groups"})
            user.role = role
            user.save(update_fields=["role"])
        ExternalIdentity.objects.filter(user=user, issuer=settings.OIDC_OP_ISSUER).update(last_login_at=clock.now())
        return user


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    record_action(None, "login.sso.refused", data={"reason": reason[:300], "ip": request.META.get("REMOTE_ADDR", "")})
    logger.warning("single sign-on refused: %s", reason)
    return render(request, "accounts/sso_failed.html", {"reason": reason}, status=403)


def sso_start(request: HttpRequest) -> HttpResponse:
    """Off unless configured; then to the identity provider with a fresh state and nonce."""
    if not enabled():
        raise Http404("single sign-on is not configured")
    return OIDCAuthenticationRequestView.as_view()(request)


class _Callback(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return "/login/?sso=failed"


def sso_callback(request: HttpRequest) -> HttpResponse:
    if not enabled():
        raise Http404("single sign-on is not configured")
    if request.GET.get("error"):
        return _refused(request, f"the identity provider said: {request.GET.get('error')[:100]}")
    try:
        response = _Callback.as_view()(request)
    except SuspiciousOperation as error:
        return _refused(request, str(error) or "the sign-in could not be verified")
    except IntegrityError:
        return _refused(request, "this account is already being created; try again")
    if request.user.is_authenticated:
        record_action(request.user, "login.sso", data={"issuer": settings.OIDC_OP_ISSUER})
        return response
    return _refused(request, "the sign-in was not accepted (a replayed or expired sign-in link?)")
