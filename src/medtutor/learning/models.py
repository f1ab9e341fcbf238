"""A student's answers. Each points to the exact item version that was shown."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ItemResponse(models.Model):
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="item_responses")
    item_version = models.ForeignKey("content.ItemVersion", on_delete=models.PROTECT, related_name="responses")
    chosen_index = models.PositiveSmallIntegerField()
    is_correct = models.BooleanField()
    # Client-made id of this answer: a retried submission (double click, dropped connection) returns
    # the stored answer instead of recording a second one.
    client_token = models.CharField(max_length=64)
    answered_at = models.DateTimeField()
    seconds_taken = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-answered_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "client_token"], name="item_response_idempotent"),
        ]
        indexes = [models.Index(fields=["learner", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} → {self.item_version_id}: {self.chosen_index}"
