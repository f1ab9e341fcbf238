"""Privacy state: each user's analytics choice and the deletion requests an administrator decides.

See governance/privacy.py for the export, the deletion and the retention purge.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PrivacySettings(models.Model):
    """A user's privacy choices. `analytics_opt_out`: leave me out of analytics not needed for grading
    (cohort dashboards, curriculum analytics, early-warning training); grading and item analysis still count."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="privacy_settings")
    analytics_opt_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id}: analytics {'off' if self.analytics_opt_out else 'on'}"


class DeletionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an administrator"
    CONFIRMED = "confirmed", "Confirmed: personal data deleted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn by the user"


class DeletionRequest(models.Model):
    """A user's request to delete their personal data; an administrator confirms or declines it.

    The row outlives the deletion (it points at the anonymised account) so the decision stays on record;
    the requester's free-text reason is cleared when the request is confirmed.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deletion_requests")
    status = models.CharField(max_length=12, choices=DeletionStatus.choices, default=DeletionStatus.PENDING)
    requested_at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    summary = models.JSONField(default=dict, blank=True)  # rows deleted / anonymised per table

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user"], condition=Q(status="pending"),
                                               name="deletion_request_one_pending")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


# Contests, chain checks and the faculty AI course live in their own modules; imported so Django finds them.
from medtutor.governance.course_models import CourseQuiz, LessonCompletion, QuizAttempt  # noqa: E402,F401
from medtutor.governance.oversight_models import ChainCheck, Contest, ContestStatus  # noqa: E402,F401
