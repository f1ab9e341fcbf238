"""Curriculum analytics for program administrators (and faculty, whose cohort figures are their own
cohorts only). Students: 403; anonymous: to the login page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from medtutor.analytics import cohort_services
from medtutor.analytics import curriculum_services as services
from medtutor.analytics.engine.cohort import MIN_CELL
from medtutor.analytics.engine.curriculum import RESOURCES, UNDER_COVERED_BELOW
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import ADMIN, FACULTY, roles_required


def _page(request: HttpRequest) -> services.CurriculumPage:
    month = services.parse_month(request.GET.get("month", ""))
    cohort = services.parse_cohort(request.user, request.GET.get("cohort", ""))
    return services.page(request.user, month=month, cohort=cohort)


@roles_required(FACULTY, ADMIN)
def curriculum_page(request: HttpRequest) -> HttpResponse:
    context = {"min_cell": MIN_CELL, "resources": RESOURCES, "under_below": int(UNDER_COVERED_BELOW * 100),
               "struggle_cohorts": services.STRUGGLE_COHORTS,
               "cohorts": cohort_services.visible_cohorts(request.user).order_by("-year", "name")}
    try:
        report = _page(request)
    except InvalidInput as error:
        return render(request, "analytics/curriculum.html", {**context, "error": str(error)}, status=400)
    query = request.GET.urlencode()
    return render(request, "analytics/curriculum.html", {**context, "report": report, "query": query})


@roles_required(FACULTY, ADMIN)
def curriculum_export(request: HttpRequest) -> HttpResponse:
    try:
        report = _page(request)
    except InvalidInput as error:
        return HttpResponse(f"error: {error}\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(services.export_csv(report, request.user.pk), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="curriculum-analytics.csv"'
    return response
