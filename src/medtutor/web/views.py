"""Home pages per role, health check, protected media and error pages."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from medtutor.accounts.models import Cohort, Role, User
from medtutor.content.models import Card, Competency, Item
from medtutor.core.models import AuditRecord
from medtutor.core.permissions import EVERYONE, roles_required


@roles_required(*EVERYONE)
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.STUDENT:
        return render(request, "web/home_student.html", student_summary(user))
    context = {
        "items": Item.objects.active().count(),
        "cards": Card.objects.shared().count(),
        "competencies": Competency.objects.filter(parent__isnull=True).annotate(
            n_items=Count("children__items", distinct=True)),
        "cohorts": Cohort.objects.annotate(n=Count("members")),
    }
    if user.role == Role.ADMIN:
        context |= {
            "users_by_role": User.objects.values("role").annotate(n=Count("id")).order_by("role"),
            "audit_records": AuditRecord.objects.count(),
        }
        return render(request, "web/home_admin.html", context)
    return render(request, "web/home_faculty.html", context)


def student_summary(user: User) -> dict:
    """The student's home: totals and recent answers, plus the dashboard (learning.dashboard)."""
    from medtutor.learning.dashboard import student_dashboard

    responses = user.item_responses
    totals = responses.aggregate(n=Count("id"), right=Count("id", filter=Q(is_correct=True)))
    return {
        "answered": totals["n"], "correct": totals["right"],
        "percent": round(100 * totals["right"] / totals["n"]) if totals["n"] else None,
        "recent": responses.select_related("item_version__item").order_by("-answered_at")[:5],
        **student_dashboard(user),
    }


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database and cache answer, every migration applied (503 otherwise)."""
    from medtutor.ops.health import FAIL, readiness

    checks = readiness()
    ready = all(c.status != FAIL for c in checks)
    return JsonResponse({"status": "ready" if ready else "not ready",
                         "checks": {c.name: {"status": c.status, "detail": c.detail} for c in checks}},
                        status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (requests, latencies, responses by view), summed over all workers."""
    import hmac

    from django_prometheus.exports import ExportToDjangoView

    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need the bearer token in MEDTUTOR_METRICS_TOKEN\n", status=403,
                                content_type="text/plain")
    elif request.META.get("REMOTE_ADDR") not in ("127.0.0.1", "::1"):
        return HttpResponse("metrics are served to this machine only unless MEDTUTOR_METRICS_TOKEN is set\n",
                            status=403, content_type="text/plain")
    return ExportToDjangoView(request)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


@roles_required(*EVERYONE)
def media(request: HttpRequest, path: str) -> FileResponse:
    """Uploaded images, to signed-in users only (whitenoise serves static files, not uploads)."""
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("no such file")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target.open("rb"), content_type=content_type)


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "web/error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    detail = str(exception) if exception and str(exception) else "You do not have access to this page."
    return _error(request, 403, detail[:300])


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Something went wrong on our side. Nothing you submitted was lost if you saw it saved.")
