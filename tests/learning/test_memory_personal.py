"""Personal FSRS weights in the app: fitted on demand (audited), used for scheduling, reset by the student."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from medtutor.cli import app
from medtutor.core.models import AuditRecord
from medtutor.learning import cards
from medtutor.learning.engine.memory import DEFAULT_PARAMS, Grade, MemoryParams
from medtutor.learning.models import CardReview, DeckSettings
from tests.learning.conftest import T0

SLOW_FORGETTING = tuple(w * 3 if i in (0, 1, 2, 3) else w for i, w in enumerate(DEFAULT_PARAMS.weights))


def test_defaults_until_weights_are_adopted(student, deck):
    assert cards.memory_params(student) is DEFAULT_PARAMS
    DeckSettings.objects.create(learner=student, memory_weights=list(SLOW_FORGETTING))
    assert cards.memory_params(student) == MemoryParams(weights=SLOW_FORGETTING)


def test_invalid_stored_weights_fall_back_to_the_defaults(student):
    DeckSettings.objects.create(learner=student, memory_weights=[1.0, 2.0])
    assert cards.memory_params(student) is DEFAULT_PARAMS


def test_personal_weights_change_the_schedule(student, other_student, deck):
    DeckSettings.objects.create(learner=student, memory_weights=list(SLOW_FORGETTING))
    mine = cards.record_review(student, deck[0].pk, "easy", client_seq="m", at=T0)
    theirs = cards.record_review(other_student, deck[0].pk, "easy", client_seq="t", at=T0)
    # A first "Easy" goes straight to review with the initial stability w[3]: three times longer.
    assert mine.state.stability_days == pytest.approx(3 * theirs.state.stability_days)
    assert mine.interval > theirs.interval
    assert mine.next_intervals()[Grade.GOOD] > theirs.next_intervals()[Grade.GOOD]


def test_fitting_with_too_few_reviews_keeps_the_defaults_and_is_audited(student, deck):
    cards.record_review(student, deck[0].pk, "good", client_seq="a", at=T0)
    fit = cards.personalise_memory(student, at=T0 + timedelta(hours=1))
    settings = DeckSettings.objects.get(learner=student)
    assert not fit.adopted and settings.memory_weights is None
    assert settings.memory_fit_summary["recall_reviews"] == 0 and "at least" in settings.memory_fit_summary["reason"]
    decision = settings.memory_fit_decision
    assert decision.kind == "decision" and decision.model_name == "fsrs-optimizer"
    assert decision.model_version.startswith("py-fsrs ") and decision.explanation == fit.reason


def test_reset_goes_back_to_the_defaults_and_is_logged(student):
    DeckSettings.objects.create(learner=student, memory_weights=list(SLOW_FORGETTING))
    cards.reset_memory_weights(student)
    assert cards.memory_params(student) is DEFAULT_PARAMS
    assert AuditRecord.objects.filter(action="cards.memory.reset", actor=student).exists()


def test_deck_page_fit_and_reset_buttons(client, student, deck):
    client.force_login(student)
    page = client.get("/cards/").content.decode()
    assert "default FSRS weights" in page and "Fit my memory model" in page and "Back to the defaults" not in page
    response = client.post("/cards/memory/", {"action": "fit"}, follow=True)
    assert "need at least" in response.content.decode() or "needs at least" in response.content.decode()
    assert DeckSettings.objects.get(learner=student).memory_fit_at is not None
    DeckSettings.objects.filter(learner=student).update(memory_weights=list(SLOW_FORGETTING))
    page = client.get("/cards/").content.decode()
    assert "personal FSRS weights" in page and "Back to the defaults" in page
    client.post("/cards/memory/", {"action": "reset"})
    assert DeckSettings.objects.get(learner=student).memory_weights is None


def test_faculty_cannot_fit_a_memory_model(client, faculty):
    client.force_login(faculty)
    assert client.post("/cards/memory/", {"action": "fit"}).status_code == 403


def test_cli_personalise(student, deck):
    runner = CliRunner()
    result = runner.invoke(app, ["cards", "personalise", student.username])
    assert result.exit_code == 0, result.output
    assert "default weights" in result.output
    assert runner.invoke(app, ["cards", "personalise"]).exit_code != 0
    assert "no student" in runner.invoke(app, ["cards", "personalise", "nobody-here"]).output
    result = runner.invoke(app, ["cards", "personalise", "--all"])
    assert result.exit_code == 0 and "no student has" in result.output
    assert CardReview.objects.count() == 0
