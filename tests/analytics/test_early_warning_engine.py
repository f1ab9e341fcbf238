"""Early-warning activity features and labels (pure engine: no database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from medtutor.analytics.engine.activity_features import (
    FEATURE_NAMES,
    AnswerEvent,
    ExamEvent,
    ReviewEvent,
    StudentActivity,
    activity_features,
    as_dict,
    fails_exam,
    plain_reason,
    synthetic_fails,
)
from medtutor.analytics.engine.synthetic import (
    CohortSpec,
    SyntheticItem,
    expected_exam_score,
    generate_cohort,
    probability_correct,
)

START = datetime(2026, 9, 7, tzinfo=UTC)
CUTOFF = START + timedelta(weeks=4)


def _features(activity: StudentActivity, cutoff: datetime = CUTOFF) -> dict:
    return dict(zip(FEATURE_NAMES, activity_features(activity, START, cutoff)))


def _answer(day: float, correct: bool, seconds: int | None = 60, competency: str = "cardio") -> AnswerEvent:
    return AnswerEvent(START + timedelta(days=day), correct, seconds, competency)


def test_features_count_only_the_window_and_nothing_after_the_cutoff():
    answers = [_answer(0.5, False), _answer(1.5, False, competency="resp"), _answer(20.5, True),
               _answer(26.0, True, seconds=None), _answer(27.5, True)]
    late = [_answer(28.5, False), _answer(40, False)]  # after the cut-off: must not count
    early = [AnswerEvent(START - timedelta(days=1), False, 60, "cardio")]  # before the cohort's start
    activity = StudentActivity(1, answers + late + early,
                               reviews=[ReviewEvent(START + timedelta(days=2), 1),
                                        ReviewEvent(START + timedelta(days=3), 3),
                                        ReviewEvent(CUTOFF + timedelta(hours=1), 1)],
                               exams=[ExamEvent(START + timedelta(days=10), 72.0)])
    f = _features(activity)
    assert f["answers"] == 5
    assert f["accuracy"] == pytest.approx(3 / 5)
    assert f["accuracy_trend"] == pytest.approx(1.0 - 0.0)  # first half 0/2 correct, second half 3/3
    assert f["recent_accuracy"] == pytest.approx(1.0)  # days 21..28: two answers, both correct
    assert f["last_week_answers"] == 2
    # active on days 0, 1, 2, 3 (reviews), 10 (exam), 20, 26, 27
    assert f["active_days"] == 8
    assert f["active_weeks_share"] == pytest.approx(1.0)  # weeks 0 (days 0-3), 1 (day 10), 2 (day 20), 3 (days 26-27)
    assert f["days_since_last_activity"] == pytest.approx(0.5)
    assert f["minutes_on_task"] == pytest.approx(4 * 60 / 60)  # one answer has no time
    assert f["seconds_per_answer"] == pytest.approx(60)
    assert f["competencies_covered"] == 2
    assert f["card_reviews"] == 2 and f["card_lapse_rate"] == pytest.approx(0.5)
    assert f["exams_taken"] == 1 and f["exam_mean_percent"] == pytest.approx(72.0)


def test_no_activity_gives_unknowns_not_zeros_and_the_whole_window_since_last_activity():
    f = _features(StudentActivity(2))
    assert f["answers"] == 0 and f["active_days"] == 0
    for name in ("accuracy", "accuracy_trend", "recent_accuracy", "seconds_per_answer", "card_lapse_rate",
                 "exam_mean_percent"):
        assert math.isnan(f[name]), name
    assert f["days_since_last_activity"] == pytest.approx(28.0)
    assert as_dict(activity_features(StudentActivity(2), START, CUTOFF))["accuracy"] is None


def test_cutoff_must_follow_start():
    with pytest.raises(ValueError):
        activity_features(StudentActivity(3), START, START)


def test_plain_reasons_read_as_words():
    assert plain_reason("accuracy", 0.42, 0.1) == "Share of answers correct: 42% — raised the estimated risk"
    assert plain_reason("active_days", 12.0, -0.05) == "Days with any study activity: 12 — lowered the estimated risk"
    assert "none yet" in plain_reason("recent_accuracy", None, 0.02)


def test_labels():
    assert fails_exam(59.9) and not fails_exam(60.0)
    assert fails_exam(69.0, pass_mark=70.0)
    assert synthetic_fails(0.9, dropout_week=2)  # a drop-out does not sit the exam
    assert synthetic_fails(0.55, None) and not synthetic_fails(0.65, None)
    assert not synthetic_fails(0.55, None, pass_mark=50.0)


def test_generator_keeps_end_of_course_ability_and_expected_score_rises_with_it():
    items = [SyntheticItem(str(i), f"c{i % 3}", 5, 0, difficulty=(i % 5 - 2) / 2) for i in range(30)]
    cohort = generate_cohort(CohortSpec(n_students=40, n_weeks=3, seed=4, start=START), items)
    assert set(cohort.exam_ability) == {s.key for s in cohort.students}
    for student in cohort.students:
        for competency, theta in cohort.exam_ability[student.key].items():
            # practice only adds (a decayed gain): never below the baseline ability
            assert theta >= student.ability[competency] - 1e-12
    scores = {s.key: expected_exam_score(cohort.exam_ability[s.key], items) for s in cohort.students}
    weakest = min(cohort.students, key=lambda s: s.general_ability)
    strongest = max(cohort.students, key=lambda s: s.general_ability)
    assert scores[weakest.key] < scores[strongest.key]
    assert all(0.2 <= v <= 1.0 for v in scores.values())  # never below blind guessing on 5 options
    assert expected_exam_score({}, items[:1]) == pytest.approx(probability_correct(0.0, items[0]))
    with pytest.raises(ValueError):
        expected_exam_score({}, [])


def test_batched_shapley_matches_the_one_row_estimator_and_adds_up():
    import numpy as np

    from medtutor.analytics.engine.atrisk import sampling_shapley
    from medtutor.analytics.engine.batch_shapley import shapley_rows

    rng = np.random.default_rng(1)
    background = rng.normal(size=(5, 4))
    rows = rng.normal(size=(7, 4))

    def f(x):
        return 1 / (1 + np.exp(-(x[:, 0] * x[:, 1] + 0.5 * x[:, 2] - x[:, 3] ** 2)))

    batched = shapley_rows(f, rows, background, permutations=6, seed=3, chunk=3)
    for i, row in enumerate(rows):
        assert np.allclose(batched[i], sampling_shapley(f, row, background, 6, 3))
        assert batched[i].sum() == pytest.approx(f(row[None, :])[0] - f(background).mean())
    assert shapley_rows(f, np.zeros((0, 4)), background, 6, 3).shape == (0, 4)
