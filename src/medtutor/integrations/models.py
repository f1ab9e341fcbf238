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
