"""Exams (a blueprint or a hand-picked list), per-student overrides, attempts and their answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medtutor.content.models import Difficulty


class ExamMode(models.TextChoices):
    TIMED = "timed", "Timed (feedback after submission)"
    TUTOR = "tutor", "Tutor (feedback after each item)"


class ExamBuild(models.TextChoices):
    BLUEPRINT = "blueprint", "From a blueprint (each attempt draws its own form)"
    MANUAL = "manual", "Hand-picked items"


class Exam(models.Model):
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    mode = models.CharField(max_length=10, choices=ExamMode.choices, default=ExamMode.TIMED)
    build = models.CharField(max_length=10, choices=ExamBuild.choices, default=ExamBuild.MANUAL)
    time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    shuffle_items = models.BooleanField(default=True)
    shuffle_options = models.BooleanField(default=True)
    # No cohorts: open to every student.
    cohorts = models.ManyToManyField("accounts.Cohort", blank=True, related_name="exams")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_tutor(self) -> bool:
        return self.mode == ExamMode.TUTOR

    def item_count(self) -> int:
        if self.build == ExamBuild.BLUEPRINT:
            return sum(r.count for r in self.blueprint_rows.all())
        return self.exam_items.count()


class ExamItem(models.Model):
    """A hand-picked item, in the order faculty set."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="exam_items")
    item = models.ForeignKey("content.Item", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["exam", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["exam", "item"], name="exam_item_unique")]


class BlueprintRow(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="blueprint_rows")
    competency = models.ForeignKey("content.Competency", on_delete=models.PROTECT, related_name="+")
    difficulty = models.CharField(max_length=10, choices=Difficulty.choices, blank=True)  # blank: any
    count = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["exam", "id"]


class ExamOverride(models.Model):
    """One student's exceptions: more attempts, or a different deadline (replacing the close time)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="overrides")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_overrides")
    extra_attempts = models.PositiveSmallIntegerField(default=0)
    closes_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["exam", "student__username"]
        constraints = [models.UniqueConstraint(fields=["exam", "student"], name="exam_override_unique")]


class SubmitReason(models.TextChoices):
    MANUAL = "manual", "Submitted by the student"
    DEADLINE = "deadline", "Submitted automatically at the deadline"


class AttemptQuerySet(models.QuerySet["Attempt"]):
    def open(self) -> AttemptQuerySet:
        return self.filter(submitted_at__isnull=True)

    def submitted(self) -> AttemptQuerySet:
        return self.filter(submitted_at__isnull=False)


class Attempt(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_attempts")
    number = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=10, choices=ExamMode.choices)  # copied at start: later edits do not change it
    seed = models.BigIntegerField()  # drew the form and the option orders
    started_at = models.DateTimeField()
    deadline_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submit_reason = models.CharField(max_length=10, choices=SubmitReason.choices, blank=True)
    last_position = models.PositiveIntegerField(default=1)  # where to resume
    score_correct = models.PositiveIntegerField(null=True, blank=True)
    score_total = models.PositiveIntegerField(null=True, blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "student", "number"], name="attempt_number_unique"),
            # Two tabs pressing Start at once get the same attempt, not two.
            models.UniqueConstraint(fields=["exam", "student"], condition=Q(submitted_at__isnull=True),
                                    name="attempt_one_open"),
        ]
        indexes = [models.Index(fields=["exam", "submitted_at"]), models.Index(fields=["deadline_at"])]

    def __str__(self) -> str:
        return f"{self.exam_id} · {self.student_id} #{self.number}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def is_tutor(self) -> bool:
        return self.mode == ExamMode.TUTOR

    @property
    def percent(self) -> float | None:
        if self.score_total:
            return 100.0 * (self.score_correct or 0) / self.score_total
        return None


class AttemptItem(models.Model):
    """One item of an attempt's form, pinned to the version shown, and the student's state on it.

    `chosen_index` and `struck` hold authored option indices; `option_order[d]` is the authored index
    shown at position d. `last_seq` is the highest client sequence number applied: an autosave with a
    lower or equal number is a replay or arrived late, and changes nothing.
    """

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()  # 1-based
    item_version = models.ForeignKey("content.ItemVersion", on_delete=models.PROTECT, related_name="+")
    option_order = models.JSONField(default=list)
    chosen_index = models.PositiveSmallIntegerField(null=True, blank=True)
    is_flagged = models.BooleanField(default=False)
    note = models.TextField(blank=True, default="")
    struck = models.JSONField(default=list)
    last_seq = models.BigIntegerField(default=0)
    answered_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)  # tutor mode: key shown, answer locked
    time_spent_ms = models.PositiveBigIntegerField(default=0)
    is_correct = models.BooleanField(null=True, blank=True)  # set at reveal (tutor) or submission

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [models.UniqueConstraint(fields=["attempt", "position"], name="attempt_item_position_unique")]

    def __str__(self) -> str:
        return f"{self.attempt_id} · {self.position}"

    @property
    def is_answered(self) -> bool:
        return self.chosen_index is not None

    @property
    def is_revealed(self) -> bool:
        return self.revealed_at is not None

    @property
    def chosen_displayed(self) -> int | None:
        from medtutor.assessment.engine.shuffle import displayed_index

        return displayed_index(self.option_order, self.chosen_index)

    @property
    def struck_displayed(self) -> list[int]:
        from medtutor.assessment.engine.shuffle import displayed_index

        shown = (displayed_index(self.option_order, i) for i in self.struck or [])
        return sorted(d for d in shown if d is not None)
