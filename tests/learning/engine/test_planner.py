from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.learning.engine.planner import PlanInput, plan, to_ics

TODAY = date(2026, 11, 2)


def _input(**overrides):
    values = dict(today=TODAY, exam_date=date(2026, 11, 30), minutes_per_day=60,
                  weights={"cardio": 2.0, "resp": 1.0, "renal": 1.0},
                  mastery={"cardio": 0.2, "resp": 0.8, "renal": 0.5}, reviews_due=[40, 10, 5])
    values.update(overrides)
    return PlanInput(**values)


def test_every_day_until_the_exam_within_budget_reviews_first():
    days = plan(_input())
    assert [d.day for d in days][0] == TODAY and len(days) == 28
    assert all(d.minutes <= 60 for d in days)
    assert days[0].tasks[0].kind == "review" and days[0].tasks[0].count == 40


def test_weak_heavy_competencies_get_the_most_time():
    minutes = {}
    for day in plan(_input()):
        for task in day.tasks:
            if task.competency:
                minutes[task.competency] = minutes.get(task.competency, 0) + task.minutes
    assert minutes["cardio"] > minutes["renal"] > minutes["resp"]


def test_last_days_have_no_new_material():
    days = plan(_input())
    assert all(t.kind != "new" for d in days[-3:] for t in d.tasks)


def test_replanning_after_progress_shifts_time():
    before = plan(_input())
    after = plan(_input(mastery={"cardio": 0.9, "resp": 0.8, "renal": 0.2}))
    def share(days, code):
        return sum(t.minutes for d in days for t in d.tasks if t.competency == code)
    assert share(after, "renal") > share(before, "renal") and share(after, "cardio") < share(before, "cardio")


@pytest.mark.parametrize("overrides,message", [
    ({"exam_date": TODAY}, "after today"), ({"minutes_per_day": 5}, "between 10 and 720"),
    ({"weights": {}}, "no competencies"), ({"weights": {"a": -1}}, "negative")])
def test_bad_input_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        plan(_input(**overrides))


@settings(max_examples=100, deadline=None)
@given(minutes=st.integers(10, 300), days=st.integers(1, 60),
       mastery=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(0, 1)),
       due=st.lists(st.integers(0, 2000), max_size=60))
def test_plans_never_exceed_the_daily_budget(minutes, days, mastery, due):
    from datetime import timedelta

    result = plan(PlanInput(TODAY, TODAY + timedelta(days=days), minutes, {"a": 1, "b": 2, "c": 0.5}, mastery, due))
    assert len(result) == days and all(d.minutes <= minutes for d in result)


def test_ics_is_valid_icalendar():
    text = to_ics(plan(_input()), created=datetime(2026, 11, 2, tzinfo=UTC))
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 28 and "DTSTART;VALUE=DATE:20261102" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
