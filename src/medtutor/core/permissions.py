"""Role checks for views. Every view names the roles that may use it; the default is nobody."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

STUDENT = "student"
FACULTY = "faculty"
ADMIN = "admin"
AUTHORS = (FACULTY, ADMIN)
EVERYONE = (STUDENT, FACULTY, ADMIN)


def has_role(user: Any, *roles: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and getattr(user, "role", None) in roles)


def roles_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous users go to the login page; signed-in users of another role get a 403."""
    if not roles:
        raise ValueError("name at least one role")

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied(f"this page is for {' or '.join(roles)} accounts")
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles  # type: ignore[attr-defined]  # read by the authorization-matrix test
        return wrapper

    return decorate
