"""Risk lab pages: datasets and models, model cards with calibration plots, predict one patient, and the
four exercises. Thin: every decision is in risk_services / registry; every page says it is for education."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.core.permissions import ADMIN, AUTHORS, EVERYONE, FACULTY, has_role, roles_required
from medtutor.decision import registry
from medtutor.decision import risk_services as services
from medtutor.decision.engine import clinical_data as cd
from medtutor.decision.models import RiskExerciseAnswer

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _dataset(request: HttpRequest) -> cd.DatasetSpec | None:
    key = request.GET.get("dataset") or request.POST.get("dataset") or ""
    if not key:
        return None
    if key not in cd.DATASETS:
        raise Http404("no such dataset")
    return cd.DATASETS[key]


def _error_context(error: DomainError) -> dict:
    return {"error": error.message, "error_details": error.details}


def _serving_or_train(request: HttpRequest, spec: cd.DatasetSpec) -> dict:
    """First use of a never-trained dataset trains it; a disabled model is reported, not replaced."""
    try:
        services.ensure_trained(spec.key, actor=request.user)
        return {"model": services.servable(spec.key)}
    except DomainError as error:
        return {"model": None, **_error_context(error)}


def _features_for_form(spec: cd.DatasetSpec, model, values: dict[str, str], problems: list[str]) -> list[dict]:
    names = model.params.get("features", spec.default_features()) if model else spec.default_features()
    rows = []
    for name in names:
        feature = spec.feature(name)
        rows.append({"name": name, "label": feature.label, "unit": feature.unit, "required": feature.required,
                     "range": feature.range_text(), "choices": feature.choices(), "kind": feature.kind,
                     "value": values.get(name, ""), "step": feature.step,
                     "invalid": any(p.startswith(name + " ") for p in problems)})
    return rows


@roles_required(*EVERYONE)
def risk_home(request: HttpRequest) -> HttpResponse:
    return render(request, "decision/risk_home.html", {
        "datasets": services.overview(), "can_train": has_role(request.user, *AUTHORS),
        "purposes": services.THRESHOLD_PURPOSES})


@roles_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def risk_train(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return redirect("risk_home")
    key = request.POST.get("dataset", "")
    upload = request.FILES.get("csv")
    try:
        keys = [key] if key else None
        if key and key not in cd.DATASETS:
            raise InvalidInput("unknown dataset", details=[f"dataset: '{key}' is not one of {', '.join(cd.DATASETS)}"])
        text = None
        if upload is not None:
            if not key:
                raise InvalidInput("choose the dataset the CSV belongs to", details=["dataset: required with a CSV"])
            if upload.size > MAX_UPLOAD_BYTES:
                raise InvalidInput("the CSV is too large", details=[f"csv: over {MAX_UPLOAD_BYTES // 1024} KiB"])
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput("the CSV is not UTF-8 text", details=["csv: save it as UTF-8"]) from None
        models = services.train_and_register(keys, actor=request.user, csv_text=text)
    except DomainError as error:
        return render(request, "decision/risk_home.html", {
            "datasets": services.overview(), "can_train": True, "purposes": services.THRESHOLD_PURPOSES,
            **_error_context(error)}, status=error.status)
    messages.success(request, f"Trained and registered {len(models)} models: "
                              + ", ".join(f"{m.name} v{m.version}" for m in models))
    return redirect("risk_models")


@roles_required(*EVERYONE)
def risk_models(request: HttpRequest) -> HttpResponse:
    return render(request, "decision/risk_models.html", {
        "models": registry.list_models(), "can_manage": has_role(request.user, FACULTY, ADMIN)})


def _card_context(model) -> dict:
    metrics = model.metrics or {}
    bins = [b for b in metrics.get("reliability", []) if b.get("count")]
    chart = {"predicted": [round(b["mean_risk"], 4) for b in bins], "observed": [round(b["observed"], 4) for b in bins],
             "counts": [b["count"] for b in bins]}
    curve = metrics.get("decision_curve", [])
    decision_chart = {"thresholds": [row["threshold"] for row in curve], "model": [row["model"] for row in curve],
                      "treat_all": [row["treat_all"] for row in curve]}
    return {"model": model, "card_html": registry.render_card_html(model), "metrics": metrics,
            "reliability": metrics.get("reliability", []), "calibration_chart": chart,
            "decision_curve": curve, "decision_chart": decision_chart,
            "importance": metrics.get("importance", [])}


@roles_required(*EVERYONE)
def risk_model_card(request: HttpRequest, model_id: int) -> HttpResponse:
    try:
        model = registry.get_model_by_id(model_id)
    except NotFound as error:
        raise Http404(error.message) from error
    return render(request, "decision/risk_model_card.html", {
        **_card_context(model), "can_manage": has_role(request.user, FACULTY, ADMIN)})


@roles_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def risk_model_status(request: HttpRequest, model_id: int) -> HttpResponse:
    try:
        model = registry.get_model_by_id(model_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if request.method == "GET":
        return redirect("risk_model_card", model_id=model.pk)
    enable = request.POST.get("enabled") == "1"
    try:
        registry.set_enabled(model, enable, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        return render(request, "decision/risk_model_card.html", {
            **_card_context(model), "can_manage": True, **_error_context(error)}, status=error.status)
    messages.success(request, f"{model.name} v{model.version} is now {'enabled' if enable else 'disabled'}.")
    return redirect("risk_model_card", model_id=model.pk)


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def risk_predict(request: HttpRequest) -> HttpResponse:
    spec = _dataset(request)
    context: dict = {"spec": spec, "datasets": cd.DATASETS.values()}
    if spec is None:
        return render(request, "decision/risk_predict.html", context)
    context.update(_serving_or_train(request, spec))
    values: dict[str, str] = {}
    problems: list[str] = []
    status = 200
    if request.method == "POST" and context["model"] is not None:
        values = {k: v for k, v in request.POST.items() if k in spec.feature_names}
        try:
            context["prediction"] = services.predict(request.user, spec.key, values)
        except DomainError as error:
            context.update(_error_context(error))
            problems = error.details
            status = error.status
    elif request.GET.get("example") and context["model"] is not None:
        _, values = services.test_patient(spec.key, seed=None)
    context["fields"] = _features_for_form(spec, context["model"], values, problems)
    return render(request, "decision/risk_predict.html", context, status=status)


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def risk_estimate(request: HttpRequest) -> HttpResponse:
    spec = _dataset(request)
    context: dict = {"spec": spec, "datasets": cd.DATASETS.values()}
    if spec is None:
        return render(request, "decision/risk_estimate.html", context)
    context.update(_serving_or_train(request, spec))
    if context["model"] is None:
        return render(request, "decision/risk_estimate.html", context)
    status = 200
    try:
        if request.method == "POST":
            index = int(request.POST.get("patient", "-1"))
            context["answer"] = services.score_estimate(request.user, spec.key, index, request.POST.get("estimate"))
        else:
            index = None
        index, values = services.test_patient(spec.key, index)
    except ValueError:
        raise Http404("no such test patient") from None
    except NotFound as error:
        raise Http404(error.message) from error
    except DomainError as error:
        context.update(_error_context(error))
        status = error.status
        index, values = services.test_patient(spec.key, index)
    context.update(patient=index, fields=_features_for_form(spec, context["model"], values, []),
                   history=RiskExerciseAnswer.objects.filter(learner=request.user, kind="estimate",
                                                             dataset=spec.key)[:10])
    return render(request, "decision/risk_estimate.html", context, status=status)


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def risk_leakage(request: HttpRequest) -> HttpResponse:
    spec = cd.DATASETS[services.LEAKAGE_DATASET]
    context: dict = {"spec": spec, "candidates": services.leakage_candidates()}
    status = 200
    if request.method == "POST":
        try:
            services.ensure_trained(spec.key, actor=request.user)
            context["answer"] = services.answer_leakage(request.user, request.POST.get("feature", ""),
                                                        request.POST.get("reason", ""))
        except DomainError as error:
            context.update(_error_context(error))
            status = error.status
    return render(request, "decision/risk_leakage.html", context, status=status)


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def risk_transport(request: HttpRequest) -> HttpResponse:
    sites = ["cleveland", "hungarian", "switzerland", "va_long_beach"]
    context: dict = {"sites": sites, "train_site": request.POST.get("train_site") or request.GET.get("site") or ""}
    status = 200
    try:
        if context["train_site"]:
            if context["train_site"] not in sites:
                raise InvalidInput("unknown site", details=[f"site: one of {', '.join(sites)}"])
            context["report"] = services.transport_report(context["train_site"])
        if request.method == "POST":
            context["answer"] = services.answer_transport(request.user, context["train_site"],
                                                          request.POST.get("worst_site", ""),
                                                          request.POST.get("reason", ""))
    except DomainError as error:
        context.update(_error_context(error))
        status = error.status
    except cd.DataError as error:
        context.update(error=error.message, error_details=error.problems)
        status = 503
    return render(request, "decision/risk_transport.html", context, status=status)


@roles_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def risk_threshold(request: HttpRequest) -> HttpResponse:
    spec = _dataset(request)
    context: dict = {"spec": spec, "datasets": cd.DATASETS.values(), "purposes": services.THRESHOLD_PURPOSES}
    if spec is None:
        return render(request, "decision/risk_threshold.html", context)
    context.update(_serving_or_train(request, spec))
    status = 200
    if request.method == "POST" and context["model"] is not None:
        try:
            context["answer"] = services.answer_threshold(
                request.user, spec.key, request.POST.get("purpose", ""), request.POST.get("threshold"),
                request.POST.get("defence", ""))
        except DomainError as error:
            context.update(_error_context(error))
            status = error.status
    if context["model"] is not None:
        context["curve"] = context["model"].metrics.get("decision_curve", [])
    return render(request, "decision/risk_threshold.html", context, status=status)


risk_urlpatterns = [
    path("risk/", risk_home, name="risk_home"),
    path("risk/train/", risk_train, name="risk_train"),
    path("risk/models/", risk_models, name="risk_models"),
    path("risk/models/<int:model_id>/", risk_model_card, name="risk_model_card"),
    path("risk/models/<int:model_id>/status/", risk_model_status, name="risk_model_status"),
    path("risk/predict/", risk_predict, name="risk_predict"),
    path("risk/exercises/estimate/", risk_estimate, name="risk_estimate"),
    path("risk/exercises/leakage/", risk_leakage, name="risk_leakage"),
    path("risk/exercises/transport/", risk_transport, name="risk_transport"),
    path("risk/exercises/threshold/", risk_threshold, name="risk_threshold"),
]
