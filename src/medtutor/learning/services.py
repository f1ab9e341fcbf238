"""Answering a question: committed before the reply, idempotent by client token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from medtutor.content.models import Item, ItemKind, ItemVersion
from medtutor.core import clock
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.learning.models import ItemResponse


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    response: ItemResponse
    version: ItemVersion
    replayed: bool  # True when this token had already been answered

    @property
    def is_correct(self) -> bool:
        return self.response.is_correct


def new_client_token() -> str:
    return secrets.token_hex(16)


def answerable_version(item_id: int, version_id: int | None = None) -> ItemVersion:
    """The version to show (or that was shown): the current one unless a specific one is named.

    Practice is for students, so a staff-only item is reported as absent, like an unknown one."""
    try:
        item = Item.objects.active().for_students().get(pk=item_id)
    except (Item.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"there is no question {item_id}") from None
    if item.kind != ItemKind.SINGLE:
        raise InvalidInput("short-answer questions are answered in exams, not in practice")
    if version_id is None:
        return item.current_version
    try:
        return item.versions.get(pk=version_id)
    except (ItemVersion.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"question {item_id} has no version {version_id}") from None


def record_answer(learner, item_id: int, version_id: int | None, chosen_index: int, client_token: str,
                  seconds_taken: int | None = None) -> AnswerRecorded:
    version = answerable_version(item_id, version_id)
    if not isinstance(chosen_index, int) or isinstance(chosen_index, bool) or not 0 <= chosen_index < len(version.options):
        raise InvalidInput(f"choose one of the {len(version.options)} options")
    token = (client_token or "").strip()
    if not token or len(token) > 64:
        raise InvalidInput("the answer has no valid client token; reload the page and answer again")
    if seconds_taken is not None and not 0 <= seconds_taken <= 86_400:
        seconds_taken = None
    existing = ItemResponse.objects.filter(learner=learner, client_token=token).first()
    if existing is not None:
        return _replay(existing, item_id)
    try:
        with transaction.atomic():
            response = ItemResponse.objects.create(
                learner=learner, item_version=version, chosen_index=chosen_index,
                is_correct=chosen_index == version.key_index, client_token=token,
                answered_at=clock.now(), seconds_taken=seconds_taken)
    except IntegrityError:  # the same token raced in from a second request
        return _replay(ItemResponse.objects.get(learner=learner, client_token=token), item_id)
    return AnswerRecorded(response, version, replayed=False)


def _replay(existing: ItemResponse, item_id: int) -> AnswerRecorded:
    if existing.item_version.item_id != item_id:
        raise InvalidInput("this answer token was already used for another question")
    return AnswerRecorded(existing, existing.item_version, replayed=True)
