"""Contest pages: a student contests an AI decision about them and follows the outcome ("My contests");
faculty (their cohorts' students) and administrators (everyone) review the queue. Logic: contests.py."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, STUDENT, roles_required
from medtutor.governance import contests
from medtutor.governance.oversight_models import ContestStatus

CHOICES_SHOWN = 50


def _decision_rows(user) -> list[tuple]:
    return [(d, contests.decision_label(d)) for d in contests.decisions_about(user)[:CHOICES_SHOWN]]


@roles_required(STUDENT)
@require_http_methods(["GET", "POST"])
def contest_new(request: HttpRequest) -> HttpResponse:
    """The form: which decision (?decision=ID preselects one of the student's own) and why."""
    error = ""
    source = request.POST if request.method == "POST" else request.GET
    selected = None
    raw = (source.get("decision") or "").strip()
    if raw:
        try:
            selected = contests.decision_for_student(request.user, raw)
        except NotFound as missing:
            raise Http404(missing.message) from None
        except InvalidInput as bad:
            error = bad.message
    if request.method == "POST" and not error:
        try:
            contest = contests.create_contest(request.user, raw, request.POST.get("reason", ""))
        except (InvalidInput, NotFound) as failure:
            error = failure.message
        else:
            messages.success(request, f"Your contest #{contest.pk} is filed; a member of faculty will review it.")
            return redirect("my_contests")
    rows = _decision_rows(request.user)
    if selected is not None and all(d.pk != selected.pk for d, _ in rows):  # an older one, linked directly
        rows.insert(0, (selected, contests.decision_label(selected)))
    return render(request, "governance/contest_new.html", {
        "decisions": rows, "selected": selected,
        "selected_label": contests.decision_label(selected) if selected else "",
        "open": contests.open_contest(selected) if selected else None,
        "reason": request.POST.get("reason", "") if request.method == "POST" else "",
        "error": error, "max_reason": contests.MAX_REASON,
    }, status=400 if error else 200)


@roles_required(STUDENT)
def my_contests(request: HttpRequest) -> HttpResponse:
    rows = list(contests.contests_of(request.user))
    return render(request, "governance/my_contests.html", {
        "contests": [(c, contests.decision_label(c.decision)) for c in rows],
    })


@roles_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def contest_queue(request: HttpRequest) -> HttpResponse:
    """Open contests of the reviewer's students (all, for administrators); POST decides one."""
    error, failed_id = "", None
    if request.method == "POST":
        failed_id = request.POST.get("contest_id", "")
        try:
            decided = contests.decide_contest(request.user, failed_id, request.POST.get("outcome", ""),
                                              request.POST.get("response", ""), request.POST.get("corrected", ""))
        except NotFound as missing:
            raise Http404(missing.message) from None
        except InvalidInput as failure:
            error = failure.message
        else:
            messages.success(request, f"Contest #{decided.pk}: {decided.get_status_display()}.")
            return redirect("contest_queue")
    visible = contests.visible_contests(request.user).select_related("student", "decision", "reviewer")
    pending = list(visible.filter(status=ContestStatus.OPEN).order_by("created_at", "id"))
    for contest in pending:
        contest.output_json = json.dumps(contest.decision.output, sort_keys=True, ensure_ascii=False)
    decided = list(visible.exclude(status=ContestStatus.OPEN).order_by("-reviewed_at", "-id")[:50])
    return render(request, "governance/contest_queue.html", {
        "pending": [(c, contests.decision_label(c.decision)) for c in pending],
        "decided": [(c, contests.decision_label(c.decision)) for c in decided],
        "outcomes": [(o.value, o.label) for o in contests.OUTCOMES],
        "error": error, "failed_id": failed_id, "posted": request.POST if error else {},
    }, status=400 if error else 200)
