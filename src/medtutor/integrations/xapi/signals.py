"""Learning events become outbox statements in the event's own transaction (only with an LRS set)."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from medtutor.assessment.models import Attempt
from medtutor.integrations.xapi import outbox, statements
from medtutor.learning.models import CardReview, ItemResponse


def _homepage() -> str:
    return settings.XAPI_HOMEPAGE


def _actor(user_id: int) -> str:
    return statements.pseudonym(user_id, settings.SECRET_KEY)


@receiver(post_save, sender=ItemResponse, dispatch_uid="xapi-answered")
def item_answered(sender, instance: ItemResponse, created: bool, **kwargs) -> None:
    if not created or not outbox.enabled() or kwargs.get("raw"):
        return
    item = instance.item_version.item
    outbox.enqueue(statements.answered(
        _homepage(), event_id=instance.pk, actor=_actor(instance.learner_id), item_key=item.external_id,
        item_title=instance.item_version.stem[:120], correct=instance.is_correct, at=instance.answered_at,
        seconds=instance.seconds_taken))


@receiver(post_save, sender=CardReview, dispatch_uid="xapi-reviewed")
def card_reviewed(sender, instance: CardReview, created: bool, **kwargs) -> None:
    if not created or not outbox.enabled() or kwargs.get("raw"):
        return
    outbox.enqueue(statements.reviewed(
        _homepage(), event_id=instance.pk, actor=_actor(instance.learner_id), card_key=instance.card.external_id,
        card_title=instance.card.front[:120], grade=instance.grade, at=instance.reviewed_at))


@receiver(post_save, sender=Attempt, dispatch_uid="xapi-exam-completed")
def exam_completed(sender, instance: Attempt, created: bool, update_fields=None, **kwargs) -> None:
    if not outbox.enabled() or instance.submitted_at is None or kwargs.get("raw"):
        return
    if update_fields is not None and "submitted_at" not in update_fields:
        return
    outbox.enqueue(statements.completed_exam(
        _homepage(), event_id=instance.pk, actor=_actor(instance.student_id), exam_id=instance.exam_id,
        exam_title=instance.exam.title, correct=instance.score_correct or 0, total=instance.score_total or 0,
        at=instance.submitted_at))
