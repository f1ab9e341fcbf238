"""Users with one role each, cohorts, accommodations and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from medtutor.core.prepared import PreparedSelect


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    FACULTY = "faculty", "Faculty"
    ADMIN = "admin", "Program administrator"


_USER_BY_PK: dict[type, PreparedSelect] = {}


class AccountManager(UserManager):
    """Django's user manager, but a lookup by primary key alone, which the authentication middleware
    makes for the signed-in user on every request, runs a prepared statement (core.prepared) instead of
    compiling the query anew: about a third of an exam autosave's remaining ORM time."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        # Only the plain manager: a related manager (cohort.members) is a subclass that filters.
        if args or kwargs.keys() != {"pk"} or type(self) is not AccountManager:
            return super().get(*args, **kwargs)
        by_pk = _USER_BY_PK.get(self.model)
        if by_pk is None:
            by_pk = _USER_BY_PK[self.model] = PreparedSelect(self.model, by=("id",))
        user = by_pk.first(kwargs["pk"], using=self.db)
        if user is None:
            raise self.model.DoesNotExist(f"{self.model._meta.object_name} matching query does not exist.")
        return user


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    display_name = models.CharField(max_length=150, blank=True)

    objects = AccountManager()

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT

    @property
    def is_faculty(self) -> bool:
        return self.role == Role.FACULTY

    @property
    def is_program_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_author(self) -> bool:
        """Faculty and administrators write and import content."""
        return self.role in (Role.FACULTY, Role.ADMIN)

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Cohort(models.Model):
    """A class year or a course section."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=150)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "name"]

    def __str__(self) -> str:
        return self.name


class Accommodation(models.Model):
    """Per-student exam accommodations; exams read them to set each student's deadline."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accommodation")
    extra_time_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(200)],
        help_text="Extra time on timed exams, in percent of the time limit (e.g. 25 or 50).")
    rest_breaks = models.BooleanField(default=False, help_text="May pause the exam clock for rest breaks.")
    rest_break_minutes = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(240)])
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: +{self.extra_time_percent}%"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def find(self, raw: str) -> ApiToken | None:
        return self.active().select_related("user").filter(digest=_hash_token(raw)).first()


class ApiToken(models.Model):
    """A personal token for scripts. Only its SHA-256 is stored; the token is shown once."""

    PREFIX = "mt_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)  # the first characters, to tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, digest=_hash_token(raw), hint=raw[:10])
        return token, raw


class ExternalIdentity(models.Model):
    """A user's account at a school's identity provider (OIDC issuer + subject), for single sign-on."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_external_identity")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject} -> {self.user_id}"


class SubgroupSource(models.TextChoices):
    SELF_REPORTED = "self_reported", "Self-reported"
    IMPORTED = "imported", "Imported by an administrator"
    SYNTHETIC = "synthetic", "Synthetic (generated)"


class SubgroupAttribute(models.Model):
    """One demographic attribute of a user (e.g. sex=female), for fairness audits and subgroup analytics.

    Sensitive: only aggregates (cells of 5+ students) are shown to faculty; administrators import and
    see them (accounts/subgroups.py). One value per attribute and user.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subgroup_attributes")
    attribute = models.SlugField(max_length=40)
    value = models.CharField(max_length=60)
    source = models.CharField(max_length=16, choices=SubgroupSource.choices, default=SubgroupSource.IMPORTED)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "attribute"], name="one_value_per_subgroup_attribute")]
        indexes = [models.Index(fields=["attribute", "value"], name="subgroup_attribute_value")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.attribute}={self.value}"
