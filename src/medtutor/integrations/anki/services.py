"""Anki decks in and out of medtutor.

A student's import becomes their personal cards (only they see them) and, where the deck has review
history, their FSRS memory state: the reviews are replayed through medtutor's scheduler in order and
kept as review-log entries, so the schedule, undo and personal weights work on them as on any other
review. A faculty member's or administrator's import adds shared cards to the bank (no history:
faculty do not review). Importing the same deck again updates the cards' text and adds only reviews
not seen before. Everything is one transaction: a deck imports whole or not at all.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from PIL import Image, UnidentifiedImageError

from medtutor.accounts.models import Role
from medtutor.content.models import Card, CardKind, Competency, Tag
from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.errors import InvalidInput
from medtutor.integrations.anki.apkg import AnkiCard, AnkiDeck, ApkgError, ExportCard, read_apkg, write_apkg
from medtutor.integrations.models import CardImage
from medtutor.learning.cards import memory_params, visible_cards
from medtutor.learning.engine.memory import Grade, MemoryState, review
from medtutor.learning.models import CardReview, CardState, PersonalCard

MAX_TEXT = 20_000  # characters per side; longer fields are cut with a note rather than refused


@dataclass(frozen=True)
class DeckImported:
    created: int
    updated: int
    reviews: int
    images: int
    skipped: list[str]
    personal: bool


def _external_id(user, card: AnkiCard) -> str:
    digest = hashlib.sha256(f"{card.note_guid}:{card.ordinal}".encode()).hexdigest()[:20]
    return f"anki-{user.pk}-{digest}" if user.role == Role.STUDENT else f"anki-{digest}"


def _store_image(name: str, data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # a real image of the kind its name says, not a script named .png
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    relative = f"anki/{hashlib.sha256(data).hexdigest()}{Path(name).suffix.lower()}"
    target = Path(settings.MEDIA_ROOT) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_bytes(data)
        partial.replace(target)
    return relative


def _replay(user, card: Card, reviews, now: datetime) -> int:
    """Turn a card's Anki history into review-log entries and its current memory state."""
    if CardState.objects.filter(learner=user, card=card).exists():
        return 0  # already reviewed here (or imported before): medtutor's own history wins
    params = memory_params(user)
    rng = random.Random(f"anki:{user.pk}:{card.pk}")
    state = None
    rows = []
    for past in reviews:
        if past.reviewed_at > now or (state is not None and state.last_review_at and past.reviewed_at < state.last_review_at):
            continue
        before = state or MemoryState.new(card.pk, at=past.reviewed_at)
        state, _ = review(before, Grade(past.ease), at=past.reviewed_at, rng=rng, params=params)
        rows.append(CardReview(learner=user, card=card, grade=past.ease, reviewed_at=past.reviewed_at,
                               recorded_at=now, client_seq=f"anki-{card.pk}-{int(past.reviewed_at.timestamp() * 1000)}",
                               was_new=before.is_new, previous=before.to_dict(), result=state.to_dict()))
    if state is None:
        return 0
    CardReview.objects.bulk_create(rows)
    CardState.objects.create(learner=user, card=card, phase=int(state.phase), step=state.step,
                             stability_days=state.stability_days, difficulty=state.difficulty, due_at=state.due_at,
                             last_review_at=state.last_review_at, reps=len(rows), version=len(rows), updated_at=now)
    return len(rows)


def import_deck(user, data: bytes, *, filename: str = "deck.apkg") -> DeckImported:
    """Import an .apkg into this user's collection; InvalidInput (nothing written) if it cannot be."""
    if user.role not in (Role.STUDENT, Role.FACULTY, Role.ADMIN):
        raise InvalidInput("only students, faculty and administrators keep cards")
    try:
        deck: AnkiDeck = read_apkg(data)
    except ApkgError as error:
        raise InvalidInput(f"{filename}: {error}") from error
    if not deck.cards:
        raise InvalidInput(f"{filename}: no cards to import" + (f" ({'; '.join(deck.skipped[:3])})" if deck.skipped else ""))
    personal = user.role == Role.STUDENT
    now = clock.now()
    competencies = dict(Competency.objects.values_list("code", "pk"))
    skipped = list(deck.skipped)
    created = updated = reviews = images = 0
    stored = {name: _store_image(name, blob) for name, blob in deck.media.items()}
    skipped += [f"media {name!r} is not a readable image" for name, path in stored.items() if path is None]
    with transaction.atomic():
        for anki in deck.cards:
            front, back = anki.front[:MAX_TEXT], anki.back[:MAX_TEXT]
            if len(anki.front) > MAX_TEXT or len(anki.back) > MAX_TEXT:
                skipped.append(f"note {anki.note_guid}: text cut at {MAX_TEXT} characters")
            competency = next((competencies[t] for t in anki.tags if t in competencies), None)
            card, made = Card.objects.update_or_create(
                external_id=_external_id(user, anki),
                defaults={"kind": CardKind.CLOZE if anki.kind == "cloze" else CardKind.BASIC, "front": front,
                          "back": back, "competency_id": competency},
                create_defaults={"kind": CardKind.CLOZE if anki.kind == "cloze" else CardKind.BASIC,
                                 "front": front, "back": back, "competency_id": competency, "created_by": user})
            if made:
                created += 1
                if personal:
                    PersonalCard.objects.create(learner=user, card=card, source_item=None, created_at=now)
            else:
                updated += 1
            tags = [Tag.objects.get_or_create(slug=_slug(t))[0] for t in anki.tags if _slug(t)]
            card.tags.set(tags)
            for position, name in enumerate(dict.fromkeys(anki.images)):
                if stored.get(name):
                    CardImage.objects.get_or_create(card=card, path=stored[name],
                                                    defaults={"name": name[:200], "position": position})
                    images += 1
            if personal and anki.reviews:
                reviews += _replay(user, card, anki.reviews, now)
        record_action(user, "anki.import", data={"file": filename[:200], "created": created, "updated": updated,
                                                 "reviews": reviews, "images": images, "skipped": len(skipped),
                                                 "personal": personal})
    return DeckImported(created, updated, reviews, images, skipped, personal)


def _slug(tag: str) -> str:
    from django.utils.text import slugify

    return slugify(tag.replace("::", "-").replace(".", "-"))[:60]


def cards_to_export(user, competency: Competency | None = None) -> QuerySet[Card]:
    cards = visible_cards(user) if user.role == Role.STUDENT else Card.objects.shared()
    if competency is not None:
        cards = cards.filter(competency__code__startswith=competency.code)
    return cards.select_related("competency").prefetch_related("tags").order_by("external_id")


def export_deck(user, competency: Competency | None = None) -> tuple[str, bytes, int]:
    """(file name, .apkg bytes, card count) of the cards this user may see."""
    cards = list(cards_to_export(user, competency))
    if not cards:
        raise InvalidInput("there are no cards to export" + (f" under {competency.code}" if competency else ""))
    name = f"medtutor {competency.name}" if competency else "medtutor"
    data = write_apkg(name, [
        ExportCard(c.external_id, "cloze" if c.kind == CardKind.CLOZE else "basic", c.front, c.back,
                   tuple([c.competency.code] if c.competency else []) + tuple(t.slug for t in c.tags.all()))
        for c in cards])
    record_action(user, "anki.export", data={"cards": len(cards), "competency": competency.code if competency else ""})
    slug = competency.code if competency else "all"
    return f"medtutor-{slug}.apkg", data, len(cards)
