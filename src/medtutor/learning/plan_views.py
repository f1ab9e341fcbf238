"""The study plan pages: settings form, the next days, the whole plan and its .ics export."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.core import clock
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import STUDENT, roles_required
from medtutor.learning import plans
from medtutor.learning.models import Blueprint, StudyPlan

WEIGHT_PREFIX = "weight_"


class StudyPlanForm(forms.Form):
    exam_date = forms.DateField(label="Exam date", widget=forms.DateInput(attrs={"type": "date"}),
                                help_text="Within the next two years.")
    minutes_per_day = forms.IntegerField(label="Minutes a day", min_value=plans.MIN_MINUTES,
                                         max_value=plans.MAX_MINUTES,
                                         help_text=f"Between {plans.MIN_MINUTES} and {plans.MAX_MINUTES}.")
    blueprint = forms.ChoiceField(label="Blueprint", choices=Blueprint.choices, widget=forms.RadioSelect,
                                  initial=Blueprint.OUTLINE)

    def __init__(self, *args, systems: dict[str, str], weights: dict[str, float], **kwargs):
        super().__init__(*args, **kwargs)
        self.systems = systems
        for code, name in systems.items():
            self.fields[WEIGHT_PREFIX + code] = forms.FloatField(
                label=name, min_value=0, max_value=plans.MAX_WEIGHT, required=False, initial=weights.get(code),
                widget=forms.NumberInput(attrs={"step": "0.1"}))

    def weight_fields(self):
        return [self[WEIGHT_PREFIX + code] for code in self.systems]

    def clean_exam_date(self):
        value = self.cleaned_data["exam_date"]
        today = clock.now().date()
        if value <= today:
            raise forms.ValidationError("The exam date must be after today.")
        if (value - today).days > 730:
            raise forms.ValidationError("The exam date must be within two years.")
        return value

    def custom_weights(self) -> dict[str, float]:
        outline = plans.outline_weights()
        result = {}
        for code in self.systems:
            value = self.cleaned_data.get(WEIGHT_PREFIX + code)
            result[code] = float(value) if value is not None else outline.get(code, 0.0)
        return result

    def clean(self):
        data = super().clean()
        if data.get("blueprint") == Blueprint.CUSTOM and self.systems and not self.errors:
            if sum(self.custom_weights().values()) <= 0:
                raise forms.ValidationError("At least one organ system needs a weight above 0.")
        return data


def _form(study_plan: StudyPlan | None, data=None) -> StudyPlanForm:
    systems = plans.system_names()
    ordered = {code: systems[code] for code in sorted(systems)}
    initial = {}
    if study_plan is not None:
        initial = {"exam_date": study_plan.exam_date, "minutes_per_day": study_plan.minutes_per_day,
                   "blueprint": study_plan.blueprint}
    return StudyPlanForm(data, initial=initial, systems=ordered, weights=plans.system_weights(study_plan))


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def plan_page(request: HttpRequest) -> HttpResponse:
    existing = StudyPlan.objects.filter(learner=request.user).first()
    status = 200
    if request.method == "POST":
        form = _form(existing, request.POST)
        if form.is_valid():
            blueprint = form.cleaned_data["blueprint"]
            try:
                plans.save_plan(request.user, exam_date=form.cleaned_data["exam_date"],
                                minutes_per_day=form.cleaned_data["minutes_per_day"], blueprint=blueprint,
                                custom_weights=form.custom_weights() if blueprint == Blueprint.CUSTOM else None)
            except InvalidInput as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Plan saved. It re-plans itself from your progress each time you look.")
                return redirect("plan")
        status = 400
    else:
        form = _form(existing)
    current = plans.current_plan(request.user)
    return render(request, "learning/plan.html", {
        "form": form, "current": current, "full": request.GET.get("all") == "1",
        "days_left": plans.days_left(current.study_plan) if current else None,
        "system_names": plans.system_names()}, status=status)


@roles_required(STUDENT)
def plan_calendar(request: HttpRequest) -> HttpResponse:
    text = plans.calendar(request.user)
    if text is None:
        messages.info(request, "Set an exam date first: then you can download your plan as a calendar.")
        return redirect("plan")
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="medtutor-study-plan.ics"'
    return response
