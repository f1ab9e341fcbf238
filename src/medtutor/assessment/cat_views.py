"""Pages for adaptive exams (settings, calibration, sitting one, its report) and standard setting.

The logic lives in cat_services.py; these views parse forms, call it and render.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.assessment import cat_services, services
from medtutor.assessment.engine import irt
from medtutor.assessment.engine.timing import seconds_left
from medtutor.assessment.errors import AttemptClosed
from medtutor.assessment.models import AdaptiveSettings, CalibrationRun, Exam, ExamMode, StandardMethod
from medtutor.content.models import Competency, Item
from medtutor.core import clock
from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, EVERYONE, STUDENT, has_role, roles_required


def _exam(exam_id: int) -> Exam:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise NotFound(f"there is no exam {exam_id}")
    return exam


# --- faculty: adaptive settings and calibration ------------------------------------------------------

class AdaptiveSettingsForm(forms.ModelForm):
    competency = forms.ModelChoiceField(
        queryset=Competency.objects.all(), to_field_name="code", required=False,
        help_text="Draw from every calibrated item of this competency. Leave empty to use the exam's "
                  "hand-picked questions (or its blueprint's competencies).")

    class Meta:
        model = AdaptiveSettings
        fields = ["competency", "se_target", "min_items", "max_items", "content_balancing", "exposure",
                  "randomesque_k"]
        labels = {"se_target": "Stop when the standard error is at most", "min_items": "Minimum questions",
                  "max_items": "Maximum questions", "content_balancing": "Balance content across competencies",
                  "exposure": "Exposure control", "randomesque_k": "Randomesque: choose among the top"}
        help_texts = {"se_target": "On the ability scale (SD 1): 0.3 is about the precision of a reliability of 0.91.",
                      "content_balancing": "Follows the blueprint's counts, or each competency's share of the pool.",
                      "randomesque_k": "Items, picked at random among the most informative, so no item is over-used."}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        se, low, high, k = (data.get("se_target"), data.get("min_items"), data.get("max_items"),
                            data.get("randomesque_k"))
        if se is not None and not 0.1 <= se <= 1.0:
            self.add_error("se_target", "Give a standard error between 0.1 and 1.0.")
        if low is not None and not 1 <= low <= 200:
            self.add_error("min_items", "Between 1 and 200 questions.")
        if high is not None and not 1 <= high <= 200:
            self.add_error("max_items", "Between 1 and 200 questions.")
        if low and high and high < low:
            self.add_error("max_items", "The maximum must be at least the minimum.")
        if k is not None and not 1 <= k <= 20:
            self.add_error("randomesque_k", "Between 1 and 20.")
        return data


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def adaptive_settings(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam(exam_id)
    current = cat_services.settings_for(exam)
    status = 200
    if request.method == "POST":
        form = AdaptiveSettingsForm(request.POST, instance=AdaptiveSettings(exam=exam))
        if form.is_valid():
            data = form.cleaned_data
            try:
                cat_services.save_settings(exam, actor=request.user, competency=data["competency"],
                                           se_target=data["se_target"], min_items=data["min_items"],
                                           max_items=data["max_items"], content_balancing=data["content_balancing"],
                                           exposure=data["exposure"], randomesque_k=data["randomesque_k"])
            except InvalidInput as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Adaptive settings saved.")
                return redirect("exam_adaptive", exam_id=exam.pk)
        status = 400
    else:
        form = AdaptiveSettingsForm(instance=current,
                                    initial={"competency": current.competency.code} if current.competency_id else None)
    pool_ids = cat_services.pool_item_ids(exam)
    calibrations = cat_services.current_calibrations(pool_ids)
    items = Item.objects.filter(pk__in=pool_ids).select_related("competency").order_by("external_id")
    rows = [(item, calibrations.get(item.pk)) for item in items[:500]]
    return render(request, "assessment/cat_settings.html", {
        "exam": exam, "form": form, "status": cat_services.pool_status(exam), "rows": rows,
        "is_adaptive": exam.mode == ExamMode.ADAPTIVE, "thresholds": irt.MIN_RESPONSES,
        "runs": CalibrationRun.objects.filter(items__item_id__in=pool_ids).distinct()[:5],
    }, status=status)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_calibrate(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Calibrate the exam's pool from the response data (POST); GET goes back to the settings page."""
    exam = _exam(exam_id)
    if request.method == "POST":
        model = request.POST.get("model", "auto")
        try:
            run = cat_services.calibrate_items(actor=request.user, item_ids=cat_services.pool_item_ids(exam),
                                               model=model)
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Calibrated {run.n_items} items as {run.model.upper()} from "
                                      f"{run.n_responses} answers by {run.n_persons} examinees.")
    return redirect("exam_adaptive", exam_id=exam.pk)


# --- students: sitting an adaptive exam -----------------------------------------------------------

@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def adaptive_question(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = services.attempt_for(request.user, attempt_id, for_writing=True)
    if attempt.mode != ExamMode.ADAPTIVE:
        return redirect("attempt_resume", attempt_id=attempt.pk)
    error, status = "", 200
    if request.method == "POST":
        try:
            position = int(request.POST.get("position", ""))
        except ValueError:
            position = 0
        item_ms = request.POST.get("item_ms", "")
        try:
            if "choice" not in request.POST:
                raise InvalidInput("choice: choose one of the options before going on")
            outcome = cat_services.answer(request.user, attempt.pk, position, request.POST.get("choice"),
                                          item_ms=int(item_ms) if item_ms.isdigit() else None)
        except AttemptClosed as closed:
            messages.error(request, closed.message)
            return redirect("adaptive_report", attempt_id=attempt.pk)
        except DomainError as problem:
            error, status = problem.message, problem.status
        else:
            if outcome.finished:
                messages.success(request, "Your adaptive exam is complete.")
                return redirect("adaptive_report", attempt_id=attempt.pk)
            return redirect("adaptive_question", attempt_id=attempt.pk)
    attempt = services.refresh(attempt)
    if attempt.is_submitted:
        return redirect("adaptive_report", attempt_id=attempt.pk)
    current = cat_services.current_item(attempt)
    if current is None:  # every item answered but not closed (should not happen): close it now
        services.submit_attempt(request.user, attempt.pk, stopping_rule=True)
        return redirect("adaptive_report", attempt_id=attempt.pk)
    adaptive = cat_services.settings_for(attempt.exam)
    view = services.question_view(attempt, current, total=adaptive.max_items)
    now = clock.now()
    return render(request, "assessment/cat_question.html", {
        "attempt": attempt, "exam": attempt.exam, "q": view, "error": error, "adaptive": adaptive,
        "now": now, "seconds_left": seconds_left(attempt.deadline_at, now)}, status=status)


@require_http_methods(["GET", "POST"])
@roles_required(*EVERYONE)
def adaptive_report(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The ability estimate, its reasons and the path; faculty may override the estimate (POST)."""
    attempt = services.refresh(services.attempt_for(request.user, attempt_id))
    if attempt.mode != ExamMode.ADAPTIVE:
        return redirect("attempt_report", attempt_id=attempt.pk)
    if not attempt.is_submitted:
        if has_role(request.user, *AUTHORS):
            return redirect("exam_monitor", exam_id=attempt.exam_id)
        return redirect("adaptive_question", attempt_id=attempt.pk)
    error, status = "", 200
    if request.method == "POST":
        if not has_role(request.user, *AUTHORS):
            raise PermissionDenied("only faculty may override an ability estimate")
        try:
            theta = float(request.POST.get("theta", ""))
        except ValueError:
            error, status = "theta: give a number", 400
        else:
            try:
                cat_services.override_estimate(attempt, actor=request.user, theta=theta,
                                               reason=request.POST.get("reason", ""))
            except InvalidInput as problem:
                error, status = problem.message, problem.status
            else:
                messages.success(request, "Override recorded in the audit log.")
                return redirect("adaptive_report", attempt_id=attempt.pk)
    result = cat_services.report(attempt)
    return render(request, "assessment/cat_report.html", {
        "report": result, "attempt": attempt, "exam": attempt.exam, "error": error,
        "is_own": attempt.student_id == request.user.pk,
        "can_override": has_role(request.user, *AUTHORS)}, status=status)


# --- faculty: standard setting ---------------------------------------------------------------------

class AngoffForm(forms.Form):
    ratings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}), max_length=200_000,
        help_text="One line per judge: the judge's name, then one rating per question in exam order, "
                  "separated by commas — the probability (0–1, or 0–100%) that a borderline candidate "
                  "answers it correctly.")


class HofsteeForm(forms.Form):
    min_cut = forms.FloatField(label="Lowest acceptable pass mark (%)", min_value=0, max_value=100)
    max_cut = forms.FloatField(label="Highest acceptable pass mark (%)", min_value=0, max_value=100)
    min_fail = forms.FloatField(label="Lowest acceptable fail rate (%)", min_value=0, max_value=100)
    max_fail = forms.FloatField(label="Highest acceptable fail rate (%)", min_value=0, max_value=100)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("min_cut") is not None and data.get("max_cut") is not None and data["max_cut"] <= data["min_cut"]:
            self.add_error("max_cut", "The highest pass mark must be above the lowest.")
        if data.get("min_fail") is not None and data.get("max_fail") is not None and data["max_fail"] <= data["min_fail"]:
            self.add_error("max_fail", "The highest fail rate must be above the lowest.")
        return data


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def exam_standards(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam(exam_id)
    angoff_form, hofstee_form = AngoffForm(), HofsteeForm(initial={"min_cut": 50, "max_cut": 70, "min_fail": 5,
                                                                    "max_fail": 30})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "angoff":
                angoff_form = AngoffForm(request.POST)
                if angoff_form.is_valid():
                    setting = cat_services.save_angoff(exam, angoff_form.cleaned_data["ratings"], actor=request.user)
                    messages.success(request, f"Modified Angoff pass mark: {setting.cut_percent:.1f}%.")
                    return redirect("exam_standards", exam_id=exam.pk)
            elif action == "hofstee":
                hofstee_form = HofsteeForm(request.POST)
                if hofstee_form.is_valid():
                    setting = cat_services.save_hofstee(exam, actor=request.user, **hofstee_form.cleaned_data)
                    messages.success(request, f"Hofstee pass mark: {setting.cut_percent:.1f}%.")
                    return redirect("exam_standards", exam_id=exam.pk)
            elif action == "apply":
                try:
                    setting_id = int(request.POST.get("setting", ""))
                except ValueError:
                    raise InvalidInput("setting: choose a pass mark to apply") from None
                setting = cat_services.apply_setting(exam, setting_id, actor=request.user)
                messages.success(request, f"Pass mark {setting.cut_percent:.1f}% ({setting.get_method_display()}) "
                                          "now applies to this exam's results.")
                return redirect("exam_standards", exam_id=exam.pk)
            else:
                raise InvalidInput("unknown action")
        except InvalidInput as error:
            target = angoff_form if action == "angoff" else hofstee_form
            target.add_error(None, error.message)
            for detail in error.details:
                target.add_error(None, detail)
        status = 400
    try:
        items = cat_services.angoff_items(exam)
        angoff_note = ""
    except InvalidInput as error:
        items, angoff_note = [], error.message
    scores = cat_services.exam_scores(exam)
    settings = [_decorate(setting) for setting in exam.standard_settings.select_related("created_by")]
    applied = next((s for s in settings if s.is_applied), None)
    return render(request, "assessment/standards_exam.html", {
        "exam": exam, "items": items, "angoff_note": angoff_note, "angoff_form": angoff_form,
        "hofstee_form": hofstee_form, "settings": settings, "applied": applied, "n_scores": len(scores),
        "pass_rate": (100.0 * sum(1 for s in scores if s >= applied.cut_percent) / len(scores))
        if applied and scores else None,
    }, status=status)


def _decorate(setting: Any) -> Any:
    """Rows for the page: the judges' marks (Angoff); the curve as a table and an SVG chart (Hofstee)."""
    result, inputs = setting.result, setting.inputs
    if setting.method == StandardMethod.ANGOFF:
        setting.judge_rows = list(zip(result.get("judges", []), result.get("judge_cuts", []), strict=False))
        return setting
    low, high = inputs["min_cut"], inputs["max_cut"]
    min_fail, max_fail = inputs["min_fail"], inputs["max_fail"]

    def line(c: float) -> float:
        return max_fail - (max_fail - min_fail) * (c - low) / (high - low)

    curve = [(c, 100.0 * f) for c, f in result.get("curve", [])]
    setting.fail_percent = 100.0 * result.get("fail_rate", 0.0)
    setting.table = [(c, f, line(c)) for c, f in curve[:: max(1, len(curve) // 40)]]
    top = max([max_fail, *(f for _, f in curve)] or [100.0]) or 100.0

    def x(c: float) -> float:
        return 40 + 310 * (c - low) / (high - low)

    def y(f: float) -> float:
        return 210 - 200 * f / top

    setting.svg = {"curve": " ".join(f"{x(c):.1f},{y(f):.1f}" for c, f in curve),
                   "line": f"{x(low):.1f},{y(max_fail):.1f} {x(high):.1f},{y(min_fail):.1f}",
                   "cut_x": f"{x(setting.cut_percent):.1f}", "top": top}
    return setting


__all__ = ["AdaptiveSettingsForm", "AngoffForm", "HofsteeForm", "adaptive_question",
           "adaptive_report", "adaptive_settings", "exam_calibrate", "exam_standards"]
