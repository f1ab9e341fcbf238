"""Fairness reports: how each AI model in medtutor performs for each subgroup of students.

One report per model: early warning (analytics.EarlyWarningRun flags against exam outcomes), the
clinical risk models (their stored subgroup audits; the subgroups are patients of public datasets),
the short-answer grader (automatic grade against the faculty's confirmed or changed grade), knowledge
tracing (the practice BKT's prediction before each answer against the answer), and differential item
functioning of exam items (Mantel-Haenszel with the ETS A/B/C classes). The statistics are in
analytics/engine/fairness.py; this module collects the data and applies the privacy rules:

- subgroup attributes come from accounts.SubgroupAttribute and are shown only as aggregates;
- every group (value of an attribute) is a line with the whole cohort as its published total, so
  groups under MIN_CELL students are suppressed with complementary suppression (analytics/engine/
  cohort.py), and a metric that rests on fewer students than the group (reviewed answers, known
  outcomes) is suppressed by its own line too;
- students who opted out of analytics, and deleted accounts, are left out (privacy.analytics_excluded_user_ids);
- faculty see only their cohorts (analytics.cohort_services.visible_cohorts); exam DIF counts only
  examinees in the viewer's cohorts (administrators: all examinees).

Viewing a report is not an AI decision, so nothing here writes to the audit log.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from medtutor.accounts import subgroups
from medtutor.accounts.models import Cohort, Role
from medtutor.analytics.engine import fairness as fx
from medtutor.analytics.engine.cohort import MIN_CELL, suppress_line

NOT_RECORDED = "(not recorded)"
GRADER_TOLERANCE = 0.1       # automatic and human grade "agree" within 10% of the maximum score
MIN_DIF_GROUP = 30           # examinees per group before MH DIF is computed at all
ETS_OPERATIONAL_NOTE = ("ETS screens items with hundreds of examinees per group (Zwick 2012); with class-sized "
                        "groups the classes are indicative: read a C as 'look at this item', not as proof of bias.")
N_BOOT = 300


# --- who and which students -------------------------------------------------------------------------

def excluded_ids() -> set[int]:
    from medtutor.governance.privacy import analytics_excluded_user_ids

    return set(analytics_excluded_user_ids())


def cohort_student_ids(cohort: Cohort) -> list[int]:
    """The cohort's students who count in analytics (not opted out, not deleted)."""
    excluded = excluded_ids()
    return sorted(uid for uid in cohort.members.filter(role=Role.STUDENT).values_list("id", flat=True)
                  if uid not in excluded)


def visible_student_ids(user: Any) -> set[int] | None:
    """Students whose data the viewer may see in aggregate: None means every student (administrators)."""
    from medtutor.analytics.cohort_services import visible_cohorts

    if getattr(user, "role", None) == Role.ADMIN:
        return None
    return set(visible_cohorts(user).filter(members__role=Role.STUDENT).values_list("members__id", flat=True))


# --- groups of rows, with suppression ----------------------------------------------------------------

@dataclass
class GroupRow:
    group: str
    students: int | None           # None: suppressed
    suppressed: bool
    metrics: Any = None            # what the report's `compute` returned for the group
    detail_suppressed: bool = False  # metrics that rest on fewer students than the group are hidden

    @property
    def is_not_recorded(self) -> bool:
        return self.group == NOT_RECORDED


@dataclass
class AttributeTable:
    attribute: str
    rows: list[GroupRow]
    gaps: list[fx.Gap] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.attribute.replace("_", " ")


def _labels(student_of_row: Sequence[int], values: dict[int, str]) -> list[str]:
    return [values.get(uid, NOT_RECORDED) for uid in student_of_row]


def _indices_by_group(labels: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        found[label].append(i)
    return found


def attribute_tables(students: Sequence[int], student_of_row: Sequence[int],
                     compute: Callable[[list[int], str, bool], Any], *,
                     detail_students: Callable[[list[int]], int] | None = None,
                     gaps: Callable[[list[str], set[str]], list[fx.Gap]] | None = None) -> list[AttributeTable]:
    """One table per attribute present among `students` (the report's population): a row per value
    (and "not recorded"), with `compute(row indices, group, detail_ok)` unless the group is suppressed.

    Group sizes count distinct students; the groups of one attribute add up to the population, which
    is published, so they are suppressed as one line (primary and complementary). `detail_students(
    indices)` is the number of students behind a row's more detailed metrics (e.g. those with reviewed
    answers); those counts are suppressed as a second line, and `compute` is told (detail_ok False) to
    leave such metrics out. `gaps(labels, shown_groups)` computes gaps among groups shown in full."""
    tables = []
    for attribute, values in subgroups.attribute_values(students).items():
        by_user = subgroups.values_of(students, attribute)
        all_groups = [*values, NOT_RECORDED]
        sizes = {g: 0 for g in all_groups}
        for uid in students:
            sizes[by_user.get(uid, NOT_RECORDED)] += 1
        labels = _labels(student_of_row, by_user)
        rows_of = _indices_by_group(labels)
        hidden = suppress_line([sizes[g] for g in all_groups])
        detail_hidden = [False] * len(all_groups)
        if detail_students is not None:
            detail_counts = [detail_students(rows_of.get(g, [])) for g in all_groups]
            detail_hidden = suppress_line(detail_counts)
        rows = []
        for i, group in enumerate(all_groups):
            if sizes[group] == 0:
                continue
            if hidden[i]:
                rows.append(GroupRow(group, None, True))
                continue
            indices = rows_of.get(group, [])
            rows.append(GroupRow(group, sizes[group], False,
                                 compute(indices, group, not detail_hidden[i]) if indices else None,
                                 detail_suppressed=detail_hidden[i]))
        shown = {r.group for r in rows if not r.suppressed and not r.detail_suppressed and not r.is_not_recorded}
        tables.append(AttributeTable(attribute, rows, gaps(labels, shown) if gaps and len(shown) >= 2 else []))
    return tables


# --- early warning -----------------------------------------------------------------------------------

@dataclass
class EarlyWarningReport:
    cohort: Cohort
    run: Any = None
    students: int = 0
    with_outcome: int = 0
    threshold: float = math.nan
    overall: fx.ProbabilityGroup | None = None
    flag_rate: fx.Estimate | None = None
    tables: list[AttributeTable] = field(default_factory=list)
    suppressed: bool = False
    message: str = ""


def early_warning_report(cohort: Cohort) -> EarlyWarningReport:
    """The latest early-warning run of the cohort: flag rates by group, and where exam outcomes are
    known, AUC, sensitivity and calibration by group."""
    report = EarlyWarningReport(cohort)
    try:
        from medtutor.analytics.early_warning import latest_run
    except ImportError:  # the early-warning app is not installed in this build
        report.message = "Early warning is not available in this installation."
        return report
    run = latest_run(cohort)
    if run is None:
        report.message = "No early-warning run for this cohort yet: run the model first (Early warning page)."
        return report
    report.run, report.threshold = run, run.threshold
    allowed = set(cohort_student_ids(cohort))
    flags = [f for f in run.flags.values("student_id", "probability", "flagged", "outcome_failed")
             if f["student_id"] in allowed]
    students = sorted({f["student_id"] for f in flags})
    report.students = len(students)
    if report.students < MIN_CELL:
        report.suppressed = True
        report.message = f"Fewer than {MIN_CELL} scored students: nothing can be shown."
        return report
    known = [f for f in flags if f["outcome_failed"] is not None]
    report.with_outcome = len(known)
    report.flag_rate = fx.wilson(sum(bool(f["flagged"]) for f in flags), len(flags))
    flag_student = [f["student_id"] for f in flags]
    known_ids = {f["student_id"] for f in known}
    if len(known) >= MIN_CELL:
        y = [int(f["outcome_failed"]) for f in known]
        p = [f["probability"] for f in known]
        report.overall = fx.probability_metrics(y, p, threshold=run.threshold, n_boot=N_BOOT, seed=run.pk)

    def compute(indices: list[int], group: str, detail_ok: bool) -> dict[str, Any]:
        rows = [flags[i] for i in indices]
        result: dict[str, Any] = {
            "flag_rate": fx.wilson(sum(bool(r["flagged"]) for r in rows), len(rows)),
            "mean_probability": sum(r["probability"] for r in rows) / len(rows), "outcome": None}
        with_outcome = [r for r in rows if r["outcome_failed"] is not None]
        if with_outcome and detail_ok:
            result["outcome"] = fx.probability_metrics(
                [int(r["outcome_failed"]) for r in with_outcome], [r["probability"] for r in with_outcome],
                group=group, threshold=run.threshold, n_boot=N_BOOT, seed=run.pk)
        return result

    def gaps(labels: list[str], shown: set[str]) -> list[fx.Gap]:
        rows = [i for i, f in enumerate(flags) if f["outcome_failed"] is not None and labels[i] in shown]
        if len(rows) < 2:
            return []
        return fx.probability_gaps([int(flags[i]["outcome_failed"]) for i in rows], [flags[i]["probability"] for i in rows],
                                   [labels[i] for i in rows], threshold=run.threshold, min_n=MIN_CELL,
                                   n_boot=N_BOOT, seed=run.pk)

    # outcome metrics rest on the students with a known result: suppressed by their own line as well
    report.tables = attribute_tables(
        students, flag_student, compute,
        detail_students=(lambda idx: len({flag_student[i] for i in idx if flag_student[i] in known_ids}))
        if known_ids else None,
        gaps=gaps if known_ids else None)
    return report


# --- clinical risk models ----------------------------------------------------------------------------

@dataclass
class RiskGroup:
    group: str
    n: int
    positives: int
    auc: fx.Estimate
    sensitivity: fx.Estimate
    specificity: fx.Estimate
    observed: fx.Estimate
    mean_risk: float | None
    calibration_in_the_large: float | None
    note: str = ""


@dataclass
class RiskAttribute:
    attribute: str
    label: str
    groups: list[RiskGroup]
    auc_gap: float | None


@dataclass
class RiskModelAudit:
    model: Any
    threshold: float | None
    attributes: list[RiskAttribute]
    overall_auc: fx.Estimate


def _count(rate: Any, total: int) -> int | None:
    if rate is None or total <= 0 or not isinstance(rate, (int, float)) or not math.isfinite(rate):
        return None
    return int(round(rate * total))


def risk_model_audits() -> list[RiskModelAudit]:
    """The subgroup audit stored with the latest enabled version of each clinical risk model, with
    intervals added: Wilson for rates (counts recovered from the stored rates and group sizes) and
    Hanley-McNeil for AUCs (the predictions themselves are not stored)."""
    from medtutor.decision.registry import latest, list_models

    audits = []
    for name in sorted({m.name for m in list_models("risk")}):
        model = latest(name)
        if model is None:
            continue
        metrics = model.metrics or {}
        audit = metrics.get("subgroups") or {}
        auc_ci = metrics.get("auc_ci") or [None, None]
        overall = fx.Estimate(*(v if isinstance(v, (int, float)) else math.nan
                                for v in (metrics.get("auc"), *auc_ci[:2])))
        attributes = []
        for attr in audit.get("attributes", []):
            groups = []
            for g in attr.get("groups", []):
                n, pos = int(g.get("n") or 0), int(g.get("positives") or 0)
                neg = n - pos
                tp, tn = _count(g.get("sensitivity"), pos), _count(g.get("specificity"), neg)
                mean_risk, observed = g.get("mean_risk"), g.get("observed")
                groups.append(RiskGroup(
                    group=str(g.get("group")), n=n, positives=pos,
                    auc=fx.hanley_mcneil(g["auc"], pos, neg) if g.get("auc") is not None else fx.NAN,
                    sensitivity=fx.wilson(tp, pos) if tp is not None else fx.NAN,
                    specificity=fx.wilson(tn, neg) if tn is not None else fx.NAN,
                    observed=fx.wilson(pos, n) if n else fx.NAN,
                    mean_risk=mean_risk,
                    calibration_in_the_large=(observed - mean_risk) if observed is not None and mean_risk is not None
                    else None,
                    note=g.get("note", "")))
            attributes.append(RiskAttribute(attr.get("attribute", ""), attr.get("label") or attr.get("attribute", ""),
                                            groups, attr.get("auc_gap")))
        audits.append(RiskModelAudit(model, audit.get("threshold"), attributes, overall))
    return audits


# --- short-answer grader -----------------------------------------------------------------------------

@dataclass
class GraderReport:
    cohort: Cohort
    graded: int = 0
    reviewed: int = 0
    students: int = 0
    overall: dict[str, Any] = field(default_factory=dict)
    tables: list[AttributeTable] = field(default_factory=list)
    suppressed: bool = False
    message: str = ""
    tolerance: float = GRADER_TOLERANCE
    reviewed_students_enough: bool = False


def grader_report(cohort: Cohort) -> GraderReport:
    """Automatic grades of the cohort's short answers against the faculty's confirmed or changed grade
    (as a share of the maximum score), the share sent to review and the share changed, by group."""
    from medtutor.assessment.models import GradeStatus, ShortAnswerResponse

    report = GraderReport(cohort)
    rows = list(ShortAnswerResponse.objects.filter(
        attempt_item__attempt__student_id__in=cohort_student_ids(cohort), auto_score__isnull=False)
        .exclude(status=GradeStatus.PENDING)
        .values("attempt_item__attempt__student_id", "auto_score", "final_score", "max_score", "status"))
    report.graded = len(rows)
    student_of_row = [r["attempt_item__attempt__student_id"] for r in rows]
    report.students = len(set(student_of_row))
    if report.students < MIN_CELL:
        report.suppressed = True
        report.message = (f"Short answers from fewer than {MIN_CELL} students have been graded: nothing can be shown."
                          if rows else "No graded short answers from this cohort yet.")
        return report
    reviewed_statuses = {GradeStatus.CONFIRMED, GradeStatus.OVERRIDDEN}
    is_reviewed = [r["status"] in reviewed_statuses and r["final_score"] is not None and r["max_score"] > 0
                   for r in rows]
    report.reviewed = sum(is_reviewed)  # shown only when the reviewed answers come from 5+ students

    def summary(indices: list[int], group: str, detail_ok: bool = True) -> dict[str, Any]:
        chosen = [rows[i] for i in indices]
        sent = sum(r["status"] != GradeStatus.AUTO for r in chosen)
        reviewed = [rows[i] for i in indices if is_reviewed[i]] if detail_ok else []
        changed = sum(r["status"] == GradeStatus.OVERRIDDEN for r in reviewed)
        result: dict[str, Any] = {"answers": len(chosen), "review_rate": fx.wilson(sent, len(chosen)),
                                  "reviewed": len(reviewed) if detail_ok else None,
                                  "changed_rate": fx.wilson(changed, len(reviewed)) if reviewed else fx.NAN,
                                  "agreement": None}
        if reviewed:
            result["agreement"] = fx.grader_metrics(
                [r["auto_score"] / r["max_score"] for r in reviewed], [r["final_score"] / r["max_score"] for r in reviewed],
                group=group, tolerance=GRADER_TOLERANCE, n_boot=N_BOOT, seed=len(reviewed))
        return result

    reviewed_students = {student_of_row[i] for i in range(len(rows)) if is_reviewed[i]}
    report.overall = summary(list(range(len(rows))), "all", len(reviewed_students) >= MIN_CELL)
    report.reviewed_students_enough = len(reviewed_students) >= MIN_CELL

    def gaps(labels: list[str], shown: set[str]) -> list[fx.Gap]:
        pairs = [i for i in range(len(rows)) if is_reviewed[i] and labels[i] in shown]
        groups = fx.grader_metrics_by_group([rows[i]["auto_score"] / rows[i]["max_score"] for i in pairs],
                                            [rows[i]["final_score"] / rows[i]["max_score"] for i in pairs],
                                            [labels[i] for i in pairs], tolerance=GRADER_TOLERANCE, n_boot=0)
        gap = fx.mean_error_gap(groups, min_n=MIN_CELL)
        return [gap] if gap else []

    # the population: students with graded answers; reviewed answers rest on fewer students (second line)
    report.tables = attribute_tables(
        sorted(set(student_of_row)), student_of_row, summary,
        detail_students=lambda idx: len({student_of_row[i] for i in idx if is_reviewed[i]}), gaps=gaps)
    return report


# --- knowledge tracing -------------------------------------------------------------------------------

@dataclass
class KnowledgeTracingReport:
    cohort: Cohort
    model: str = ""
    answers: int = 0
    students: int = 0
    overall: fx.ProbabilityGroup | None = None
    tables: list[AttributeTable] = field(default_factory=list)
    suppressed: bool = False
    message: str = ""


def bkt_predictions(student_ids: Sequence[int]) -> tuple[list[int], list[float], list[int]]:
    """Replay every practice answer of the students, oldest first, through the practice BKT
    (learning.practice.DEFAULT_BKT, per topic): the probability of a right answer it predicted just
    before each answer. medtutor stores mastery, not past predictions, so they are recomputed; the
    replay uses the same update as the practice page, so the numbers are the ones it would have used."""
    from django.db.models import IntegerField
    from django.db.models.functions import Cast

    from medtutor.learning.models import ItemResponse
    from medtutor.learning.practice import DEFAULT_BKT

    answers = ItemResponse.objects.filter(learner_id__in=list(student_ids), item_version__item__competency__isnull=False)
    topic = dict(answers.order_by().values_list("item_version_id", "item_version__item__competency_id").distinct())
    # plain integers (no per-row field converters): this can be a hundred thousand rows
    rows = (answers.order_by("learner_id", "answered_at", "pk")
            .annotate(right=Cast("is_correct", IntegerField())).values_list("learner_id", "item_version_id", "right"))
    known: dict[tuple[int, int], float] = {}
    learners, predicted, correct = [], [], []
    prior, p_correct, after = DEFAULT_BKT.prior, DEFAULT_BKT.p_correct, DEFAULT_BKT.after
    for learner, version, right in rows.iterator(chunk_size=10000):
        key = (learner, topic[version])
        state = known.get(key, prior)
        learners.append(learner)
        predicted.append(p_correct(state))
        correct.append(right)
        known[key] = after(state, bool(right))
    return learners, predicted, correct


def knowledge_tracing_report(cohort: Cohort) -> KnowledgeTracingReport:
    from medtutor.learning.practice import DEFAULT_BKT

    report = KnowledgeTracingReport(cohort, model=(f"practice BKT (prior {DEFAULT_BKT.prior}, learn {DEFAULT_BKT.learn}, "
                                                   f"guess {DEFAULT_BKT.guess}, slip {DEFAULT_BKT.slip})"))
    learners, predicted, correct = bkt_predictions(cohort_student_ids(cohort))
    report.answers, report.students = len(learners), len(set(learners))
    if report.students < MIN_CELL:
        report.suppressed = True
        report.message = (f"Fewer than {MIN_CELL} students have practice answers: nothing can be shown."
                          if learners else "No practice answers from this cohort yet.")
        return report
    # one student's answers are one cluster: intervals resample students (engine: ClusteredPredictions)
    predictions = fx.ClusteredPredictions(correct, predicted, learners)
    report.overall = predictions.metrics(n_boot=N_BOOT, seed=cohort.pk)

    def compute(indices: list[int], group: str, detail_ok: bool) -> fx.ProbabilityGroup:
        return predictions.metrics({learners[i] for i in indices}, group=group, n_boot=N_BOOT, seed=cohort.pk)

    def gaps(labels: list[str], shown: set[str]) -> list[fx.Gap]:
        members: dict[str, set[int]] = defaultdict(set)
        for i, label in enumerate(labels):
            if label in shown:
                members[label].add(learners[i])
        return fx.cluster_gaps(predictions, members, min_n=MIN_CELL, n_boot=N_BOOT, seed=cohort.pk)

    # the population: the cohort's students with practice answers
    report.tables = attribute_tables(sorted(set(learners)), learners, compute, gaps=gaps)
    return report


# --- differential item functioning ------------------------------------------------------------------

@dataclass
class DifReport:
    exam: Any
    examinees: int = 0
    items: list[str] = field(default_factory=list)
    comparisons: list[fx.DifComparison] = field(default_factory=list)
    excluded_items: int = 0
    attributes_too_small: list[str] = field(default_factory=list)
    message: str = ""
    min_group: int = MIN_DIF_GROUP
    note: str = ETS_OPERATIONAL_NOTE


def dif_report(exam: Any, viewer: Any, *, min_group: int = MIN_DIF_GROUP) -> DifReport:
    """MH DIF of the exam's single-best-answer items, per subgroup attribute: each group of at least
    `min_group` examinees against the attribute's largest group. One attempt per student (the first
    submitted), only items every counted attempt saw (a blueprint exam draws forms), unanswered = wrong."""
    from medtutor.assessment.models import AttemptItem

    report = DifReport(exam, min_group=min_group)
    allowed = visible_student_ids(viewer)
    excluded = excluded_ids()
    first: dict[int, int] = {}
    for attempt_id, student_id in (exam.attempts.filter(submitted_at__isnull=False, student__role=Role.STUDENT)
                                   .order_by("submitted_at", "pk").values_list("pk", "student_id")):
        if student_id in excluded or (allowed is not None and student_id not in allowed):
            continue
        first.setdefault(student_id, attempt_id)
    attempt_student = {a: s for s, a in first.items()}
    answers: dict[int, dict[int, int]] = defaultdict(dict)
    labels: dict[int, str] = {}
    for attempt_id, version_id, is_correct, external_id, number in (
            AttemptItem.objects.filter(attempt_id__in=list(attempt_student), item_version__key_index__isnull=False)
            .values_list("attempt_id", "item_version_id", "is_correct", "item_version__item__external_id",
                         "item_version__number").iterator(chunk_size=5000)):
        answers[attempt_id][version_id] = int(bool(is_correct))
        labels[version_id] = f"{external_id} v{number}"
    attempts = sorted(answers)
    report.examinees = len(attempts)
    all_versions = sorted(labels)
    common = [v for v in all_versions if all(v in answers[a] for a in attempts)]
    report.excluded_items = len(all_versions) - len(common)
    report.items = [labels[v] for v in common]
    if report.examinees < 2 * min_group or len(common) < 2:
        report.message = (f"Not enough data for DIF: it needs at least {2 * min_group} examinees (two groups of "
                          f"{min_group}) and 2 items everyone saw; this exam has {report.examinees} examinee(s) "
                          f"you may see and {len(common)} such item(s).")
        return report
    matrix = [[answers[a][v] for v in common] for a in attempts]
    students = [attempt_student[a] for a in attempts]
    columns: dict[str, list[str | None]] = {}
    for attribute in subgroups.attribute_values(students):
        values = subgroups.values_of(students, attribute)
        columns[attribute] = [values.get(uid) for uid in students]
    report.comparisons = fx.dif_by_attribute(matrix, columns, items=report.items, min_group=min_group)
    compared = {c.attribute for c in report.comparisons}
    report.attributes_too_small = sorted(set(columns) - compared)
    if not report.comparisons:
        report.message = (f"No subgroup attribute has two groups of at least {min_group} examinees among the "
                          f"{report.examinees} examinees, so DIF cannot be estimated.")
    return report


def dif_exams(viewer: Any) -> list[Any]:
    """Exams with submitted attempts the viewer may analyse: administrators all; faculty the exams of
    their cohorts and the ones they wrote."""
    from django.db.models import Q

    from medtutor.analytics.cohort_services import visible_cohorts
    from medtutor.assessment.models import Exam

    exams = Exam.objects.filter(attempts__submitted_at__isnull=False).distinct()
    if getattr(viewer, "role", None) != Role.ADMIN:
        exams = exams.filter(Q(cohorts__in=visible_cohorts(viewer)) | Q(created_by=viewer)).distinct()
    return list(exams.order_by("-created_at", "-id")[:200])
