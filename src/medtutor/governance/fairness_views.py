"""Fairness report pages (governance/fairness.py computes them) and the subgroup-attribute import.

Faculty and administrators only; faculty see their cohorts (another cohort is a 404, as on the cohort
dashboard). Subgroup attributes are sensitive: only administrators import them and see how many
students have each value; no page shows anyone a student's own attributes.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from medtutor.accounts import subgroups
from medtutor.analytics.cohort_services import cohort_for, visible_cohorts
from medtutor.analytics.engine.cohort import MIN_CELL
from medtutor.core.errors import DomainError
from medtutor.core.permissions import ADMIN, FACULTY, roles_required
from medtutor.governance import fairness

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _context(request: HttpRequest, **extra) -> dict:
    return {"min_cell": MIN_CELL, **extra}


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_home(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/fairness_home.html", _context(
        request, cohorts=list(visible_cohorts(request.user).order_by("-year", "name")),
        exams=fairness.dif_exams(request.user)))


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_risk(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/fairness_risk.html", _context(request, audits=fairness.risk_model_audits()))


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_early_warning(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    return render(request, "governance/fairness_early_warning.html",
                  _context(request, cohort=cohort, report=fairness.early_warning_report(cohort)))


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_grader(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    return render(request, "governance/fairness_grader.html",
                  _context(request, cohort=cohort, report=fairness.grader_report(cohort)))


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_knowledge_tracing(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for(request.user, cohort_id)
    return render(request, "governance/fairness_kt.html",
                  _context(request, cohort=cohort, report=fairness.knowledge_tracing_report(cohort)))


@roles_required(FACULTY, ADMIN)
@require_GET
def fairness_dif(request: HttpRequest, exam_id: int) -> HttpResponse:
    from medtutor.assessment.models import Exam

    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise Http404("no such exam")
    return render(request, "governance/fairness_dif.html",
                  _context(request, exam=exam, report=fairness.dif_report(exam, request.user)))


@roles_required(ADMIN)
@require_http_methods(["GET", "POST"])
def fairness_attributes(request: HttpRequest) -> HttpResponse:
    """GET: how many students have each value (cells under 5 shown as such). POST: import a CSV
    (username,attribute,value), all or nothing."""
    context = _context(request)
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError("file: choose a CSV file to import")
            if upload.size > MAX_UPLOAD_BYTES:
                raise DomainError(f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise DomainError("file: not UTF-8 text; nothing was imported") from None
            result = subgroups.import_csv(text, actor=request.user)
        except DomainError as error:
            context.update({"error": error.message, "problems": error.details})
            status = 400
        else:
            messages.success(request, f"Imported {result.describe()}.")
            return redirect("fairness_attributes")
    counts = subgroups.counts_by_attribute()
    context["attributes"] = [
        (attribute.replace("_", " "), [(value, n if n >= MIN_CELL else None) for value, n in values.items()])
        for attribute, values in counts.items()]
    return render(request, "governance/fairness_attributes.html", context, status=status)
