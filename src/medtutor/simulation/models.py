"""Virtual-patient cases, their cohort assignments, learners' sessions and each session's events."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Case(models.Model):
    """A case in the engine's file format (``engine.case.case_to_dict``), versioned on each edit."""

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=300)
    data = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    physiology_scenario = models.CharField(max_length=60, blank=True)
    # OSCE station: a checklist the examiner sees and a time limit in real minutes.
    osce_checklist = models.JSONField(default=list, blank=True)
    osce_time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class CaseAssignment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    cohort = models.ForeignKey("accounts.Cohort", on_delete=models.CASCADE, related_name="vp_assignments")
    osce_mode = models.BooleanField(default=False)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "cohort"], name="vp_assignment_unique")]
        ordering = ["-created_at", "-id"]


class SessionState(models.TextChoices):
    ACTIVE = "active", "In progress"
    SUBMITTED = "submitted", "Submitted"
    TIMED_OUT = "timed_out", "Time limit reached"


class Session(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vp_sessions")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sessions")
    case_version = models.PositiveIntegerField()
    case_data = models.JSONField()            # the case as it was when the session started
    seed = models.PositiveIntegerField()      # physiology noise and initial state
    sim_minute = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=12, choices=SessionState.choices, default=SessionState.ACTIVE)
    osce_mode = models.BooleanField(default=False)
    time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)   # real minutes (OSCE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    debrief = models.JSONField(null=True, blank=True)
    # OSCE examiner's marks: {"items": [...], "done": [bool, ...], "by": username, "at": iso time}
    osce_marks = models.JSONField(default=dict, blank=True)
    score = models.FloatField(null=True, blank=True)
    decision = models.ForeignKey("core.AuditRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["student", "state"], name="vp_session_student_state")]

    def __str__(self) -> str:
        return f"{self.student} · {self.case}"

    @property
    def is_active(self) -> bool:
        return self.state == SessionState.ACTIVE


class EventKind(models.TextChoices):
    QUESTION = "question", "Question"
    EXAM = "exam", "Examination"
    TEST = "test", "Test ordered"
    INTERVENTION = "intervention", "Intervention"
    ADVANCE = "advance", "Time advanced"
    DIAGNOSIS = "diagnosis", "Diagnosis submitted"
    NOTE = "note", "Note"


class SessionEvent(models.Model):
    """Append-only: events are never edited or deleted; the debrief is computed from them."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    minute = models.PositiveIntegerField()        # simulated minute when it happened
    detail = models.TextField()                   # question, system, test name, intervention code, diagnosis
    answer = models.TextField(blank=True)         # patient's answer, findings, result text
    data = models.JSONField(default=dict, blank=True)   # fact ids, differential, result minute, cost, ...
    client_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="vp_event_seq_unique"),
            models.UniqueConstraint(fields=["session", "client_token"], condition=~models.Q(client_token=""),
                                    name="vp_event_token_unique"),
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None or not kwargs.get("force_insert", self._state.adding):
            raise ValueError("session events are append-only: write a new event instead of changing one")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("session events are append-only")
