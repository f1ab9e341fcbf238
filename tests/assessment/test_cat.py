"""Adaptive exams end to end: calibration from response data, sitting a CAT, the report and its audit record."""

from __future__ import annotations

import numpy as np
import pytest

from medtutor.accounts.models import ApiToken
from medtutor.assessment import cat_services, services
from medtutor.assessment.models import (
    AdaptiveAttempt,
    AdaptiveSettings,
    Attempt,
    CalibrationRun,
    ExamMode,
    ItemCalibration,
)
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord
from tests.assessment.cat_factories import simulate_practice
from tests.assessment.factories import make_exam, make_items

SMALL = {"2pl": 40}  # tests calibrate on small samples; the defaults (200 per item) are tested separately


@pytest.fixture
def pool(outline, faculty):
    return make_items(12, prefix="cat", actor=faculty)


@pytest.fixture
def adaptive_exam(pool):
    exam = make_exam(pool, mode=ExamMode.ADAPTIVE, time_limit_minutes=None, title="Adaptive cardiology")
    AdaptiveSettings.objects.create(exam=exam, se_target=0.3, min_items=3, max_items=5)
    return exam


@pytest.fixture
def calibrated(adaptive_exam, pool, faculty):
    simulate_practice(pool, learners=60)
    return cat_services.calibrate_items(actor=faculty, item_ids=[i.pk for i in pool], min_responses=SMALL)


def test_calibration_is_refused_with_the_counts_when_data_are_too_few(adaptive_exam, pool, faculty):
    simulate_practice(pool, learners=25)
    with pytest.raises(InvalidInput, match="at least 200 answers per item and the best-covered item has 25"):
        cat_services.calibrate_items(actor=faculty, item_ids=[i.pk for i in pool])
    assert not CalibrationRun.objects.exists()


def test_calibration_recovers_difficulty_order_and_is_audited(adaptive_exam, pool, faculty):
    true_b = simulate_practice(pool, learners=150, seed=2)
    run = cat_services.calibrate_items(actor=faculty, item_ids=[i.pk for i in pool], min_responses={"2pl": 100})
    assert run.model == "2pl" and run.n_items == 12 and run.n_persons == 150 and run.n_responses == 1800
    estimated = {c.item_id: c.b for c in ItemCalibration.objects.filter(run=run)}
    assert np.corrcoef(true_b, [estimated[i.pk] for i in pool])[0, 1] > 0.95
    assert AuditRecord.objects.filter(action="exam.items.calibrated").count() == 1


def test_only_the_first_practice_answer_counts(adaptive_exam, pool, faculty):
    from datetime import timedelta

    from medtutor.learning.models import ItemResponse

    simulate_practice(pool[:1], learners=30, seed=1)
    first = {r.learner_id: r.is_correct for r in ItemResponse.objects.all()}
    ItemResponse.objects.bulk_create([  # a later practice round, every answer flipped
        ItemResponse(learner_id=r.learner_id, item_version=r.item_version, chosen_index=r.chosen_index,
                     is_correct=not r.is_correct, client_token="again", answered_at=r.answered_at + timedelta(days=1))
        for r in ItemResponse.objects.all()])
    columns, matrix, source = cat_services._response_matrix([pool[0].pk])
    assert columns == [pool[0].pk] and matrix.shape == (30, 1) and "30 first practice answers" in source
    assert matrix[:, 0].sum() == sum(first.values())


def test_items_short_of_data_are_left_out_and_named(adaptive_exam, pool, faculty):
    simulate_practice(pool[:10], learners=50)
    run = cat_services.calibrate_items(actor=faculty, item_ids=[i.pk for i in pool], min_responses=SMALL)
    assert run.n_items == 10
    assert any("2 item(s) left out" in note for note in run.notes)


def test_an_uncalibrated_adaptive_exam_cannot_start(client, student, adaptive_exam):
    with pytest.raises(InvalidInput, match="cannot start yet: Only 0 of the 12 pool items are calibrated"):
        services.start_attempt(student, adaptive_exam.pk)
    assert not Attempt.objects.exists()


def _key_texts(pool) -> list[str]:
    texts = []
    for item in pool:
        version = item.current_version
        texts += [o["explanation"] for o in version.options] + [version.explanation]
    return texts


def test_student_sits_an_adaptive_exam_one_item_at_a_time(client, student, adaptive_exam, calibrated, pool):
    client.force_login(student)
    response = client.post(f"/exams/{adaptive_exam.pk}/start/")
    attempt = Attempt.objects.get(exam=adaptive_exam)
    assert attempt.mode == ExamMode.ADAPTIVE and attempt.items.count() == 1
    page = client.get(response["Location"], follow=True)
    assert page.status_code == 200 and page.redirect_chain[-1][0] == f"/attempts/{attempt.pk}/adaptive/"
    html = page.content.decode()
    assert "Question 1" in html and "no going back" in html
    secrets = _key_texts(pool)
    assert not any(secret in html for secret in secrets)
    assert "Correct answer" not in html and "θ" not in html

    answered = 0
    while True:
        attempt.refresh_from_db()
        if attempt.is_submitted:
            break
        position = attempt.items.count()
        result = client.post(f"/attempts/{attempt.pk}/adaptive/", {"position": position, "choice": 0})
        assert result.status_code == 302
        answered += 1
        if not attempt.items.filter(position=position + 1).exists():
            continue
        html = client.get(f"/attempts/{attempt.pk}/adaptive/").content.decode()
        assert f"Question {position + 1}" in html and not any(secret in html for secret in secrets)
    assert 3 <= answered <= 5
    state = AdaptiveAttempt.objects.get(attempt=attempt)
    assert len(state.path) == answered and state.stop_reason in ("se", "max_items")
    ids = [step["item_id"] for step in state.path]
    assert len(set(ids)) == len(ids)
    report = client.get(f"/attempts/{attempt.pk}/report/", follow=True)
    html = report.content.decode()
    assert report.redirect_chain[-1][0] == f"/attempts/{attempt.pk}/adaptive/report/"
    assert "ability (θ" in html and "standard error" in html and "The path through the test" in html
    assert cat_services.MODEL_NAME in html
    decision = AuditRecord.objects.get(action="exam.adaptive.ability")
    assert decision.model_name == cat_services.MODEL_NAME and decision.model_version.startswith(cat_services.MODEL_VERSION)
    assert decision.output["items"] == answered and 0 <= decision.confidence <= 1
    client.get(f"/attempts/{attempt.pk}/adaptive/report/")
    assert AuditRecord.objects.filter(action="exam.adaptive.ability").count() == 1  # recorded once


def test_answers_are_final_replays_are_harmless_and_autosave_is_refused(client, student, adaptive_exam, calibrated):
    attempt = services.start_attempt(student, adaptive_exam.pk)
    first = cat_services.answer(student, attempt.pk, 1, 1)
    assert first.status == "saved" and first.position == 2
    assert cat_services.answer(student, attempt.pk, 1, 1).status == "duplicate"
    assert attempt.items.count() == 2
    client.force_login(student)
    changed = client.post(f"/attempts/{attempt.pk}/adaptive/", {"position": 1, "choice": 2})
    assert changed.status_code == 409 and "final" in changed.content.decode()
    assert attempt.items.get(position=1).chosen_displayed == 1
    # the linear exam's autosave cannot touch an adaptive attempt
    autosave = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 5, "choice": 3}, HTTP_ACCEPT="application/json")
    assert autosave.status_code == 409 and "one final answer" in autosave.json()["detail"]
    assert attempt.items.get(position=1).chosen_displayed == 1
    with pytest.raises(Exception, match="adaptive exams take one final answer"):
        services.save_response(student, attempt.pk, 2, services.ItemChange(seq=1, choice=0))
    # a missing choice is a clear error, nothing changes
    missing = client.post(f"/attempts/{attempt.pk}/adaptive/", {"position": 2})
    assert missing.status_code == 400 and "choice" in missing.content.decode()
    assert attempt.items.get(position=2).chosen_index is None


def test_the_api_shows_no_key_or_estimate_for_an_open_adaptive_attempt(client, student, adaptive_exam, calibrated, pool):
    attempt = services.start_attempt(student, adaptive_exam.pk)
    cat_services.answer(student, attempt.pk, 1, 0)
    token = ApiToken.issue(student, "t")[1]
    body = client.get(f"/api/attempts/{attempt.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert not any(secret in body for secret in _key_texts(pool))
    assert "theta" not in body and '"is_correct": true' not in body


def test_other_students_cannot_see_or_answer_an_adaptive_attempt(client, student, other_student, adaptive_exam,
                                                                 calibrated):
    attempt = services.start_attempt(student, adaptive_exam.pk)
    client.force_login(other_student)
    assert client.get(f"/attempts/{attempt.pk}/adaptive/").status_code == 404
    assert client.post(f"/attempts/{attempt.pk}/adaptive/", {"position": 1, "choice": 0}).status_code == 404
    assert client.get(f"/attempts/{attempt.pk}/adaptive/report/").status_code == 404
    assert attempt.items.get(position=1).chosen_index is None


def test_a_deadline_closes_the_attempt_and_still_records_the_estimate(fake_clock, student, adaptive_exam, calibrated):
    adaptive_exam.time_limit_minutes = 10
    adaptive_exam.save()
    attempt = services.start_attempt(student, adaptive_exam.pk)
    cat_services.answer(student, attempt.pk, 1, 0)
    fake_clock.advance(minutes=11)
    with pytest.raises(Exception, match="Time is up"):
        cat_services.answer(student, attempt.pk, 2, 0)
    attempt.refresh_from_db()
    assert attempt.is_submitted and attempt.submit_reason == "deadline"
    result = cat_services.report(attempt)
    assert result.n_items == 1 and "time ran out" in result.stop_reason


def test_faculty_pages_for_settings_and_calibration(client, faculty, student, adaptive_exam, pool):
    simulate_practice(pool, learners=30)
    client.force_login(faculty)
    page = client.get(f"/exams/{adaptive_exam.pk}/adaptive/")
    assert page.status_code == 200 and "Only 0 of the 12 pool items are calibrated" in page.content.decode()
    refused = client.post(f"/exams/{adaptive_exam.pk}/calibrate/", {"model": "auto"}, follow=True)
    assert "not enough response data" in refused.content.decode() and not CalibrationRun.objects.exists()
    bad = client.post(f"/exams/{adaptive_exam.pk}/adaptive/", {"se_target": 0.3, "min_items": 9, "max_items": 4,
                                                             "exposure": "randomesque", "randomesque_k": 5})
    assert bad.status_code == 400 and "at least the minimum" in bad.content.decode()
    saved = client.post(f"/exams/{adaptive_exam.pk}/adaptive/", {
        "competency": "cardio", "se_target": 0.25, "min_items": 4, "max_items": 8, "content_balancing": "on",
        "exposure": "none", "randomesque_k": 3})
    assert saved.status_code == 302
    settings = AdaptiveSettings.objects.get(exam=adaptive_exam)
    assert settings.competency.code == "cardio" and settings.max_items == 8 and settings.exposure == "none"
    client.force_login(student)
    assert client.get(f"/exams/{adaptive_exam.pk}/adaptive/").status_code == 403
    assert client.post(f"/exams/{adaptive_exam.pk}/calibrate/").status_code == 403


def test_faculty_can_override_the_estimate_and_students_cannot(client, faculty, student, adaptive_exam, calibrated):
    attempt = services.start_attempt(student, adaptive_exam.pk)
    while not Attempt.objects.get(pk=attempt.pk).is_submitted:
        position = attempt.items.count()
        cat_services.answer(student, attempt.pk, position, 0)
    client.force_login(student)
    assert client.post(f"/attempts/{attempt.pk}/adaptive/report/", {"theta": 2, "reason": "me"}).status_code == 403
    client.force_login(faculty)
    missing = client.post(f"/attempts/{attempt.pk}/adaptive/report/", {"theta": 0.4, "reason": " "})
    assert missing.status_code == 400 and "reason" in missing.content.decode()
    done = client.post(f"/attempts/{attempt.pk}/adaptive/report/", {"theta": 0.4, "reason": "Viva confirmed"},
                       follow=True)
    assert "Viva confirmed" in done.content.decode()
    override = AuditRecord.objects.get(action="ai.override")
    assert override.overrides.action == "exam.adaptive.ability" and override.output == {"theta": 0.4}
    client.force_login(student)
    assert "Faculty override" in client.get(f"/attempts/{attempt.pk}/adaptive/report/").content.decode()


def test_exam_pages_work_for_an_adaptive_exam(client, faculty, student, adaptive_exam, calibrated):
    attempt = services.start_attempt(student, adaptive_exam.pk)
    cat_services.answer(student, attempt.pk, 1, 0)
    client.force_login(student)
    assert client.get("/exams/").status_code == 200
    assert client.get(f"/exams/{adaptive_exam.pk}/").status_code == 200
    assert client.get(f"/attempts/{attempt.pk}/").url == f"/attempts/{attempt.pk}/adaptive/"
    assert client.get(f"/attempts/{attempt.pk}/submit/").url == f"/attempts/{attempt.pk}/adaptive/"
    # an adaptive exam ends by its stopping rule: submitting by hand (page or API) leaves it open
    assert client.post(f"/attempts/{attempt.pk}/submit/").url == f"/attempts/{attempt.pk}/adaptive/"
    refused = client.post(f"/api/v1/attempts/{attempt.pk}/submit")
    assert refused.status_code == 409 and "stopping rule" in refused.json()["detail"]
    assert not Attempt.objects.get(pk=attempt.pk).is_submitted
    client.force_login(faculty)
    for url in (f"/exams/{adaptive_exam.pk}/", f"/exams/{adaptive_exam.pk}/monitor/",
                f"/exams/{adaptive_exam.pk}/analysis/", f"/exams/{adaptive_exam.pk}/adaptive/",
                f"/exams/{adaptive_exam.pk}/standards/"):
        assert client.get(url).status_code == 200, url
    html = client.get(f"/exams/{adaptive_exam.pk}/adaptive/").content.decode()
    assert "12 of 12 pool items are calibrated" in html


def test_starting_an_uncalibrated_adaptive_exam_from_the_page_says_why(client, student, adaptive_exam):
    client.force_login(student)
    response = client.post(f"/exams/{adaptive_exam.pk}/start/")
    assert response.status_code == 400
    assert "Calibrate from response data first" in response.content.decode()
    assert not Attempt.objects.exists()


def test_calibrate_command(adaptive_exam, pool):
    from typer.testing import CliRunner

    from medtutor.cli import app

    refused = CliRunner().invoke(app, ["exams", "calibrate", "--exam", str(adaptive_exam.pk)])
    assert refused.exit_code == 2 and "not enough response data" in refused.output
    simulate_practice(pool, learners=210)
    done = CliRunner().invoke(app, ["exams", "calibrate", "--exam", str(adaptive_exam.pk), "--model", "2pl"])
    assert done.exit_code == 0, done.output
    assert "calibrated 12 items as 2PL" in done.output and "by 210 examinees" in done.output
    assert CalibrationRun.objects.get().created_by is None
    missing = CliRunner().invoke(app, ["exams", "calibrate", "--exam", "999999"])
    assert missing.exit_code == 2 and "there is no exam 999999" in missing.output


def test_a_blueprint_adaptive_exam_balances_competencies_by_the_blueprint(outline, faculty, student):
    from medtutor.assessment.models import BlueprintRow, Exam, ExamBuild
    from medtutor.content.models import Competency
    from tests.assessment.factories import T0

    heart = make_items(8, prefix="hf", actor=faculty)
    lungs = make_items(8, prefix="asthma", competency="resp.asthma", actor=faculty)
    simulate_practice(heart + lungs, learners=50, true_b=[0.0] * 8 + [2.5] * 8)  # asthma items far off-target
    cat_services.calibrate_items(actor=faculty, min_responses=SMALL)
    exam = Exam.objects.create(title="Blueprint CAT", mode=ExamMode.ADAPTIVE, build=ExamBuild.BLUEPRINT,
                               time_limit_minutes=None, created_at=T0, updated_at=T0)
    BlueprintRow.objects.create(exam=exam, competency=Competency.objects.get(code="cardio"), count=3)
    BlueprintRow.objects.create(exam=exam, competency=Competency.objects.get(code="resp"), count=1)
    AdaptiveSettings.objects.create(exam=exam, se_target=0.1, min_items=8, max_items=8, exposure="none")
    assert cat_services.pool_status(exam).calibrated == 16
    attempt = services.start_attempt(student, exam.pk)
    for position in range(1, 9):
        cat_services.answer(student, attempt.pk, position, 0)
    codes = [ai.item_version.item.competency.code for ai in attempt.items.select_related(
        "item_version__item__competency").order_by("position")]
    # maximum information alone would avoid the far-off asthma items; the blueprint asks for 1 in 4
    assert codes.count("resp.asthma") == 2 and codes.count("cardio.hf") == 6
    assert Attempt.objects.get(pk=attempt.pk).is_submitted
