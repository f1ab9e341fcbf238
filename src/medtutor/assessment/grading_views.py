"""Short-answer grading pages: the faculty review queue and the rubric editor of a short-answer item."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.assessment import grading_services
from medtutor.assessment.models import GradeStatus
from medtutor.content.importers import records as rec
from medtutor.content.models import Item, ItemKind
from medtutor.content.services import save_item
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, roles_required

STATUS_FILTERS = [(GradeStatus.NEEDS_REVIEW.value, "Waiting for review"), (GradeStatus.AUTO.value, "Graded automatically"),
                  (GradeStatus.CONFIRMED.value, "Confirmed"), (GradeStatus.OVERRIDDEN.value, "Changed by faculty"),
                  ("all", "All")]


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        raise InvalidInput("exam: must be a number") from None


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def grading_queue(request: HttpRequest) -> HttpResponse:
    """Answers the grader was unsure of (or any status), for faculty of the exam's cohorts to confirm or override."""
    source = request.POST if request.method == "POST" else request.GET
    exam_id = _int_or_none(source.get("exam"))
    status = source.get("status") or GradeStatus.NEEDS_REVIEW
    if status not in {value for value, _ in STATUS_FILTERS}:
        raise InvalidInput("status: unknown filter")
    error = ""
    http_status = 200
    if request.method == "POST":
        try:
            ids = [int(v) for v in request.POST.getlist("response")]
        except ValueError:
            ids = []
        try:
            result = grading_services.review(request.user, ids, action=request.POST.get("action", ""),
                                             score=request.POST.get("score"), reason=request.POST.get("reason", ""))
        except (InvalidInput, NotFound) as problem:
            error, http_status = problem.message, problem.status
        else:
            done = result.confirmed or result.overridden
            verb = "confirmed" if result.confirmed else "overridden"
            messages.success(request, f"{done} grade{'s' if done != 1 else ''} {verb}.")
            query = f"?status={status}" + (f"&exam={exam_id}" if exam_id else "")
            return redirect(reverse("grading_queue") + query)
    responses = list(grading_services.queue(request.user, exam_id=exam_id, status=status)[:200])
    for response in responses:
        response.references = grading_services.question_for(response.attempt_item.item_version).references
    return render(request, "assessment/grading_queue.html", {
        "responses": responses, "exams": grading_services.reviewable_exams(request.user).order_by("title"),
        "exam_id": exam_id, "status": status, "filters": STATUS_FILTERS, "error": error,
        "threshold": grading_services.review_threshold()}, status=http_status)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def grading_rubric(request: HttpRequest, item_id: int) -> HttpResponse:
    """Reference answers, rubric points (weight, text, other phrasings) and the maximum score of a short item."""
    item = Item.objects.select_related("current_version").filter(pk=item_id).first()
    if item is None or item.current_version is None:
        raise NotFound(f"there is no question {item_id}")
    if item.kind != ItemKind.SHORT:  # say so rather than a bare 404: the id is right, the kind is not
        return render(request, "assessment/grading_rubric.html", {"item": item, "not_short": True})
    version = item.current_version
    references, points = grading_services.rubric_lines(version)
    values = {"references": references, "points": points, "max_points": f"{version.max_points:g}"}
    error, status = "", 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            rubric = grading_services.parse_rubric(values["references"], values["points"], values["max_points"])
            grading_services.save_rubric(item, rubric, actor=request.user)
        except (InvalidInput, NotFound) as problem:
            error, status = problem.message, problem.status
        else:
            messages.success(request, "Rubric saved (a new version of the question).")
            return redirect("grading_rubric", item_id=item.pk)
    return render(request, "assessment/grading_rubric.html", {
        "item": item, "version": version, "values": values, "error": error, "is_new": False}, status=status)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def grading_item_new(request: HttpRequest) -> HttpResponse:
    """Write a new short-answer question with its reference answers and rubric in one form."""
    values = {k: request.POST.get(k, "") for k in ("external_id", "stem", "lead_in", "references", "points",
                                                    "max_points")} if request.method == "POST" else \
        {"external_id": "", "stem": "", "lead_in": "", "references": "", "points": "", "max_points": "1"}
    error, details, status = "", [], 200
    if request.method == "POST":
        try:
            if not values["external_id"].strip():
                raise InvalidInput("external_id: give the question an id")
            rubric = grading_services.parse_rubric(values["references"], values["points"], values["max_points"])
            record = rec.ItemRecord(
                external_id=values["external_id"].strip(), stem=values["stem"].strip(),
                lead_in=values["lead_in"].strip(), options=(), key=None, kind=ItemKind.SHORT,
                answers=tuple(rec.ShortAnswerRecord(text, 1.0) for text in rubric.references))
            from django.db import transaction

            with transaction.atomic():
                save_item(None, record, actor=request.user)
                item = Item.objects.get(external_id=record.external_id)
                grading_services.save_rubric(item, rubric, actor=request.user)
        except (InvalidInput, NotFound) as problem:
            error, details, status = problem.message, list(getattr(problem, "details", []) or []), problem.status
        else:
            messages.success(request, f"Short-answer question “{item.external_id}” saved.")
            return redirect("grading_rubric", item_id=item.pk)
    return render(request, "assessment/grading_rubric.html", {
        "item": None, "values": values, "error": error, "details": details, "is_new": True}, status=status)
