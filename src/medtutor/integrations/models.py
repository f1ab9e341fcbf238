"""What integrations keep: images of imported Anki cards."""

from django.db import models


class CardImage(models.Model):
    """An image an imported card shows; the file lives under MEDIA_ROOT/anki/, named by its SHA-256."""

    card = models.ForeignKey("content.Card", on_delete=models.CASCADE, related_name="images")
    path = models.CharField(max_length=200)          # relative to MEDIA_ROOT
    name = models.CharField(max_length=200)          # the file name in the deck
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["card", "position"]
        constraints = [models.UniqueConstraint(fields=["card", "path"], name="card_image_once")]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.name}"


class XapiStatement(models.Model):
    """An xAPI statement waiting for (or delivered to) the Learning Record Store: the outbox."""

    statement_id = models.UUIDField(unique=True)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)   # a sender is posting it
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.statement_id} ({'sent' if self.sent_at else 'pending'})"
