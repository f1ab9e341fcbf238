"""Exams (a blueprint or a hand-picked list), per-student overrides, attempts and their answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medtutor.content.models import Difficulty


class ExamMode(models.TextChoices):
    TIMED = "timed", "Timed (feedback after submission)"
    TUTOR = "tutor", "Tutor (feedback after each item)"
    ADAPTIVE = "adaptive", "Adaptive (CAT: one item at a time, no going back)"


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
        if self.mode == ExamMode.ADAPTIVE:  # at most this many, drawn from the calibrated pool
            adaptive = AdaptiveSettings.objects.filter(exam=self).first() if self.pk else None
            return adaptive.max_items if adaptive is not None else AdaptiveSettings._meta.get_field("max_items").default
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
    # The end of the open rest-break pause (breaks.py keeps it in step with AttemptBreak), so an autosave
    # knows without a query whether the clock is stopped.
    paused_until = models.DateTimeField(null=True, blank=True)
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
        # A short-answer item has no options: it is answered once its text is saved (answered_at set).
        return self.chosen_index is not None or (not self.option_order and self.answered_at is not None)

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


class AttemptBreak(models.Model):
    """One rest-break pause of a timed attempt (an accommodation). See assessment/breaks.py.

    `deadline_before` is the attempt's deadline when the pause began; `granted_seconds` the most
    this pause may stop the clock (break time left, capped by the close time). While it is open
    the attempt's deadline is `deadline_before + granted_seconds`; when it ends, `deadline_before +
    used_seconds`.
    """

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="breaks")
    started_at = models.DateTimeField()
    deadline_before = models.DateTimeField()
    granted_seconds = models.PositiveIntegerField()
    ended_at = models.DateTimeField(null=True, blank=True)
    used_seconds = models.PositiveIntegerField(default=0)
    ended_by = models.CharField(max_length=10, blank=True)  # "student", "allowance" (ran out) or "submit"

    class Meta:
        ordering = ["attempt", "started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["attempt"], condition=Q(ended_at__isnull=True),
                                               name="attempt_break_one_open")]

    def __str__(self) -> str:
        return f"{self.attempt_id} · break from {self.started_at:%H:%M:%S}"


# === Computerized adaptive testing and standard setting ===========================================
# Engines: engine/irt.py, engine/cat.py, engine/standards.py; services: cat_services.py; migration 0002_cat.


class CalibrationRun(models.Model):
    """One IRT calibration of a set of items from the response data available at the time."""

    model = models.CharField(max_length=4)  # "1pl", "2pl" or "3pl"
    model_version = models.CharField(max_length=40)
    n_persons = models.PositiveIntegerField()
    n_responses = models.PositiveIntegerField()
    n_items = models.PositiveIntegerField()
    log_likelihood = models.FloatField()
    iterations = models.PositiveIntegerField()
    converged = models.BooleanField()
    notes = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model.upper()} calibration {self.pk} ({self.n_items} items)"


class ItemCalibration(models.Model):
    run = models.ForeignKey(CalibrationRun, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey("content.Item", on_delete=models.CASCADE, related_name="calibrations")
    a = models.FloatField()
    b = models.FloatField()
    c = models.FloatField(default=0.0)
    se_a = models.FloatField()
    se_b = models.FloatField()
    se_c = models.FloatField(null=True, blank=True)
    n_responses = models.PositiveIntegerField()
    p_correct = models.FloatField()

    class Meta:
        ordering = ["run", "item"]
        constraints = [models.UniqueConstraint(fields=["run", "item"], name="item_calibration_unique")]


class ExposureControl(models.TextChoices):
    RANDOMESQUE = "randomesque", "Randomesque (random among the most informative items)"
    NONE = "none", "None (always the most informative item)"


class AdaptiveSettings(models.Model):
    """How an adaptive exam runs. Pool: the exam's hand-picked items, or every calibrated item of a competency."""

    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="adaptive")
    competency = models.ForeignKey("content.Competency", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    se_target = models.FloatField(default=0.3)
    min_items = models.PositiveSmallIntegerField(default=5)
    max_items = models.PositiveSmallIntegerField(default=30)
    content_balancing = models.BooleanField(default=True)
    exposure = models.CharField(max_length=12, choices=ExposureControl.choices, default=ExposureControl.RANDOMESQUE)
    randomesque_k = models.PositiveSmallIntegerField(default=5)


class AdaptiveAttempt(models.Model):
    """The ability estimate of an adaptive attempt, updated after each committed answer."""

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="adaptive")
    calibration_run = models.ForeignKey(CalibrationRun, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    # The calibrated pool frozen at start, so a recalibration mid-attempt changes nothing:
    # {item_id: [a, b, c, content area]}
    bank = models.JSONField(default=dict)
    theta = models.FloatField(default=0.0)
    se = models.FloatField(default=1.0)
    path = models.JSONField(default=list)  # one {"position", "item_id", "theta", "se"} per committed answer
    refused = models.JSONField(default=list)  # item ids set aside for this attempt by exposure control
    stop_reason = models.CharField(max_length=20, blank=True)
    decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")


class StandardMethod(models.TextChoices):
    ANGOFF = "angoff", "Modified Angoff"
    HOFSTEE = "hofstee", "Hofstee"


class StandardSetting(models.Model):
    """A pass mark worked out by a standard-setting method; at most one per exam is applied."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="standard_settings")
    method = models.CharField(max_length=10, choices=StandardMethod.choices)
    inputs = models.JSONField(default=dict)  # Angoff: judges' ratings and item ids; Hofstee: the bounds
    result = models.JSONField(default=dict)
    cut_percent = models.FloatField()
    is_applied = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["exam"], condition=Q(is_applied=True),
                                               name="standard_setting_one_applied")]


# --- short-answer grading (grading_services.py) ----------------------------------------------------------

class GradeStatus(models.TextChoices):
    PENDING = "pending", "Not graded yet"  # the attempt is still open
    AUTO = "auto", "Graded automatically"
    NEEDS_REVIEW = "needs_review", "Waiting for faculty review"
    CONFIRMED = "confirmed", "Confirmed by faculty"
    OVERRIDDEN = "overridden", "Changed by faculty"


class ShortAnswerResponse(models.Model):
    """A student's free-text answer to a short-answer item, its automatic grade and any human review.

    `final_score` is the grade that counts: the automatic one when the grader was confident, else the
    reviewer's. `decision` is the audit record of the automatic grade (a review points back to it).
    """

    attempt_item = models.OneToOneField(AttemptItem, on_delete=models.CASCADE, related_name="short_answer")
    text = models.TextField(blank=True, default="")
    max_score = models.FloatField(default=1.0)
    auto_score = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    matched_points = models.JSONField(default=list, blank=True)  # [{"index", "text", "weight", "matched", "span_text"}]
    grader_name = models.CharField(max_length=60, blank=True)
    grader_version = models.CharField(max_length=40, blank=True)
    decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    status = models.CharField(max_length=16, choices=GradeStatus.choices, default=GradeStatus.PENDING)
    graded_at = models.DateTimeField(null=True, blank=True)
    final_score = models.FloatField(null=True, blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["attempt_item"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.attempt_item_id} · {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in (GradeStatus.AUTO, GradeStatus.CONFIRMED, GradeStatus.OVERRIDDEN)
