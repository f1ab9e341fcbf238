"""Early-warning pages: faculty review flags of their cohorts (administrators: every cohort) and record
what they decided; a student sees only their own flag. A flag never does anything by itself."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from medtutor.analytics import early_warning as services
from medtutor.analytics.cohort_services import cohort_for, pseudonym, visible_cohorts
from medtutor.analytics.engine.cohort import MIN_CELL
from medtutor.analytics.models import DecisionAction, EarlyWarningFlag, EarlyWarningRun
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import ADMIN, FACULTY, STUDENT, roles_required


def _exams(cohort: Any) -> Any:
    from medtutor.assessment.models import Exam

    return Exam.objects.filter(cohorts=cohort).order_by("-created_at")


def _selected_run(cohort: Any, raw: str) -> EarlyWarningRun | None:
    if raw:
        if not raw.isdigit():
            raise InvalidInput("run: must be a run id (a whole number)")
        run = EarlyWarningRun.objects.filter(cohort=cohort, pk=int(raw)).first()
        if run is None:
            raise Http404("no such early-warning run for this cohort")
        return run
    return services.latest_run(cohort)


def _page(request: HttpRequest, cohort: Any, *, run: EarlyWarningRun | None = None, error: str = "",
          error_flag: int | None = None, form: dict | None = None, status: int = 200) -> HttpResponse:
    if run is None and not error:
        run = _selected_run(cohort, request.GET.get("run", "").strip())
    elif run is None:
        run = services.latest_run(cohort)
    # Names only for faculty of this cohort; administrators who are not members see pseudonyms.
    show_names = cohort.members.filter(pk=request.user.pk).exists()
    rows = []
    n_scored = 0
    if run is not None:
        n_scored = run.flags.count()
        show_all = request.GET.get("all") == "1"
        flags = run.flags.select_related("student").prefetch_related("decisions__decided_by")
        if not show_all:
            flags = flags.filter(flagged=True)
        for flag in flags.order_by("-probability", "id"):
            decisions = list(flag.decisions.all())
            rows.append({"flag": flag, "name": flag.student.name if show_names else pseudonym(flag.student_id),
                         "latest": decisions[0] if decisions else None, "decisions": decisions})
    context = {
        "cohort": cohort, "run": run, "rows": rows, "n_scored": n_scored, "show_names": show_names,
        "show_all": request.GET.get("all") == "1", "runs": cohort.early_warning_runs.all()[:20],
        "exams": _exams(cohort), "actions": DecisionAction.choices, "min_cell": MIN_CELL,
        "test": (run.metrics or {}).get("test") if run else None,
        "baseline": (run.metrics or {}).get("baseline") if run else None,
        "error": error, "error_flag": error_flag, "form": form or {},
        "default_weeks": services.DEFAULT_WEEKS,
    }
    return render(request, "analytics/early_warning_cohort.html", context, status=status)


@roles_required(FACULTY, ADMIN)
@require_GET
def early_warning_home(request: HttpRequest) -> HttpResponse:
    cohorts = visible_cohorts(request.user).order_by("-year", "name")
    rows = []
    for cohort in cohorts:
        run = services.latest_run(cohort)
        rows.append((cohort, run, run.flags.filter(flagged=True).count() if run else None))
    return render(request, "analytics/early_warning_home.html", {"cohorts": rows})


@roles_required(FACULTY, ADMIN)
@require_GET
def early_warning_cohort(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    try:
        return _page(request, cohort)
    except InvalidInput as error:
        return _page(request, cohort, error=str(error), status=400)


def _parse_run_form(post: Any, cohort: Any) -> dict[str, Any]:
    weeks_raw = post.get("weeks", "").strip() or str(services.DEFAULT_WEEKS)
    if not weeks_raw.isdigit():
        raise InvalidInput("weeks: must be a whole number of weeks")
    options: dict[str, Any] = {"weeks": int(weeks_raw), "exam": None, "threshold": None}
    exam_raw = post.get("exam", "").strip()
    if exam_raw:
        exam = _exams(cohort).filter(pk=int(exam_raw)).first() if exam_raw.isdigit() else None
        if exam is None:
            raise InvalidInput("exam: choose one of this cohort's exams")
        options["exam"] = exam
    threshold_raw = post.get("threshold", "").strip()
    if threshold_raw:
        try:
            options["threshold"] = float(threshold_raw)
        except ValueError:
            raise InvalidInput("threshold: must be a probability such as 0.4") from None
    return options


def _back(cohort: Any, run_id: int | None = None, anchor: str = "") -> HttpResponse:
    url = reverse("early_warning_cohort", args=[cohort.pk])
    return redirect(f"{url}{f'?run={run_id}' if run_id else ''}{f'#{anchor}' if anchor else ''}")


def _posted_id(request: HttpRequest, name: str) -> int:
    raw = request.POST.get(name, "").strip()
    if not raw.isdigit():
        raise Http404(f"no such {name.removesuffix('_id')}")
    return int(raw)


# The actions below change data only on POST (with the CSRF token); a GET just leads back to the page.

@roles_required(FACULTY, ADMIN)
def early_warning_run(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    if request.method != "POST":
        return _back(cohort)
    try:
        options = _parse_run_form(request.POST, cohort)
        run = services.run_early_warning(cohort, actor=request.user, **options)
    except InvalidInput as error:
        return _page(request, cohort, error=str(error), status=400)
    flagged = run.flags.filter(flagged=True).count()
    messages.success(request, f"Model run {run.pk}: {flagged} of {run.flags.count()} students flagged for review. "
                              "Nothing has been sent to any student; review each flag below.")
    return _back(cohort, run.pk)


@roles_required(FACULTY, ADMIN)
def early_warning_decide(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    if request.method != "POST":
        return _back(cohort)
    flag = (EarlyWarningFlag.objects.filter(pk=_posted_id(request, "flag_id"), run__cohort=cohort)
            .select_related("run").first())
    if flag is None:
        raise Http404("no such flag in this cohort")
    try:
        decision = services.parse_decision(request.POST)
    except InvalidInput as error:
        return _page(request, cohort, run=flag.run, error=str(error), error_flag=flag.pk,
                     form={k: request.POST.get(k, "") for k in ("action", "support_offered", "note")}, status=400)
    services.decide(flag, request.user, decision)
    messages.success(request, f"Decision recorded: {DecisionAction(decision.action).label}.")
    return _back(cohort, flag.run_id, f"flag-{flag.pk}")


@roles_required(FACULTY, ADMIN)
def early_warning_outcomes(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    if request.method != "POST":
        return _back(cohort)
    run = EarlyWarningRun.objects.filter(cohort=cohort, pk=_posted_id(request, "run_id")).first()
    if run is None:
        raise Http404("no such early-warning run for this cohort")
    try:
        services.refresh_outcomes(run)
    except InvalidInput as error:
        return _page(request, cohort, run=run, error=str(error), status=400)
    messages.success(request, "Outcomes and evaluation updated from the exam results known now.")
    return _back(cohort, run.pk)


@roles_required(STUDENT)
@require_GET
def my_early_warning(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/my_early_warning.html", {"flags": services.student_flags(request.user)})
