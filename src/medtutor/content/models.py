"""The competency outline, the item bank (versioned) and flashcards."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Discipline(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompetencyKind(models.TextChoices):
    SYSTEM = "system", "Organ system"
    TOPIC = "topic", "Topic"


def staff_only_competency_ids() -> list[int]:
    """Ids of the staff-only competencies and of every node below one (a child's code starts with its
    parent's code and a dot, so a topic added later under a staff-only root is hidden too).
    One small query when nothing is staff-only, two otherwise."""
    codes = list(Competency.objects.filter(staff_only=True).values_list("code", flat=True))
    if not codes:
        return []
    under = models.Q()
    for code in codes:
        under |= models.Q(code=code) | models.Q(code__startswith=code + ".")
    return list(Competency.objects.filter(under).values_list("pk", flat=True))


class CompetencyQuerySet(models.QuerySet["Competency"]):
    def for_students(self, hidden: list[int] | None = None) -> CompetencyQuerySet:
        """Without staff-only competencies and their descendants: what a student may see or be given.
        `hidden`: staff_only_competency_ids() when the caller has it already (one query less)."""
        hidden = staff_only_competency_ids() if hidden is None else hidden
        return self.exclude(pk__in=hidden) if hidden else self


class Competency(models.Model):
    """A node of the competency outline: an organ system at the root, topics below it."""

    code = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    kind = models.CharField(max_length=16, choices=CompetencyKind.choices, default=CompetencyKind.TOPIC)
    weight = models.FloatField(default=1.0)
    staff_only = models.BooleanField(
        default=False,
        help_text="For faculty and administrators only (e.g. faculty training): students never see this "
                  "competency, anything below it, or its items and cards.")

    objects = CompetencyQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "competencies"

    def __str__(self) -> str:
        return self.name

    def subtree_codes_filter(self) -> models.Q:
        """Q matching this node and its descendants (codes share the parent's prefix)."""
        return models.Q(code=self.code) | models.Q(code__startswith=self.code + ".")


class LearningObjective(models.Model):
    code = models.CharField(max_length=100, unique=True)
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="objectives")
    text = models.TextField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.text


class Tag(models.Model):
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Difficulty(models.TextChoices):
    EASY = "easy", "Easy"
    MEDIUM = "medium", "Medium"
    HARD = "hard", "Hard"


class ItemKind(models.TextChoices):
    SINGLE = "single", "Single best answer"
    SHORT = "short", "Short answer"


class ItemQuerySet(models.QuerySet["Item"]):
    def active(self) -> ItemQuerySet:
        return self.filter(retired_at__isnull=True, current_version__isnull=False)

    def for_students(self, hidden: list[int] | None = None) -> ItemQuerySet:
        """Without the items of staff-only competencies (and of their descendants); `hidden` as for
        competencies."""
        hidden = staff_only_competency_ids() if hidden is None else hidden
        return self.exclude(competency_id__in=hidden) if hidden else self

    def in_competency(self, competency: Competency) -> ItemQuerySet:
        return self.filter(
            models.Q(competency__code=competency.code) | models.Q(competency__code__startswith=competency.code + ".")
        )

    def search(self, query: str) -> ItemQuerySet:
        """Every word of the query must appear in the stem, lead-in, options, explanations or tags."""
        from medtutor.content.search import normalize, query_terms

        qs = self
        for term in query_terms(query):
            qs = qs.filter(search_text__contains=normalize(term))
        return qs


class Item(models.Model):
    """A question's identity. Its words live in versions; metadata (where it sits) lives here."""

    external_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.SINGLE)
    competency = models.ForeignKey(Competency, null=True, blank=True, on_delete=models.PROTECT, related_name="items")
    discipline = models.ForeignKey(Discipline, null=True, blank=True, on_delete=models.PROTECT, related_name="items")
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")
    difficulty = models.CharField(max_length=10, choices=Difficulty.choices, blank=True)
    source = models.CharField(max_length=200, blank=True)
    licence = models.CharField(max_length=100, blank=True)
    current_version = models.ForeignKey("ItemVersion", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    # Lower-cased text of the current version, options, explanations and tags, for search.
    search_text = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["external_id"]
        indexes = [
            models.Index(fields=["source"]),
            models.Index(fields=["difficulty"]),
            # Covers the practice selector's candidate query, so it never reads the item rows.
            models.Index(fields=["competency", "kind", "retired_at", "current_version", "difficulty"],
                         name="item_selector_cover"),
        ]

    def __str__(self) -> str:
        return self.external_id


class ItemVersion(models.Model):
    """The words of one version of an item. Never changed once answered; edits add a version."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    stem = models.TextField()
    lead_in = models.TextField(blank=True)
    # [{"text": ..., "explanation": ...}, ...] in authored order.
    options = models.JSONField(default=list)
    key_index = models.PositiveSmallIntegerField(null=True, blank=True)
    # Short-answer items: [{"text": ..., "score": 0..1, "feedback": ...}].
    answers = models.JSONField(default=list, blank=True)
    # Short-answer grading: expected points [{"text", "weight", "alternatives": [...]}] and the item's scale.
    rubric = models.JSONField(default=list, blank=True)
    max_points = models.FloatField(default=1.0)
    explanation = models.TextField(blank=True)
    objective = models.ForeignKey(LearningObjective, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="item_versions")
    image = models.ImageField(upload_to="items/", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    change_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["item", "number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="item_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.item.external_id} v{self.number}"

    @property
    def option_texts(self) -> list[str]:
        return [option["text"] for option in self.options]

    def content(self) -> dict[str, Any]:
        """The fields whose change makes a new version."""
        return {"stem": self.stem, "lead_in": self.lead_in, "options": self.options, "key_index": self.key_index,
                "answers": self.answers, "explanation": self.explanation, "objective_id": self.objective_id}


class CardKind(models.TextChoices):
    BASIC = "basic", "Basic"
    CLOZE = "cloze", "Cloze"


class CardQuerySet(models.QuerySet["Card"]):
    def shared(self) -> CardQuerySet:
        """Cards of the bank, without the personal cards students made for themselves
        (learning.PersonalCard owns those; they never appear in counts or exports)."""
        return self.filter(personal_owner__isnull=True)

    def for_students(self) -> CardQuerySet:
        """Without the cards of staff-only competencies (and of their descendants)."""
        hidden = staff_only_competency_ids()
        return self.exclude(competency_id__in=hidden) if hidden else self


class Card(models.Model):
    external_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=CardKind.choices, default=CardKind.BASIC)
    front = models.TextField()
    back = models.TextField(blank=True)
    competency = models.ForeignKey(Competency, null=True, blank=True, on_delete=models.PROTECT, related_name="cards")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="cards")
    tags = models.ManyToManyField(Tag, blank=True, related_name="cards")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.external_id
