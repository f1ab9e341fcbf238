"""The administrators' LTI page: register platforms (as `medtutor lti register` does) and sync a
course's roster on demand."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.permissions import ADMIN, roles_required
from medtutor.integrations.lti import keys, services
from medtutor.integrations.models import LtiPlatform, LtiResourceLink


class PlatformForm(forms.ModelForm):
    deployments = forms.CharField(label="Deployment ids", max_length=2000,
                                  help_text="Comma-separated; launches from other deployments are refused.")
    auth_login_url = forms.URLField(label="Auth login URL", max_length=500, assume_scheme="https")
    auth_token_url = forms.URLField(label="Auth token URL", max_length=500, assume_scheme="https")
    jwks_url = forms.URLField(label="Keyset (JWKS) URL", max_length=500, assume_scheme="https")

    class Meta:
        model = LtiPlatform
        fields = ["name", "issuer", "client_id", "auth_login_url", "auth_token_url", "jwks_url"]
        labels = {"issuer": "Issuer (iss)", "client_id": "Client id"}

    def clean_deployments(self) -> list[str]:
        ids = sorted({d.strip() for d in self.cleaned_data["deployments"].split(",") if d.strip()})
        if not ids:
            raise forms.ValidationError("Give at least one deployment id.")
        return ids


def _courses() -> list[LtiResourceLink]:
    seen, courses = set(), []
    links = LtiResourceLink.objects.exclude(memberships_url="").select_related("platform", "cohort")
    for link in links.order_by("-updated_at"):
        if (link.platform_id, link.context_id) not in seen:
            seen.add((link.platform_id, link.context_id))
            courses.append(link)
    return courses


@require_http_methods(["GET", "POST"])
@roles_required(ADMIN)
def lti_platforms(request: HttpRequest) -> HttpResponse:
    form = PlatformForm()
    message = error = ""
    if request.method == "POST" and request.POST.get("action") == "sync":
        link = LtiResourceLink.objects.select_related("platform").filter(pk=request.POST.get("link") or 0).first()
        if link is None:
            error = "There is no such course link (field: link)."
        else:
            try:
                report = services.sync_roster(link)
                message = f"{report.cohort}: {report.members} members, {report.added} added, {report.removed} removed."
            except (OSError, ValueError) as exc:
                error = f"The roster could not be fetched: {exc}"
    elif request.method == "POST":
        form = PlatformForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                platform = form.save(commit=False)
                platform.deployment_ids = form.cleaned_data["deployments"]
                platform.created_at = clock.now()
                platform.save()
                record_action(request.user, "lti.platform.registered", subject=platform,
                              data={"issuer": platform.issuer, "client_id": platform.client_id,
                                    "deployments": platform.deployment_ids})
            keys.private_key()
            return redirect("lti_platforms")
    status = 400 if (form.errors or error) else 200
    return render(request, "integrations/lti_platforms.html", {
        "form": form, "platforms": LtiPlatform.objects.order_by("name"), "courses": _courses(),
        "message": message, "error": error,
        "tool_urls": [("OIDC login initiation URL", request.build_absolute_uri(reverse("lti_login"))),
                      ("Redirect / target link URI", request.build_absolute_uri(reverse("lti_launch"))),
                      ("Public keyset (JWKS) URL", request.build_absolute_uri(reverse("lti_jwks")))]},
        status=status)
