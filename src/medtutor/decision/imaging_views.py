"""Imaging lab pages: a gallery of held-out chest films, one film with the model's probability and its
occlusion map, the threshold lesson (server-side form) and the class-imbalance lesson. Faculty start
training and switch models off and on. Every prediction shown goes through the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, EVERYONE, roles_required
from medtutor.decision import imaging_services as services
from medtutor.decision import registry
from medtutor.decision.engine.imaging import MODEL_KEYS, torch_available


def _int(raw: str | None, field: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: {raw!r} is not a whole number") from None


@require_http_methods(["GET"])
@roles_required(*EVERYONE)
def lab(request: HttpRequest) -> HttpResponse:
    context: dict = {"status": services.training_status(), "is_faculty": request.user.role in AUTHORS,
                     "model_keys": MODEL_KEYS, "torch_available": torch_available(), "error": ""}
    status = 200
    try:
        context["data_ok"] = True
        context["gallery"] = services.gallery()
    except NotFound as error:
        context.update(data_ok=False, gallery=[], error=error.message)
    context["models"] = services.lab_models()
    if context["is_faculty"]:
        context["versions"] = services.all_versions()
    try:
        threshold = services.parse_threshold(request.GET.get("threshold"))
    except InvalidInput as error:
        threshold, status, context["error"] = 0.5, 400, error.message
    context["threshold"] = threshold
    try:
        model = services.served_model(_int(request.GET.get("model"), "model"))
    except DomainError as error:
        model, status, context["error"] = services.served_model(), error.status, error.message
    context["model"] = model
    if model is not None:
        context["card_html"] = registry.render_card_html(model)
        context["lesson"] = services.threshold_lesson(model, threshold)
        image_index = None
        try:
            image_index = _int(request.GET.get("image"), "image")
            if image_index is not None and context["data_ok"]:
                context["prediction"] = services.predict_image(model, image_index, actor=request.user,
                                                               threshold=threshold)
        except DomainError as error:
            status, context["error"] = error.status, error.message
        context["image_index"] = image_index
    context["imbalance"] = services.imbalance_lesson()
    return render(request, "decision/imaging_lab.html", context, status=status)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def train(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("imaging_lab")
    keys = request.POST.getlist("models") or ["logreg", "svm"]
    try:
        services.start_training(keys, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("imaging_lab")
    messages.info(request, f"Training started ({', '.join(keys)}). This page shows its progress; "
                           "the baseline is ready in seconds, the SVM in about two minutes.")
    return redirect("imaging_lab")


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def set_enabled(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("imaging_lab")
    try:
        model_id = _int(request.POST.get("model"), "model")
        if model_id is None:
            raise InvalidInput("model: say which model to switch")
        row = registry.get_model_by_id(model_id)
        if row.kind != services.KIND:
            raise NotFound(f"model {model_id} is not an imaging model")
        enable = request.POST.get("enabled") == "1"
        registry.set_enabled(row, enable, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(reverse("imaging_lab") + "#models")
    messages.success(request, f"{row.name} v{row.version} is now {'enabled' if enable else 'disabled'}.")
    return redirect(reverse("imaging_lab") + "#models")


@require_http_methods(["GET", "POST"])
@roles_required(*EVERYONE)
def read(request: HttpRequest) -> HttpResponse:
    """The student's own read of the film, recorded as a human override of the model's decision."""
    if request.method != "POST":
        return redirect("imaging_lab")
    back = reverse("imaging_lab")
    query = {k: request.POST.get(k, "") for k in ("model", "image", "threshold") if request.POST.get(k)}
    if query:
        from urllib.parse import urlencode

        back += "?" + urlencode(query)
    try:
        done = services.record_read(request.user, _int(request.POST.get("decision"), "decision"),
                                    request.POST.get("read", ""), request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back + "#prediction")
    verdict = "matches" if done.agrees_with_label else "differs from"
    messages.success(request, f"Your read ({done.read}) is saved beside the model's call ({done.model_call}); "
                              f"it {verdict} the data set's label ({done.true_label}).")
    return redirect(back + "#prediction")


imaging_urlpatterns = [
    path("decision/imaging/read/", read, name="imaging_read"),
    path("decision/imaging/", lab, name="imaging_lab"),
    path("decision/imaging/train/", train, name="imaging_train"),
    path("decision/imaging/models/switch/", set_enabled, name="imaging_set_enabled"),
]
