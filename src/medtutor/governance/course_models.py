"""The faculty course on AI in medical education: lesson completion and the course quiz's attempts.

Lessons are Markdown files (demo/ai-course/); the quiz is an assessment Exam over the course's items.
Imported by governance/models.py so Django finds these models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["CourseQuiz", "LessonCompletion", "QuizAttempt"]


class LessonCompletion(models.Model):
    """A user marked a lesson of a course as done (one row per user and lesson)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_completions")
    course = models.SlugField(max_length=60)
    lesson = models.SlugField(max_length=80)
    completed_at = models.DateTimeField()

    class Meta:
        ordering = ["course", "lesson"]
        constraints = [models.UniqueConstraint(fields=["user", "course", "lesson"], name="lesson_completed_once")]

    def __str__(self) -> str:
        return f"{self.user_id} finished {self.course}/{self.lesson}"


class CourseQuiz(models.Model):
    """Which exam is a course's quiz (found by course, so renaming the exam does not lose it)."""

    course = models.SlugField(max_length=60, unique=True)
    exam = models.OneToOneField("assessment.Exam", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.course}: exam {self.exam_id}"


class QuizAttempt(models.Model):
    """A staff member's attempt at a course quiz, in tutor mode (feedback after each question).

    Exam attempts in the assessment app are for students only (they feed item statistics, grades and
    early warning); staff training attempts are kept apart here. `items` freezes the form at start:
    [[item_id, item_version_id, option_order], ...]; `answers` maps a position ("1"...) to the chosen
    option's authored index.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    exam = models.ForeignKey("assessment.Exam", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField()
    items = models.JSONField(default=list)
    answers = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    score_correct = models.PositiveIntegerField(null=True, blank=True)
    score_total = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "exam", "number"], name="quiz_attempt_number_unique"),
            models.UniqueConstraint(fields=["user", "exam"], condition=Q(submitted_at__isnull=True),
                                    name="quiz_attempt_one_open"),
        ]

    def __str__(self) -> str:
        return f"quiz attempt {self.pk} by {self.user_id} on exam {self.exam_id}"

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int | None:
        if self.score_total:
            return round(100 * (self.score_correct or 0) / self.score_total)
        return None
