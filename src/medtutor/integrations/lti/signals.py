"""A submitted exam attempt or a debriefed case launched from an LTI resource link queues its score
for the platform's gradebook."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from medtutor.assessment.models import Attempt
from medtutor.integrations.lti.services import enqueue_case_score, enqueue_exam_score
from medtutor.simulation.models import Session


@receiver(post_save, sender=Attempt, dispatch_uid="lti-exam-score")
def exam_submitted(sender, instance: Attempt, created: bool, update_fields=None, **kwargs) -> None:
    if instance.submitted_at is None or kwargs.get("raw"):
        return
    if update_fields is not None and "submitted_at" not in update_fields:
        return
    enqueue_exam_score(instance)


@receiver(post_save, sender=Session, dispatch_uid="lti-case-score")
def case_debriefed(sender, instance: Session, created: bool, update_fields=None, **kwargs) -> None:
    if instance.is_active or instance.score is None or kwargs.get("raw"):
        return
    if update_fields is not None and "score" not in update_fields:
        return
    enqueue_case_score(instance)
