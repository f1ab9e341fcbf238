"""Early warning in medtutor's data: labels, the time-respecting run, stored flags, audit records, decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medtutor.accounts.models import Cohort, Role
from medtutor.analytics import early_warning as ew
from medtutor.analytics.models import (
    DecisionAction,
    EarlyWarningDecision,
    EarlyWarningFlag,
    EarlyWarningRun,
    FlagStatus,
    SyntheticStudentTruth,
)
from medtutor.analytics.synthetic_services import simulate_cohort
from medtutor.core.audit import verify_chain
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditKind, AuditRecord

STARTS = {2024: datetime(2024, 9, 2, tzinfo=UTC), 2025: datetime(2025, 9, 1, tzinfo=UTC),
          2026: datetime(2026, 1, 5, tzinfo=UTC)}


@pytest.fixture
def cohorts(db, faculty):
    """Two earlier synthetic cohorts and a later one taught by `faculty` (30 students x 3 weeks each)."""
    made = {}
    for n, (year, start) in enumerate(STARTS.items()):
        made[year] = simulate_cohort(30, 3, seed=40 + n, start=start, code=f"ew-{year}",
                                     faculty=faculty if year == 2026 else None).cohort
    return made


def test_simulation_keeps_ground_truth_for_every_synthetic_student(cohorts):
    cohort = cohorts[2026]
    truths = SyntheticStudentTruth.objects.filter(cohort=cohort)
    assert truths.count() == 30 == cohort.members.filter(role=Role.STUDENT).count()
    truth = truths.first()
    assert 0.2 <= truth.expected_exam_score <= 1.0 and truth.truth["exam_ability"]
    labels = ew.synthetic_labels([t.student_id for t in truths], 60.0)
    assert labels == {t.student_id: (t.dropout_week is not None or t.expected_exam_score < 0.6) for t in truths}


def test_run_trains_on_earlier_cohorts_and_stores_a_flag_per_student(cohorts, faculty):
    target = cohorts[2026]
    run = ew.run_early_warning(target, weeks=2, actor=faculty)
    assert run.trained_on == ["synthetic-ew-2024", "synthetic-ew-2025"]
    assert run.model_name == "early-warning-gbm" and run.model_version == ew.MODEL_VERSION
    assert run.cutoff == ew.cohort_start(target) + timedelta(weeks=2)
    assert run.metrics["n_train"] == 60 and run.metrics["n_test"] == 30
    flags = list(run.flags.all())
    assert len(flags) == 30
    assert {f.student_id for f in flags} == set(target.members.filter(role=Role.STUDENT).values_list("id", flat=True))
    for flag in flags:
        assert 0.0 <= flag.probability <= 1.0 and 0.0 <= flag.confidence <= 1.0
        assert flag.flagged == (flag.probability >= run.threshold)
        assert flag.status == FlagStatus.OPEN and flag.outcome_failed is not None  # synthetic: truth known
        for reason in flag.reasons:
            assert set(reason) == {"feature", "value", "label", "contribution"}
            assert reason["label"] and ("raised" in reason["label"] or "lowered" in reason["label"])
    assert 1 <= sum(f.flagged for f in flags) <= 6  # the top decile by default (ties aside)
    test = run.metrics["test"]
    assert set(test) >= {"auc", "auc_ci", "precision_top_decile", "calibration", "brier", "subgroup_gaps"}
    assert run.metrics["baseline"]["auc"] is not None
    assert {g["attribute"] for g in test["subgroup_gaps"]} == {"sex", "first_generation", "international"}


def test_every_prediction_is_an_audited_ai_decision(cohorts, faculty):
    run = ew.run_early_warning(cohorts[2026], weeks=2, actor=faculty)
    decisions = AuditRecord.objects.filter(kind=AuditKind.DECISION, action=ew.FLAG_ACTION)
    assert decisions.count() == 30
    for flag in run.flags.all():
        record = decisions.get(seq=flag.audit_seq)
        assert record.subject_type == "analytics.earlywarningflag" and record.subject_id == str(flag.pk)
        assert record.model_name == "early-warning-gbm" and record.model_version == ew.MODEL_VERSION
        assert record.confidence == pytest.approx(flag.confidence)
        assert record.output["probability"] == pytest.approx(flag.probability)
        assert record.output["flagged"] == flag.flagged
        assert "not a decision" in record.explanation
        if flag.reasons:
            assert flag.reasons[0]["label"] in record.explanation
    assert verify_chain().ok


def test_split_must_respect_time_and_never_mix_synthetic_with_real(cohorts):
    before = EarlyWarningRun.objects.count()
    with pytest.raises(InvalidInput, match="not earlier"):
        ew.run_early_warning(cohorts[2025], train=[cohorts[2026]], weeks=2)
    with pytest.raises(InvalidInput, match="itself"):
        ew.run_early_warning(cohorts[2025], train=[cohorts[2025]], weeks=2)
    real = Cohort.objects.create(code="md-2023", name="MD 2023", year=2023)
    with pytest.raises(InvalidInput, match="never mixes"):
        ew.run_early_warning(cohorts[2026], train=[real], weeks=2)
    with pytest.raises(InvalidInput, match="no earlier cohort"):
        ew.run_early_warning(cohorts[2024], weeks=2)  # the earliest has nothing to learn from
    with pytest.raises(InvalidInput, match="weeks"):
        ew.run_early_warning(cohorts[2026], weeks=0)
    with pytest.raises(InvalidInput, match="threshold"):
        ew.run_early_warning(cohorts[2026], weeks=2, threshold=1.5)
    assert EarlyWarningRun.objects.count() == before and not EarlyWarningFlag.objects.exists()


def test_opted_out_students_are_neither_scored_nor_used_for_training(cohorts):
    from medtutor.governance.privacy import set_analytics_opt_out

    target_student = cohorts[2026].members.filter(role=Role.STUDENT).first()
    train_student = cohorts[2024].members.filter(role=Role.STUDENT).first()
    set_analytics_opt_out(target_student, True)
    set_analytics_opt_out(train_student, True)
    run = ew.run_early_warning(cohorts[2026], weeks=2)
    assert run.metrics["n_train"] == 59 and run.metrics["n_test"] == 29
    assert not run.flags.filter(student=target_student).exists()


def test_a_human_decision_sets_the_status_and_is_an_override_of_the_flag_decision(cohorts, faculty):
    run = ew.run_early_warning(cohorts[2026], weeks=2)
    flag = run.flags.filter(flagged=True).first()
    decision = ew.decide(flag, faculty, ew.parse_decision({"action": "tutoring", "support_offered": "Two tutorials",
                                                           "note": "met after class"}))
    flag.refresh_from_db()
    assert flag.status == FlagStatus.SUPPORT_OFFERED
    assert decision.decided_by == faculty and decision.support_offered == "Two tutorials"
    override = AuditRecord.objects.get(seq=decision.audit_seq)
    assert override.kind == AuditKind.OVERRIDE and override.overrides.seq == flag.audit_seq
    assert override.actor == faculty and override.output["action"] == "tutoring"
    assert "Two tutorials" not in str(override.output) + override.explanation  # free text stays out of the log
    ew.decide(flag, faculty, ew.parse_decision({"action": "dismiss", "note": "already repeating the year"}))
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED and flag.decisions.count() == 2
    assert verify_chain().ok


@pytest.mark.parametrize("data,message", [
    ({}, "action"),
    ({"action": "expel"}, "action"),
    ({"action": "contact"}, "support_offered"),
    ({"action": "dismiss"}, "note"),
    ({"action": "no_action", "note": "x" * 2001}, "at most"),
])
def test_decision_input_is_validated(data, message):
    with pytest.raises(InvalidInput, match=message):
        ew.parse_decision(data)


def test_no_action_needs_no_text():
    assert ew.parse_decision({"action": "no_action"}).action == DecisionAction.NO_ACTION


def test_deleting_a_student_deletes_their_flags_and_decisions(cohorts, faculty, admin_user, monkeypatch):
    from medtutor.governance import privacy

    run = ew.run_early_warning(cohorts[2026], weeks=2)
    flag = run.flags.first()
    ew.decide(flag, faculty, ew.parse_decision({"action": "contact", "support_offered": "an e-mail"}))
    unhandled = privacy.unhandled_fields()
    assert [key for key in unhandled if key.startswith("analytics.")] == []
    for key in unhandled:  # other apps' fields are tests/governance's concern, not this test's
        monkeypatch.setitem(privacy.POLICY, key, privacy.KEEP)
    pending = privacy.request_deletion(flag.student, "please")
    privacy.confirm_deletion(pending.pk, admin_user)
    assert not EarlyWarningFlag.objects.filter(pk=flag.pk).exists()
    assert not SyntheticStudentTruth.objects.filter(student_id=flag.student_id).exists()
    assert not EarlyWarningDecision.objects.filter(flag_id=flag.pk).exists()


# --- real cohorts: labels from exam results -----------------------------------------------------------

def _real_cohort(code: str, year: int, n: int, item, start: datetime, exam, scores: list[int]):
    from medtutor.accounts.models import User
    from medtutor.assessment.models import Attempt
    from medtutor.learning.models import ItemResponse

    cohort = Cohort.objects.create(code=code, name=code, year=year)
    version = item.current_version
    for i in range(n):
        student = User.objects.create(username=f"{code}-{i}", role=Role.STUDENT)
        cohort.members.add(student)
        strong = scores[i] >= 60
        for k in range(6 if strong else 3):
            ItemResponse.objects.create(learner=student, item_version=version, chosen_index=0,
                                        is_correct=strong or k == 0, client_token=f"t{k}",
                                        answered_at=start + timedelta(days=k, hours=9), seconds_taken=50)
        if exam is not None:
            Attempt.objects.create(exam=exam, student=student, number=1, mode="timed", seed=1,
                                   started_at=start + timedelta(weeks=6),
                                   submitted_at=start + timedelta(weeks=6, hours=1),
                                   score_correct=scores[i], score_total=100)
    return cohort


def test_real_cohorts_are_labelled_by_the_exam_result_against_its_pass_mark(item):
    from tests.assessment.factories import make_exam

    exam_old = make_exam([item], title="Block 1 (2025)")
    old_scores = [30, 40, 50, 55, 70, 80, 90, 65, 75, 85, 45, 95]
    old = _real_cohort("md-2025", 2025, 12, item, datetime(2025, 1, 6, tzinfo=UTC), exam_old, old_scores)
    exam_old.cohorts.add(old)
    new = _real_cohort("md-2026", 2026, 6, item, datetime(2026, 1, 5, tzinfo=UTC), None, [50, 70, 40, 80, 90, 30])
    exam_new = make_exam([item], title="Block 1 (2026)")
    exam_new.cohorts.add(new)

    assert ew.default_training_cohorts(new) == [old]
    cutoff = ew.cohort_start(old) + timedelta(weeks=2)
    assert ew.label_exam_for(old, cutoff) == exam_old
    ids = sorted(old.members.values_list("id", flat=True))
    labels = ew.exam_labels(exam_old, ids, ew.pass_mark_for(exam_old))
    assert [labels[i] for i in ids] == [s < 60 for s in old_scores]

    run = ew.run_early_warning(new, exam=exam_new, weeks=2)
    assert run.trained_on == ["md-2025"] and run.exam == exam_new
    assert "test" not in run.metrics  # the new cohort has not sat its exam yet
    assert all(f.outcome_failed is None for f in run.flags.all())
    assert any("not known yet" in n for n in run.notes)
    with pytest.raises(InvalidInput):
        ew.run_early_warning(new, train=[new], weeks=2)

    # the exam happens: outcomes are filled in and the run is evaluated
    from medtutor.assessment.models import Attempt

    for i, student in enumerate(new.members.order_by("username")):
        Attempt.objects.create(exam=exam_new, student=student, number=1, mode="timed", seed=1,
                               started_at=datetime(2026, 3, 2, tzinfo=UTC),
                               submitted_at=datetime(2026, 3, 2, 1, tzinfo=UTC),
                               score_correct=[50, 70, 40, 80, 90, 30][i], score_total=100)
    ew.refresh_outcomes(run)
    run.refresh_from_db()
    assert sorted(run.flags.values_list("outcome_failed", flat=True)) == [False, False, False, True, True, True]
    assert run.metrics["test"]["n"] == 6 and run.metrics["test"]["auc"] is not None


def test_applied_standard_setting_is_the_pass_mark(item):
    from medtutor.assessment.models import StandardSetting
    from tests.assessment.factories import T0, make_exam

    exam = make_exam([item])
    assert ew.pass_mark_for(exam) == 60.0 and ew.pass_mark_for(None) == 60.0
    StandardSetting.objects.create(exam=exam, method="angoff", cut_percent=72.5, is_applied=True, created_at=T0)
    assert ew.pass_mark_for(exam) == 72.5


def test_command_line_runs_the_model_and_reports_the_evaluation(cohorts):
    from typer.testing import CliRunner

    from medtutor.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["early-warning", "run", "--cohort", "synthetic-ew-2026", "--train", "synthetic-ew-2024",
                               "--weeks", "2"])
    assert done.exit_code == 0, done.output
    run = EarlyWarningRun.objects.get()
    assert run.trained_on == ["synthetic-ew-2024"] and run.created_by is None
    assert f"run {run.pk}:" in done.output and "AUC" in done.output and "for faculty review" in done.output
    outcomes = runner.invoke(app, ["early-warning", "outcomes", "--run", str(run.pk)])
    assert outcomes.exit_code == 0 and "AUC" in outcomes.output
    for args, message in ((["--cohort", "nope"], "no cohort"),
                          (["--cohort", "synthetic-ew-2024", "--train", "synthetic-ew-2026"], "not earlier"),
                          (["--cohort", "synthetic-ew-2026", "--exam", "999"], "no exam"),
                          (["--cohort", "synthetic-ew-2026", "--cutoff", "soon"], "ISO 8601")):
        failed = runner.invoke(app, ["early-warning", "run", *args])
        assert failed.exit_code == 1 and message in failed.output, failed.output
    assert EarlyWarningRun.objects.count() == 1
    assert runner.invoke(app, ["early-warning", "outcomes", "--run", "999"]).exit_code == 1


def test_evaluation_suppresses_small_subgroups_and_their_complement():
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=60)
    p = np.clip(y * 0.3 + rng.random(60) * 0.7, 0, 1)
    groups = {"site": ["a"] * 30 + ["b"] * 27 + ["c"] * 3}  # c is small; b would reveal it from the total
    result = ew.evaluate(y, p, groups, threshold=0.6)
    assert result["n"] == 60 and 0.5 < result["auc"] <= 1.0 and result["auc_ci"][0] <= result["auc"]
    rows = {g["group"]: g for g in result["subgroup_gaps"][0]["groups"]}
    assert rows["c"] == {"group": "c", "suppressed": True}
    assert sum(1 for g in rows.values() if g["suppressed"]) >= 2  # a complementary group is hidden too
    shown = [g["n"] for g in rows.values() if not g["suppressed"]]
    assert all(n >= 5 for n in shown)
    assert ew.evaluate([], [], threshold=0.5) == {"n": 0}
