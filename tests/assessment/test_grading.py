"""Short answers in exams: autosaved text, grading at submission (audited), the faculty review queue."""

from __future__ import annotations

import pytest

from medtutor.accounts.models import ApiToken, Cohort, Role
from medtutor.assessment import grading_services, services
from medtutor.assessment.engine import shortanswer as sa
from medtutor.assessment.models import Attempt, AttemptItem, GradeStatus, ShortAnswerResponse
from medtutor.content.importers import records as rec
from medtutor.content.models import Item, ItemKind
from medtutor.content.services import save_item
from medtutor.core.audit import verify_chain
from medtutor.core.models import AuditKind, AuditRecord
from tests.assessment.factories import T0, make_exam, make_items

REFERENCE = "Furosemide is a loop diuretic that blocks the Na-K-2Cl cotransporter and so lowers preload."
POINT_ALT = "inhibits NKCC2"
GOOD = "It is a loop diuretic. It inhibits NKCC2 in the loop of Henle and lowers preload."
POOR = "It slows the heart rate."


def make_short_item(external_id: str = "sa-1", *, actor=None) -> Item:
    save_item(None, rec.ItemRecord(external_id=external_id, stem="A man has acute pulmonary oedema.",
                                   lead_in="How does furosemide relieve his congestion?", options=(), key=None,
                                   kind=ItemKind.SHORT, answers=(rec.ShortAnswerRecord(REFERENCE, 1.0),)),
              actor=actor)
    item = Item.objects.get(external_id=external_id)
    rubric = grading_services.parse_rubric(
        REFERENCE, f"1 | loop diuretic\n2 | blocks the Na-K-2Cl cotransporter | {POINT_ALT}\n1 | lowers preload", "4")
    grading_services.save_rubric(item, rubric, actor=actor)
    item.refresh_from_db()
    return item


@pytest.fixture
def short_item(outline, faculty):
    return make_short_item(actor=faculty)


@pytest.fixture
def exam(short_item, faculty):
    mcq = make_items(1, actor=faculty)
    exam = make_exam([*mcq, short_item], time_limit_minutes=60, shuffle_items=False)
    return exam


def _short_position(attempt: Attempt) -> int:
    return next(ai.position for ai in attempt.items.select_related("item_version") if not ai.option_order)


def _sit(client, student, exam, text: str, *, submit: bool = True) -> Attempt:
    client.force_login(student)
    assert client.post(f"/exams/{exam.pk}/start/").status_code == 302
    attempt = Attempt.objects.get(exam=exam, student=student, submitted_at__isnull=True)
    saved = client.post(f"/attempts/{attempt.pk}/q/{_short_position(attempt)}/",
                        {"seq": 5, "answer_text": text}, HTTP_ACCEPT="application/json")
    assert saved.status_code == 200 and saved.json()["status"] == "saved" and saved.json()["answered"]
    if submit:
        assert client.post(f"/attempts/{attempt.pk}/submit/").status_code == 302
    attempt.refresh_from_db()
    return attempt


def test_authoring_a_short_item_with_its_rubric(client, outline, faculty):
    client.force_login(faculty)
    bad = client.post("/grading/items/new/", {"external_id": "sa-new", "stem": "Why?", "references": "",
                                              "points": "", "max_points": "2"})
    assert bad.status_code == 400 and "references" in bad.content.decode()
    assert not Item.objects.filter(external_id="sa-new").exists()
    response = client.post("/grading/items/new/", {
        "external_id": "sa-new", "stem": "Name the first-line drug for anaphylaxis.", "lead_in": "",
        "references": "Intramuscular adrenaline", "points": "2 | adrenaline | epinephrine\n1 | intramuscular | IM",
        "max_points": "3"})
    item = Item.objects.get(external_id="sa-new")
    assert response.status_code == 302 and response["Location"] == f"/grading/items/{item.pk}/rubric/"
    version = item.current_version
    assert version.max_points == 3.0 and version.answers[0]["text"] == "Intramuscular adrenaline"
    assert version.rubric[0] == {"text": "adrenaline", "weight": 2.0, "alternatives": ["epinephrine"]}
    page = client.get(f"/grading/items/{item.pk}/rubric/").content.decode()
    assert "2 | adrenaline | epinephrine" in page
    # a bad weight names the line and changes nothing
    bad = client.post(f"/grading/items/{item.pk}/rubric/", {"references": "x", "points": "two | x", "max_points": "3"})
    assert bad.status_code == 400 and "points line 1" in bad.content.decode()
    assert Item.objects.get(pk=item.pk).current_version_id == version.pk
    # editing the item's words elsewhere keeps its rubric
    save_item(item, rec.ItemRecord(external_id="sa-new", stem="Name the first-line drug in anaphylaxis.",
                                   lead_in="", options=(), key=None, kind=ItemKind.SHORT,
                                   answers=(rec.ShortAnswerRecord("Intramuscular adrenaline", 1.0),)), actor=faculty)
    assert Item.objects.get(pk=item.pk).current_version.rubric == version.rubric


def test_open_attempt_shows_no_reference_rubric_or_score_in_html_or_api(fake_clock, client, student, exam):
    attempt = _sit(client, student, exam, GOOD, submit=False)
    position = _short_position(attempt)
    page = client.get(f"/attempts/{attempt.pk}/q/{position}/").content.decode()
    assert GOOD in page and 'name="answer_text"' in page
    for secret in (REFERENCE, "cotransporter", "Na-K-2Cl", "points", "confidence"):
        assert secret not in page, secret
    token = ApiToken.issue(student, "t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    put = client.put(f"/api/v1/attempts/{attempt.pk}/items/{position}", {"seq": 6, "text": GOOD + " Edited."},
                     content_type="application/json", **auth)
    assert put.status_code == 200 and put.json()["status"] == "saved"
    api = client.get(f"/api/v1/attempts/{attempt.pk}", **auth)
    assert [i["text"] for i in api.json()["items"] if "text" in i] == [GOOD + " Edited."]
    api = api.content.decode()
    assert REFERENCE not in api and "cotransporter" not in api and "Na-K-2Cl" not in api and '"score_correct"' not in api
    assert not ShortAnswerResponse.objects.exclude(status=GradeStatus.PENDING).exists()
    # replaying an older save changes nothing
    stale = client.post(f"/attempts/{attempt.pk}/q/{position}/", {"seq": 3, "answer_text": "overwritten?"},
                        HTTP_ACCEPT="application/json")
    assert stale.json()["status"] == "stale"
    assert ShortAnswerResponse.objects.get().text == GOOD + " Edited."


def test_cold_start_grades_go_to_review_with_an_audited_decision(fake_clock, client, student, exam):
    attempt = _sit(client, student, exam, GOOD)
    response = ShortAnswerResponse.objects.get(attempt_item__attempt=attempt)
    assert response.status == GradeStatus.NEEDS_REVIEW and response.final_score is None
    assert response.auto_score == 4.0 and response.confidence == 0.0
    assert [p["matched"] for p in response.matched_points] == [True, True, True]
    decision = response.decision
    assert decision.kind == AuditKind.DECISION and decision.action == "asag.grade"
    assert decision.model_name == sa.GRADER_NAME and decision.model_version == sa.COLD_START_VERSION
    assert decision.confidence == 0.0 and "loop diuretic" in decision.explanation
    assert decision.subject_id == str(response.pk)
    # the student sees a provisional grade with the points hit and missed, and the reference, after submission
    report = client.get(f"/attempts/{attempt.pk}/report/").content.decode()
    assert "Provisional grade" in report and "4 of 4 points" in report and REFERENCE in report
    assert "AI grader" in report


def _with_cohort_exam(exam, member):
    cohort = Cohort.objects.create(code="y1", name="Year 1")
    exam.cohorts.add(cohort)
    cohort.members.add(member)
    return cohort


def test_review_queue_is_for_faculty_of_the_exam_only(fake_clock, client, student, other_student, faculty,
                                                      make_user, exam):
    _with_cohort_exam(exam, student)
    exam.created_by = None
    exam.save()
    attempt = _sit(client, student, exam, GOOD)
    response = ShortAnswerResponse.objects.get(attempt_item__attempt=attempt)
    # students never reach the queue, nor another student's answers
    client.force_login(other_student)
    assert client.get("/grading/").status_code == 403
    assert client.get(f"/attempts/{attempt.pk}/report/").status_code == 404
    # faculty outside the exam's cohorts see nothing and cannot act on it
    client.force_login(faculty)
    page = client.get("/grading/")
    assert page.status_code == 200 and GOOD not in page.content.decode()
    refused = client.post("/grading/", {"response": [response.pk], "action": "confirm"})
    assert refused.status_code == 404
    assert ShortAnswerResponse.objects.get(pk=response.pk).status == GradeStatus.NEEDS_REVIEW
    # faculty of the cohort see the answer, the reference, the matched points, score and confidence
    exam.cohorts.first().members.add(faculty)
    page = client.get(f"/grading/?exam={exam.pk}").content.decode()
    assert GOOD in page and REFERENCE in page and "loop diuretic" in page and "confidence 0.00" in page
    admin = make_user("adm2", Role.ADMIN)
    client.force_login(admin)
    assert GOOD in client.get("/grading/").content.decode()


def test_bulk_confirm_and_override_are_audited_and_rescore_the_attempt(fake_clock, client, student,
                                                                      other_student, faculty, exam):
    first = _sit(client, student, exam, GOOD)
    second = _sit(client, other_student, exam, POOR)
    responses = {r.attempt_item.attempt_id: r for r in ShortAnswerResponse.objects.select_related("attempt_item")}
    assert first.score_total == 2
    correct_before = Attempt.objects.get(pk=first.pk).score_correct
    client.force_login(faculty)
    # an override without a reason is refused and nothing changes
    refused = client.post("/grading/", {"response": [responses[second.pk].pk], "action": "override", "score": "1"})
    assert refused.status_code == 400 and "reason" in refused.content.decode()
    assert ShortAnswerResponse.objects.get(pk=responses[second.pk].pk).status == GradeStatus.NEEDS_REVIEW
    # a score above the maximum names the field
    refused = client.post("/grading/", {"response": [responses[second.pk].pk], "action": "override", "score": "9",
                                        "reason": "partial"})
    assert refused.status_code == 400 and "score" in refused.content.decode()
    done = client.post("/grading/", {"response": [responses[first.pk].pk], "action": "confirm"})
    assert done.status_code == 302
    done = client.post("/grading/", {"response": [responses[second.pk].pk], "action": "override", "score": "0.5",
                                     "reason": "Names no diuretic effect"})
    assert done.status_code == 302
    confirmed = ShortAnswerResponse.objects.get(pk=responses[first.pk].pk)
    overridden = ShortAnswerResponse.objects.get(pk=responses[second.pk].pk)
    assert confirmed.status == GradeStatus.CONFIRMED and confirmed.final_score == 4.0 and confirmed.reviewer == faculty
    assert overridden.status == GradeStatus.OVERRIDDEN and overridden.final_score == 0.5
    assert AuditRecord.objects.filter(action="asag.grade.confirmed", subject_id=str(confirmed.pk),
                                      actor=faculty).exists()
    override = AuditRecord.objects.get(kind=AuditKind.OVERRIDE, overrides=overridden.decision)
    assert override.actor == faculty and override.explanation == "Names no diuretic effect"
    assert override.output["score"] == 0.5 and override.model_version == overridden.grader_version
    assert verify_chain().ok
    # the attempt's score follows the review: the confirmed 4/4 now counts
    assert Attempt.objects.get(pk=first.pk).score_correct == correct_before + 1
    assert AttemptItem.objects.get(pk=confirmed.attempt_item_id).is_correct is True
    assert AttemptItem.objects.get(pk=overridden.attempt_item_id).is_correct is False
    # the student now sees the final grade, no longer provisional, with the faculty comment on an override
    client.force_login(other_student)
    report = client.get(f"/attempts/{second.pk}/report/").content.decode()
    assert "Provisional grade" not in report and "0.5 of 4 points" in report and "Names no diuretic effect" in report
    assert client.get("/grading/?status=all").status_code == 403
    # the exam's other faculty pages still work with a short-answer item in it
    client.force_login(faculty)
    for page in (f"/exams/{exam.pk}/analysis/", f"/exams/{exam.pk}/monitor/", f"/exams/{exam.pk}/",
                 f"/attempts/{second.pk}/report/", "/grading/?status=all"):
        assert client.get(page).status_code == 200, page


def test_learned_grader_takes_over_once_faculty_have_graded_enough(fake_clock, settings, tmp_path, student,
                                                                   faculty, short_item, exam):
    """With enough confirmed grades the learned grader decides; a confident grade counts at once."""
    settings.MEDTUTOR_ASAG_MODEL_DIR = str(tmp_path / "asag")
    version = short_item.current_version
    texts = [(GOOD, 4.0), ("loop diuretic that lowers preload", 2.5), (POOR, 0.0), ("a diuretic", 1.0),
             ("blocks NKCC2, a loop diuretic", 3.0), ("", 0.0), ("it lowers preload by diuresis", 2.0)]
    past = make_exam([short_item], title="Last year's paper")
    attempts = Attempt.objects.bulk_create([
        Attempt(exam=past, student=student, number=n + 1, mode=past.mode, seed=n, started_at=T0, submitted_at=T0)
        for n in range(35)])
    items = AttemptItem.objects.bulk_create([AttemptItem(attempt=a, position=1, item_version=version)
                                             for a in attempts])
    ShortAnswerResponse.objects.bulk_create([
        ShortAnswerResponse(attempt_item=ai, text=texts[n % len(texts)][0] + ("" if n < 7 else f" ({n})"),
                            max_score=4.0, final_score=texts[n % len(texts)][1], status=GradeStatus.CONFIRMED,
                            reviewed_at=T0) for n, ai in enumerate(items)])
    assert grading_services.current_grader(fit=False) is None  # nothing fit yet, and a submission will not wait
    grader = grading_services.current_grader()
    assert grader is not None and grading_services.current_grader() is grader  # cached until grades change
    saved = list((tmp_path / "asag").glob("grader-*.pkl"))
    assert len(saved) == 1
    # another process (an empty cache) loads the saved grader instead of fitting again
    grading_services._cache.update(key=None, grader=None, path=None)
    reloaded = grading_services.current_grader(fit=False)
    assert reloaded is not grader and reloaded.grade(grading_services.question_for(version), GOOD) == \
        grader.grade(grading_services.question_for(version), GOOD)
    settings.MEDTUTOR_ASAG_REVIEW_THRESHOLD = 0.0
    attempt = services.start_attempt(student, exam.pk)
    position = _short_position(attempt)
    services.save_response(student, attempt.pk, position, services.ItemChange(seq=1, text=GOOD))
    services.submit_attempt(student, attempt.pk)
    response = ShortAnswerResponse.objects.get(attempt_item__attempt=attempt)
    assert response.grader_version == sa.GRADER_VERSION and response.status == GradeStatus.AUTO
    assert response.final_score == response.auto_score and response.auto_score >= 3.0
    assert response.decision.confidence == response.confidence


def test_tutor_mode_grades_a_short_answer_at_once_and_locks_it(fake_clock, client, student, short_item):
    from medtutor.assessment.models import ExamMode

    tutor = make_exam([short_item], mode=ExamMode.TUTOR, time_limit_minutes=None, title="Tutor short")
    client.force_login(student)
    client.post(f"/exams/{tutor.pk}/start/")
    attempt = Attempt.objects.get(exam=tutor)
    empty = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 1, "answer_text": " ", "action": "check"})
    assert empty.status_code == 400 and "write an answer first" in empty.content.decode()
    client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 2, "answer_text": GOOD, "action": "check"})
    page = client.get(f"/attempts/{attempt.pk}/q/1/").content.decode()
    assert "Provisional grade" in page and "4 of 4 points" in page and REFERENCE in page and "readonly" in page
    response = ShortAnswerResponse.objects.get(attempt_item__attempt=attempt)
    assert response.status == GradeStatus.NEEDS_REVIEW and response.decision is not None
    locked = client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 3, "answer_text": "changed my mind"},
                         HTTP_ACCEPT="application/json")
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]
    # submission keeps the grade already given (one decision per answer)
    services.submit_attempt(student, attempt.pk)
    assert AuditRecord.objects.filter(action="asag.grade", subject_id=str(response.pk)).count() == 1


def test_a_confident_tutor_mode_grade_counts_once_in_the_score(fake_clock, settings, client, student, short_item):
    from medtutor.assessment.models import ExamMode

    settings.MEDTUTOR_ASAG_REVIEW_THRESHOLD = 0.0  # every grade counts without review
    tutor = make_exam([short_item, *make_items(1)], mode=ExamMode.TUTOR, time_limit_minutes=None,
                      shuffle_items=False)
    client.force_login(student)
    client.post(f"/exams/{tutor.pk}/start/")
    attempt = Attempt.objects.get(exam=tutor)
    client.post(f"/attempts/{attempt.pk}/q/1/", {"seq": 1, "answer_text": GOOD, "action": "check"})
    assert ShortAnswerResponse.objects.get().status == GradeStatus.AUTO
    submitted = services.submit_attempt(student, attempt.pk)
    assert (submitted.score_correct, submitted.score_total) == (1, 2)
    assert services.report(submitted).correct == 1
