"""Pages of the differential-diagnosis trainer (thin: the logic is in ddx_services)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import ADMIN, AUTHORS, EVERYONE, FACULTY, has_role, roles_required
from medtutor.decision import ddx_services as ddx
from medtutor.decision.models import TrainerSession


def _card_url() -> str | None:
    """The registered model's card (shared registry pages), where faculty can also disable it."""
    row = ddx.registered_model()
    if row is None:
        return None
    try:
        return reverse("risk_model_card", args=[row.pk])
    except NoReverseMatch:
        return None


@require_http_methods(["GET", "POST"])
@roles_required(*EVERYONE)
def ddx_home(request: HttpRequest) -> HttpResponse:
    error = ""
    status = 200
    if request.method == "POST":
        try:
            session = ddx.start_session(request.user, pathology=request.POST.get("pathology") or None)
        except InvalidInput as problem:
            error, status = problem.message, problem.status
        else:
            return redirect("ddx_session", session_id=session.pk)
    try:
        lab = ddx.get_lab()
        pathologies, unavailable = ddx.pathology_choices(lab), ""
        enabled, card_url = ddx.model_enabled(), _card_url()
    except NotFound as problem:
        pathologies, unavailable, enabled, card_url = [], problem.message, False, None
    sessions = TrainerSession.objects.filter(learner=request.user)[:50]
    return render(request, "decision/ddx_home.html", {
        "sessions": sessions, "pathologies": pathologies, "error": error, "unavailable": unavailable,
        "enabled": enabled, "card_url": card_url, "not_for_care": ddx.NOT_FOR_CARE,
        "can_review": has_role(request.user, FACULTY, ADMIN)}, status=status)


@require_http_methods(["GET"])
@roles_required(*EVERYONE)
def ddx_session(request: HttpRequest, session_id: int) -> HttpResponse:
    session, editable = ddx.visible_session(request.user, session_id)
    return render(request, "decision/ddx_session.html", {**ddx.session_view(session), "card_url": _card_url(),
                                                         "editable": editable})


@require_http_methods(["GET"])
@roles_required(*AUTHORS)
def ddx_review(request: HttpRequest) -> HttpResponse:
    rows = []
    for session in ddx.review_sessions(request.user)[:300]:
        committed = session.committed_differential
        rows.append({"session": session, "n_questions": len(session.steps),
                     "rank": committed.index(session.pathology) + 1 if session.pathology in committed else None,
                     "top": committed[0] if committed else ""})
    return render(request, "decision/ddx_review.html", {"rows": rows, "is_admin": has_role(request.user, ADMIN),
                                                        "not_for_care": ddx.NOT_FOR_CARE})


@require_POST
@roles_required(*EVERYONE)
def ddx_ask(request: HttpRequest, session_id: int) -> HttpResponse:
    session = ddx.session_for(request.user, session_id)
    try:
        ddx.ask(session, request.POST.get("code", ""), request.user)
    except InvalidInput as problem:
        messages.error(request, problem.message)
    return redirect(reverse("ddx_session", args=[session.pk]) + "#posterior")


@require_POST
@roles_required(*EVERYONE)
def ddx_commit(request: HttpRequest, session_id: int) -> HttpResponse:
    session = ddx.session_for(request.user, session_id)
    names = [request.POST.get(f"dx{k}", "") for k in range(1, ddx.MAX_DIFFERENTIAL + 1)]
    try:
        ddx.commit(session, names, request.user)
    except InvalidInput as problem:
        messages.error(request, problem.message)
        return redirect(reverse("ddx_session", args=[session.pk]) + "#commit")
    messages.success(request, "Differential committed. Compare it with the engine's below.")
    return redirect(reverse("ddx_session", args=[session.pk]) + "#comparison")


ddx_urlpatterns = [
    path("ddx/", ddx_home, name="ddx_home"),
    path("ddx/review/", ddx_review, name="ddx_review"),
    path("ddx/<int:session_id>/", ddx_session, name="ddx_session"),
    path("ddx/<int:session_id>/ask/", ddx_ask, name="ddx_ask"),
    path("ddx/<int:session_id>/commit/", ddx_commit, name="ddx_commit"),
]
