"""Managing people and cohorts: creating accounts, changing roles, accommodations and memberships.

Views (and any later API or CLI) come through here, so every change is checked and audited the
same way. Functions take plain values; forms validate input first, and these functions enforce the
rules that must hold whoever calls them (an administrator cannot lock themselves out).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from medtutor.accounts.models import Accommodation, Cohort, Role, User
from medtutor.core import audit
from medtutor.core.errors import InvalidInput

ACCOMMODATION_FIELDS = ("extra_time_percent", "rest_breaks", "rest_break_minutes", "notes")


class FieldError(InvalidInput):
    """Invalid input that belongs to one field of a form (or to none, when field is None)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


def _codes(cohorts: Iterable[Cohort]) -> list[str]:
    return sorted(c.code for c in cohorts)


@transaction.atomic
def create_user(actor: User, *, username: str, password: str, role: str = Role.STUDENT,
                display_name: str = "", email: str = "", cohorts: Iterable[Cohort] = ()) -> User:
    if role not in Role.values:
        raise FieldError("role", f"Unknown role '{role}'.")
    if User.objects.filter(username__iexact=username).exists():
        raise FieldError("username", "A user with that username already exists.")
    candidate = User(username=username, display_name=display_name, email=email, role=role)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as error:
        raise FieldError("password", " ".join(error.messages)) from error
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email,
                                            role=role, display_name=display_name)
    except IntegrityError as error:  # a concurrent request took the username
        raise FieldError("username", "A user with that username already exists.") from error
    cohorts = list(cohorts)
    user.cohorts.set(cohorts)
    audit.record_action(actor, "user.created", subject=user, data={
        "username": user.username, "role": user.role, "display_name": display_name,
        "email": email, "cohorts": _codes(cohorts)})
    return user


@transaction.atomic
def update_user(actor: User, user: User, *, role: str | None = None, display_name: str | None = None,
                is_active: bool | None = None, cohorts: Iterable[Cohort] | None = None) -> dict[str, list[Any]]:
    """Change what was given; returns (and audits as "user.updated") {field: [before, after]}."""
    if role is not None and role not in Role.values:
        raise FieldError("role", f"Unknown role '{role}'.")
    if actor.pk == user.pk:
        if role is not None and role != Role.ADMIN and user.role == Role.ADMIN:
            raise FieldError("role", "You cannot remove your own administrator role. "
                                     "Ask another program administrator to do it.")
        if is_active is False:
            raise FieldError("is_active", "You cannot deactivate your own account. "
                                          "Ask another program administrator to do it.")
    changes: dict[str, list[Any]] = {}
    for field, value in (("role", role), ("display_name", display_name), ("is_active", is_active)):
        if value is not None and getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if changes:
        user.save(update_fields=list(changes))
    if cohorts is not None:
        cohorts = list(cohorts)
        before, after = _codes(user.cohorts.all()), _codes(cohorts)
        if before != after:
            user.cohorts.set(cohorts)
            changes["cohorts"] = [before, after]
    if changes:
        audit.record_action(actor, "user.updated", subject=user, data=changes)
    return changes


@transaction.atomic
def update_accommodation(actor: User, user: User, *, extra_time_percent: int, rest_breaks: bool,
                         rest_break_minutes: int, notes: str = "") -> dict[str, list[Any]]:
    """Create or change a student's accommodation; audits "accommodation.updated" with what changed."""
    if not 0 <= extra_time_percent <= 200:
        raise FieldError("extra_time_percent", "Extra time must be between 0 and 200 percent.")
    if not 0 <= rest_break_minutes <= 240:
        raise FieldError("rest_break_minutes", "Rest-break minutes must be between 0 and 240.")
    if rest_break_minutes and not rest_breaks:
        raise FieldError("rest_break_minutes", "Tick 'Rest breaks' to give rest-break minutes, or set them to 0.")
    new = {"extra_time_percent": extra_time_percent, "rest_breaks": rest_breaks,
           "rest_break_minutes": rest_break_minutes, "notes": notes}
    accommodation = Accommodation.objects.select_for_update().filter(user=user).first()
    if accommodation is None:
        accommodation = Accommodation(user=user)
        changes = {k: [None, v] for k, v in new.items()}
        if not any(new.values()):  # nothing to record for a student with no accommodation
            return {}
    else:
        changes = {k: [getattr(accommodation, k), v] for k, v in new.items() if getattr(accommodation, k) != v}
        if not changes:
            return {}
    for k, v in new.items():
        setattr(accommodation, k, v)
    accommodation.save()
    # The notes may hold health information: the audit log says that they changed, not what they say.
    if "notes" in changes:
        before = changes["notes"][0]
        changes["notes"] = ["(withheld)" if before else before, "(withheld)" if notes else ""]
    audit.record_action(actor, "accommodation.updated", subject=user, data=changes)
    return changes


@transaction.atomic
def update_person(actor: User, user: User, *, role: str | None = None, display_name: str | None = None,
                  is_active: bool | None = None, cohorts: Iterable[Cohort] | None = None,
                  accommodation: dict[str, Any] | None = None) -> dict[str, dict[str, list[Any]]]:
    """The edit page's save: the account and (for students) the accommodation, all or nothing."""
    changes = {"user": update_user(actor, user, role=role, display_name=display_name, is_active=is_active,
                                   cohorts=cohorts)}
    if accommodation is not None:
        changes["accommodation"] = update_accommodation(
            actor, user, **{k: accommodation[k] for k in ACCOMMODATION_FIELDS if k in accommodation})
    return {k: v for k, v in changes.items() if v}


@transaction.atomic
def create_cohort(actor: User, *, code: str, name: str, year: int | None = None) -> Cohort:
    if Cohort.objects.filter(code__iexact=code).exists():
        raise FieldError("code", "A cohort with that code already exists.")
    try:
        with transaction.atomic():
            cohort = Cohort.objects.create(code=code, name=name, year=year)
    except IntegrityError as error:
        raise FieldError("code", "A cohort with that code already exists.") from error
    audit.record_action(actor, "cohort.created", subject=cohort, data={"code": code, "name": name, "year": year})
    return cohort


@transaction.atomic
def add_members(actor: User, cohort: Cohort, users: Iterable[User]) -> list[User]:
    """Add users to a cohort; returns those who were not members already."""
    current = set(cohort.members.values_list("pk", flat=True))
    added = sorted({u.pk: u for u in users if u.pk not in current}.values(), key=lambda u: u.username)
    if added:
        cohort.members.add(*added)
        audit.record_action(actor, "cohort.members_added", subject=cohort,
                            data={"usernames": [u.username for u in added]})
    return added


@transaction.atomic
def remove_members(actor: User, cohort: Cohort, users: Iterable[User]) -> list[User]:
    """Remove users from a cohort; returns those who were members."""
    current = set(cohort.members.values_list("pk", flat=True))
    removed = sorted({u.pk: u for u in users if u.pk in current}.values(), key=lambda u: u.username)
    if removed:
        cohort.members.remove(*removed)
        audit.record_action(actor, "cohort.members_removed", subject=cohort,
                            data={"usernames": [u.username for u in removed]})
    return removed
