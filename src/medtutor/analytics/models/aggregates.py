"""Pre-aggregated answer statistics for the cohort dashboard and curriculum analytics.

Filled incrementally from learning.ItemResponse by analytics/aggregates.py: a watermark (the last
answer id folded in, plus the ids skipped that may still commit) makes each refresh fold in only new
answers. Students excluded from analytics (opted out, or deleted) have no rows here: the refresh
deletes theirs and folds none of their answers in, and deletion removes them too (privacy.POLICY).

Competency and discipline are those of the item when the answer was folded in; re-filing items
under another competency is picked up by the scheduled job's rebuild (see aggregates.signature).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["AggregateState", "LearnerCompetencyTotal", "LearnerWeekTotal", "LearnerItemMonth", "ItemMonthStats",
           "CompetencyMonthStats"]


class AggregateState(models.Model):
    """The refresh's bookkeeping (one row, name "answers")."""

    name = models.CharField(max_length=40, primary_key=True)
    last_response_id = models.BigIntegerField(default=0)
    # Ids below the watermark not seen yet (a transaction that had not committed): [[id, first seen iso]].
    pending_gaps = models.JSONField(default=list, blank=True)
    excluded_user_ids = models.JSONField(default=list, blank=True)
    dirty_months = models.JSONField(default=list, blank=True)  # "YYYY-MM-01" whose item statistics are stale
    signature = models.CharField(max_length=64, blank=True)  # of the item -> competency/discipline filing
    refreshed_at = models.DateTimeField(null=True, blank=True)
    item_stats_at = models.DateTimeField(null=True, blank=True)
    answers_folded = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} up to answer {self.last_response_id}"


class LearnerCompetencyTotal(models.Model):
    """All-time answers of one student on one competency (the item's) and discipline."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    competency = models.ForeignKey("content.Competency", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    discipline = models.ForeignKey("content.Discipline", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    answers = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["learner", "competency"], name="agg_competency_learner")]

    def __str__(self) -> str:
        return f"{self.learner_id} on {self.competency_id}/{self.discipline_id}: {self.correct}/{self.answers}"


class LearnerWeekTotal(models.Model):
    """One student's answers in one week (Monday, UTC): over every answer (`whole`), or in one organ
    system (`root`; None for items without a competency). `day_mask` has bit d set when the student
    answered on weekday d (Monday = 0), so active days fold in exactly."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    whole = models.BooleanField(default=False)
    root = models.ForeignKey("content.Competency", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    answers = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)
    day_mask = models.PositiveSmallIntegerField(default=0)
    active_days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["learner", "week"], name="agg_week_learner"),
                   models.Index(fields=["whole", "week"], name="agg_week_whole")]

    def __str__(self) -> str:
        return f"{self.learner_id} week {self.week}: {self.correct}/{self.answers}"


class LearnerItemMonth(models.Model):
    """One student's answers to one item version in one month: the input of the item statistics."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    item_version = models.ForeignKey("content.ItemVersion", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    answers = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "item_version"], name="agg_item_month"),
                   models.Index(fields=["learner", "month"], name="agg_item_month_learner")]

    def __str__(self) -> str:
        return f"{self.learner_id} on {self.item_version_id} in {self.month}: {self.correct}/{self.answers}"


class ItemMonthStats(models.Model):
    """Difficulty and discrimination of one item version in one month (no personal data)."""

    item_version = models.ForeignKey("content.ItemVersion", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    students = models.PositiveIntegerField()
    answers = models.PositiveIntegerField()
    correct = models.PositiveIntegerField()
    facility = models.FloatField(null=True, blank=True)
    point_biserial = models.FloatField(null=True, blank=True)
    upper_lower = models.FloatField(null=True, blank=True)
    discriminating_students = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "item_version"], name="agg_item_stats_month")]


class CompetencyMonthStats(models.Model):
    """The items of a competency's subtree pooled for one month (no personal data)."""

    competency = models.ForeignKey("content.Competency", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    students = models.PositiveIntegerField()
    answers = models.PositiveIntegerField()
    correct = models.PositiveIntegerField()
    items = models.PositiveIntegerField()
    facility = models.FloatField(null=True, blank=True)
    mean_point_biserial = models.FloatField(null=True, blank=True)
    mean_upper_lower = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["month", "competency"], name="agg_competency_month")]
