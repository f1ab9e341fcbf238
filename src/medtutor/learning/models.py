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


# --- flashcards: memory state per student and card, the review log, deck settings -----------------

class CardStateQuerySet(models.QuerySet["CardState"]):
    def for_learner(self, learner_id: int) -> CardStateQuerySet:
        return self.filter(learner_id=learner_id, is_suspended=False)

    def reviewed(self) -> CardStateQuerySet:
        return self.filter(last_review_at__isnull=False)

    def due_for(self, learner_id: int, now) -> CardStateQuerySet:
        return self.for_learner(learner_id).reviewed().filter(due_at__lte=now).order_by("due_at")


class CardState(models.Model):
    """One student's FSRS memory of one card. `version` goes up on every change (two tabs, one review)."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_states")
    card = models.ForeignKey("content.Card", on_delete=models.CASCADE, related_name="learner_states")
    phase = models.PositiveSmallIntegerField(default=1)  # engine.memory.Phase
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability_days = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due_at = models.DateTimeField()
    last_review_at = models.DateTimeField(null=True, blank=True)
    reps = models.PositiveIntegerField(default=0)
    is_suspended = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CardStateQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["learner", "card"], name="card_state_unique")]
        indexes = [models.Index(fields=["learner", "due_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} · card {self.card_id} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_new(self) -> bool:
        return self.last_review_at is None

    def to_engine(self):
        from medtutor.core.ids import CardId
        from medtutor.learning.engine.memory import MemoryState, Phase

        return MemoryState(CardId(self.card_id), Phase(self.phase), self.step, self.stability_days, self.difficulty,
                           self.due_at, self.last_review_at)

    def apply(self, state) -> None:
        self.phase = int(state.phase)
        self.step = state.step
        self.stability_days = state.stability_days
        self.difficulty = state.difficulty
        self.due_at = state.due_at
        self.last_review_at = state.last_review_at


class CardReview(models.Model):
    """Append-only log of reviews. Undo marks a review undone (and restores `previous`); nothing is deleted."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_reviews")
    card = models.ForeignKey("content.Card", on_delete=models.CASCADE, related_name="learner_reviews")
    grade = models.PositiveSmallIntegerField()  # engine.memory.Grade
    reviewed_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    # Client-made id of this review: a retried post returns the stored review instead of a second one.
    client_seq = models.CharField(max_length=64)
    was_new = models.BooleanField(default=False)
    previous = models.JSONField()  # MemoryState.to_dict() before the review, for undo
    result = models.JSONField()    # MemoryState.to_dict() after it
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["learner", "client_seq"], name="card_review_idempotent")]
        indexes = [models.Index(fields=["learner", "reviewed_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} · card {self.card_id}: {self.grade}"


class PersonalCard(models.Model):
    """A card a student made for themselves (from a question they got wrong): shown to them only."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_cards")
    card = models.OneToOneField("content.Card", on_delete=models.CASCADE, related_name="personal_owner")
    source_item = models.ForeignKey("content.Item", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["learner", "source_item"], name="personal_card_per_item")]

    def __str__(self) -> str:
        return f"{self.learner_id} · {self.card_id}"


class DeckSettings(models.Model):
    """Per-student review limits; the catch-up plan is made from them."""

    learner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                   related_name="deck_settings")
    daily_cap = models.PositiveIntegerField(default=100)
    new_per_day = models.PositiveIntegerField(default=20)
    plan_decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    # Personal FSRS weights, fitted on this student's reviews and adopted only when they predicted the
    # student's later reviews better than the defaults (learning.engine.memory_fit); null = defaults.
    memory_weights = models.JSONField(null=True, blank=True)
    memory_fit_at = models.DateTimeField(null=True, blank=True)
    memory_fit_summary = models.JSONField(null=True, blank=True)
    memory_fit_decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.learner_id}: {self.daily_cap}/day"


# --- study plan to an exam date ---------------------------------------------------------------------

class Blueprint(models.TextChoices):
    OUTLINE = "outline", "The outline's weights"
    CUSTOM = "custom", "My own weights per organ system"


class StudyPlan(models.Model):
    """A student's exam date, daily minutes and blueprint; the plan itself is recomputed on each view.

    `snapshot` is what the plan expected per day when it was saved ([[iso day, questions, reviews], ...]):
    progress since `saved_at` is compared with it to say "behind" or "ahead".
    """

    learner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                   related_name="study_plan")
    exam_date = models.DateField()
    minutes_per_day = models.PositiveIntegerField()
    blueprint = models.CharField(max_length=16, choices=Blueprint.choices, default=Blueprint.OUTLINE)
    custom_weights = models.JSONField(default=dict, blank=True)  # root competency code -> weight
    snapshot = models.JSONField(default=list, blank=True)
    saved_at = models.DateTimeField()
    decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    def __str__(self) -> str:
        return f"{self.learner_id}: exam {self.exam_date}, {self.minutes_per_day} min/day"
