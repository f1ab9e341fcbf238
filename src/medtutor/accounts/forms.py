from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models.functions import Lower

from medtutor.accounts.models import Cohort, Role, User


class LoginForm(AuthenticationForm):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. 'export script'.")


# People and cohorts (program administrators). Forms validate input; accounts.services makes the change.

MULTI_SELECT_HELP = "Hold Ctrl (⌘ on a Mac) to choose more than one."


def _cohort_choices() -> Any:
    return Cohort.objects.order_by("-year", "name")


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=150)
    role = forms.ChoiceField(choices=[("", "All roles"), *Role.choices], required=False)
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.none(), required=False, empty_label="All cohorts")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = _cohort_choices()


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="Letters, digits and @ . + - _ only; used to sign in.",
                               widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                                             "spellcheck": "false"}))
    display_name = forms.CharField(label="Display name", max_length=150, required=False,
                                   help_text="How the name is shown, e.g. 'Dr Amina Okafor'.")
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STUDENT)
    cohorts = forms.ModelMultipleChoiceField(queryset=Cohort.objects.none(), required=False,
                                             help_text=MULTI_SELECT_HELP)
    password = forms.CharField(label="Initial password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text="At least 10 characters, not a common password, not all digits, "
                               "and not like the username or name. Give it to the person privately.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohorts"].queryset = _cohort_choices()

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("password")
        if password:
            candidate = User(username=data.get("username", ""), display_name=data.get("display_name", ""),
                             email=data.get("email", ""), role=data.get("role", Role.STUDENT))
            try:
                password_validation.validate_password(password, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class UserEditForm(forms.Form):
    display_name = forms.CharField(label="Display name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(label="Active (may sign in)", required=False,
                                   help_text="Untick to stop this person signing in; their records are kept.")
    cohorts = forms.ModelMultipleChoiceField(queryset=Cohort.objects.none(), required=False,
                                             help_text=MULTI_SELECT_HELP)

    def __init__(self, *args: Any, actor: User, person: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"display_name": person.display_name, "role": person.role,
                                      "is_active": person.is_active, "cohorts": list(person.cohorts.all())})
        super().__init__(*args, **kwargs)
        self.actor, self.person = actor, person
        self.fields["cohorts"].queryset = _cohort_choices()

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if self.actor.pk == self.person.pk and self.person.role == Role.ADMIN and role != Role.ADMIN:
            raise forms.ValidationError("You cannot remove your own administrator role. "
                                        "Ask another program administrator to do it.")
        return role

    def clean_is_active(self) -> bool:
        active = self.cleaned_data["is_active"]
        if self.actor.pk == self.person.pk and not active:
            raise forms.ValidationError("You cannot deactivate your own account. "
                                        "Ask another program administrator to do it.")
        return active


class AccommodationForm(forms.Form):
    extra_time_percent = forms.IntegerField(label="Extra time (percent)", min_value=0, max_value=200, initial=0,
                                            help_text="Added to the time limit of timed exams: 0 to 200, "
                                                      "e.g. 25 gives 75 minutes for a 60-minute exam.")
    rest_breaks = forms.BooleanField(label="Rest breaks", required=False,
                                     help_text="May pause the exam clock for rest breaks.")
    rest_break_minutes = forms.IntegerField(label="Rest-break minutes", min_value=0, max_value=240, initial=0,
                                            help_text="Total minutes of rest breaks per exam, 0 to 240.")
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Seen only by program administrators. Do not record diagnoses here.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("rest_break_minutes") and not data.get("rest_breaks"):
            self.add_error("rest_break_minutes", "Tick 'Rest breaks' to give rest-break minutes, or set them to 0.")
        return data


class CohortForm(forms.Form):
    code = forms.SlugField(max_length=60, help_text="Short and unique, letters, digits, - and _ only "
                                                    "(e.g. md-2028).",
                           widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}))
    name = forms.CharField(max_length=150, help_text="e.g. 'MD class of 2028'.")
    year = forms.IntegerField(min_value=1900, max_value=2200, required=False)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if Cohort.objects.filter(code__iexact=code).exists():
            raise forms.ValidationError("A cohort with that code already exists.")
        return code


class AddMembersForm(forms.Form):
    usernames = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
                                help_text="One or more usernames, separated by spaces, commas or new lines.")

    def clean_usernames(self) -> list[User]:
        names = list(dict.fromkeys(n for n in re.split(r"[\s,;]+", self.cleaned_data["usernames"]) if n))
        if not names:
            raise forms.ValidationError("Enter at least one username.")
        found = {u.username.lower(): u for u in User.objects.annotate(username_lower=Lower("username"))
                 .filter(username_lower__in=[n.lower() for n in names])}
        missing = [n for n in names if n.lower() not in found]
        if missing:
            raise forms.ValidationError("No user with the username: %(names)s.", params={"names": ", ".join(missing)})
        return list(found.values())
