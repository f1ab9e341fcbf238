"""The feature builder: hand-computed values, exclusions, and no information from after the day."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.analytics.engine.features import (
    FEATURE_NAMES, AssessmentDue, Course, Enrolment, Submission, cohort_features, features_at)
from medtutor.analytics.engine.oulad import load_oulad

from .oulad_fixture import write

SCHEDULE = (AssessmentDue("t1", "TMA", 10, 20.0), AssessmentDue("c1", "CMA", 30, 30.0),
            AssessmentDue("ex", "Exam", 200, 100.0))


def enrolment(**overrides) -> Enrolment:
    values = dict(learner_id="s1", course_id="AAA", presentation_id="2013J", registration_day=-20,
                  withdrawal_day=None, course_length=200, prior_attempts=1, credits=60.0, prior_education=2.0)
    values.update(overrides)
    return Enrolment(**values)


def same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_features_by_hand():
    subs = [Submission("t1", 9, 70.0)]
    f = features_at(enrolment(), SCHEDULE, subs, 14).as_dict()
    assert (f["n_due"], f["n_submitted"], f["n_missed"], f["n_early"], f["n_late"]) == (1, 1, 0, 1, 0)
    assert f["mean_score"] == f["weighted_score"] == f["last_score"] == 70
    assert f["earned_fraction"] == 0.7 and f["mean_lateness"] == -1
    assert f["days_since_last_activity"] == 5 and f["days_to_next_due"] == 16 and f["next_due_weight"] == 30
    assert f["registration_day"] == -20 and f["late_registration"] == 0
    assert f["prior_attempts"] == 1 and f["credits"] == 60 and f["prior_education"] == 2
    assert math.isnan(f["score_z"])  # no cohort given
    later = features_at(enrolment(), SCHEDULE, subs, 35).as_dict()
    assert (later["n_due"], later["n_missed"], later["missed_fraction"]) == (2, 1, 0.5)
    assert later["earned_fraction"] == 20 * 0.7 / 50  # the missed CMA earns nothing


def test_no_submission_yet_and_late_submission():
    empty = features_at(enrolment(), SCHEDULE, [], 5).as_dict()
    assert empty["n_submitted"] == 0 and math.isnan(empty["mean_score"]) and empty["n_due"] == 0
    assert empty["days_since_last_activity"] == 25  # since registration on day -20
    late = features_at(enrolment(), SCHEDULE, [Submission("t1", 13, 35.0)], 20).as_dict()
    assert late["n_late"] == 1 and late["max_lateness"] == 3 and late["n_below_pass"] == 1


def test_score_lag_hides_scores_not_yet_marked():
    f = features_at(enrolment(), SCHEDULE, [Submission("t1", 12, 80.0)], 14, score_lag_days=7).as_dict()
    assert f["n_submitted"] == 1 and math.isnan(f["mean_score"])


def test_late_registration_is_not_known_before_it_happens():
    f = features_at(enrolment(registration_day=20), SCHEDULE, [], 14).as_dict()
    assert math.isnan(f["registration_day"]) and f["late_registration"] == 0
    g = features_at(enrolment(registration_day=20), SCHEDULE, [], 28).as_dict()
    assert g["registration_day"] == 20 and g["late_registration"] == 1


def test_withdrawal_and_outcome_are_never_features():
    subs = [Submission("t1", 9, 70.0)]
    base = features_at(enrolment(), SCHEDULE, subs, 40).values
    assert same(base, features_at(enrolment(withdrawal_day=45, outcome="Withdrawn"), SCHEDULE, subs, 40).values)


def test_cohort_exclusions_on_the_fixture(tmp_path):
    data = load_oulad(write(tmp_path / "oulad"), ["2013J"])
    day14 = cohort_features(data.enrolments, data.courses, data.submissions, 14)
    # one withdrew on day -5 (before the start), one registers on day 20
    assert (day14.excluded_withdrawn, day14.excluded_not_registered, len(day14.rows)) == (1, 1, 20)
    kept = {e.learner_id for e in day14.enrolments}
    assert "190" not in kept and "191" not in kept
    day28 = cohort_features(data.enrolments, data.courses, data.submissions, 28)
    assert (day28.excluded_withdrawn, day28.excluded_not_registered, len(day28.rows)) == (1, 0, 21)
    late = next(r for r, e in zip(day28.rows, day28.enrolments) if e.learner_id == "191").as_dict()
    assert late["late_registration"] == 1 and late["registration_day"] == 20
    day100 = cohort_features(data.enrolments, data.courses, data.submissions, 100)
    assert day100.excluded_withdrawn == 1 + sum(1 for e in data.enrolments if e.withdrawal_day == 100)
    # cohort z-scores are centred within the presentation
    z = [r.as_dict()["score_z"] for r in day28.rows if not math.isnan(r.as_dict()["score_z"])]
    assert z and abs(sum(z) / len(z)) < 1e-9


def test_cohort_features_ignore_other_students_later_submissions(tmp_path):
    data = load_oulad(write(tmp_path / "oulad"), ["2013J"])
    before = cohort_features(data.enrolments, data.courses, data.submissions, 20)
    extra = dict(data.submissions)
    key = data.enrolments[1].key
    extra[key] = (*extra.get(key, ()), Submission("2", 25, 99.0))
    after = cohort_features(data.enrolments, data.courses, extra, 20)
    assert all(same(a.values, b.values) for a, b in zip(before.rows, after.rows, strict=True))


submission = st.builds(
    Submission,
    assessment_id=st.sampled_from(["t1", "c1", "ex"]),
    submitted_day=st.integers(-30, 220),
    score=st.one_of(st.none(), st.integers(0, 100).map(float)),
    banked=st.booleans())


@settings(max_examples=150, deadline=None)
@given(subs=st.lists(submission, max_size=6), day=st.integers(-10, 210), shift=st.integers(1, 60),
       pick=st.integers(0, 5), reg=st.one_of(st.none(), st.integers(-60, 40)))
def test_moving_a_submission_after_the_day_is_the_same_as_it_being_absent(subs, day, shift, pick, reg):
    e = enrolment(registration_day=reg)
    known = [s for s in subs if s.submitted_day <= day]
    assert same(features_at(e, SCHEDULE, subs, day).values, features_at(e, SCHEDULE, known, day).values)
    if subs:
        i = pick % len(subs)
        moved = list(subs)
        moved[i] = Submission(subs[i].assessment_id, max(subs[i].submitted_day, day) + shift, subs[i].score,
                              subs[i].banked)
        absent = subs[:i] + subs[i + 1:]
        assert same(features_at(e, SCHEDULE, moved, day).values, features_at(e, SCHEDULE, absent, day).values)
    assert len(features_at(e, SCHEDULE, subs, day).values) == len(FEATURE_NAMES)


def test_feature_courses_come_from_the_loader(tmp_path):
    data = load_oulad(write(tmp_path / "oulad"), ["2013J"])
    course = data.courses["AAA", "2013J"]
    assert isinstance(course, Course) and [a.due_day for a in course.assessments] == [10, 30, 200]
