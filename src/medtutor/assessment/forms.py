"""Exam builder forms. Times are entered and shown in UTC (the server's zone)."""

from __future__ import annotations

from typing import Any

from django import forms

from medtutor.accounts.models import Cohort, Role, User
from medtutor.assessment.models import Exam
from medtutor.content.models import Competency, Difficulty

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_FORMAT, **kwargs)


class ExamForm(forms.ModelForm):
    cohorts = forms.ModelMultipleChoiceField(
        queryset=Cohort.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to offer the exam to every student.")

    class Meta:
        model = Exam
        fields = ["title", "instructions", "mode", "build", "time_limit_minutes", "opens_at", "closes_at",
                  "max_attempts", "shuffle_items", "shuffle_options", "cohorts"]
        labels = {"time_limit_minutes": "Time limit (minutes)", "opens_at": "Opens at (UTC)",
                  "closes_at": "Closes at (UTC)", "max_attempts": "Attempts allowed",
                  "shuffle_items": "Shuffle the order of questions", "shuffle_options": "Shuffle the options"}
        help_texts = {
            "time_limit_minutes": "Leave empty for no limit. Students with extra time get theirs on top.",
            "closes_at": "No attempt runs past this time, unless a student's override says otherwise.",
            "build": "A blueprint draws a new random form for each attempt.",
        }
        widgets = {"instructions": forms.Textarea(attrs={"rows": 3}), "opens_at": DateTimeLocal(),
                   "closes_at": DateTimeLocal()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("opens_at", "closes_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        self.fields["time_limit_minutes"].widget.attrs.update({"min": 1, "max": 1440})
        self.fields["max_attempts"].widget.attrs.update({"min": 1, "max": 20})

    def clean_time_limit_minutes(self) -> int | None:
        value = self.cleaned_data.get("time_limit_minutes")
        if value is not None and not 1 <= value <= 1440:
            raise forms.ValidationError("Give a time limit between 1 and 1440 minutes, or leave it empty.")
        return value

    def clean_max_attempts(self) -> int:
        value = self.cleaned_data.get("max_attempts") or 0
        if not 1 <= value <= 20:
            raise forms.ValidationError("Allow between 1 and 20 attempts.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "The exam must close after it opens.")
        return data


class BlueprintRowForm(forms.Form):
    competency = forms.ModelChoiceField(queryset=Competency.objects.all(), to_field_name="code", required=False)
    difficulty = forms.ChoiceField(choices=[("", "Any difficulty"), *Difficulty.choices], required=False)
    count = forms.IntegerField(min_value=1, max_value=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("competency") and not data.get("count"):
            self.add_error("count", "How many questions from this competency?")
        if data.get("count") and not data.get("competency"):
            self.add_error("competency", "Choose a competency for this row.")
        return data


BlueprintFormSet = forms.formset_factory(BlueprintRowForm, extra=3, max_num=40, absolute_max=40)


def blueprint_rows(formset: Any) -> list[dict[str, Any]]:
    return [f.cleaned_data for f in formset.forms
            if f.cleaned_data.get("competency") and f.cleaned_data.get("count")]


class OverrideForm(forms.Form):
    student = forms.ModelChoiceField(queryset=User.objects.filter(role=Role.STUDENT, is_active=True),
                                     to_field_name="username")
    extra_attempts = forms.IntegerField(min_value=0, max_value=20, initial=0)
    closes_at = forms.DateTimeField(label="Own deadline (UTC)", required=False, widget=DateTimeLocal(),
                                    input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
                                    help_text="Replaces the exam's close time for this student.")
    reason = forms.CharField(max_length=300, required=False)
