"""The exam lifecycle with a fake clock: deadlines, autosave ordering, auto-submission, isolation."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from medtutor.accounts.models import Accommodation, Cohort
from medtutor.assessment import services
from medtutor.assessment.errors import AnswerLocked, AttemptClosed, DeadlinePassed
from medtutor.assessment.models import Attempt, AttemptItem, BlueprintRow, Exam, ExamBuild, ExamMode, SubmitReason
from medtutor.content.models import Competency
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.models import AuditRecord
from tests.assessment.factories import T0, make_exam, make_items

Change = services.ItemChange


@pytest.fixture
def items(outline, faculty):
    return make_items(6, actor=faculty)


@pytest.fixture
def exam(items):
    return make_exam(items, time_limit_minutes=60)


def _key_choice(attempt: Attempt, position: int) -> int:
    ai = attempt.items.get(position=position)
    return ai.option_order.index(ai.item_version.key_index)


def test_deadline_is_start_plus_limit_with_extra_time(fake_clock, exam, student):
    Accommodation.objects.create(user=student, extra_time_percent=50)
    attempt = services.start_attempt(student, exam.pk)
    assert attempt.started_at == T0
    assert attempt.deadline_at == T0 + timedelta(minutes=90)


def test_deadline_is_capped_by_close_time_unless_an_override_moves_it(fake_clock, exam, student, faculty):
    exam.closes_at = T0 + timedelta(minutes=20)
    exam.save()
    attempt = services.start_attempt(student, exam.pk)
    assert attempt.deadline_at == T0 + timedelta(minutes=20)
    services.set_override(exam, student, extra_attempts=0, closes_at=T0 + timedelta(hours=5), reason="illness",
                          actor=faculty)
    attempt.refresh_from_db()
    assert attempt.deadline_at == T0 + timedelta(minutes=60)  # the limit applies again, the close time no more
    assert AuditRecord.objects.filter(action="exam.override.set").count() == 1


def test_an_answer_after_the_deadline_is_refused_and_the_attempt_submitted(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    services.save_response(student, attempt.pk, 1, Change(seq=1, choice=_key_choice(attempt, 1)))
    fake_clock.advance(minutes=61)
    with pytest.raises(DeadlinePassed, match="after the deadline"):
        services.save_response(student, attempt.pk, 2, Change(seq=2, choice=0))
    attempt.refresh_from_db()
    assert attempt.submit_reason == SubmitReason.DEADLINE
    assert attempt.submitted_at == attempt.deadline_at
    assert (attempt.score_correct, attempt.score_total) == (1, 6)
    assert attempt.items.get(position=2).chosen_index is None
    record = AuditRecord.objects.get(action="exam.attempt.submitted")
    assert record.output["reason"] == "deadline" and record.actor is None


def test_an_attempt_left_alone_is_submitted_on_the_next_access(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    fake_clock.advance(hours=3)
    assert services.refresh(Attempt.objects.get(pk=attempt.pk)).is_submitted


def test_close_expired_submits_only_attempts_past_their_deadline(fake_clock, exam, items, student, other_student):
    Accommodation.objects.create(user=other_student, extra_time_percent=100)
    first = services.start_attempt(student, exam.pk)
    second = services.start_attempt(other_student, exam.pk)
    fake_clock.advance(minutes=61)
    assert services.close_expired() == 1
    assert Attempt.objects.get(pk=first.pk).is_submitted
    assert not Attempt.objects.get(pk=second.pk).is_submitted
    fake_clock.advance(minutes=60)
    from medtutor.cli import app

    result = CliRunner().invoke(app, ["exams", "close-expired"])
    assert result.exit_code == 0, result.output
    assert "closed 1 expired attempt" in result.output
    assert Attempt.objects.get(pk=second.pk).is_submitted
    assert services.close_expired() == 0


def test_close_expired_management_command(fake_clock, exam, student):
    from io import StringIO

    from django.core.management import call_command

    services.start_attempt(student, exam.pk)
    fake_clock.advance(days=1)
    out = StringIO()
    call_command("close_expired_attempts", stdout=out)
    assert "closed 1 expired attempt" in out.getvalue()


def _state(ai: AttemptItem) -> tuple:
    ai.refresh_from_db()
    return ai.chosen_index, ai.is_flagged, ai.note, tuple(ai.struck), ai.last_seq


def test_replayed_reordered_and_duplicated_autosaves_end_in_the_same_state(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    saves = [Change(seq=10, choice=0), Change(seq=11, choice=1, is_flagged=True),
             Change(seq=12, choice=1, is_flagged=True, note="check the ECG"),
             Change(seq=13, choice=2, is_flagged=True, note="check the ECG", struck=(0,)),
             Change(seq=14, choice=3, is_flagged=False, note="check the ECG again", struck=(0, 1))]
    ai = attempt.items.get(position=1)
    final_states = set()
    rng = random.Random(5)
    for _ in range(8):
        AttemptItem.objects.filter(pk=ai.pk).update(chosen_index=None, is_flagged=False, note="", struck=[],
                                                    last_seq=0, answered_at=None)
        stream = saves + rng.sample(saves, 3)  # some sent twice (retries)
        rng.shuffle(stream)
        statuses = [services.save_response(student, attempt.pk, 1, change).status for change in stream]
        assert statuses.count("saved") >= 1 and statuses.count("saved") + statuses.count("stale") < len(stream) + 1
        assert services.save_response(student, attempt.pk, 1, saves[-1]).status == "duplicate"
        final_states.add(_state(ai))
    order = ai.option_order
    assert final_states == {(order[3], False, "check the ECG again", tuple(sorted((order[0], order[1]))), 14)}


def test_a_second_tab_gets_the_same_attempt_and_the_newer_save_wins(fake_clock, exam, student):
    tab_a = services.start_attempt(student, exam.pk)
    tab_b = services.start_attempt(student, exam.pk)
    assert tab_a.pk == tab_b.pk and Attempt.objects.count() == 1
    assert services.save_response(student, tab_a.pk, 1, Change(seq=1_000, choice=0)).status == "saved"
    assert services.save_response(student, tab_b.pk, 1, Change(seq=2_000, choice=1)).status == "saved"
    late = services.save_response(student, tab_a.pk, 1, Change(seq=1_001, choice=2))
    assert late.status == "stale" and late.item.chosen_displayed == 1


def test_another_students_attempt_is_absent(fake_clock, exam, student, other_student, faculty):
    attempt = services.start_attempt(student, exam.pk)
    with pytest.raises(NotFound):
        services.save_response(other_student, attempt.pk, 1, Change(seq=1, choice=0))
    with pytest.raises(NotFound):
        services.attempt_for(other_student, attempt.pk)
    with pytest.raises(NotFound):
        services.submit_attempt(other_student, attempt.pk)
    with pytest.raises(NotFound):  # faculty read, but never write, a student's attempt
        services.save_response(faculty, attempt.pk, 1, Change(seq=1, choice=0))
    assert services.attempt_for(faculty, attempt.pk) == attempt


def test_nothing_changes_after_submission(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    services.submit_attempt(student, attempt.pk)
    with pytest.raises(AttemptClosed):
        services.save_response(student, attempt.pk, 1, Change(seq=5, choice=0))
    again = services.submit_attempt(student, attempt.pk)  # a double click: same result, one audit record
    assert again.submit_reason == SubmitReason.MANUAL
    assert AuditRecord.objects.filter(action="exam.attempt.submitted").count() == 1


def test_tutor_mode_reveals_after_answering_and_locks_the_answer(fake_clock, items, student):
    exam = make_exam(items, mode=ExamMode.TUTOR, time_limit_minutes=None)
    attempt = services.start_attempt(student, exam.pk)
    with pytest.raises(InvalidInput, match="choose an answer first"):
        services.reveal(student, attempt.pk, 1)
    services.save_response(student, attempt.pk, 1, Change(seq=1, choice=_key_choice(attempt, 1)))
    ai = services.reveal(student, attempt.pk, 1)
    assert ai.is_correct is True and ai.revealed_at == T0
    view = services.question_view(attempt, ai, total=6)
    assert view.key_letter and all(o.explanation for o in view.options)
    with pytest.raises(AnswerLocked):
        services.save_response(student, attempt.pk, 1, Change(seq=2, choice=(_key_choice(attempt, 1) + 1) % 4))
    # flag and note stay editable
    assert services.save_response(student, attempt.pk, 1, Change(seq=3, choice=_key_choice(attempt, 1),
                                                                 is_flagged=True)).status == "saved"


def test_timed_mode_never_reveals(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    services.save_response(student, attempt.pk, 1, Change(seq=1, choice=0))
    with pytest.raises(InvalidInput):
        services.reveal(student, attempt.pk, 1)
    view = services.question_view(attempt, attempt.items.get(position=1), total=6)
    assert not any(o.is_key or o.explanation for o in view.options) and view.key_letter == ""


def test_attempt_limits_and_extra_attempts(fake_clock, exam, student, faculty):
    attempt = services.start_attempt(student, exam.pk)
    services.submit_attempt(student, attempt.pk)
    with pytest.raises(AttemptClosed, match="used all 1 attempt"):
        services.start_attempt(student, exam.pk)
    services.set_override(exam, student, extra_attempts=1, closes_at=None, reason="", actor=faculty)
    second = services.start_attempt(student, exam.pk)
    assert second.number == 2 and second.seed != attempt.seed


def test_availability_window_and_cohorts(fake_clock, exam, student, other_student):
    exam.opens_at = T0 + timedelta(hours=1)
    exam.save()
    with pytest.raises(AttemptClosed, match="not opened yet"):
        services.start_attempt(student, exam.pk)
    fake_clock.advance(hours=2)
    cohort = Cohort.objects.create(code="y1", name="Year 1")
    cohort.members.add(student)
    exam.cohorts.add(cohort)
    assert services.start_attempt(student, exam.pk)
    with pytest.raises(NotFound):
        services.start_attempt(other_student, exam.pk)


def test_shuffled_forms_score_by_the_authored_key(fake_clock, exam, student):
    attempt = services.start_attempt(student, exam.pk)
    orders = [ai.option_order for ai in attempt.items.all()]
    assert any(order != sorted(order) for order in orders)
    for position in range(1, 7):
        choice = _key_choice(attempt, position) if position <= 4 else (_key_choice(attempt, position) + 1) % 4
        services.save_response(student, attempt.pk, position, Change(seq=1, choice=choice))
    done = services.submit_attempt(student, attempt.pk)
    assert (done.score_correct, done.score_total) == (4, 6)
    # The form is stable: the same attempt shows the same order after a reload.
    assert [ai.option_order for ai in Attempt.objects.get(pk=attempt.pk).items.all()] == orders


def test_report_has_breakdowns_percentile_and_time(fake_clock, exam, student, other_student):
    mine = services.start_attempt(student, exam.pk)
    theirs = services.start_attempt(other_student, exam.pk)
    for position in range(1, 4):
        fake_clock.advance(seconds=30)
        services.save_response(student, mine.pk, position, Change(seq=1, choice=_key_choice(mine, position),
                                                                  item_ms=30_000))
    services.submit_attempt(other_student, theirs.pk)
    report = services.report(services.submit_attempt(student, mine.pk))
    assert (report.correct, report.total, report.percent) == (3, 6, 50.0)
    assert report.percentile == 75.0 and report.cohort_size == 2
    assert [(r.label, r.correct, r.total) for r in report.by_competency] == [("Cardiovascular › Heart failure", 3, 6)]
    assert [(r.label, r.total) for r in report.by_discipline] == [("Pharmacology", 6)]
    assert report.seconds_total == 90 and report.items[0].seconds == 30
    assert all(r.view.key_letter and r.view.options[0].explanation for r in report.items)


def test_a_blueprint_exam_draws_each_attempt_its_own_form(fake_clock, outline, faculty, student, other_student):
    make_items(8, prefix="hf", competency="cardio.hf", difficulty="easy", actor=faculty)
    make_items(4, prefix="hfh", competency="cardio.hf", difficulty="hard", actor=faculty)
    make_items(6, prefix="as", competency="resp.asthma", difficulty="easy", actor=faculty)
    exam = Exam(title="Blueprint block", build=ExamBuild.BLUEPRINT, time_limit_minutes=30)
    rows = [{"competency": Competency.objects.get(code="cardio"), "difficulty": "hard", "count": 2},
            {"competency": Competency.objects.get(code="cardio.hf"), "difficulty": "", "count": 3},
            {"competency": Competency.objects.get(code="resp"), "difficulty": "", "count": 2}]
    services.save_exam(exam, actor=faculty, blueprint_rows=rows)
    forms = []
    for who in (student, other_student):
        attempt = services.start_attempt(who, exam.pk)
        external = [ai.item_version.item.external_id for ai in attempt.items.all()]
        assert len(external) == len(set(external)) == 7
        assert sum(e.startswith("hfh-") for e in external) >= 2
        assert sum(e.startswith("as-") for e in external) == 2
        forms.append(external)
    assert forms[0] != forms[1]
    assert AuditRecord.objects.filter(action="exam.created").count() == 1


def test_a_blueprint_the_bank_cannot_fill_is_refused_and_nothing_saved(fake_clock, outline, faculty):
    make_items(2, prefix="hf", competency="cardio.hf", actor=faculty)
    exam = Exam(title="Too big", build=ExamBuild.BLUEPRINT)
    with pytest.raises(InvalidInput) as error:
        services.save_exam(exam, actor=faculty, blueprint_rows=[
            {"competency": Competency.objects.get(code="cardio.hf"), "difficulty": "", "count": 5}])
    assert "cannot fill" in error.value.message and "asks for 5" in error.value.details[0]
    assert not Exam.objects.exists() and not BlueprintRow.objects.exists()
