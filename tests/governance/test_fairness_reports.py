"""Fairness reports on small fixtures: early warning, grader, knowledge tracing, risk models and exam DIF,
with small-cell suppression (a group under 5 students and its complement are hidden)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from medtutor.accounts import subgroups
from medtutor.accounts.models import Cohort, Role, SubgroupAttribute
from medtutor.governance import fairness
from tests.assessment.factories import T0, make_exam, make_items

SEX = ["female"] * 7 + ["male"] * 6 + ["other"] * 2          # other: 2 -> suppressed, and male as its complement
FIRST_GEN = ["yes"] * 6 + ["no"] * 9


@pytest.fixture
def cohort(db, make_user, faculty):
    cohort = Cohort.objects.create(code="c1", name="Class of 2031", year=2031)
    cohort.members.add(faculty)
    for n in range(15):
        user = make_user(f"learner{n:02d}")
        cohort.members.add(user)
        subgroups.set_attributes(user, {"sex": SEX[n], "first_generation": FIRST_GEN[n]}, source="imported")
    return cohort


def _students(cohort):
    return list(cohort.members.filter(role=Role.STUDENT).order_by("username"))


def _rows(table):
    return {r.group: r for r in table.rows}


def _table(report, attribute):
    return next(t for t in report.tables if t.attribute == attribute)


# --- early warning -----------------------------------------------------------------------------------

def make_run(cohort, *, outcomes: bool = True):
    from medtutor.analytics.models import EarlyWarningFlag, EarlyWarningRun

    run = EarlyWarningRun.objects.create(cohort=cohort, model_name="early-warning-gbm", model_version="1",
                                         cutoff=T0, threshold=0.5, metrics={})
    for n, student in enumerate(_students(cohort)):
        p = (n % 5) / 5 + 0.1
        EarlyWarningFlag.objects.create(run=run, student=student, probability=p, confidence=0.8, flagged=p >= 0.5,
                                        outcome_failed=(n % 5 >= 3) if outcomes else None)
    return run


def test_early_warning_report_by_group_with_suppression(cohort):
    make_run(cohort)
    report = fairness.early_warning_report(cohort)
    assert report.students == 15 and report.with_outcome == 15 and report.overall.n == 15
    assert report.flag_rate.value == pytest.approx(9 / 15)
    sex = _rows(_table(report, "sex"))
    assert sex["other"].suppressed and sex["other"].students is None and sex["other"].metrics is None
    assert sex["male"].suppressed  # complementary: otherwise 15 - 7 - 6 = 2 would reveal the small group
    female = sex["female"]
    assert not female.suppressed and female.students == 7
    assert female.metrics["flag_rate"].value == pytest.approx(3 / 7)
    assert female.metrics["outcome"].n == 7 and female.metrics["outcome"].tpr is not None
    first_gen = _rows(_table(report, "first_generation"))
    assert {g: r.students for g, r in first_gen.items()} == {"yes": 6, "no": 9}
    assert all(not r.suppressed for r in first_gen.values())


def test_early_warning_without_outcomes_or_run(cohort):
    report = fairness.early_warning_report(cohort)
    assert report.run is None and "No early-warning run" in report.message and not report.tables
    make_run(cohort, outcomes=False)
    report = fairness.early_warning_report(cohort)
    assert report.overall is None and report.with_outcome == 0
    female = _rows(_table(report, "sex"))["female"]
    assert female.metrics["outcome"] is None and female.metrics["flag_rate"].known
    assert _table(report, "sex").gaps == []


def test_early_warning_leaves_out_opted_out_students(cohort):
    from medtutor.governance.privacy import set_analytics_opt_out

    make_run(cohort)
    set_analytics_opt_out(_students(cohort)[0], True)
    assert fairness.early_warning_report(cohort).students == 14


# --- short-answer grader -----------------------------------------------------------------------------

def make_grades(cohort, faculty, *, reviewed_students: int = 15):
    """One graded short answer per student; the first `reviewed_students` were reviewed by faculty, and
    the grader is 0.25 of the maximum too generous to first-generation students."""
    from medtutor.assessment.models import Attempt, AttemptItem, GradeStatus, ShortAnswerResponse

    item = make_items(1, prefix="sa", actor=faculty)[0]
    exam = make_exam([item])
    for n, student in enumerate(_students(cohort)):
        attempt = Attempt.objects.create(exam=exam, student=student, number=1, mode="timed", seed=n,
                                         started_at=T0, submitted_at=T0 + timedelta(minutes=30))
        ai = AttemptItem.objects.create(attempt=attempt, position=1, item_version=item.current_version, option_order=[])
        human = (n % 4) / 4 * 4
        auto = human + (1.0 if FIRST_GEN[n] == "yes" else 0.0)
        reviewed = n < reviewed_students
        ShortAnswerResponse.objects.create(
            attempt_item=ai, text="answer", max_score=4.0, auto_score=auto, confidence=0.5,
            status=(GradeStatus.OVERRIDDEN if auto != human else GradeStatus.CONFIRMED) if reviewed else GradeStatus.AUTO,
            final_score=human if reviewed else auto, reviewer=faculty if reviewed else None)


def test_grader_report_finds_the_generous_group(outline, cohort, faculty):
    make_grades(cohort, faculty)
    report = fairness.grader_report(cohort)
    assert report.graded == 15 and report.reviewed == 15 and report.students == 15
    gen = _rows(_table(report, "first_generation"))
    yes, no = gen["yes"].metrics["agreement"], gen["no"].metrics["agreement"]
    assert yes.mean_error.value == pytest.approx(0.25) and no.mean_error.value == pytest.approx(0.0)
    assert yes.agreement.value == 0.0 and no.agreement.value == 1.0
    assert gen["yes"].metrics["changed_rate"].value == 1.0
    gap = _table(report, "first_generation").gaps[0]
    assert gap.metric == "mean_error" and gap.high_group == "yes" and gap.difference.value == pytest.approx(0.25)
    assert _rows(_table(report, "sex"))["other"].suppressed


def test_grader_hides_comparisons_resting_on_few_reviewed_students(outline, cohort, faculty):
    make_grades(cohort, faculty, reviewed_students=9)   # reviewed: 6 "yes" and 3 "no" students
    report = fairness.grader_report(cohort)
    gen = _rows(_table(report, "first_generation"))
    # 3 reviewed "no" students: hidden, and "yes" with it (otherwise overall minus yes = the 3)
    assert gen["no"].detail_suppressed and gen["yes"].detail_suppressed
    assert gen["no"].metrics["agreement"] is None and gen["no"].metrics["reviewed"] is None
    assert gen["no"].metrics["review_rate"].known  # the review rate rests on all 9 "no" students
    assert _table(report, "first_generation").gaps == []


def test_grader_with_too_few_students(cohort, faculty):
    report = fairness.grader_report(cohort)
    assert report.suppressed and "No graded short answers" in report.message


# --- knowledge tracing -------------------------------------------------------------------------------

def make_practice(cohort, item):
    from medtutor.learning.models import ItemResponse

    rows = []
    for n, student in enumerate(_students(cohort)):
        for k in range(6):
            rows.append(ItemResponse(learner=student, item_version=item.current_version, chosen_index=0,
                                     is_correct=(n + k) % 3 != 0, client_token=f"t{n}-{k}",
                                     answered_at=T0 + timedelta(hours=k)))
    ItemResponse.objects.bulk_create(rows)


def test_bkt_replay_predicts_before_each_answer(cohort, item):
    from medtutor.learning.practice import DEFAULT_BKT

    make_practice(cohort, item)
    first = _students(cohort)[0]
    learners, predicted, correct = fairness.bkt_predictions([first.pk])
    assert learners == [first.pk] * 6
    # the first prediction is the prior's; each next one follows the BKT update of the previous answer
    expected, known = [], DEFAULT_BKT.prior
    for answer in correct:
        expected.append(DEFAULT_BKT.p_correct(known))
        known = DEFAULT_BKT.after(known, bool(answer))
    assert predicted == pytest.approx(expected) and predicted[0] == pytest.approx(0.3 * 0.9 + 0.7 * 0.2)
    assert correct == [0, 1, 1, 0, 1, 1]


def test_knowledge_tracing_report(cohort, item):
    make_practice(cohort, item)
    report = fairness.knowledge_tracing_report(cohort)
    assert report.answers == 90 and report.students == 15
    assert report.overall.observed_rate.value == pytest.approx(60 / 90)
    female = _rows(_table(report, "sex"))["female"]
    assert female.students == 7 and female.metrics.n == 42
    assert female.metrics.calibration_in_the_large.low < female.metrics.calibration_in_the_large.high
    assert _rows(_table(report, "sex"))["other"].suppressed


def test_knowledge_tracing_without_answers(cohort):
    report = fairness.knowledge_tracing_report(cohort)
    assert report.suppressed and report.overall is None


# --- clinical risk models ----------------------------------------------------------------------------

def register_risk_model():
    from medtutor.decision.registry import register_model

    metrics = {"auc": 0.8, "auc_ci": [0.75, 0.85], "subgroups": {"threshold": 0.3, "largest_auc_gap": None, "attributes": [
        {"attribute": "sex", "label": "Sex", "auc_gap": 0.1, "groups": [
            {"group": "female", "n": 200, "positives": 60, "auc": 0.82, "sensitivity": 0.7, "specificity": 0.8,
             "mean_risk": 0.28, "observed": 0.3, "note": ""},
            {"group": "male", "n": 100, "positives": 4, "auc": None, "sensitivity": 0.5, "specificity": 0.9,
             "mean_risk": 0.1, "observed": 0.04, "note": "fewer than 5 of a class: AUC not reported"}]}]}}
    return register_model(name="risk-demo-logreg", kind="risk", data_digest="a" * 64, params={}, metrics=metrics,
                          card="# Demo risk model\nFor education, not patient care.", artifact_bytes=b"x")


def test_risk_model_audits_add_intervals(db):
    register_risk_model()
    (audit,) = fairness.risk_model_audits()
    assert audit.overall_auc.value == 0.8 and audit.threshold == 0.3
    female, male = audit.attributes[0].groups
    assert female.auc.low < 0.82 < female.auc.high
    assert female.sensitivity.value == pytest.approx(42 / 60) and female.specificity.value == pytest.approx(112 / 140)
    assert female.calibration_in_the_large == pytest.approx(0.02)
    assert not male.auc.known and "AUC not reported" in male.note


# --- exam DIF ----------------------------------------------------------------------------------------

def make_dif_exam(faculty, *, per_group: int = 100, n_items: int = 6, seed: int = 1, cohort=None):
    """An exam sat by `per_group` students of each sex; item 0 is 2.5 logits harder for male students
    of the same ability."""
    from django.contrib.auth import get_user_model

    from medtutor.assessment.models import Attempt, AttemptItem

    items = make_items(n_items, prefix="dif", actor=faculty)
    exam = make_exam(items, title="DIF exam")
    user_model = get_user_model()
    user_model.objects.bulk_create([user_model(username=f"dif-{n:03d}", role=Role.STUDENT)
                                    for n in range(2 * per_group)])
    users = list(user_model.objects.filter(username__startswith="dif-").order_by("username"))
    if cohort is not None:
        cohort.members.add(*users)
    SubgroupAttribute.objects.bulk_create([SubgroupAttribute(user=u, attribute="sex",
                                                             value="female" if n < per_group else "male")
                                           for n, u in enumerate(users)])
    rng = np.random.default_rng(seed)
    b = np.linspace(-1, 1, n_items)
    Attempt.objects.bulk_create([Attempt(exam=exam, student=u, number=1, mode="timed", seed=n, started_at=T0,
                                         submitted_at=T0 + timedelta(minutes=30)) for n, u in enumerate(users)])
    attempts = {a.student_id: a for a in Attempt.objects.filter(exam=exam)}
    rows = []
    for n, user in enumerate(users):
        theta = rng.normal()
        for j, item in enumerate(items):
            difficulty = b[j] + (2.5 if j == 0 and n >= per_group else 0.0)
            right = rng.random() < 1 / (1 + np.exp(-(theta - difficulty)))
            version = item.current_version
            rows.append(AttemptItem(attempt=attempts[user.pk], position=j + 1, item_version=version,
                                    option_order=[0, 1, 2, 3], chosen_index=version.key_index if right else
                                    (version.key_index + 1) % 4, is_correct=bool(right)))
    AttemptItem.objects.bulk_create(rows)
    return exam


def test_dif_report_finds_the_planted_item(outline, faculty, admin_user):
    exam = make_dif_exam(faculty)
    report = fairness.dif_report(exam, admin_user)
    assert report.examinees == 200 and len(report.items) == 6 and not report.message
    (comparison,) = report.comparisons
    # equal sizes: the reference is the first by name
    assert (comparison.attribute, comparison.reference, comparison.focal) == ("sex", "female", "male")
    by_item = {row.item.split(" ")[0]: row for row in comparison.items}
    assert by_item["dif-0"].mh.ets_class == "C"
    assert sum(row.mh.ets_class == "A" for row in comparison.items) >= 4


def test_dif_counts_only_the_faculty_members_cohorts(outline, faculty, cohort):
    exam = make_dif_exam(faculty, per_group=40)
    report = fairness.dif_report(exam, faculty)     # the 80 examinees are in no cohort of the faculty member
    assert report.examinees == 0 and "Not enough data" in report.message and not report.comparisons
    cohort.members.add(*exam.attempts.values_list("student", flat=True))
    report = fairness.dif_report(exam, faculty)
    assert report.examinees == 80 and len(report.comparisons) == 1


def test_dif_needs_two_large_enough_groups(outline, faculty, admin_user):
    exam = make_dif_exam(faculty, per_group=40)
    SubgroupAttribute.objects.filter(value="male").update(value="other")
    SubgroupAttribute.objects.filter(user__username__in=[f"dif-{n:03d}" for n in range(40, 75)]).delete()
    report = fairness.dif_report(exam, admin_user)
    assert not report.comparisons and "two groups of at least 30" in report.message
    assert report.attributes_too_small == ["sex"]
