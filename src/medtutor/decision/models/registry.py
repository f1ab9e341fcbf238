"""Model registry: versioned trained models with data digest, parameters, metrics and model card.

Also the risk lab's exercise answers (a student's estimate, threshold choice or leakage guess), which
point at the registered model they were made against.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["RegisteredModel", "RiskExerciseAnswer"]


class RegisteredModel(models.Model):
    """One trained version of a named model. Rows are written once; only `enabled` ever changes."""

    name = models.CharField(max_length=100)  # e.g. "risk-pima_diabetes-gbm", "imaging-pneumonia-logreg"
    kind = models.CharField(max_length=40)  # "risk", "imaging", ... (which lab serves it)
    version = models.CharField(max_length=40)
    data_digest = models.CharField(max_length=64)  # SHA-256 of the training data as read
    params = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)  # overall + by subgroup, calibration, ...
    card = models.TextField()  # model card, Markdown
    artifact = models.BinaryField()
    artifact_digest = models.CharField(max_length=64)  # SHA-256 of `artifact`, checked on every load
    artifact_size = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="registered_model_version_unique")]
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class RiskExerciseAnswer(models.Model):
    """A student's answer to a risk-lab exercise, kept with its score (nothing a student submits is lost)."""

    class Kind(models.TextChoices):
        ESTIMATE = "estimate", "Estimate a patient's risk"
        LEAKAGE = "leakage", "Find the leaking variable"
        TRANSPORT = "transport", "Move a model to another hospital"
        THRESHOLD = "threshold", "Choose and defend a threshold"

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_answers")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model = models.ForeignKey(RegisteredModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dataset = models.CharField(max_length=60)
    answer = models.JSONField(default=dict)
    feedback = models.JSONField(default=dict)
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["learner", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.kind} {self.dataset}"
