"""Early-warning models, flags and the human decisions on them (see analytics/early_warning.py).

A run trains the model on earlier cohorts and scores one later cohort at a cut-off date. Each scored
student gets a flag row (flagged or not); only a person decides what happens next, and each decision
is a new row (and an audit record pointing to the flag's AI decision), never an edit of the flag.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from medtutor.core import clock

__all__ = ["EarlyWarningRun", "EarlyWarningFlag", "EarlyWarningDecision", "FlagStatus", "DecisionAction",
           "SyntheticStudentTruth"]


class EarlyWarningRun(models.Model):
    """One training of the early-warning model on earlier cohorts, applied to `cohort` at `cutoff`."""

    cohort = models.ForeignKey("accounts.Cohort", on_delete=models.CASCADE, related_name="early_warning_runs")
    trained_on = models.JSONField(default=list)  # codes of the earlier cohorts it learned from
    model_name = models.CharField(max_length=60)
    model_version = models.CharField(max_length=40)
    cutoff = models.DateTimeField()  # features use only activity before this moment
    exam = models.ForeignKey("assessment.Exam", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    threshold = models.FloatField(default=0.5)  # probability at or above which a student is flagged
    # n_train, n_test, label sources and, once outcomes are known, "test" and "baseline": auc, auc_ci,
    # precision_top_decile, calibration, brier, subgroup_gaps (analytics/early_warning.py: evaluate)
    metrics = models.JSONField(default=dict)
    notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"early warning {self.pk} for {self.cohort_id} ({self.model_name} {self.model_version})"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Waiting for a decision"
    SUPPORT_OFFERED = "support_offered", "Support offered"
    NO_ACTION = "no_action", "Reviewed, no action"
    DISMISSED = "dismissed", "Dismissed"


class EarlyWarningFlag(models.Model):
    """The model's prediction for one student in a run; `flagged` when at or above the run's threshold."""

    run = models.ForeignKey(EarlyWarningRun, on_delete=models.CASCADE, related_name="flags")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="early_warning_flags")
    probability = models.FloatField()  # predicted probability of failing the coming exam
    confidence = models.FloatField()  # 0..1, from the spread of the cross-fitted models
    reasons = models.JSONField(default=list)  # [{"feature", "label", "contribution"}], largest first
    features = models.JSONField(default=dict)  # the feature values the model saw (for the student's own page)
    flagged = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    outcome_failed = models.BooleanField(null=True, blank=True)  # filled when the exam result is known
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)  # the AI decision's audit record
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "student"], name="early_warning_one_flag_per_student")]

    def __str__(self) -> str:
        return f"flag {self.pk}: {self.student_id} p={self.probability:.2f}"


class DecisionAction(models.TextChoices):
    CONTACT = "contact", "Contact the student"
    TUTORING = "tutoring", "Offer tutoring"
    REFERRAL = "referral", "Refer to student support"
    STUDY_PLAN = "study_plan", "Agree a study plan"
    NO_ACTION = "no_action", "Reviewed, no action needed"
    DISMISS = "dismiss", "Dismiss the flag (prediction looks wrong)"


class EarlyWarningDecision(models.Model):
    """What a person decided about a flag; the latest decision sets the flag's status."""

    flag = models.ForeignKey(EarlyWarningFlag, on_delete=models.CASCADE, related_name="decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(default=clock.now)
    action = models.CharField(max_length=20, choices=DecisionAction.choices)
    support_offered = models.TextField(blank=True, default="")
    note = models.TextField(blank=True, default="")
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)  # the human decision's audit record

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on flag {self.flag_id}"


class SyntheticStudentTruth(models.Model):
    """The generator's ground truth for one synthetic student (analytics/engine/synthetic.py), kept so a
    later early-warning run can label synthetic cohorts and be checked against what generated the data.
    Never exists for a real student."""

    student = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="synthetic_truth")
    cohort = models.ForeignKey("accounts.Cohort", on_delete=models.CASCADE, related_name="synthetic_truths")
    generator = models.CharField(max_length=40)
    general_ability = models.FloatField()
    expected_exam_score = models.FloatField()  # 0..1: expected share correct on the bank at the end of the course
    dropout_week = models.PositiveSmallIntegerField(null=True, blank=True)
    truth = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"truth of {self.student_id}: g={self.general_ability:.2f}"
