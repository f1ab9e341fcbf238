"""Human oversight of AI decisions: students' contests of a decision, and the audit chain's checks.

Imported by governance/models.py so Django finds these models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["ChainCheck", "Contest", "ContestStatus"]


class ContestStatus(models.TextChoices):
    OPEN = "open", "Open: waiting for a faculty review"
    UPHELD = "upheld", "Upheld: the reviewer checked the decision and it stands"
    CHANGED = "changed", "Changed: the reviewer overrode the decision"
    REJECTED = "rejected", "Rejected: not a decision that can be reviewed this way"


class Contest(models.Model):
    """A student's request that a person review an AI decision about them: a review task for faculty.

    `decision` is the AuditRecord (kind decision) contested; PROTECT because the audit log is never
    deleted anyway and a contest without its decision would mean nothing. `outcome_record` is the audit
    record of the review (an override when the decision was changed, an action otherwise).
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contests")
    decision = models.ForeignKey("core.AuditRecord", on_delete=models.PROTECT, related_name="contests")
    reason = models.TextField()
    status = models.CharField(max_length=12, choices=ContestStatus.choices, default=ContestStatus.OPEN)
    assigned_role = models.CharField(max_length=16, default="faculty")
    created_at = models.DateTimeField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True, default="")
    outcome_record = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["decision"], condition=Q(status="open"),
                                               name="contest_one_open_per_decision")]
        indexes = [models.Index(fields=["status", "created_at"], name="contest_status_created")]

    def __str__(self) -> str:
        return f"contest {self.pk} of decision {self.decision_id}: {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status == ContestStatus.OPEN

    @property
    def status_word(self) -> str:
        """"Open", "Upheld", "Changed" or "Rejected": the label before its explanation."""
        return self.get_status_display().split(":")[0]


class ChainCheck(models.Model):
    """One verification of the audit chain (from the audit log page), so the page can show the last result."""

    checked_at = models.DateTimeField()
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    first_broken_seq = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    last_hash = models.CharField(max_length=64, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"chain check {self.checked_at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'broken'}"
