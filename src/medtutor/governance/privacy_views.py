"""Privacy pages: "My data" (everyone, for themselves: export, analytics opt-out, deletion request) and the
administrators' deletion-request queue. Logic lives in governance/privacy.py."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.core import clock
from medtutor.core.errors import InvalidInput
from medtutor.core.errors import PermissionDenied as DomainPermissionDenied
from medtutor.core.permissions import ADMIN, EVERYONE, roles_required
from medtutor.governance import privacy
from medtutor.governance.models import DeletionRequest, DeletionStatus


# --- privacy: "My data" (everyone, for themselves) and deletion requests (administrators) ---------------

@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        choice = request.POST.get("analytics_opt_out")
        if choice not in ("yes", "no"):
            messages.error(request, "analytics_opt_out: choose yes or no.")
        else:
            privacy.set_analytics_opt_out(request.user, choice == "yes")
            messages.success(request, "Your analytics choice is saved.")
        return redirect("my_data")
    return render(request, "governance/my_data.html", {
        "counts": [(label, privacy.table_title(label), count)
                   for label, count in sorted(privacy.summary_counts(request.user).items())],
        "settings_row": privacy.privacy_settings(request.user),
        "requests": DeletionRequest.objects.filter(user=request.user)[:10],
        "pending": DeletionRequest.objects.filter(user=request.user, status=DeletionStatus.PENDING).first(),
        "retention": privacy.retention_days(),
    })


@roles_required(*EVERYONE)
def my_data_export(request: HttpRequest) -> HttpResponse:
    archive = privacy.export_zip(request.user)
    stamp = clock.now().strftime("%Y%m%d")
    return FileResponse(archive, as_attachment=True, filename=f"medtutor-my-data-{stamp}.zip",
                        content_type="application/zip")


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def my_data_delete(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET) explains what deletion does; step 2 (POST with confirm) files the request."""
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "withdraw":
            if privacy.withdraw_deletion(request.user):
                messages.success(request, "Your deletion request is withdrawn.")
            return redirect("my_data")
        if request.POST.get("confirm") != "yes":
            error = "confirm: tick the box to confirm that you want your personal data deleted."
        else:
            try:
                privacy.request_deletion(request.user, request.POST.get("reason", ""))
            except InvalidInput as failure:
                error = str(failure)
            else:
                messages.success(request, "Your deletion request is filed; an administrator will confirm it.")
                return redirect("my_data")
    return render(request, "governance/my_data_delete.html", {"error": error, "policy_kept": privacy.KEEP},
                  status=400 if error else 200)


@roles_required(ADMIN)
@require_http_methods(["GET", "POST"])
def privacy_requests(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            request_id = int(request.POST.get("request_id", ""))
            if action == "confirm" and request.POST.get("sure") != "yes":
                raise InvalidInput("sure: tick the box to confirm the deletion")
            if action == "confirm":
                done = privacy.confirm_deletion(request_id, request.user)
                messages.success(request, f"Deleted the personal data of request #{done.pk}; the account is now "
                                          f"{done.user.username}.")
                return redirect("privacy_requests")
            if action == "decline":
                privacy.decline_deletion(request_id, request.user, request.POST.get("decision_reason", ""))
                messages.success(request, f"Request #{request_id} declined.")
                return redirect("privacy_requests")
            error = "action: choose confirm or decline."
        except ValueError:
            error = "request_id: not a request number."
        except (InvalidInput, DomainPermissionDenied) as failure:
            error = str(failure)
    pending = list(DeletionRequest.objects.filter(status=DeletionStatus.PENDING).select_related("user"))
    for row in pending:
        row.counts = sorted(privacy.summary_counts(row.user).items())
    decided = DeletionRequest.objects.exclude(status=DeletionStatus.PENDING).select_related("user", "decided_by")[:50]
    return render(request, "governance/privacy_requests.html",
                  {"pending": pending, "decided": decided, "error": error}, status=400 if error else 200)
