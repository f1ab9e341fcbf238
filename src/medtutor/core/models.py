"""The audit log: append-only, hash-chained records of who did what, and of every AI decision."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AuditKind(models.TextChoices):
    ACTION = "action", "Action"
    DECISION = "decision", "AI decision"
    OVERRIDE = "override", "Human override"


class AppendOnlyQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("the audit log is append-only: records cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("the audit log is append-only: records cannot be deleted")


class AuditRecord(models.Model):
    # seq, not the primary key, orders the chain: it is assigned under a lock and unique, so two
    # writers can never fork the chain, whatever the database's sequence does.
    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=AuditKind.choices)
    action = models.CharField(max_length=80)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)  # survives the user's deletion
    subject_type = models.CharField(max_length=80, blank=True)
    subject_id = models.CharField(max_length=80, blank=True)
    model_name = models.CharField(max_length=120, blank=True)
    model_version = models.CharField(max_length=60, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True)
    output = models.JSONField(default=dict, blank=True)
    explanation = models.TextField(blank=True)
    confidence = models.FloatField(null=True, blank=True)
    overrides = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="overridden_by")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id"]), models.Index(fields=["action"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("the audit log is append-only: records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("the audit log is append-only: records cannot be deleted")


class JobRun(models.Model):
    """One period of one scheduled job, claimed by one instance (core.jobs): the unique constraint is the lock."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=60)
    slot = models.DateTimeField()
    instance = models.CharField(max_length=120)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="job_run_once_per_slot")]
        indexes = [models.Index(fields=["job", "-slot"])]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M} by {self.instance}: {self.outcome}"
