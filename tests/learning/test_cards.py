"""Card review services: committed, idempotent, one review per card version, undo, ownership, catch-up audit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.models import AuditRecord
from medtutor.learning import cards
from medtutor.learning.cards import Conflict
from medtutor.learning.engine.memory import Grade, Phase
from medtutor.learning.models import CardReview, CardState, DeckSettings, ItemResponse, PersonalCard
from medtutor.learning.services import record_answer
from tests.learning.conftest import T0


def _state(student, card):
    return CardState.objects.get(learner=student, card=card)


def test_first_review_creates_the_state_and_logs_it(student, deck):
    basic = deck[0]
    done = cards.record_review(student, basic.pk, "good", client_seq="s-1", expected_version=0, at=T0)
    state = _state(student, basic)
    assert not done.replayed and done.version == 1 == state.version
    assert state.last_review_at == T0 and state.due_at == T0 + timedelta(minutes=10) and state.reps == 1
    review = CardReview.objects.get()
    assert review.grade == Grade.GOOD and review.was_new and review.previous["last_review_at"] is None
    assert review.result == state.to_engine().to_dict()


def test_replaying_the_same_client_seq_records_one_review(student, deck):
    first = cards.record_review(student, deck[0].pk, 3, client_seq="same", expected_version=0, at=T0)
    again = cards.record_review(student, deck[0].pk, 1, client_seq="same", expected_version=0,
                                at=T0 + timedelta(seconds=5))
    assert again.replayed and again.review.pk == first.review.pk and again.review.grade == Grade.GOOD
    assert CardReview.objects.count() == 1 and _state(student, deck[0]).version == 1
    with pytest.raises(InvalidInput, match="another card"):
        cards.record_review(student, deck[1].pk, 3, client_seq="same", at=T0)


def test_two_tabs_showing_the_same_card_schedule_it_once(student, deck):
    """Both tabs loaded version 0; the second grade is refused and changes nothing."""
    cards.record_review(student, deck[0].pk, "good", client_seq="tab-a", expected_version=0, at=T0)
    before = _state(student, deck[0]).to_engine()
    with pytest.raises(Conflict):
        cards.record_review(student, deck[0].pk, "easy", client_seq="tab-b", expected_version=0,
                            at=T0 + timedelta(seconds=3))
    assert CardReview.objects.count() == 1 and _state(student, deck[0]).to_engine() == before


def test_without_a_version_a_card_not_due_is_refused(student, deck):
    cards.record_review(student, deck[0].pk, "easy", client_seq="a", at=T0)  # due in days
    with pytest.raises(Conflict, match="not due"):
        cards.record_review(student, deck[0].pk, "good", client_seq="b", at=T0 + timedelta(minutes=1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_of_one_card_make_one_review(make_user, outline):
    from medtutor.content.models import Card

    student = make_user("racer")
    card = Card.objects.create(external_id="race", front="Q", back="A")
    cards.record_review(student, card.pk, "good", client_seq="warm", expected_version=0, at=T0)
    version = _state(student, card).version
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def grade(i: int) -> None:
        try:
            barrier.wait()
            cards.record_review(student, card.pk, "good", client_seq=f"tab-{i}", expected_version=version,
                                at=T0 + timedelta(minutes=10))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as error:  # SQLite may report a busy database: also nothing written
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=grade, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1, outcomes
    assert CardReview.objects.filter(learner=student).count() == 2
    assert _state(student, card).version == version + 1


def test_undo_restores_the_previous_state_exactly_and_keeps_the_log(student, deck):
    card = deck[0]
    cards.record_review(student, card.pk, "good", client_seq="1", expected_version=0, at=T0)
    before = _state(student, card).to_engine()
    done = cards.record_review(student, card.pk, "good", client_seq="2", expected_version=1,
                               at=T0 + timedelta(minutes=10))
    assert _state(student, card).to_engine().phase == Phase.REVIEW
    undone = cards.undo_last_review(student, review_id=done.review.pk, at=T0 + timedelta(minutes=11))
    assert _state(student, card).to_engine() == before == undone.state
    review = CardReview.objects.get(pk=done.review.pk)
    assert review.undone_at is not None and CardReview.objects.count() == 2
    audit = AuditRecord.objects.filter(action="cards.review.undone").get()
    assert audit.subject_id == str(review.pk) and audit.actor_id == student.pk
    # a double click on Undo does not undo the review before it
    again = cards.undo_last_review(student, review_id=done.review.pk)
    assert again.replayed and _state(student, card).to_engine() == before


def test_undo_of_a_first_review_makes_the_card_new_again(student, deck):
    done = cards.record_review(student, deck[1].pk, "again", client_seq="1", expected_version=0, at=T0)
    cards.undo_last_review(student, at=T0 + timedelta(minutes=1))
    state = _state(student, deck[1])
    assert state.is_new and state.reps == 0
    assert done.review.pk == CardReview.objects.get().pk
    entry = cards.next_card(student, at=T0 + timedelta(minutes=1))
    assert entry.card == deck[0]  # new cards in order; the undone one is new again
    assert {e.card.pk for e in cards.queue(student, at=T0 + timedelta(minutes=1), limit=5)} == {deck[0].pk, deck[1].pk}


def test_only_the_last_review_can_be_undone(student, deck):
    first = cards.record_review(student, deck[0].pk, "good", client_seq="1", expected_version=0, at=T0)
    cards.record_review(student, deck[1].pk, "good", client_seq="2", expected_version=0, at=T0)
    with pytest.raises(Conflict, match="last review"):
        cards.undo_last_review(student, review_id=first.review.pk)


def test_nothing_to_undo_and_another_students_review(student, other_student, deck):
    with pytest.raises(Conflict, match="no review"):
        cards.undo_last_review(student)
    theirs = cards.record_review(other_student, deck[0].pk, "good", client_seq="1", at=T0)
    with pytest.raises(NotFound):
        cards.undo_last_review(student, review_id=theirs.review.pk)


def test_unknown_card_future_and_old_reviews_change_nothing(student, deck):
    with pytest.raises(NotFound):
        cards.record_review(student, 987654, "good", client_seq="x1", at=T0)
    with pytest.raises(NotFound):
        cards.record_review(student, 2**70, "good", client_seq="x1b", at=T0)
    with pytest.raises(InvalidInput, match="future"):
        cards.record_review(student, deck[0].pk, "good", client_seq="x2", reviewed_at=T0 + timedelta(hours=1), at=T0)
    with pytest.raises(InvalidInput, match="days ago"):
        cards.record_review(student, deck[0].pk, "good", client_seq="x3", reviewed_at=T0 - timedelta(days=30), at=T0)
    with pytest.raises(InvalidInput, match="time zone"):
        cards.record_review(student, deck[0].pk, "good", client_seq="x4", reviewed_at=T0.replace(tzinfo=None), at=T0)
    for bad in ("5", "", "meh", None):
        with pytest.raises(InvalidInput, match="grade"):
            cards.record_review(student, deck[0].pk, bad, client_seq="x5", at=T0)
    with pytest.raises(InvalidInput, match="client_seq"):
        cards.record_review(student, deck[0].pk, "good", client_seq="", at=T0)
    assert not CardReview.objects.exists() and not CardState.objects.exists()


def test_an_offline_review_keeps_its_time(student, deck):
    done = cards.record_review(student, deck[0].pk, "good", client_seq="off", reviewed_at=T0 - timedelta(hours=5),
                               at=T0)
    assert done.review.reviewed_at == T0 - timedelta(hours=5) and done.review.recorded_at == T0


def _wrong_answer(student, item):
    return record_answer(student, item.pk, None, 1, "tok-wrong").response


def test_make_a_card_from_a_wrong_answer_is_personal_and_idempotent(student, other_student, item):
    response = _wrong_answer(student, item)
    made = cards.make_card_from_answer(student, response.pk, at=T0)
    again = cards.make_card_from_answer(student, response.pk, at=T0)
    assert made.created and not again.created and made.card.pk == again.card.pk
    card = made.card
    assert card.external_id == f"personal-{student.pk}-{item.pk}" and card.kind == "basic"
    assert "basal crackles" in card.front and "congestion fastest" in card.front
    assert card.back.startswith("Furosemide") and "first-line for congestion" in card.back
    assert card.competency.code == "cardio.hf" and PersonalCard.objects.get().learner == student
    assert card in cards.visible_cards(student) and card not in cards.visible_cards(other_student)
    with pytest.raises(NotFound):
        cards.record_review(other_student, card.pk, "good", client_seq="peek", at=T0)
    with pytest.raises(NotFound):
        cards.make_card_from_answer(other_student, response.pk)


def test_no_card_from_a_right_answer(student, item):
    right = record_answer(student, item.pk, None, 0, "tok-right").response
    with pytest.raises(InvalidInput):
        cards.make_card_from_answer(student, right.pk)
    assert not PersonalCard.objects.exists() and ItemResponse.objects.count() == 1


def _backlog(student, n: int, *, overdue_days: int = 14):
    """n cards in review, all overdue by about two weeks."""
    from medtutor.content.models import Card, Competency

    hf = Competency.objects.get(code="cardio.hf")
    made = Card.objects.bulk_create([Card(external_id=f"b-{i}", front=f"Q{i}", back="A", competency=hf)
                                     for i in range(n)])
    last = T0 - timedelta(days=overdue_days + 10)
    CardState.objects.bulk_create([
        CardState(learner=student, card=c, phase=int(Phase.REVIEW), stability_days=5 + i % 20, difficulty=5.0,
                  due_at=T0 - timedelta(days=overdue_days - i % overdue_days), last_review_at=last, reps=3)
        for i, c in enumerate(made)])
    return made


def test_catch_up_plan_is_saved_and_audited(student, deck):
    _backlog(student, 300)
    settings, plan = cards.save_deck_settings(student, 50, 10, at=T0)
    assert DeckSettings.objects.get(learner=student).daily_cap == 50 and plan.backlog == 300
    assert plan.peak <= 50 and plan.new_cards_paused and plan.days_to_clear == 6
    decision = AuditRecord.objects.get(model_name="catchup-planner")
    assert decision.model_version == "1" and decision.confidence is None and decision.kind == "decision"
    assert decision.output["backlog"] == 300 and decision.inputs_digest and "New cards are paused" in decision.explanation
    assert settings.plan_decision_id == decision.pk
    # the queue follows the plan: no new cards while paused, overdue cards first
    entries = cards.queue(student, at=T0, limit=60)
    assert len(entries) == 50 and all(not e.is_new for e in entries)
    assert cards.due_count(student, at=T0) == 300


@pytest.mark.parametrize("cap", [0, 4, 5000, "50"])
def test_a_bad_cap_is_refused_and_nothing_is_recorded(student, cap):
    with pytest.raises(InvalidInput):
        cards.save_deck_settings(student, cap, 10, at=T0)
    assert not DeckSettings.objects.exists() and not AuditRecord.objects.filter(model_name="catchup-planner").exists()


def test_reviews_today_count_against_the_cap(student, deck):
    _backlog(student, 12)
    cards.save_deck_settings(student, 10, 5, at=T0)
    for i, entry in enumerate(cards.queue(student, at=T0, limit=3)):
        cards.record_review(student, entry.card.pk, "good", client_seq=f"r{i}", expected_version=entry.version,
                            at=T0 + timedelta(seconds=i))
    assert cards.plan_for(student, T0 + timedelta(minutes=1)).days[0].total == 7


def test_personal_cards_stay_out_of_the_bank_export_and_counts(student, item, faculty):
    from medtutor.content.models import Card
    from medtutor.content.services import export_bundle
    from medtutor.learning import cards as card_services
    from medtutor.learning.services import record_answer

    wrong = record_answer(student, item.pk, None, 1, "wrong-for-card").response
    card_services.make_card_from_answer(student, wrong.pk)
    assert Card.objects.filter(external_id__startswith="personal-").count() == 1
    assert not Card.objects.shared().filter(external_id__startswith="personal-").exists()
    assert all(not c.external_id.startswith("personal-") for c in export_bundle().cards)
