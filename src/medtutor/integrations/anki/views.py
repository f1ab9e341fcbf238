"""Anki import and export pages: thin views over integrations.anki.services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.content.models import Competency
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import AUTHORS, EVERYONE, has_role, roles_required
from medtutor.integrations.anki import services
from medtutor.integrations.anki.apkg import MAX_APKG_BYTES


class DeckUploadForm(forms.Form):
    file = forms.FileField(label="Anki deck (.apkg)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".apkg", ".colpkg")):
            raise forms.ValidationError("choose an .apkg file exported from Anki")
        if upload.size > MAX_APKG_BYTES:
            raise forms.ValidationError(f"the deck is larger than {MAX_APKG_BYTES // 1024**2} MB")
        return upload


def _outline(user):
    """Students choose among the competencies they may see (no staff-only ones)."""
    return Competency.objects.all() if has_role(user, *AUTHORS) else Competency.objects.for_students()


@require_http_methods(["GET", "POST"])
@roles_required(*EVERYONE)
def anki(request: HttpRequest) -> HttpResponse:
    form = DeckUploadForm(request.POST or None, request.FILES or None)
    problem, result = "", None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.import_deck(request.user, upload.read(), filename=upload.name)
        except InvalidInput as error:
            problem = error.message
        else:
            messages.success(request, f"Imported {upload.name}: {result.created} new card(s), {result.updated} updated"
                                      + (f", {result.reviews} past review(s)" if result.reviews else "") + ".")
    status = 400 if problem or (request.method == "POST" and not form.is_valid()) else 200
    return render(request, "integrations/anki.html", {
        "form": form, "problem": problem, "result": result,
        "competencies": _outline(request.user).filter(parent__isnull=True).order_by("code"),
        "exportable": services.cards_to_export(request.user).count(),
    }, status=status)


@roles_required(*EVERYONE)
def anki_export(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("competency", "")
    competency = _outline(request.user).filter(code=code).first() if code else None
    if code and competency is None:
        return render(request, "web/error.html", {"status": 400, "message": f"There is no competency '{code[:60]}'."},
                      status=400)
    try:
        name, data, _ = services.export_deck(request.user, competency)
    except InvalidInput as error:  # nothing to export: say so on the Anki page
        messages.error(request, error.message[:1].upper() + error.message[1:] + ".")
        return redirect("anki")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
