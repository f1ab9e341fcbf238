"""Exam pages: faculty build and monitor; students sit exams and read their reports.

Autosaves from exam.js post to the question URL with `Accept: application/json` and get JSON back;
without JavaScript the same form posts and the page redirects, so everything works either way.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.assessment import analysis, break_views, breaks, services
from medtutor.assessment.engine.timing import seconds_left
from medtutor.assessment.errors import AnswerLocked, DeadlinePassed
from medtutor.assessment.forms import BlueprintFormSet, ExamForm, OverrideForm, blueprint_rows
from medtutor.assessment.models import Attempt, Exam, ExamBuild, ExamMode, ExamOverride, SubmitReason
from medtutor.content.forms import filtered_items
from medtutor.core import clock
from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, EVERYONE, STUDENT, has_role, roles_required

logger = logging.getLogger(__name__)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _exam_for_author(exam_id: int) -> Exam:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise NotFound(f"there is no exam {exam_id}")
    return exam


# --- lists and exam pages --------------------------------------------------------------------------

@roles_required(*EVERYONE)
def exam_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = clock.now()
    if has_role(user, *AUTHORS):
        exams = Exam.objects.annotate(
            n_open=Count("attempts", filter=Q(attempts__submitted_at__isnull=True), distinct=True),
            n_submitted=Count("attempts", filter=Q(attempts__submitted_at__isnull=False), distinct=True))
        return render(request, "assessment/exam_list_faculty.html", {"exams": exams, "now": now})
    for attempt in Attempt.objects.open().filter(student=user):
        services.refresh(attempt, at=now)
    rows = [(exam, services.availability(exam, user, at=now)) for exam in services.exams_for(user)]
    rows = [(exam, status) for exam, status in rows
            if status.open_attempt or status.can_start or status.attempts_used]
    attempts = (Attempt.objects.filter(student=user).select_related("exam").order_by("-started_at")[:50])
    return render(request, "assessment/exam_list_student.html", {"rows": rows, "attempts": attempts})


@roles_required(*EVERYONE)
def exam_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    user = request.user
    if has_role(user, *AUTHORS):
        exam = _exam_for_author(exam_id)
        return render(request, "assessment/exam_manage.html", {
            "exam": exam, "rows": exam.blueprint_rows.select_related("competency"),
            "exam_items": exam.exam_items.select_related("item__current_version", "item__competency"),
            "overrides": exam.overrides.select_related("student"),
            "cohorts": exam.cohorts.all(), "attempts_open": exam.attempts.open().count(),
            "attempts_submitted": exam.attempts.submitted().count()})
    exam = services.visible_exam(user, exam_id)
    for attempt in Attempt.objects.open().filter(exam=exam, student=user):
        services.refresh(attempt)
    return render(request, "assessment/exam_student.html", {
        "exam": exam, "status": services.availability(exam, user),
        "attempts": Attempt.objects.filter(exam=exam, student=user).order_by("number")})


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_new(request: HttpRequest) -> HttpResponse:
    return _exam_form(request, Exam())


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_edit(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _exam_form(request, _exam_for_author(exam_id))


def _exam_form(request: HttpRequest, exam: Exam) -> HttpResponse:
    initial_rows = [{"competency": r.competency.code, "difficulty": r.difficulty, "count": r.count}
                    for r in exam.blueprint_rows.select_related("competency")] if exam.pk else []
    if request.method == "POST":
        form = ExamForm(request.POST, instance=exam)
        formset = BlueprintFormSet(request.POST, prefix="rows")
        if form.is_valid() and formset.is_valid():
            exam = form.save(commit=False)
            is_new = exam.pk is None
            try:
                services.save_exam(exam, actor=request.user, cohorts=form.cleaned_data["cohorts"],
                                   blueprint_rows=blueprint_rows(formset))
            except InvalidInput as error:
                if is_new:
                    exam.pk = None
                form.add_error(None, error.message)
                for detail in error.details:
                    form.add_error(None, detail)
            else:
                messages.success(request, f"Exam “{exam.title}” saved.")
                if exam.build == ExamBuild.MANUAL and not exam.exam_items.exists():
                    return redirect("exam_items", exam_id=exam.pk)
                return redirect("exam_detail", exam_id=exam.pk)
        status = 400
    else:
        form = ExamForm(instance=exam if exam.pk else None,
                        initial={"cohorts": list(exam.cohorts.all())} if exam.pk else None)
        formset = BlueprintFormSet(prefix="rows", initial=initial_rows)
        status = 200
    return render(request, "assessment/exam_form.html", {"form": form, "formset": formset, "exam": exam},
                  status=status)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_items(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Hand-pick items: search the bank, add, remove, reorder."""
    exam = _exam_for_author(exam_id)
    if request.method == "POST":
        try:
            item_id = int(request.POST.get("item", ""))
        except ValueError:
            raise InvalidInput("choose a question") from None
        action = request.POST.get("action", "")
        if action == "add":
            services.add_exam_item(exam, item_id, actor=request.user)
        elif action == "remove":
            services.remove_exam_item(exam, item_id, actor=request.user)
        elif action in ("up", "down"):
            services.move_exam_item(exam, item_id, -1 if action == "up" else 1, actor=request.user)
        else:
            raise InvalidInput("unknown action")
        query = request.POST.get("q", "")
        return redirect(reverse("exam_items", args=[exam.pk]) + (f"?q={query}" if query else ""))
    query = request.GET.get("q", "").strip()
    chosen = exam.exam_items.select_related("item__current_version", "item__competency")
    chosen_ids = {e.item_id for e in chosen}
    results = []
    if query:
        _, items = filtered_items({"q": query})
        results = list(items.select_related("current_version", "competency").filter(kind__in=["single", "short"])[:50])
    return render(request, "assessment/exam_items.html", {
        "exam": exam, "exam_items": chosen, "chosen_ids": chosen_ids, "results": results, "q": query})


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_overrides(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for_author(exam_id)
    status = 200
    if request.method == "POST":
        form = OverrideForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            services.set_override(exam, data["student"], extra_attempts=data["extra_attempts"],
                                  closes_at=data["closes_at"], reason=data["reason"], actor=request.user)
            messages.success(request, f"Override saved for {data['student'].name}.")
            return redirect("exam_overrides", exam_id=exam.pk)
        status = 400
    else:
        form = OverrideForm()
    return render(request, "assessment/overrides.html", {
        "exam": exam, "form": form,
        "overrides": ExamOverride.objects.filter(exam=exam).select_related("student")}, status=status)


@roles_required(*AUTHORS)
def exam_monitor(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Who is sitting the exam now. The table refreshes itself every few seconds (HTMX)."""
    exam = _exam_for_author(exam_id)
    context = {"exam": exam, "rows": services.monitor_rows(exam), "now": clock.now(),
               "recent": exam.attempts.submitted().select_related("student").order_by("-submitted_at")[:20]}
    if request.headers.get("HX-Request"):
        return render(request, "assessment/_monitor_rows.html", context)
    return render(request, "assessment/monitor.html", context)


@roles_required(*AUTHORS)
def exam_item_analysis(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Item statistics over submitted attempts; `?format=csv` downloads the table."""
    exam = _exam_for_author(exam_id)
    result = analysis.analyse_exam(exam)
    if request.GET.get("format") == "csv":
        response = HttpResponse(analysis.to_csv(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="exam-{exam.pk}-item-analysis.csv"'
        return response
    rows = list(zip(result.items, result.item_ids, strict=True))
    return render(request, "assessment/item_analysis.html", {"exam": exam, "result": result, "rows": rows})


# --- sitting an exam -----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def exam_start(request: HttpRequest, exam_id: int) -> HttpResponse:
    if request.method == "GET":
        return redirect("exam_detail", exam_id=exam_id)
    attempt = services.start_attempt(request.user, exam_id)
    return redirect("attempt_question", attempt_id=attempt.pk, position=attempt.last_position)


@roles_required(STUDENT)
def attempt_resume(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = services.refresh(services.attempt_for(request.user, attempt_id, for_writing=True))
    if attempt.is_submitted:
        return redirect("attempt_report", attempt_id=attempt.pk)
    if attempt.mode == ExamMode.ADAPTIVE:
        return redirect("adaptive_question", attempt_id=attempt.pk)
    return redirect("attempt_question", attempt_id=attempt.pk, position=attempt.last_position)


def _change_from(post: Any) -> services.ItemChange:
    def integer(raw: Any, name: str) -> int | None:
        if raw in (None, ""):
            return None
        try:
            return int(str(raw))
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number") from None

    struck = tuple(i for i in (integer(v, "struck") for v in post.getlist("struck")) if i is not None)
    return services.ItemChange(
        seq=integer(post.get("seq"), "seq") or 0, choice=integer(post.get("choice"), "choice"),
        is_flagged=post.get("flagged") in ("1", "on", "true"), note=post.get("note", ""), struck=struck,
        item_ms=integer(post.get("item_ms"), "item_ms"), text=post.get("answer_text"))


def _error_json(error: DomainError, attempt_id: int) -> JsonResponse:
    body: dict[str, Any] = {"detail": error.message, "code": getattr(error, "code", "invalid")}
    if isinstance(error, DeadlinePassed) or getattr(error, "code", "") == "attempt_closed":
        body["report_url"] = reverse("attempt_report", args=[attempt_id])
    return JsonResponse(body, status=error.status)


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def attempt_question(request: HttpRequest, attempt_id: int, position: int) -> HttpResponse:
    if request.method == "POST" and _wants_json(request):
        return _autosave(request, attempt_id, position)
    attempt = services.attempt_for(request.user, attempt_id, for_writing=True)
    if attempt.mode == ExamMode.ADAPTIVE:  # one item at a time, no navigator, no going back
        return redirect("adaptive_question", attempt_id=attempt.pk)
    if request.method == "POST":
        return _post_question(request, attempt, position)
    attempt = services.refresh(attempt)
    if attempt.is_submitted:
        return redirect("attempt_report", attempt_id=attempt.pk)
    return _render_question(request, attempt, position)


def _render_question(request: HttpRequest, attempt: Attempt, position: int, *, error: str = "",
                     status: int = 200) -> HttpResponse:
    items = services.navigator_items(attempt)
    current = services.item_at(attempt, position)
    now = clock.now()
    rest = breaks.state(attempt, at=now)
    if rest.is_paused:  # the questions stay hidden during a rest break
        return break_views.paused_page(request, attempt, rest, status=status)
    services.touch_position(attempt, position)
    view = services.question_view(attempt, current, total=len(items))
    # One reverse() for the whole navigator: a {% url %} per question costs more than the rest of the list.
    question_url = reverse("attempt_question", args=[attempt.pk, 1]).removesuffix("1/") + "{}/"
    return render(request, "assessment/attempt.html", {
        "attempt": attempt, "exam": attempt.exam, "q": view, "error": error, "exam_in_progress": True,
        "items": [{"position": ai.position, "href": question_url.format(ai.position), "is_answered": ai.is_answered,
                   "is_flagged": ai.is_flagged} for ai in items],
        "prev": position - 1 if position > 1 else None, "next": position + 1 if position < len(items) else None,
        "now": now, "seconds_left": seconds_left(attempt.deadline_at, now),
        "answered": sum(1 for ai in items if ai.is_answered), "flagged": sum(1 for ai in items if ai.is_flagged),
        "rest": rest,
    }, status=status)


def _apply(request: HttpRequest, attempt_id: int, position: int) -> services.Saved | None:
    """Save the posted change (when it carries a sequence number) and reveal the key when asked."""
    change = _change_from(request.POST)
    saved = services.save_response(request.user, attempt_id, position, change) if change.seq else None
    if request.POST.get("action", "save") == "check":
        services.reveal(request.user, attempt_id, position)
    return saved


def _autosave(request: HttpRequest, attempt_id: int, position: int) -> JsonResponse:
    """exam.js's save: the services check the owner on the locked attempt row, so the view reads nothing
    first (the hot path of a sitting: one query less than attempt_for)."""
    try:
        saved = _apply(request, attempt_id, position)
        item = saved.item if saved else services.item_at(
            services.attempt_for(request.user, attempt_id, for_writing=True), position)
    except DomainError as error:
        return _error_json(error, attempt_id)
    return JsonResponse({"status": saved.status if saved else "unchanged", "seq": item.last_seq,
                         "position": position, "answered": item.is_answered, "flagged": item.is_flagged,
                         "choice": item.chosen_displayed, "saved_at": clock.now().isoformat()})


def _post_question(request: HttpRequest, attempt: Attempt, position: int) -> HttpResponse:
    action = request.POST.get("action", "save")
    try:
        _apply(request, attempt.pk, position)
    except DomainError as error:
        attempt.refresh_from_db()
        if attempt.is_submitted:
            return render(request, "assessment/closed.html", {"attempt": attempt, "message": error.message},
                          status=error.status)
        return _render_question(request, attempt, position, error=error.message, status=error.status)
    target = {"next": position + 1, "prev": position - 1}.get(action, position)
    try:
        target = int(request.POST.get("goto", target))
    except ValueError:
        pass
    if action == "review":
        return redirect("attempt_submit", attempt_id=attempt.pk)
    total = attempt.items.count()
    target = max(1, min(total, target))
    return redirect("attempt_question", attempt_id=attempt.pk, position=target)


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def attempt_submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    if request.method == "POST":  # one locked read does the owner check, the deadline and the submission
        try:
            attempt = services.submit_attempt(request.user, attempt_id)
        except AnswerLocked:
            return redirect("adaptive_question", attempt_id=attempt_id)
        if attempt.submit_reason == SubmitReason.MANUAL:
            messages.success(request, "Your exam has been submitted.")
        return redirect("attempt_report", attempt_id=attempt.pk)
    attempt = services.refresh(services.attempt_for(request.user, attempt_id, for_writing=True))
    if attempt.is_submitted:
        return redirect("attempt_report", attempt_id=attempt.pk)
    if attempt.mode == ExamMode.ADAPTIVE:
        return redirect("adaptive_question", attempt_id=attempt.pk)
    if (rest := breaks.state(attempt)).is_paused:  # the clock is stopped: show the break, not a running timer
        return break_views.paused_page(request, attempt, rest)
    items = services.navigator_items(attempt)
    now = clock.now()
    return render(request, "assessment/submit.html", {
        "attempt": attempt, "exam": attempt.exam, "items": items,
        "answered": sum(1 for ai in items if ai.is_answered),
        "unanswered": [ai for ai in items if not ai.is_answered], "flagged": [ai for ai in items if ai.is_flagged],
        "now": now, "seconds_left": seconds_left(attempt.deadline_at, now)})


@roles_required(*EVERYONE)
def attempt_report(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = services.refresh(services.attempt_for(request.user, attempt_id))
    if attempt.mode == ExamMode.ADAPTIVE:
        return redirect("adaptive_report", attempt_id=attempt.pk)
    if not attempt.is_submitted:
        if has_role(request.user, *AUTHORS):
            return redirect("exam_monitor", exam_id=attempt.exam_id)
        return redirect("attempt_question", attempt_id=attempt.pk, position=attempt.last_position)
    result = services.report(attempt)
    return render(request, "assessment/report.html", {"report": result, "attempt": attempt, "exam": attempt.exam,
                                                      "is_own": attempt.student_id == request.user.pk})
