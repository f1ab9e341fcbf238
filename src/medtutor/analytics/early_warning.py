"""Early warning in medtutor's own activity data: features, labels, training, flags, human decisions.

A run trains the early-warning model (analytics/engine/atrisk.py) on **earlier** cohorts and applies it
to a later one: the time-respecting split the model will face in use. Every cohort is measured over the
same stretch of its own course: from its first day of activity (`cohort_start`) to that day plus the
target cohort's elapsed time at the cut-off. Features come from analytics/engine/activity_features.py.

Labels ("fails the coming exam"):
- real cohorts: the first submitted attempt of the label exam scored below the pass mark (the exam's
  applied standard setting, else 60%); students who never submitted it are left out of training and
  evaluation (counted in the run's notes);
- synthetic cohorts: from the generator's ground truth kept in SyntheticStudentTruth (see
  `activity_features.synthetic_fails`): dropped out, or expected end-of-course score below the pass mark.
A real cohort's model never learns from synthetic cohorts, nor the reverse.

Every prediction is recorded in the audit log as an AI decision (model name and version, main reasons,
confidence); every human decision on a flag is recorded as an override pointing at that decision. Nothing
happens to a student automatically: a flag only puts the student on a list that faculty review.
Students who opted out of analytics (governance/privacy.py) are neither scored nor used for training.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Min, QuerySet

from medtutor.accounts.models import Cohort, Role
from medtutor.analytics.engine import atrisk, metrics
from medtutor.analytics.engine.activity_features import (
    DEFAULT_PASS_MARK,
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
from medtutor.analytics.engine.batch_shapley import shapley_rows
from medtutor.analytics.engine.cohort import MIN_CELL, suppress_line
from medtutor.analytics.models import (
    DecisionAction,
    EarlyWarningDecision,
    EarlyWarningFlag,
    EarlyWarningRun,
    FlagStatus,
    SyntheticStudentTruth,
)
from medtutor.analytics.synthetic_services import SYNTHETIC_PREFIX
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord

MODEL_NAME = atrisk.MODEL_NAME  # "early-warning-gbm"
MODEL_VERSION = f"{atrisk.MODEL_VERSION}+activity-1"  # the OULAD model's recipe on medtutor activity features
BASELINE_NAME = atrisk.BASELINE_NAME
FLAG_ACTION = "analytics.early_warning.flag"
DEFAULT_WEEKS = 4
MAX_WEEKS = 52
MAX_TEXT = 2000
N_REASONS = 3
# Subgroup audit on class-sized cohorts: a group enters the gap with 20+ students and 5+ of each outcome
# (the OULAD benchmark uses 100 / 10); smaller groups are listed but not ranked, and groups under 5
# students are suppressed entirely.
GAP_MIN_N = 20
GAP_MIN_CLASS = 5

STATUS_FOR_ACTION = {
    DecisionAction.CONTACT: FlagStatus.SUPPORT_OFFERED,
    DecisionAction.TUTORING: FlagStatus.SUPPORT_OFFERED,
    DecisionAction.REFERRAL: FlagStatus.SUPPORT_OFFERED,
    DecisionAction.STUDY_PLAN: FlagStatus.SUPPORT_OFFERED,
    DecisionAction.NO_ACTION: FlagStatus.NO_ACTION,
    DecisionAction.DISMISS: FlagStatus.DISMISSED,
}


# --- cohorts and time -----------------------------------------------------------------------------------

def is_synthetic(cohort: Cohort) -> bool:
    return cohort.code.startswith(SYNTHETIC_PREFIX)


def student_ids(cohort: Cohort) -> list[int]:
    """The cohort's students, less those who opted out of analytics (or were deleted)."""
    from medtutor.governance.privacy import analytics_excluded_user_ids

    excluded = analytics_excluded_user_ids()
    return sorted(uid for uid in cohort.members.filter(role=Role.STUDENT).values_list("id", flat=True)
                  if uid not in excluded)


def cohort_start(cohort: Cohort) -> datetime:
    """Midnight (UTC) of the cohort's first day of activity: its first answer or card review; the
    cohort's creation day when it has none yet."""
    from medtutor.learning.models import CardReview, ItemResponse

    members = cohort.members.filter(role=Role.STUDENT).values("id")
    firsts = [ItemResponse.objects.filter(learner_id__in=members).aggregate(m=Min("answered_at"))["m"],
              CardReview.objects.filter(learner_id__in=members, undone_at__isnull=True)
              .aggregate(m=Min("reviewed_at"))["m"]]
    first = min((f for f in firsts if f is not None), default=cohort.created_at)
    return first.replace(hour=0, minute=0, second=0, microsecond=0)


def is_earlier(candidate: Cohort, target: Cohort) -> bool:
    """Time-respecting order: by year when both have one and they differ, else by first activity."""
    if candidate.year is not None and target.year is not None and candidate.year != target.year:
        return candidate.year < target.year
    return cohort_start(candidate) < cohort_start(target)


def default_training_cohorts(target: Cohort) -> list[Cohort]:
    """Every earlier cohort of the same kind (synthetic or real) that has outcomes to learn from."""
    found = []
    for cohort in Cohort.objects.exclude(pk=target.pk).order_by("year", "created_at", "pk"):
        if is_synthetic(cohort) != is_synthetic(target) or not is_earlier(cohort, target):
            continue
        if is_synthetic(cohort):
            if SyntheticStudentTruth.objects.filter(cohort=cohort).exists():
                found.append(cohort)
        elif _cohort_exams(cohort).exists():
            found.append(cohort)
    return found


def _cohort_exams(cohort: Cohort) -> QuerySet:
    from medtutor.assessment.models import Exam

    return (Exam.objects.filter(cohorts=cohort, attempts__submitted_at__isnull=False,
                                attempts__student__in=cohort.members.all()).distinct())


# --- labels ---------------------------------------------------------------------------------------------

def pass_mark_for(exam: Any) -> float:
    """The exam's applied standard-setting cut (percent), else the default 60%."""
    if exam is None:
        return DEFAULT_PASS_MARK
    from medtutor.assessment.cat_services import pass_mark

    applied = pass_mark(exam)
    return float(applied.cut_percent) if applied is not None else DEFAULT_PASS_MARK


def label_exam_for(cohort: Cohort, cutoff: datetime, preferred: Any = None) -> Any:
    """The exam whose result labels this cohort: `preferred` when the cohort's students sat it, else the
    first exam assigned to the cohort that its students submitted after the cut-off."""
    from medtutor.assessment.models import Attempt

    members = cohort.members.filter(role=Role.STUDENT).values("id")
    if preferred is not None and Attempt.objects.submitted().filter(exam=preferred, student_id__in=members).exists():
        return preferred
    first = (Attempt.objects.submitted().filter(exam__cohorts=cohort, student_id__in=members, submitted_at__gte=cutoff)
             .order_by("submitted_at", "id").select_related("exam").first())
    return first.exam if first is not None else None


def exam_labels(exam: Any, ids: Sequence[int], pass_mark: float) -> dict[int, bool]:
    """{student: failed} from each student's first submitted attempt of `exam` (resits do not count)."""
    from medtutor.assessment.models import Attempt

    labels: dict[int, bool] = {}
    for attempt in (Attempt.objects.submitted().filter(exam=exam, student_id__in=list(ids))
                    .order_by("student_id", "submitted_at", "id").only("student_id", "score_correct", "score_total")):
        if attempt.student_id in labels or attempt.percent is None:
            continue
        labels[attempt.student_id] = fails_exam(attempt.percent, pass_mark)
    return labels


def synthetic_labels(ids: Sequence[int], pass_mark: float) -> dict[int, bool]:
    rows = SyntheticStudentTruth.objects.filter(student_id__in=list(ids)).values_list(
        "student_id", "expected_exam_score", "dropout_week")
    return {uid: synthetic_fails(score, dropout, pass_mark) for uid, score, dropout in rows}


@dataclass
class CohortData:
    """One cohort measured from `start` to `cutoff`, with its outcomes where known."""

    cohort: Cohort
    start: datetime
    cutoff: datetime
    ids: list[int]
    x: np.ndarray
    labels: dict[int, bool]
    label_source: str
    pass_mark: float
    exam_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def labelled(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        rows = [i for i, uid in enumerate(self.ids) if uid in self.labels]
        return (self.x[rows], np.asarray([int(self.labels[self.ids[i]]) for i in rows], dtype=np.int_),
                [self.ids[i] for i in rows])


def collect_activity(ids: Sequence[int], start: datetime, cutoff: datetime,
                     skip_exam_ids: Iterable[int] = ()) -> dict[int, StudentActivity]:
    """Each student's answers, card reviews and submitted exams in [start, cutoff)."""
    from medtutor.assessment.models import Attempt
    from medtutor.learning.models import CardReview, ItemResponse

    answers: dict[int, list[AnswerEvent]] = defaultdict(list)
    reviews: dict[int, list[ReviewEvent]] = defaultdict(list)
    exams: dict[int, list[ExamEvent]] = defaultdict(list)
    for chunk_start in range(0, len(ids), 1000):
        chunk = list(ids[chunk_start:chunk_start + 1000])
        for uid, at, correct, seconds, competency in (
                ItemResponse.objects.filter(learner_id__in=chunk, answered_at__gte=start, answered_at__lt=cutoff)
                .order_by().values_list("learner_id", "answered_at", "is_correct", "seconds_taken",
                                        "item_version__item__competency__code").iterator(chunk_size=5000)):
            answers[uid].append(AnswerEvent(at, correct, seconds, competency or ""))
        for uid, at, grade in (CardReview.objects.filter(learner_id__in=chunk, reviewed_at__gte=start,
                                                          reviewed_at__lt=cutoff, undone_at__isnull=True)
                               .order_by().values_list("learner_id", "reviewed_at", "grade")):
            reviews[uid].append(ReviewEvent(at, grade))
        for attempt in (Attempt.objects.submitted().filter(student_id__in=chunk, submitted_at__gte=start,
                                                           submitted_at__lt=cutoff)
                        .exclude(exam_id__in=list(skip_exam_ids))
                        .only("student_id", "submitted_at", "score_correct", "score_total")):
            if attempt.percent is not None:
                exams[attempt.student_id].append(ExamEvent(attempt.submitted_at, attempt.percent))
    return {uid: StudentActivity(uid, answers.get(uid, ()), reviews.get(uid, ()), exams.get(uid, ())) for uid in ids}


def cohort_data(cohort: Cohort, start: datetime, cutoff: datetime, *, exam: Any = None,
                pass_mark: float | None = None) -> CohortData:
    ids = student_ids(cohort)
    notes: list[str] = []
    if is_synthetic(cohort):
        mark = DEFAULT_PASS_MARK if pass_mark is None else pass_mark
        labels = synthetic_labels(ids, mark)
        source, exam_id = f"synthetic ground truth (pass mark {mark:g}%)", None
    else:
        label_exam = label_exam_for(cohort, cutoff, exam)
        mark = pass_mark_for(label_exam) if pass_mark is None else pass_mark
        labels = exam_labels(label_exam, ids, mark) if label_exam is not None else {}
        exam_id = label_exam.pk if label_exam is not None else None
        source = (f"exam {label_exam.pk} “{label_exam.title}” (pass mark {mark:g}%)" if label_exam is not None
                  else "no exam result yet")
        if label_exam is not None and len(labels) < len(ids):
            notes.append(f"{cohort.code}: {len(ids) - len(labels)} students without a submitted attempt of "
                         f"exam {label_exam.pk} (left out of training and evaluation)")
    activity = collect_activity(ids, start, cutoff, skip_exam_ids=[exam_id] if exam_id else [])
    x = np.asarray([activity_features(activity[uid], start, cutoff) for uid in ids],
                   dtype=np.float64).reshape(len(ids), len(FEATURE_NAMES))
    return CohortData(cohort, start, cutoff, ids, x, labels, source, mark, exam_id, notes)


# --- subgroups ------------------------------------------------------------------------------------------

def subgroup_attributes(ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """{student: {attribute: value}} from accounts.SubgroupAttribute. For audits only; never model inputs."""
    from medtutor.accounts.subgroups import attributes_by_user

    return attributes_by_user(list(ids))


# --- evaluation -----------------------------------------------------------------------------------------

def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def evaluate(y: Sequence[int], p: Sequence[float], attributes: Mapping[str, Sequence[str]] | None = None, *,
             threshold: float, seed: int = 0) -> dict[str, Any]:
    """AUC with a bootstrap 95% interval, precision at the top decile, calibration, Brier score and
    subgroup gaps (analytics/engine/metrics.py); JSON-ready (NaN becomes None). Subgroups of fewer than
    MIN_CELL students are suppressed, with complementary suppression so that no hidden size follows from
    the total and the sizes shown: neither their size nor their metrics are reported."""
    y_arr = np.asarray(y, dtype=np.int_)
    p_arr = np.asarray(p, dtype=np.float64)
    if y_arr.size == 0:
        return {"n": 0}
    value, low, high = metrics.auc_ci(y_arr, p_arr, n_boot=1000, seed=seed)
    cal = metrics.calibration(y_arr, p_arr)
    result: dict[str, Any] = {
        "n": int(y_arr.size), "positive_rate": _num(float(y_arr.mean())),
        "auc": _num(value), "auc_ci": [_num(low), _num(high)],
        "precision_top_decile": _num(metrics.precision_at_top(y_arr, p_arr, 0.1)),
        "brier": _num(metrics.brier(y_arr, p_arr)),
        "calibration": {"slope": _num(cal.slope), "intercept": _num(cal.intercept),
                        "in_the_large": _num(cal.in_the_large)},
        "threshold": _num(threshold), "flagged": int((p_arr >= threshold).sum()),
        "subgroup_gaps": [],
    }
    if attributes:
        gaps = metrics.subgroup_gaps(y_arr, p_arr, attributes, threshold=threshold, n_boot=500, seed=seed,
                                     min_n=GAP_MIN_N, min_class=GAP_MIN_CLASS)
        for gap in gaps:
            groups = []
            # small groups and, complementarily, enough others that no group size follows from the total
            hidden = suppress_line([g.n for g in gap.groups], MIN_CELL)
            for g, hide in zip(gap.groups, hidden):
                if hide:
                    groups.append({"group": g.group, "suppressed": True})
                    continue
                groups.append({"group": g.group, "suppressed": False, "n": g.n, "in_gap": g.in_gap,
                               "auc": _num(g.auc) if g.in_gap else None, "tpr": _num(g.tpr) if g.in_gap else None})
            result["subgroup_gaps"].append({
                "attribute": gap.attribute, "groups": groups,
                "auc_gap": _num(gap.auc_gap), "auc_gap_ci": [_num(gap.auc_gap_low), _num(gap.auc_gap_high)],
                "auc_pair": list(gap.auc_pair), "tpr_gap": _num(gap.tpr_gap),
                "tpr_gap_ci": [_num(gap.tpr_gap_low), _num(gap.tpr_gap_high)], "tpr_pair": list(gap.tpr_pair)})
    return result


def _attribute_columns(ids: Sequence[int]) -> dict[str, list[str]]:
    by_user = subgroup_attributes(ids)
    names = sorted({a for attrs in by_user.values() for a in attrs})
    return {a: [by_user.get(uid, {}).get(a, "(not recorded)") for uid in ids] for a in names}


# --- the run --------------------------------------------------------------------------------------------

def _config(n_train: int, seed: int) -> atrisk.ModelConfig:
    """The OULAD recipe scaled to class-sized data: smaller leaves, fewer trees, Platt scaling (isotonic
    needs thousands of learners), one thread (a web request must not take every core)."""
    return atrisk.ModelConfig(seed=seed, learning_rate=0.05, max_iter=100, max_leaf_nodes=7,
                              min_samples_leaf=max(5, min(100, n_train // 20)), monotone=False,
                              calibration="sigmoid" if n_train < 2000 else "isotonic",
                              background_size=12, shapley_permutations=6, threads=1)


def _check_cutoff(cutoff: datetime, start: datetime) -> None:
    clock.require_utc(cutoff)
    if cutoff <= start:
        raise InvalidInput(f"cutoff: must be after the cohort's first day of activity ({start:%Y-%m-%d})")


def run_early_warning(cohort: Cohort, *, train: Sequence[Cohort] | None = None, exam: Any = None,
                      cutoff: datetime | None = None, weeks: int | None = None, threshold: float | None = None,
                      pass_mark: float | None = None, actor: Any = None, seed: int = 0) -> EarlyWarningRun:
    """Train on earlier cohorts, score `cohort` at `cutoff` (default: its first day + `weeks` weeks), store
    the run, one flag per student and an audit record per prediction. Raises InvalidInput, changing
    nothing, when the split is not time-respecting or there is nothing to learn from."""
    start = cohort_start(cohort)
    if cutoff is None:
        weeks = DEFAULT_WEEKS if weeks is None else weeks
        if not 1 <= weeks <= MAX_WEEKS:
            raise InvalidInput(f"weeks: must be between 1 and {MAX_WEEKS}")
        cutoff = start + timedelta(weeks=weeks)
        if cutoff > clock.now():
            raise InvalidInput(f"weeks: the cohort has not had {weeks} weeks of activity yet "
                               f"(it started on {start:%Y-%m-%d})")
    _check_cutoff(cutoff, start)
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise InvalidInput("threshold: must be a probability between 0 and 1")
    if pass_mark is not None and not 0.0 < pass_mark <= 100.0:
        raise InvalidInput("pass mark: must be a percentage between 0 and 100")
    train = list(default_training_cohorts(cohort) if train is None else train)
    if not train:
        raise InvalidInput(f"train: no earlier cohort with known outcomes to learn from for {cohort.code}")
    for other in train:
        if other.pk == cohort.pk:
            raise InvalidInput(f"train: {cohort.code} cannot train on itself")
        if is_synthetic(other) != is_synthetic(cohort):
            raise InvalidInput(f"train: {other.code} is {'synthetic' if is_synthetic(other) else 'real'} but "
                               f"{cohort.code} is not; the model never mixes synthetic and real students")
        if not is_earlier(other, cohort):
            raise InvalidInput(f"train: {other.code} is not earlier than {cohort.code} "
                               "(the split must respect time: train on earlier cohorts only)")

    elapsed = cutoff - start
    training = []
    for other in train:
        other_start = cohort_start(other)
        training.append(cohort_data(other, other_start, other_start + elapsed, exam=exam, pass_mark=pass_mark))
    target = cohort_data(cohort, start, cutoff, exam=exam, pass_mark=pass_mark)
    if not target.ids:
        raise InvalidInput(f"cohort: {cohort.code} has no students to score")

    xs, ys, groups = [], [], []
    for data in training:
        x_l, y_l, _ = data.labelled()
        xs.append(x_l)
        ys.append(y_l)
        groups += [data.cohort.code] * len(y_l)
    x_train = np.vstack(xs) if xs else np.zeros((0, len(FEATURE_NAMES)))
    y_train = np.concatenate(ys) if ys else np.zeros(0, dtype=np.int_)
    if y_train.size < 10 or y_train.min() == y_train.max():
        raise InvalidInput("train: the earlier cohorts need at least 10 students with known outcomes, "
                           "some passing and some failing")

    config = _config(int(y_train.size), seed)
    model = atrisk.fit_gbm(x_train, y_train, groups, config, FEATURE_NAMES)
    baseline = atrisk.fit_logreg(x_train, y_train, groups, config, FEATURE_NAMES)
    p = model.predict_proba(target.x)
    members = model.member_probabilities(target.x)
    spread = members.max(axis=0) - members.min(axis=0)
    p = np.round(p, 4)  # as stored: `flagged` must agree with the stored probability and threshold
    cut = round(float(threshold if threshold is not None else metrics.top_decile_threshold(p)), 4)

    notes = [n for data in training for n in data.notes] + target.notes
    result_metrics: dict[str, Any] = {
        "n_train": int(y_train.size), "train_positive_rate": _num(float(y_train.mean())),
        "n_test": len(target.ids), "label_source": target.label_source,
        "train_label_sources": {d.cohort.code: d.label_source for d in training},
        "threshold_rule": "set by hand" if threshold is not None else "top decile of this cohort's predictions",
        "features": list(FEATURE_NAMES),
        "weeks_observed": round(elapsed.total_seconds() / (7 * 86400), 2),
        "pass_mark": target.pass_mark, "pass_mark_override": pass_mark,
    }
    labelled_rows = [i for i, uid in enumerate(target.ids) if uid in target.labels]
    if labelled_rows:
        y_test = [int(target.labels[target.ids[i]]) for i in labelled_rows]
        ids_test = [target.ids[i] for i in labelled_rows]
        if min(y_test) != max(y_test):
            result_metrics["test"] = evaluate(y_test, p[labelled_rows], _attribute_columns(ids_test),
                                              threshold=cut, seed=seed)
            result_metrics["baseline"] = evaluate(y_test, baseline.predict_proba(target.x[labelled_rows]),
                                                  threshold=cut, seed=seed)
            result_metrics["baseline"]["model"] = f"{baseline.name} {baseline.version}"
    if "test" not in result_metrics:
        notes.append("outcomes for this cohort are not known yet: evaluation waits for the exam results")

    with transaction.atomic():
        run = EarlyWarningRun.objects.create(
            cohort=cohort, trained_on=[c.code for c in train], model_name=model.name, model_version=MODEL_VERSION,
            cutoff=cutoff, exam_id=target.exam_id or (exam.pk if exam is not None else None), threshold=cut,
            metrics=result_metrics, notes=notes, created_by=actor if getattr(actor, "pk", None) else None,
            created_at=clock.now())
        contributions = shapley_rows(model.predict_proba, target.x, model.background, config.shapley_permutations,
                                     config.seed)
        for i, uid in enumerate(target.ids):
            feature_values = as_dict(target.x[i])
            reason_rows = [{"feature": FEATURE_NAMES[k], "value": feature_values.get(FEATURE_NAMES[k]),
                            "label": plain_reason(FEATURE_NAMES[k], feature_values.get(FEATURE_NAMES[k]),
                                                  float(contributions[i, k])),
                            "contribution": round(float(contributions[i, k]), 4)}
                           for k in np.argsort(-np.abs(contributions[i]), kind="mergesort")[:N_REASONS]
                           if contributions[i, k] != 0]
            flag = EarlyWarningFlag.objects.create(
                run=run, student_id=uid, probability=float(p[i]),
                confidence=round(float(max(0.0, 1.0 - spread[i])), 4), reasons=reason_rows,
                features=feature_values, flagged=bool(p[i] >= cut),
                outcome_failed=target.labels.get(uid))  # known already for synthetic or past exams
            record = audit.record_decision(
                model_name=run.model_name, model_version=run.model_version, action=FLAG_ACTION, subject=flag,
                actor=run.created_by,
                inputs={"run": run.pk, "cutoff": cutoff.isoformat(), "features": feature_values},
                output={"run": run.pk, "probability": flag.probability, "flagged": flag.flagged,
                        "threshold": cut, "interval": [round(float(members[:, i].min()), 4),
                                                                         round(float(members[:, i].max()), 4)]},
                explanation=("; ".join(r["label"] for r in reason_rows) or "no single feature stood out")
                + ". A prediction for a person to review, not a decision.",
                confidence=flag.confidence)
            EarlyWarningFlag.objects.filter(pk=flag.pk).update(audit_seq=record.seq)
        audit.record_action(run.created_by, "analytics.early_warning.run", subject=run,
                            data={"cohort": cohort.code, "trained_on": run.trained_on, "flagged":
                                  sum(1 for v in p if v >= cut), "scored": len(target.ids)})
    return run


def refresh_outcomes(run: EarlyWarningRun) -> EarlyWarningRun:
    """Fill each flag's `outcome_failed` from the exam results known now and store the evaluation."""
    cohort = run.cohort
    flags = list(run.flags.all())
    ids = [f.student_id for f in flags]
    override = (run.metrics or {}).get("pass_mark_override")
    if is_synthetic(cohort):
        labels = synthetic_labels(ids, DEFAULT_PASS_MARK if override is None else override)
    else:
        exam = run.exam or label_exam_for(cohort, run.cutoff)
        if exam is None:
            raise InvalidInput("exam: no exam result is known for this cohort yet")
        labels = exam_labels(exam, ids, pass_mark_for(exam) if override is None else override)
        run.exam = exam
    with transaction.atomic():
        for flag in flags:
            outcome = labels.get(flag.student_id)
            if outcome != flag.outcome_failed:
                flag.outcome_failed = outcome
                flag.save(update_fields=["outcome_failed"])
        known = [f for f in flags if f.outcome_failed is not None]
        y = [int(f.outcome_failed) for f in known]
        if known and min(y) != max(y):
            run.metrics = {**run.metrics, "test": evaluate(
                y, [f.probability for f in known], _attribute_columns([f.student_id for f in known]),
                threshold=run.threshold)}
        run.save(update_fields=["metrics", "exam"])
        audit.record_action(None, "analytics.early_warning.outcomes", subject=run,
                            data={"known": len(known), "failed": sum(y)})
    return run


# --- human decisions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DecisionInput:
    action: str
    support_offered: str
    note: str


def parse_decision(data: Mapping[str, Any]) -> DecisionInput:
    """Validate a decision form; InvalidInput names the field."""
    action = str(data.get("action", "")).strip()
    if action not in DecisionAction.values:
        raise InvalidInput(f"action: choose one of {', '.join(DecisionAction.values)}")
    support = str(data.get("support_offered", "")).strip()
    note = str(data.get("note", "")).strip()
    if len(support) > MAX_TEXT or len(note) > MAX_TEXT:
        raise InvalidInput(f"text: at most {MAX_TEXT} characters per field")
    if STATUS_FOR_ACTION[action] == FlagStatus.SUPPORT_OFFERED and not support:
        raise InvalidInput("support_offered: say what support was offered (e.g. a tutoring session on Tuesday)")
    if action == DecisionAction.DISMISS and not note:
        raise InvalidInput("note: say why the flag is dismissed")
    return DecisionInput(action, support, note)


def decide(flag: EarlyWarningFlag, actor: Any, decision: DecisionInput) -> EarlyWarningDecision:
    """A person's decision on a flag: stored, sets the flag's status, and audited as an override of the
    flag's AI decision. The free text stays in the table (deleted with the student); the audit log keeps
    only its digest, since the log can never be edited."""
    from medtutor.core.models import AuditRecord

    with transaction.atomic():
        locked = EarlyWarningFlag.objects.select_for_update().get(pk=flag.pk)
        original = AuditRecord.objects.filter(seq=locked.audit_seq).first() if locked.audit_seq else None
        row = EarlyWarningDecision.objects.create(flag=locked, decided_by=actor, decided_at=clock.now(),
                                                  action=decision.action, support_offered=decision.support_offered,
                                                  note=decision.note)
        status = STATUS_FOR_ACTION[decision.action]
        output = {"flag": locked.pk, "decision": row.pk, "action": decision.action, "status": status,
                  "text_digest": audit.digest([decision.support_offered, decision.note])}
        label = DecisionAction(decision.action).label
        if original is not None:
            record = audit.record_override(original, actor=actor, output=output, reason=f"human decision: {label}")
        else:  # a flag written before its audit record (should not happen): still on the record
            record = audit.record_action(actor, "analytics.early_warning.decision", subject=locked, data=output)
        row.audit_seq = record.seq
        row.save(update_fields=["audit_seq"])
        locked.status = status
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "updated_at"])
    flag.refresh_from_db()
    return row


# --- reading --------------------------------------------------------------------------------------------

def latest_run(cohort: Cohort) -> EarlyWarningRun | None:
    return EarlyWarningRun.objects.filter(cohort=cohort).order_by("-created_at", "-id").first()


def flag_for(run: EarlyWarningRun, flag_id: int) -> EarlyWarningFlag:
    from django.http import Http404

    flag = run.flags.filter(pk=flag_id).first()
    if flag is None:
        raise Http404("no such flag in this run")
    return flag


def student_flags(user: Any) -> list[EarlyWarningFlag]:
    """The student's own flag in the latest run of each of their cohorts, newest first."""
    flags = []
    for cohort in user.cohorts.all():
        run = latest_run(cohort)
        if run is None:
            continue
        flag = run.flags.filter(student=user).prefetch_related("decisions").first()
        if flag is not None:
            flags.append(flag)
    # The flag's AI decision in the audit log: what the student contests.
    records = dict(AuditRecord.objects.filter(seq__in=[f.audit_seq for f in flags if f.audit_seq])
                   .values_list("seq", "pk"))
    for flag in flags:
        flag.decision_record_id = records.get(flag.audit_seq)
    return sorted(flags, key=lambda f: f.run.created_at, reverse=True)


# --- command line ---------------------------------------------------------------------------------------

def _cohort_by_code(code: str, what: str) -> Cohort:
    found = Cohort.objects.filter(code=code.strip()).first()
    if found is None:
        raise InvalidInput(f"{what}: no cohort with code {code!r}")
    return found


def run_cli(cohort_code: str, train_codes: Sequence[str], exam_id: int | None, weeks: int | None,
            cutoff: datetime | None, threshold: float | None, pass_mark: float | None, echo: Any) -> EarlyWarningRun:
    """The logic of `medtutor early-warning run` (cli.py only parses options)."""
    from medtutor.assessment.models import Exam

    cohort = _cohort_by_code(cohort_code, "cohort")
    train = [_cohort_by_code(code, "train") for code in train_codes] or None
    exam = None
    if exam_id is not None:
        exam = Exam.objects.filter(pk=exam_id).first()
        if exam is None:
            raise InvalidInput(f"exam: no exam with id {exam_id}")
    run = run_early_warning(cohort, train=train, exam=exam, cutoff=cutoff, weeks=weeks, threshold=threshold,
                            pass_mark=pass_mark)
    flagged = run.flags.filter(flagged=True).count()
    echo(f"run {run.pk}: {run.model_name} {run.model_version} trained on {', '.join(run.trained_on)} "
         f"({run.metrics['n_train']} students); scored {run.metrics['n_test']} students of {cohort.code} "
         f"at {run.cutoff:%Y-%m-%d %H:%M} UTC; {flagged} flagged (p >= {run.threshold:.3f}) for faculty review")
    echo(format_metrics(run.metrics))
    for note in run.notes:
        echo(f"note: {note}")
    return run


def format_metrics(run_metrics: Mapping[str, Any]) -> str:
    test = run_metrics.get("test")
    if not test:
        return "evaluation: outcomes not known yet"

    def fmt(value: Any, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = [f"evaluation on {test['n']} students (failure rate {fmt(test['positive_rate'], 2)}):"]
    for label, block in (("ours", test), ("baseline", run_metrics.get("baseline"))):
        if block:
            lines.append(f"  {label:<9} AUC {fmt(block['auc'])} [{fmt(block['auc_ci'][0])}, {fmt(block['auc_ci'][1])}]"
                         f"  precision@top10% {fmt(block['precision_top_decile'], 2)}  Brier {fmt(block['brier'])}"
                         f"  calibration slope {fmt(block['calibration']['slope'], 2)}"
                         f" intercept {fmt(block['calibration']['intercept'], 2)}")
    for gap in test.get("subgroup_gaps", []):
        lines.append(f"  {gap['attribute']}: AUC gap {fmt(gap['auc_gap'])} [{fmt(gap['auc_gap_ci'][0])}, "
                     f"{fmt(gap['auc_gap_ci'][1])}], TPR gap {fmt(gap['tpr_gap'])}")
    return "\n".join(lines)
