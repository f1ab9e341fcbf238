"""Flashcard review for students: FSRS scheduling, undo, personal cards and the catch-up plan.

Writes are committed before the caller answers. A review carries a client sequence id: a retried post
returns the stored review. Each card state has a `version`; a review names the version it was shown
(web forms always do), so two tabs reviewing the same deck never schedule one card twice.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import version as package_version

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from medtutor.content.models import Card, CardKind, Competency, staff_only_competency_ids
from medtutor.core import clock
from medtutor.core.audit import record_action, record_decision
from medtutor.core.errors import DomainError, InvalidInput, NotFound
from medtutor.core.ids import CardId
from medtutor.learning.engine import cloze
from medtutor.learning.engine.catchup import CatchupPlan, ScheduledCard, plan_catch_up
from medtutor.learning.engine.memory import (DEFAULT_PARAMS, Grade, MemoryParams, MemoryState, Phase, format_interval,
                                             preview, require_utc, review)
from medtutor.learning.engine.memory_fit import OPTIMIZER_NAME, MemoryFit, PastReview, fit_memory_weights
from medtutor.learning.models import CardReview, CardState, DeckSettings, ItemResponse, PersonalCard

__all__ = ["Conflict", "DeckOverview", "QueueEntry", "ReviewRecorded", "ReviewUndone", "deck_overview",
           "due_count", "last_undoable_review", "make_card_from_answer", "memory_params", "new_client_seq", "next_card",
           "parse_grade", "personalise_memory", "plan_for", "queue", "record_review", "reset_memory_weights", "save_deck_settings", "undo_last_review",
           "visible_cards"]

logger = logging.getLogger(__name__)

LEARN_AHEAD = timedelta(minutes=20)      # learning steps may be shown this early when nothing else is due
MAX_CLOCK_SKEW = timedelta(minutes=2)    # a review stamped later than now by more than this is refused
MAX_REVIEW_AGE = timedelta(days=7)       # an offline review older than this is refused
MIN_DAILY_CAP, MAX_DAILY_CAP = 5, 1000
MAX_NEW_PER_DAY = 200


class Conflict(DomainError):
    status = 409


# --- what a student may see -----------------------------------------------------------------------

def visible_cards(learner) -> QuerySet[Card]:
    """Shared cards plus this student's personal cards (never another student's), without staff-only ones."""
    return Card.objects.for_students().filter(Q(personal_owner__isnull=True) | Q(personal_owner__learner=learner))


def _valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _visible_card(learner, card_id: int) -> Card:
    if not _valid_id(card_id):
        raise NotFound(f"there is no card {card_id}")
    try:
        return visible_cards(learner).select_related("competency").get(pk=card_id)
    except (Card.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"there is no card {card_id}") from None


def _states(learner) -> QuerySet[CardState]:
    states = CardState.objects.for_learner(learner.pk).filter(
        Q(card__personal_owner__isnull=True) | Q(card__personal_owner__learner=learner))
    hidden = staff_only_competency_ids()  # cards reviewed before their competency became staff-only
    return states.exclude(card__competency_id__in=hidden) if hidden else states


def new_client_seq() -> str:
    return secrets.token_hex(16)


def parse_grade(raw: object) -> Grade:
    names = {g.name.lower(): g for g in Grade}
    if isinstance(raw, str) and raw.strip().lower() in names:
        return names[raw.strip().lower()]
    try:
        value = int(str(raw).strip())
        return Grade(value)
    except (TypeError, ValueError):
        raise InvalidInput("grade the card 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)") from None


def _now(at: datetime | None) -> datetime:
    return require_utc(at if at is not None else clock.now())


def _day_start(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


# --- reviewing ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReviewRecorded:
    review: CardReview
    state: MemoryState
    version: int
    replayed: bool
    params: MemoryParams = DEFAULT_PARAMS

    @property
    def interval(self) -> timedelta:
        return self.state.due_at - self.review.reviewed_at

    def next_intervals(self) -> dict[Grade, timedelta]:
        """What each grade would give when the card next falls due."""
        return preview(self.state, at=max(self.state.due_at, self.review.reviewed_at), params=self.params)


def _check_reviewed_at(reviewed_at: datetime, now: datetime) -> datetime:
    when = reviewed_at
    if when.tzinfo is not None and when.utcoffset() is not None:
        when = when.astimezone(now.tzinfo)
    when = require_utc(when, "review time")
    if when > now + MAX_CLOCK_SKEW:
        raise InvalidInput("the review time is in the future; check the device's clock")
    if when < now - MAX_REVIEW_AGE:
        raise InvalidInput(f"the review time is more than {MAX_REVIEW_AGE.days} days ago; it cannot be recorded")
    return when


def record_review(learner, card_id: int, grade: object, *, client_seq: str, reviewed_at: datetime | None = None,
                  expected_version: int | None = None, at: datetime | None = None) -> ReviewRecorded:
    """Grade a card and schedule it. Raises InvalidInput (400), NotFound (404) or Conflict (409)."""
    now = _now(at)
    grade = parse_grade(grade)
    seq = (client_seq or "").strip() if isinstance(client_seq, str) else ""
    if not seq or len(seq) > 64:
        raise InvalidInput("the review has no valid client_seq (1–64 characters); reload and grade again")
    existing = CardReview.objects.filter(learner=learner, client_seq=seq).first()
    if existing is not None:
        return _replay(existing, card_id)
    card = _visible_card(learner, card_id)
    when = now if reviewed_at is None else _check_reviewed_at(reviewed_at, now)
    rng = random.Random(f"{learner.pk}:{card.pk}:{seq}")  # replayable fuzz
    params = memory_params(learner)
    try:
        with transaction.atomic():
            state, _ = CardState.objects.select_for_update().get_or_create(
                learner=learner, card=card, defaults={"due_at": when, "phase": int(Phase.LEARNING), "step": 0})
            if expected_version is not None and state.version != expected_version:
                raise Conflict("this card was already reviewed (another tab or device?); here is your next card")
            before = state.to_engine()
            if expected_version is None and not before.is_new and before.due_at > when + LEARN_AHEAD:
                raise Conflict(f"card {card.pk} is not due until {before.due_at:%Y-%m-%d %H:%M} UTC")
            after, _log = review(before, grade, at=when, rng=rng, params=params)
            changed = CardState.objects.filter(pk=state.pk, version=state.version).update(
                phase=int(after.phase), step=after.step, stability_days=after.stability_days,
                difficulty=after.difficulty, due_at=after.due_at, last_review_at=after.last_review_at,
                reps=F("reps") + 1, version=F("version") + 1, updated_at=now)
            if changed != 1:
                raise Conflict("this card was already reviewed (another tab or device?); here is your next card")
            done = CardReview.objects.create(
                learner=learner, card=card, grade=int(grade), reviewed_at=when, recorded_at=now, client_seq=seq,
                was_new=before.is_new, previous=before.to_dict(), result=after.to_dict())
    except IntegrityError:  # the same client_seq raced in from a second request
        existing = CardReview.objects.filter(learner=learner, client_seq=seq).first()
        if existing is None:
            raise
        return _replay(existing, card_id)
    logger.info("card review learner=%s card=%s grade=%s", learner.pk, card.pk, int(grade))
    return ReviewRecorded(done, after, state.version + 1, replayed=False, params=params)


def _replay(existing: CardReview, card_id: int) -> ReviewRecorded:
    if str(existing.card_id) != str(card_id):
        raise InvalidInput("this client_seq was already used for another card")
    version = CardState.objects.filter(learner_id=existing.learner_id, card_id=existing.card_id).values_list(
        "version", flat=True).first() or 0
    return ReviewRecorded(existing, MemoryState.from_dict(existing.result), version, replayed=True,
                          params=memory_params(existing.learner))


@dataclass(frozen=True, slots=True)
class ReviewUndone:
    review: CardReview
    state: MemoryState    # the state restored
    version: int          # the card state's version now
    replayed: bool        # True when that review had already been undone


def last_undoable_review(learner) -> CardReview | None:
    return (CardReview.objects.filter(learner=learner, undone_at__isnull=True).select_related("card")
            .order_by("-id").first())


def undo_last_review(learner, *, review_id: int | None = None, at: datetime | None = None) -> ReviewUndone:
    """Restore the card state before the student's last review and mark that review undone.

    With `review_id`, only that review is undone, and only if it is still the last one (a double click
    on Undo does not undo two reviews). Raises NotFound (404) or Conflict (409).
    """
    now = _now(at)
    with transaction.atomic():
        last = (CardReview.objects.select_for_update().filter(learner=learner, undone_at__isnull=True)
                .order_by("-id").first())
        if review_id is not None:
            target = CardReview.objects.filter(pk=review_id, learner=learner).first()
            if target is None:
                raise NotFound(f"there is no review {review_id}")
            if target.undone_at is not None:
                version = CardState.objects.filter(learner=learner, card_id=target.card_id).values_list(
                    "version", flat=True).first() or 0
                return ReviewUndone(target, MemoryState.from_dict(target.previous), version, replayed=True)
            if last is None or last.pk != target.pk:
                raise Conflict("only your last review can be undone")
        if last is None:
            raise Conflict("there is no review to undo")
        state = CardState.objects.select_for_update().get(learner=learner, card_id=last.card_id)
        previous = MemoryState.from_dict(last.previous)
        state.apply(previous)
        state.reps = max(0, state.reps - 1)
        state.version += 1
        state.save()
        last.undone_at = now
        last.save(update_fields=["undone_at"])
        record_action(learner, "cards.review.undone", subject=last,
                      data={"card_id": last.card_id, "grade": last.grade, "reviewed_at": last.reviewed_at.isoformat()})
    return ReviewUndone(last, previous, state.version, replayed=False)


# --- the queue and the catch-up plan --------------------------------------------------------------

def _settings(learner) -> DeckSettings:
    found = DeckSettings.objects.filter(learner=learner).first()
    return found if found is not None else DeckSettings(learner=learner)


def memory_params(learner) -> MemoryParams:
    """The student's own FSRS weights where they were fitted and adopted, else the defaults."""
    weights = DeckSettings.objects.filter(learner=learner).values_list("memory_weights", flat=True).first()
    if not weights:
        return DEFAULT_PARAMS
    try:
        return MemoryParams(weights=tuple(float(w) for w in weights))
    except (InvalidInput, ValueError, TypeError):  # stored weights py-fsrs no longer accepts: defaults, loudly
        logger.warning("ignoring invalid personal FSRS weights of learner %s", getattr(learner, "pk", learner))
        return DEFAULT_PARAMS


def _importance_by_code() -> dict[str, float]:
    roots = {c.code: c.weight for c in Competency.objects.for_students().filter(parent__isnull=True)}
    return roots


def _importance(code: str | None, roots: dict[str, float]) -> float:
    if not code:
        return 1.0
    weight = roots.get(code.split(".")[0], 1.0)
    return weight if weight > 0 else 1.0


def _reviews_today(learner, now: datetime) -> QuerySet[CardReview]:
    return CardReview.objects.filter(learner=learner, undone_at__isnull=True, reviewed_at__gte=_day_start(now),
                                     reviewed_at__lte=now)


def plan_for(learner, at: datetime | None = None, daily_cap: int | None = None) -> CatchupPlan:
    """The catch-up plan (and 14-day forecast) for this student's review cards, now."""
    now = _now(at)
    settings = _settings(learner)
    roots = _importance_by_code()
    rows = (_states(learner).reviewed().filter(phase=int(Phase.REVIEW))
            .values_list("card_id", "due_at", "last_review_at", "stability_days", "card__competency__code"))
    cards = [ScheduledCard(CardId(cid), due, last, stability, _importance(code, roots))
             for cid, due, last, stability, code in rows]
    done = _reviews_today(learner, now).filter(was_new=False, previous__phase=int(Phase.REVIEW)).count()
    return plan_catch_up(cards, at=now, daily_cap=daily_cap or settings.daily_cap, done_today=done,
                         params=memory_params(learner))


@dataclass(frozen=True, slots=True)
class QueueEntry:
    card: Card
    state: MemoryState
    version: int
    at: datetime
    params: MemoryParams = DEFAULT_PARAMS

    @property
    def is_new(self) -> bool:
        return self.state.is_new

    @property
    def front_segments(self) -> tuple[cloze.Segment, ...]:
        return cloze.segments(self.card.front) if self.card.kind == CardKind.CLOZE else (cloze.Segment(self.card.front),)

    @property
    def is_cloze(self) -> bool:
        return self.card.kind == CardKind.CLOZE

    def intervals(self) -> list[tuple[Grade, str]]:
        return [(grade, format_interval(gap)) for grade, gap in preview(self.state, at=self.at, params=self.params).items()]


def _entry(card: Card, state: CardState | None, at: datetime, params: MemoryParams = DEFAULT_PARAMS) -> QueueEntry:
    if state is None:
        return QueueEntry(card, MemoryState.new(CardId(card.pk), at=at), 0, at, params)
    memory = state.to_engine()
    return QueueEntry(card, memory, state.version, max(at, memory.last_review_at or at), params)


def queue(learner, at: datetime | None = None, *, limit: int = 1, prefer_card_id: int | None = None,
          plan: CatchupPlan | None = None) -> list[QueueEntry]:
    """The next cards to review, in order: learning steps due, today's share of the plan, then new cards."""
    now = _now(at)
    entries: list[QueueEntry] = []
    taken: set[int] = set()
    states = _states(learner).select_related("card__competency")
    params = memory_params(learner)

    def add(card: Card, state: CardState | None) -> bool:
        if card.pk not in taken:
            taken.add(card.pk)
            entries.append(_entry(card, state, now, params))
        return len(entries) >= limit

    if prefer_card_id is not None:
        card = visible_cards(learner).select_related("competency").filter(pk=prefer_card_id).first()
        if card is not None and add(card, states.filter(card=card).first()):
            return entries
    for state in states.reviewed().exclude(phase=int(Phase.REVIEW)).filter(due_at__lte=now).order_by("due_at"):
        if add(state.card, state):
            return entries
    plan = plan or plan_for(learner, now)
    today_ids = [int(p.card_id) for p in plan.today()]
    due_by_id = {s.card_id: s for s in states.filter(card_id__in=today_ids, due_at__lte=now)}
    for card_id in today_ids:
        if card_id in due_by_id and add(due_by_id[card_id].card, due_by_id[card_id]):
            return entries
    settings = _settings(learner)
    new_left = settings.new_per_day - _reviews_today(learner, now).filter(was_new=True).count()
    if not plan.new_cards_paused and new_left > 0:
        reviewed = _states(learner).reviewed().values("card_id")
        fresh = visible_cards(learner).exclude(pk__in=reviewed).select_related("competency").order_by("pk")
        unreviewed = {s.card_id: s for s in states.filter(last_review_at__isnull=True)}
        for card in fresh[:min(new_left, limit)]:
            if add(card, unreviewed.get(card.pk)):
                return entries
    for state in (states.reviewed().exclude(phase=int(Phase.REVIEW))
                  .filter(due_at__lte=now + LEARN_AHEAD).order_by("due_at")):
        if add(state.card, state):
            return entries
    return entries


def next_card(learner, at: datetime | None = None, *, prefer_card_id: int | None = None) -> QueueEntry | None:
    found = queue(learner, at, limit=1, prefer_card_id=prefer_card_id)
    return found[0] if found else None


def due_count(learner, at: datetime | None = None) -> int:
    """Reviewed cards due now (the nav badge): one indexed count, no plan."""
    return _states(learner).reviewed().filter(due_at__lte=_now(at)).count()


@dataclass(frozen=True, slots=True)
class DeckOverview:
    due_now: int
    learning_due: int
    new_available: int
    new_today: int
    reviews_today: int
    plan: CatchupPlan
    settings: DeckSettings
    last_review: CardReview | None
    total_cards: int

    @property
    def forecast(self):
        return self.plan.days[:14]

    @property
    def today_left(self) -> int:
        return self.learning_due + self.plan.days[0].total if self.plan.days else self.learning_due


def deck_overview(learner, at: datetime | None = None) -> DeckOverview:
    now = _now(at)
    plan = plan_for(learner, now)
    settings = _settings(learner)
    reviewed = _states(learner).reviewed()
    visible = visible_cards(learner)
    today = _reviews_today(learner, now)
    return DeckOverview(
        due_now=reviewed.filter(due_at__lte=now).count(),
        learning_due=reviewed.exclude(phase=int(Phase.REVIEW)).filter(due_at__lte=now).count(),
        new_available=visible.exclude(pk__in=reviewed.values("card_id")).count(),
        new_today=today.filter(was_new=True).count(), reviews_today=today.count(),
        plan=plan, settings=settings, last_review=last_undoable_review(learner), total_cards=visible.count())


def save_deck_settings(learner, daily_cap: int, new_per_day: int | None = None,
                       at: datetime | None = None) -> tuple[DeckSettings, CatchupPlan]:
    """Store the daily cap and record the catch-up plan it produces as a recommendation (audited)."""
    now = _now(at)
    problems = []
    if isinstance(daily_cap, bool) or not isinstance(daily_cap, int) or not MIN_DAILY_CAP <= daily_cap <= MAX_DAILY_CAP:
        problems.append(f"the daily cap must be a whole number from {MIN_DAILY_CAP} to {MAX_DAILY_CAP}")
    if new_per_day is not None and (isinstance(new_per_day, bool) or not isinstance(new_per_day, int)
                                    or not 0 <= new_per_day <= MAX_NEW_PER_DAY):
        problems.append(f"new cards a day must be a whole number from 0 to {MAX_NEW_PER_DAY}")
    if problems:
        raise InvalidInput("; ".join(problems), details=problems)
    with transaction.atomic():
        settings, _ = DeckSettings.objects.select_for_update().get_or_create(learner=learner)
        settings.daily_cap = daily_cap
        if new_per_day is not None:
            settings.new_per_day = new_per_day
        settings.save()
        plan = plan_for(learner, now, daily_cap=daily_cap)
        inputs = {"at": now.isoformat(), "daily_cap": daily_cap, "done_today": plan.done_today,
                  "cards": sorted([int(p.card_id), p.day, round(p.risk, 6)] for p in plan.placements)}
        explanation = (
            f"{plan.backlog} overdue card(s) ordered by risk (root competency weight × chance of having forgotten, "
            f"from FSRS retrievability now); at most {daily_cap} reviews a day, counting cards that fall due "
            f"meanwhile. " + (f"Backlog cleared in {plan.days_to_clear} day(s). " if plan.backlog else "No backlog. ")
            + ("New cards are paused until the backlog is at most one day's cap." if plan.new_cards_paused
               else "New cards continue."))
        decision = record_decision(model_name="catchup-planner", model_version="1", subject=settings,
                                   inputs=inputs, output=plan.summary(), explanation=explanation, confidence=None,
                                   action="cards.catchup.plan", actor=learner)
        settings.plan_decision = decision
        settings.save(update_fields=["plan_decision"])
    return settings, plan


# --- personal memory weights ----------------------------------------------------------------------

def personalise_memory(learner, at: datetime | None = None) -> MemoryFit:
    """Fit FSRS weights to the student's reviews; adopt them only where they predict better (audited).

    The fit, adopted or not, is an AI decision the student sees (on the deck page), so it is recorded
    with the optimizer's name and version, the evidence (held-out log-loss of both weight sets) and why.
    """
    now = _now(at)
    rows = (CardReview.objects.filter(learner=learner, undone_at__isnull=True)
            .order_by("reviewed_at", "pk").values_list("card_id", "grade", "reviewed_at"))
    reviews = [PastReview(card_id, Grade(grade), reviewed_at) for card_id, grade, reviewed_at in rows]
    fit = fit_memory_weights(reviews)
    with transaction.atomic():
        settings, _ = DeckSettings.objects.select_for_update().get_or_create(learner=learner)
        decision = record_decision(
            model_name=OPTIMIZER_NAME, model_version=f"py-fsrs {package_version('fsrs')}", subject=settings,
            inputs={"reviews": len(reviews), "last_review": reviews[-1].reviewed_at.isoformat() if reviews else None},
            output={**fit.summary(), "weights": list(fit.weights) if fit.weights else None},
            explanation=fit.reason, confidence=None, action="cards.memory.personalise", actor=learner)
        if fit.adopted:
            settings.memory_weights = list(fit.weights or ())
        settings.memory_fit_at = now
        settings.memory_fit_summary = fit.summary()
        settings.memory_fit_decision = decision
        settings.save(update_fields=["memory_weights", "memory_fit_at", "memory_fit_summary", "memory_fit_decision",
                                     "updated_at"])
    return fit


def reset_memory_weights(learner) -> None:
    """Back to the default FSRS weights (the student's choice; audited)."""
    with transaction.atomic():
        settings, _ = DeckSettings.objects.select_for_update().get_or_create(learner=learner)
        had = settings.memory_weights is not None
        settings.memory_weights = None
        settings.save(update_fields=["memory_weights", "updated_at"])
        record_action(learner, "cards.memory.reset", subject=settings, data={"had_personal_weights": had})


# --- personal cards -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PersonalCardMade:
    card: Card
    created: bool


def make_card_from_answer(learner, response_id: int, at: datetime | None = None) -> PersonalCardMade:
    """A basic card from a question the student got wrong: stem + lead-in / correct option + teaching point.

    One per student and question: a second click returns the first card.
    """
    now = _now(at)
    if not _valid_id(response_id):
        raise NotFound(f"there is no answer {response_id}")
    try:
        response = (ItemResponse.objects.select_related("item_version__item__competency")
                    .get(pk=response_id, learner=learner))
    except (ItemResponse.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"there is no answer {response_id}") from None
    if response.is_correct:
        raise InvalidInput("cards are made from questions you answered wrongly")
    version = response.item_version
    item = version.item
    existing = PersonalCard.objects.filter(learner=learner, source_item=item).select_related("card").first()
    if existing is not None:
        return PersonalCardMade(existing.card, created=False)
    front = version.stem.strip() + (f"\n\n{version.lead_in.strip()}" if version.lead_in.strip() else "")
    key = version.options[version.key_index]["text"] if version.key_index is not None and version.options else ""
    back = key + (f"\n\n{version.explanation.strip()}" if version.explanation.strip() else "")
    try:
        with transaction.atomic():
            card = Card.objects.create(external_id=f"personal-{learner.pk}-{item.pk}", kind=CardKind.BASIC,
                                       front=front, back=back, competency=item.competency, item=item,
                                       created_by=learner)
            PersonalCard.objects.create(learner=learner, card=card, source_item=item, created_at=now)
    except IntegrityError:  # a second click raced in
        return PersonalCardMade(PersonalCard.objects.select_related("card").get(learner=learner, source_item=item).card,
                                created=False)
    return PersonalCardMade(card, created=True)
