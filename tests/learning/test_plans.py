"""The study plan: planned from the student's state, behind/ahead, .ics export, bad input, roles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord
from medtutor.learning import plans
from medtutor.learning.models import CardReview, CardState, ItemResponse, StudyPlan

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)   # a Monday


def answer(learner, item, at, correct=True, n=1, seconds=None, tag="a"):
    version = item.current_version
    for i in range(n):
        ItemResponse.objects.create(learner=learner, item_version=version, chosen_index=0 if correct else 1,
                                    is_correct=correct, client_token=f"{tag}-{at.isoformat()}-{i}",
                                    answered_at=at + timedelta(seconds=i), seconds_taken=seconds)


def test_plan_comes_from_mastery_weights_and_the_review_forecast(student, item):
    from medtutor.content.models import Card, Competency

    answer(student, item, T0 - timedelta(days=2), correct=True, n=8)   # cardio.hf well known
    card = Card.objects.create(external_id="c-1", kind="basic", front="Q?", back="A.",
                               competency=Competency.objects.get(code="cardio.hf"))
    CardState.objects.create(learner=student, card=card, phase=2, due_at=T0 + timedelta(days=1, hours=1),
                             last_review_at=T0 - timedelta(days=5), stability_days=6.0, reps=3)

    current = plans.save_plan(student, exam_date=date(2025, 3, 31), minutes_per_day=60, at=T0)

    assert len(current.days) == 28 and current.days[0].day == date(2025, 3, 3)
    # the card falling due tomorrow is reviewed tomorrow
    assert [t.count for t in current.days[1].tasks if t.kind == "review"] == [1]
    assert not [t for t in current.days[0].tasks if t.kind == "review"]
    # asthma (unknown) gets most of the new material even though cardio weighs twice as much
    minutes = {}
    for day in current.days:
        for task in day.tasks:
            if task.competency:
                minutes[task.competency] = minutes.get(task.competency, 0) + task.minutes
    assert minutes["resp.asthma"] > minutes.get("cardio.hf", 0)
    stored = StudyPlan.objects.get(learner=student)
    assert stored.minutes_per_day == 60 and len(stored.snapshot) == 28
    assert stored.snapshot[1][2] == 1   # one review expected on day 2
    record = AuditRecord.objects.get(pk=stored.decision_id)
    assert record.model_name == "study-planner" and record.model_version == "1.0"
    assert record.subject_id == str(student.pk) and record.confidence is None and record.explanation


def test_topic_weights_split_the_system_weight_over_its_topics(outline):
    from medtutor.content.models import Competency

    Competency.objects.create(code="cardio.ihd", name="Ischaemic heart disease",
                              parent=Competency.objects.get(code="cardio"))
    weights = plans.topic_weights(plans.outline_weights())
    assert weights == {"cardio.hf": 1.0, "cardio.ihd": 1.0, "resp.asthma": 1.0}


def test_custom_blueprint_is_stored_and_used(student, outline):
    current = plans.save_plan(student, exam_date=date(2025, 4, 1), minutes_per_day=30, blueprint="custom",
                              custom_weights={"cardio": 0.0, "resp": 5.0}, at=T0)
    assert StudyPlan.objects.get(learner=student).custom_weights == {"cardio": 0.0, "resp": 5.0}
    assert current.weights == {"cardio": 0.0, "resp": 5.0}
    topics = {t.competency for d in current.days for t in d.tasks if t.competency}
    assert topics == {"resp.asthma"}


@pytest.mark.parametrize("kwargs,message", [
    ({"exam_date": date(2025, 3, 1), "minutes_per_day": 60}, "after today"),
    ({"exam_date": date(2025, 3, 3), "minutes_per_day": 60}, "after today"),
    ({"exam_date": date(2028, 3, 3), "minutes_per_day": 60}, "two years"),
    ({"exam_date": date(2025, 4, 1), "minutes_per_day": 5}, "between 10 and 720"),
    ({"exam_date": date(2025, 4, 1), "minutes_per_day": 721}, "between 10 and 720"),
    ({"exam_date": date(2025, 4, 1), "minutes_per_day": 60, "blueprint": "custom",
      "custom_weights": {"cardio": -1, "resp": 1}}, "between 0"),
    ({"exam_date": date(2025, 4, 1), "minutes_per_day": 60, "blueprint": "nonsense"}, "blueprint"),
])
def test_bad_input_saves_nothing(student, outline, kwargs, message):
    before = AuditRecord.objects.count()
    with pytest.raises(InvalidInput, match=message):
        plans.save_plan(student, at=T0, **kwargs)
    assert not StudyPlan.objects.exists()
    assert AuditRecord.objects.count() == before


def test_behind_and_ahead_compare_work_since_saving_with_the_snapshot(student, item, deck):
    current = plans.save_plan(student, exam_date=date(2025, 3, 31), minutes_per_day=60, at=T0)
    assert current.progress.status == "on track"       # nothing is expected before the first day is over
    saved = StudyPlan.objects.get(learner=student)
    expected_first_two = sum(row[1] for row in saved.snapshot[:2])
    assert expected_first_two > 0

    later = T0 + timedelta(days=2)
    behind = plans.current_plan(student, at=later)
    assert behind.progress.status == "behind"
    assert behind.progress.questions_expected == expected_first_two and behind.progress.questions_done == 0
    # re-planned from now: starts today, ends the day before the exam
    assert behind.days[0].day == later.date() and behind.days[-1].day == date(2025, 3, 30)

    answer(student, item, T0 - timedelta(hours=1), n=50, tag="before")   # before saving: does not count
    assert plans.current_plan(student, at=later).progress.status == "behind"
    answer(student, item, T0 + timedelta(hours=3), n=expected_first_two, tag="on")
    assert plans.current_plan(student, at=later).progress.status == "on track"
    answer(student, item, T0 + timedelta(days=1), n=expected_first_two, tag="more")
    CardReview.objects.create(learner=student, card=deck[0], grade=3, reviewed_at=T0 + timedelta(days=1),
                              recorded_at=T0 + timedelta(days=1), client_seq="r1", previous={}, result={})
    ahead = plans.current_plan(student, at=later)
    assert ahead.progress.status == "ahead"
    assert ahead.progress.questions_done == 2 * expected_first_two and ahead.progress.reviews_done == 1


def test_plan_after_the_exam_has_no_days(student, outline):
    plans.save_plan(student, exam_date=date(2025, 3, 10), minutes_per_day=60, at=T0)
    assert plans.current_plan(student, at=T0 + timedelta(days=8)).days == []
    assert plans.current_plan(student, at=T0 + timedelta(days=1)).days[-1].day == date(2025, 3, 9)


# --- pages ---------------------------------------------------------------------------------------

def _future(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def test_plan_page_saves_and_shows_the_next_14_days(client, student, item):
    client.force_login(student)
    assert client.get("/plan/").status_code == 200
    response = client.post("/plan/", {"exam_date": _future(40), "minutes_per_day": "45", "blueprint": "outline",
                                      "weight_cardio": "2", "weight_resp": "1"})
    assert response.status_code == 302 and response["Location"] == "/plan/"
    page = client.get("/plan/")
    assert page.status_code == 200
    assert len(page.context["current"].days) == 40
    assert page.content.decode().count('<th scope="row"><time') == 14
    assert "on track" in page.content.decode()
    full = client.get("/plan/?all=1")
    assert full.content.decode().count('<th scope="row"><time') == 40


def test_plan_page_custom_weights(client, student, outline):
    client.force_login(student)
    response = client.post("/plan/", {"exam_date": _future(20), "minutes_per_day": "30", "blueprint": "custom",
                                      "weight_cardio": "0", "weight_resp": "3"})
    assert response.status_code == 302
    assert StudyPlan.objects.get(learner=student).custom_weights == {"cardio": 0.0, "resp": 3.0}


@pytest.mark.parametrize("data,field", [
    ({"exam_date": "2020-01-01", "minutes_per_day": "60"}, "exam_date"),
    ({"exam_date": "not a date", "minutes_per_day": "60"}, "exam_date"),
    ({"exam_date": "+40", "minutes_per_day": "5"}, "minutes_per_day"),
    ({"exam_date": "+40", "minutes_per_day": "1000"}, "minutes_per_day"),
    ({"exam_date": "+40", "minutes_per_day": "sixty"}, "minutes_per_day"),
    ({"exam_date": "+40", "minutes_per_day": "60", "weight_resp": "-2"}, "weight_resp"),
])
def test_plan_page_bad_input_shows_errors_and_saves_nothing(client, student, outline, data, field):
    client.force_login(student)
    data = {"blueprint": "outline", **data}
    if data["exam_date"] == "+40":
        data["exam_date"] = _future(40)
    response = client.post("/plan/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not StudyPlan.objects.exists()
    assert not AuditRecord.objects.filter(model_name="study-planner").exists()


def test_calendar_download_is_valid_ics(client, student, item):
    client.force_login(student)
    no_plan = client.get("/plan/calendar.ics")
    assert no_plan.status_code == 302 and no_plan["Location"] == "/plan/"
    client.post("/plan/", {"exam_date": _future(10), "minutes_per_day": "60", "blueprint": "outline"})
    response = client.get("/plan/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"].startswith("attachment;") and ".ics" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 10 == text.count("END:VEVENT")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "DTSTART;VALUE=DATE:" in text and "UID:medtutor-plan-" in text


@pytest.mark.parametrize("url", ["/plan/", "/plan/calendar.ics"])
def test_plan_pages_are_for_students_only(client, users, url):
    assert client.get(url).status_code == 302
    for role in ("faculty", "admin"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403
        client.logout()
