"""Differential-diagnosis trainer sessions: a learner interviews a DDXPlus patient, then commits."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["TrainerSession"]


class TrainerSession(models.Model):
    """One learner's interview of one DDXPlus patient, resumable until the differential is committed.

    `steps` holds the questions in the order asked, each with the answer revealed from the patient's
    record and what the model made of it (posterior, likelihood ratio, information gain).
    """

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        COMMITTED = "committed", "Differential committed"

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ddx_sessions")
    patient_file = models.CharField(max_length=200)  # file name in the DDXPlus patients folder
    patient_index = models.PositiveIntegerField()  # row index in that file (DDXPlus has no id column)
    age = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    initial_evidence = models.CharField(max_length=20)
    pathology = models.CharField(max_length=100)  # the truth: shown only after the commit
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=40)
    model_digest = models.CharField(max_length=64)  # data digest of the fitted model the session used
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    steps = models.JSONField(default=list)
    initial_posterior = models.JSONField(default=list)  # [[pathology, probability], ...] top 10 at the start
    committed_differential = models.JSONField(default=list)  # ranked pathology names
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["learner", "-created_at"])]

    def __str__(self) -> str:
        return f"DDx session {self.pk} of {self.learner_id}"

    @property
    def asked_codes(self) -> list[str]:
        return [step["code"] for step in self.steps]
