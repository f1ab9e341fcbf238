"""Cohort analytics pages for faculty (their cohorts) and administrators (all cohorts). Students: 403."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from medtutor.analytics import cohort_services as services
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import ADMIN, FACULTY, roles_required


def _chart(rows, value: str = "accuracy") -> dict:
    """Chart data with suppressed cells as gaps (null), never as zero."""
    return {"labels": [r.label for r in rows],
            "values": [None if r.suppressed else getattr(r, value) for r in rows]}


@roles_required(FACULTY, ADMIN)
def cohort_analytics(request: HttpRequest) -> HttpResponse:
    cohorts = services.visible_cohorts(request.user).order_by("-year", "name")
    return render(request, "analytics/cohort_list.html", {"cohorts": cohorts})


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name}: must be a cohort id (a whole number)")
    return int(raw)


@roles_required(FACULTY, ADMIN)
def cohort_dashboard(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = services.cohort_for(request.user, cohort_id)
    context = {"cohort": cohort, "min_cell": services.MIN_CELL,
               "subgroups": services.subgroup_options(cohort), "systems": services.system_options(cohort),
               "others": services.visible_cohorts(request.user).exclude(pk=cohort.pk).order_by("-year", "name")}
    try:
        filt = services.parse_filter(cohort, request.GET.get("group", ""), request.GET.get("system", ""))
        compare_id = _int_param(request, "compare")
        board = services.dashboard(cohort, filt)
        # the whole cohort's rows are the dashboard's own when no filter is chosen: not computed twice
        mine = (board.summary, board.by_system) if board.allowed and filt == services.Filter() else None
        other, compare_rows = services.comparison(request.user, cohort, compare_id, mine=mine)
    except InvalidInput as error:
        return render(request, "analytics/cohort_dashboard.html", {**context, "error": str(error)}, status=400)
    context.update({
        "board": board, "filter": filt, "other": other, "compare_rows": compare_rows,
        "chart_systems": _chart(board.by_system), "chart_weekly": _chart(board.weekly),
        "chart_weekly_active": _chart(board.weekly, "n"), "chart_histogram": _chart(board.histogram, "n"),
    })
    return render(request, "analytics/cohort_dashboard.html", context)


@roles_required(FACULTY, ADMIN)
def cohort_export(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = services.cohort_for(request.user, cohort_id)
    try:
        filt = services.parse_filter(cohort, request.GET.get("group", ""), request.GET.get("system", ""))
    except InvalidInput as error:
        return HttpResponse(f"error: {error}\n", status=400, content_type="text/plain; charset=utf-8")
    body = services.export_csv(services.dashboard(cohort, filt), request.user.pk)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohort-{cohort.code}-aggregates.csv"'
    return response


@roles_required(FACULTY, ADMIN)
def cohort_students(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = services.cohort_for(request.user, cohort_id)
    students = cohort.members.filter(role="student").order_by("username")[:500]
    excluded = services.excluded_ids()   # opted out of analytics (or deleted): no individual summary
    return render(request, "analytics/cohort_students.html",
                  {"cohort": cohort, "students": [(s, services.pseudonym(s.pk), s.pk in excluded) for s in students],
                   "n_students": cohort.members.filter(role="student").count()})


@roles_required(FACULTY, ADMIN)
def cohort_student(request: HttpRequest, cohort_id: int, student_id: int) -> HttpResponse:
    cohort = services.cohort_for(request.user, cohort_id)
    summary = services.student_summary(request.user, cohort, student_id)
    return render(request, "analytics/cohort_student.html", {"cohort": cohort, "summary": summary})
