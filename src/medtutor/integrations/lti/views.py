"""LTI endpoints: /lti/login, /lti/launch and /lti/jwks.json are public by nature (the platform and
an anonymous browser call them; the id_token is the credential), deep linking is for faculty."""

from __future__ import annotations

import logging
import urllib.parse

from django.conf import settings
from django.contrib.auth import login
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medtutor.core.audit import record_action
from medtutor.core.permissions import AUTHORS, roles_required
from medtutor.integrations.lti import keys, launch, services

logger = logging.getLogger(__name__)
DEEP_LINK_SESSION_KEY = "lti_deep_link"


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    record_action(None, "login.lti.refused", data={"reason": reason[:300], "ip": request.META.get("REMOTE_ADDR", "")})
    logger.warning("LTI launch refused: %s", reason)
    return render(request, "integrations/lti_refused.html", {"reason": reason}, status=403)


@require_GET
def lti_jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.jwks())


# Cross-site by design: the platform's page posts here. The request carries no session to protect;
# what it starts is bound to this browser by the state cookie.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def lti_login(request: HttpRequest) -> HttpResponse:
    params = {k: v for k, v in (request.POST if request.method == "POST" else request.GET).items()}
    try:
        start = launch.begin_login(params, request.build_absolute_uri(reverse("lti_launch")))
    except launch.LaunchRefused as error:
        return _refused(request, str(error))
    response = redirect(start.url)
    # SameSite=None: the launch comes back as a cross-site form POST, which Lax cookies do not join.
    response.set_cookie(launch.state_cookie_name(start.state), start.cookie_value, max_age=launch.STATE_MAX_AGE,
                        secure=True, httponly=True, samesite="None", path=reverse("lti_launch"))
    return response


# Authenticated by the signed id_token, the state cookie and a single-use nonce, not by a CSRF token.
@csrf_exempt
@require_POST
def lti_launch(request: HttpRequest) -> HttpResponse:
    state = request.POST.get("state", "")
    try:
        platform, payload = launch.verify_id_token(request.POST.get("id_token", ""), state,
                                                   request.COOKIES.get(launch.state_cookie_name(state)))
        user, target, deep_link = launch.complete_launch(platform, payload)
    except launch.LaunchRefused as error:
        return _refused(request, str(error))
    except IntegrityError:  # the same person's first two launches at once: one account wins
        return _refused(request, "this account is being created by another launch; open medtutor again")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # rotates the session key
    if deep_link is not None:
        request.session[DEEP_LINK_SESSION_KEY] = deep_link
        response = redirect("lti_deep_link")
    else:
        response = redirect(target)
    response.delete_cookie(launch.state_cookie_name(state), path=reverse("lti_launch"), samesite="None")
    return response


def _choices() -> list[dict]:
    from django.db.models import Count

    from medtutor.assessment.models import Exam
    from medtutor.simulation.models import Case

    choices = [{"target": f"exam:{e.pk}", "title": e.title, "kind": "Exam", "score_maximum": e.n_items}
               for e in Exam.objects.annotate(n_items=Count("exam_items")).order_by("title")]
    choices += [{"target": f"case:{case.pk}", "title": case.title, "kind": "Virtual patient"}
                for case in Case.objects.order_by("title")]
    choices.append({"target": "practice", "title": "Adaptive practice", "kind": "Practice set"})
    return choices


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def lti_deep_link(request: HttpRequest) -> HttpResponse:
    """Faculty pick what to place in the course; the signed answer is posted back to the LMS."""
    pending = request.session.get(DEEP_LINK_SESSION_KEY)
    if not pending:
        return render(request, "integrations/lti_deep_link.html", {"pending": None})
    choices = _choices()
    if request.method == "GET":
        return render(request, "integrations/lti_deep_link.html", {"pending": pending, "choices": choices})
    chosen = [c for c in choices if c["target"] in request.POST.getlist("target")]
    if not chosen:
        return render(request, "integrations/lti_deep_link.html", {
            "pending": pending, "choices": choices, "error": "Choose at least one item (field: target)."},
            status=400)
    token = services.deep_link_response(pending, chosen, request.build_absolute_uri(reverse("lti_launch")))
    del request.session[DEEP_LINK_SESSION_KEY]
    record_action(request.user, "lti.deep_link", data={"return_url": pending["return_url"][:300],
                                                       "targets": [c["target"] for c in chosen]})
    response = render(request, "integrations/lti_deep_link_return.html",
                      {"return_url": pending["return_url"], "jwt": token, "chosen": chosen})
    origin = urllib.parse.urlsplit(pending["return_url"])
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin.scheme}://{origin.netloc}")
    return response
