"""Small hand-made answer sets for the aggregate and curriculum tests (numbers checkable by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

from medtutor.content.models import Item
from medtutor.content.services import save_item
from medtutor.learning.models import ItemResponse
from tests.conftest import make_record

# A Monday, in November 2026; the next month starts on Tuesday 1 December.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_items(actor) -> dict[str, Item]:
    """q-hf-1 (cardio.hf, pharm), q-hf-2 (cardio.hf, phys), q-asthma (resp.asthma, pharm), q-none (no competency)."""
    save_item(None, make_record("q-hf-1"), actor=actor)
    save_item(None, make_record("q-hf-2", discipline="phys", stem="A 64-year-old woman has ankle swelling."),
              actor=actor)
    save_item(None, make_record("q-asthma", competency="resp.asthma", objective="resp.asthma.1",
                                stem="A 19-year-old has wheeze and cannot finish sentences."), actor=actor)
    save_item(None, make_record("q-none", competency=None, objective=None, discipline=None,
                                stem="An unfiled question about fluid balance."), actor=actor)
    return {i.external_id: i for i in Item.objects.all()}


_token = [0]


def answer(learner, item: Item, correct: bool, at: datetime, seconds: int | None = 30) -> ItemResponse:
    _token[0] += 1
    return ItemResponse.objects.create(learner=learner, item_version=item.current_version,
                                       chosen_index=0 if correct else 1, is_correct=correct,
                                       client_token=f"t-{_token[0]}", answered_at=at, seconds_taken=seconds)
