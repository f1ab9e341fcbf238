"""Rest-break pages: pause and resume a timed attempt (logic in assessment/breaks.py).

The "Take a rest break" button sits inside the question form, so pausing first saves whatever the
student changed on the question (a note still being typed included), then stops the clock.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.assessment import breaks, services
from medtutor.assessment.models import Attempt
from medtutor.core import clock
from medtutor.core.errors import DomainError, InvalidInput
from medtutor.core.permissions import STUDENT, roles_required


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def paused_page(request: HttpRequest, attempt: Attempt, rest: breaks.BreakState, *, status: int = 200) -> HttpResponse:
    """The page a paused attempt shows instead of its questions."""
    now = clock.now()
    seconds_to_resume = max(0, int((rest.resumes_at - now).total_seconds())) if rest.resumes_at else 0
    return render(request, "assessment/paused.html", {
        "attempt": attempt, "exam": attempt.exam, "rest": rest, "seconds_to_resume": seconds_to_resume},
        status=status)


def _position(request: HttpRequest, attempt: Attempt) -> int:
    try:
        return int(request.POST.get("position", attempt.last_position))
    except ValueError:
        raise InvalidInput("position must be a whole number") from None


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def attempt_pause(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Save the question's pending change (if the form carried one), then stop the clock. GET: back to the exam."""
    from medtutor.assessment.views import _change_from, _error_json

    attempt = services.attempt_for(request.user, attempt_id, for_writing=True)
    if request.method == "GET":
        return redirect("attempt_resume", attempt_id=attempt.pk)
    try:
        change = _change_from(request.POST)
        if change.seq:
            services.save_response(request.user, attempt.pk, _position(request, attempt), change)
        rest = breaks.pause(request.user, attempt.pk)
    except DomainError as error:
        if _wants_json(request):
            return _error_json(error, attempt.pk)
        raise
    if _wants_json(request):
        return JsonResponse(rest.as_dict())
    return redirect("attempt_resume", attempt_id=attempt.pk)


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def attempt_unpause(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """End the rest break. GET: back to the exam (the paused page while the break runs)."""
    from medtutor.assessment.views import _error_json

    attempt = services.attempt_for(request.user, attempt_id, for_writing=True)
    if request.method == "GET":
        return redirect("attempt_resume", attempt_id=attempt.pk)
    try:
        rest = breaks.resume(request.user, attempt.pk)
    except DomainError as error:
        if _wants_json(request):
            return _error_json(error, attempt.pk)
        raise
    if _wants_json(request):
        return JsonResponse(rest.as_dict())
    return redirect("attempt_resume", attempt_id=attempt.pk)
