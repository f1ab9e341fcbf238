from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medtutor.accounts import services
from medtutor.accounts.forms import (AccommodationForm, AddMembersForm, ApiTokenForm, CohortForm, LoginForm,
                                     PeopleFilterForm, UserCreateForm, UserEditForm)
from medtutor.accounts.models import Accommodation, ApiToken, Cohort, Role, User
from medtutor.core import audit
from medtutor.core.permissions import ADMIN, EVERYONE, FACULTY, has_role, roles_required

PEOPLE_PER_PAGE = 25


class LoginView(auth_views.LoginView):
    # Django's login() rotates the session key, so a session id planted before login is useless after.
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from medtutor.accounts import sso

        return super().get_context_data(**kwargs) | {"sso_enabled": sso.enabled()}


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    return redirect("login")


@roles_required(*EVERYONE)
def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, new_token = ApiToken.issue(request.user, form.cleaned_data["name"])
        audit.record_action(request.user, "api_token.issued", subject=token, data={"name": token.name})
        messages.success(request, "Token created. Copy it now: it will not be shown again.")
    return render(request, "accounts/tokens.html", {
        "form": ApiTokenForm() if new_token else form,
        "tokens": request.user.api_tokens.all(),
        "new_token": new_token,
    })


@require_POST
@roles_required(*EVERYONE)
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)  # only one's own tokens
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record_action(request.user, "api_token.revoked", subject=token)
        messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("tokens")


# People and cohorts. Administrators manage them; faculty may read cohorts. Changes go through services.

def _admin_for_changes(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages that others may read but only program administrators may change (POST)."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and not has_role(request.user, ADMIN):
            raise PermissionDenied("only program administrators can change this")
        return view(request, *args, **kwargs)
    return wrapper


def _apply_error(error: services.FieldError, *forms: Any) -> None:
    for form in forms:
        if form is not None and error.field in form.fields:
            form.add_error(error.field, error.message)
            return
    forms[0].add_error(None, error.message)


def accommodation_summary(accommodation: Accommodation | None) -> str:
    if accommodation is None:
        return ""
    parts = []
    if accommodation.extra_time_percent:
        parts.append(f"+{accommodation.extra_time_percent}% time")
    if accommodation.rest_breaks:
        parts.append(f"rest breaks ({accommodation.rest_break_minutes} min)" if accommodation.rest_break_minutes
                     else "rest breaks")
    return ", ".join(parts)


@roles_required(ADMIN)
def people(request: HttpRequest) -> HttpResponse:
    form = PeopleFilterForm(request.GET)
    users = User.objects.select_related("accommodation").prefetch_related("cohorts").order_by("username")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            users = users.filter(Q(username__icontains=q) | Q(display_name__icontains=q) |
                                 Q(first_name__icontains=q) | Q(last_name__icontains=q))
        if data["role"]:
            users = users.filter(role=data["role"])
        if data["cohort"]:
            users = users.filter(cohorts=data["cohort"])
    else:
        users = users.none()
    page = Paginator(users, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for person in page.object_list:
        person.accommodation_summary = accommodation_summary(getattr(person, "accommodation", None))
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(request.GET.get(k) for k in ("q", "role", "cohort"))
    return render(request, "accounts/people.html", {
        "form": form, "page": page, "query": query.urlencode(), "filtered": filtered, "total": page.paginator.count,
    })


@require_http_methods(["GET", "POST"])
@roles_required(ADMIN)
def person_new(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.create_user(request.user, username=data["username"], password=data["password"],
                                          role=data["role"], display_name=data["display_name"],
                                          email=data["email"], cohorts=data["cohorts"])
        except services.FieldError as error:
            _apply_error(error, form)
        else:
            messages.success(request, f"Account {person.username} created. Give them their initial password privately.")
            return redirect("person_edit", user_id=person.pk)
    return render(request, "accounts/person_new.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@roles_required(ADMIN)
def person_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    accommodation = Accommodation.objects.filter(user=person).first()
    data = request.POST if request.method == "POST" else None
    form = UserEditForm(data, actor=request.user, person=person)
    acc_form = None
    if person.role == Role.STUDENT:
        acc_initial = ({f: getattr(accommodation, f) for f in services.ACCOMMODATION_FIELDS}
                       if accommodation else None)
        acc_form = AccommodationForm(data, prefix="acc", initial=acc_initial)
    if request.method == "POST" and all([form.is_valid(), acc_form is None or acc_form.is_valid()]):
        try:
            changes = services.update_person(request.user, person, **form.cleaned_data,
                                             accommodation=acc_form.cleaned_data if acc_form else None)
        except services.FieldError as error:
            person.refresh_from_db()  # the save was rolled back; show what is stored
            _apply_error(error, form, acc_form)
        else:
            if changes:
                messages.success(request, f"Saved the changes to {person.username}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("person_edit", user_id=person.pk)
    invalid = bool(form.errors or (acc_form is not None and acc_form.errors))
    return render(request, "accounts/person_edit.html", {
        "person": person, "form": form, "acc_form": acc_form, "accommodation": accommodation,
        "is_self": person.pk == request.user.pk,
    }, status=400 if invalid else 200)


@require_http_methods(["GET", "POST"])
@roles_required(FACULTY, ADMIN)
@_admin_for_changes
def cohorts(request: HttpRequest) -> HttpResponse:
    is_admin = has_role(request.user, ADMIN)
    form = CohortForm(request.POST or None) if is_admin else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            cohort = services.create_cohort(request.user, **form.cleaned_data)
        except services.FieldError as error:
            _apply_error(error, form)
        else:
            messages.success(request, f"Cohort {cohort.name} created.")
            return redirect("cohort_detail", cohort_id=cohort.pk)
    rows = Cohort.objects.annotate(n_members=Count("members")).order_by("-year", "name")
    return render(request, "accounts/cohorts.html", {"cohorts": rows, "form": form, "is_admin": is_admin},
                  status=400 if form is not None and form.errors else 200)


@require_http_methods(["GET", "POST"])
@roles_required(FACULTY, ADMIN)
@_admin_for_changes
def cohort_detail(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = get_object_or_404(Cohort, pk=cohort_id)
    is_admin = has_role(request.user, ADMIN)
    adding = request.method == "POST" and "remove" not in request.POST
    form = (AddMembersForm(request.POST if adding else None)) if is_admin else None
    if request.method == "POST":
        if not adding:
            user_id = request.POST.get("remove", "")
            member = get_object_or_404(cohort.members, pk=int(user_id)) if user_id.isdigit() else None
            if member is None:
                messages.error(request, "Choose a member to remove.")
            elif services.remove_members(request.user, cohort, [member]):
                messages.success(request, f"Removed {member.username} from {cohort.name}.")
            return redirect("cohort_detail", cohort_id=cohort.pk)
        if form is not None and form.is_valid():
            added = services.add_members(request.user, cohort, form.cleaned_data["usernames"])
            if added:
                messages.success(request, f"Added {', '.join(u.username for u in added)} to {cohort.name}.")
            else:
                messages.info(request, "They are all members already.")
            return redirect("cohort_detail", cohort_id=cohort.pk)
    members = cohort.members.order_by("username")
    return render(request, "accounts/cohort_detail.html", {
        "cohort": cohort, "members": members, "form": form, "is_admin": is_admin,
    }, status=400 if form is not None and form.errors else 200)
