"""Outbreak detection lab: one GET page that teaches aberration detection on public surveillance series.

Thin: parameters are checked and the engine is run in outbreak_services; nothing is stored. Bad
parameters re-render the form with the named fields and a 400 status.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from medtutor.analytics import outbreak_services as services
from medtutor.analytics.engine import surveillance as sv
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import EVERYONE, roles_required


@roles_required(*EVERYONE)
@require_GET
def outbreak_lab(request: HttpRequest) -> HttpResponse:
    query = {key: request.GET.get(key, "") for key in request.GET}
    try:
        series = services.catalogue()
    except sv.SeriesFormatError as exc:
        series = {}
        load_error = str(exc)
    else:
        load_error = ""
    context: dict = {"query": query, "choices": services.series_choices(series), "shapes": sv.SHAPES,
                     "selected_series": query.get("series") or services.DEFAULT_SERIES,
                     "max_duration": services.MAX_DURATION, "load_error": load_error,
                     **services.date_bounds(series.get(query.get("series") or services.DEFAULT_SERIES))}
    if not series:
        context["forms"] = services.method_forms(query)
        return render(request, "analytics/outbreak_lab.html", context, status=503 if load_error else 200)
    status = 200
    try:
        lab = services.parse_request(query, series)
        result = services.run_lab(lab)
    except InvalidInput as error:
        context.update(error=error.message, error_details=error.details,
                       forms=services.method_forms(query, error.details))
        status = 400
    else:
        context.update(lab=lab, result=result, chart=result.chart(), selected_series=lab.series.key,
                       method_label=sv.METHODS[lab.method.name].label,
                       forms=services.method_forms(query, is_count=lab.series.is_count),
                       **services.date_bounds(lab.series))
    return render(request, "analytics/outbreak_lab.html", context, status=status)
