"""Item bank pages for faculty and administrators. Thin: parse, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.content import services
from medtutor.content.exporters import CONTENT_TYPES, EXPORT_FORMATS, EXTENSIONS, ExportError
from medtutor.content.exporters import export as export_records
from medtutor.content.forms import LETTERS, ImportForm, ItemForm, filtered_items
from medtutor.content.importers import parse_upload
from medtutor.content.importers.records import InvalidImportFile
from medtutor.content.models import Item
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import AUTHORS, roles_required



@roles_required(*AUTHORS)
def bank(request: HttpRequest) -> HttpResponse:
    form, items = filtered_items(request.GET)
    page = Paginator(items.prefetch_related("tags").order_by("external_id"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sources = (Item.objects.active().exclude(source="").values("source").annotate(n=Count("id")).order_by("-n")[:30])
    return render(request, "content/bank.html", {
        "form": form, "page": page, "query": query.urlencode(), "sources": sources,
        "total": page.paginator.count, "export_formats": EXPORT_FORMATS,
    })


@roles_required(*AUTHORS)
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("competency", "discipline", "current_version__objective"),
                             pk=item_id)
    versions = item.versions.select_related("created_by").annotate(n_answers=Count("responses")).order_by("-number")
    return render(request, "content/item_detail.html", {
        "item": item, "version": item.current_version, "versions": versions, "letters": LETTERS,
    })


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def item_edit(request: HttpRequest, item_id: int | None = None) -> HttpResponse:
    item = get_object_or_404(Item, pk=item_id) if item_id is not None else None
    initial = ItemForm.initial_for(item) if item is not None else {"source": "", "licence": ""}
    form = ItemForm(request.POST or None, request.FILES or None, item=item, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.save_item(item, form.to_record(), actor=request.user,
                                         change_note=form.cleaned_data.get("change_note") or "",
                                         image=form.cleaned_data.get("image"),
                                         remove_image=bool(form.cleaned_data.get("remove_image")))
        except InvalidInput as error:
            for detail in error.details or [error.message]:
                form.add_error(None, detail)
        else:
            saved = item or Item.objects.get(external_id=form.to_record().external_id)
            if item is None:
                messages.success(request, f"Question {saved.external_id} created.")
            elif changed:
                messages.success(request, f"Saved as version {saved.current_version.number}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("item_detail", item_id=saved.pk)
    used = item is not None and item.current_version_id is not None and item.current_version.responses.exists()
    return render(request, "content/item_form.html", {"form": form, "item": item, "used": used})


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def import_items(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    summary = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            fmt, bundle = parse_upload(data, filename=upload.name, fmt=form.cleaned_data.get("format") or None)
            summary = services.import_bundle(bundle, actor=request.user, filename=upload.name, fmt=fmt)
        except InvalidImportFile as error:
            problems = [str(issue) for issue in error.issues] or [str(error)]
        except InvalidInput as error:
            problems = error.details or [error.message]
        if summary is not None:
            messages.success(request, f"Imported {upload.name}: {summary.describe()}.")
    return render(request, "content/import.html", {"form": form, "problems": problems, "summary": summary},
                  status=400 if problems else 200)


@roles_required(*AUTHORS)
def export_items(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "medtutor")
    if fmt not in EXPORT_FORMATS:
        return render(request, "web/error.html", {"status": 400, "message": f"Unknown export format '{fmt}'. "
                      f"Choose one of: {', '.join(EXPORT_FORMATS)}."}, status=400)
    _, items = filtered_items(request.GET)
    filtered = any(request.GET.get(k) for k in ("q", "competency", "tag", "difficulty", "source"))
    bundle = services.export_bundle(items, include_outline=fmt == "medtutor", include_cards=fmt == "medtutor" and not filtered)
    try:
        data = export_records(bundle, fmt)
    except ExportError as error:
        return render(request, "web/error.html", {"status": 400, "message": str(error)}, status=400)
    binary = fmt == "qti"
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt] if binary else f"{CONTENT_TYPES[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="medtutor-items{EXTENSIONS[fmt]}"'
    return response
