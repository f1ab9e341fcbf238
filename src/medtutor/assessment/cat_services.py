"""Adaptive exams (CAT), item calibration and standard setting: the Django side of engine/irt.py,
engine/cat.py and engine/standards.py.

Rules kept here:
- an adaptive exam serves only calibrated items; with too little response data the calibration is
  refused with the counts, and an exam without enough calibrated items cannot start;
- an answer is committed (with the new ability estimate and the next item) in one transaction before
  the page acknowledges it; an answer is final (no going back), a replay of the same answer changes
  nothing, and a different answer to a committed item is refused;
- no key, correctness or ability estimate is shown before the attempt is finished; the final ability
  estimate is an AI decision in the audit log (model name and version, inputs digest, explanation).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q

from medtutor.assessment import services
from medtutor.assessment.engine import cat, irt, scoring, standards
from medtutor.assessment.engine.shuffle import displayed_index, option_order, original_index
from medtutor.assessment.errors import AnswerLocked, AttemptClosed, DeadlinePassed
from medtutor.assessment.models import (
    AdaptiveAttempt,
    AdaptiveSettings,
    Attempt,
    AttemptItem,
    CalibrationRun,
    Exam,
    ExamBuild,
    ExamMode,
    ItemCalibration,
    StandardMethod,
    StandardSetting,
)
from medtutor.content.models import Item, ItemKind
from medtutor.core import audit, clock
from medtutor.core.models import AuditRecord
from medtutor.core.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)

MODEL_NAME = "medtutor-cat"
MODEL_VERSION = f"1.0-{irt.MODEL_VERSION}"  # the CAT/EAP scoring, then the calibration code
STOP_REASONS = {"se": "the standard error reached its target", "max_items": "the maximum length was reached",
                "pool": "the item pool ran out", "deadline": "time ran out", "manual": "the student ended it"}


# --- calibration ---------------------------------------------------------------------------------

def _response_matrix(item_ids: list[int] | None) -> tuple[list[int], np.ndarray, str]:
    """Persons x items (1/0/NaN) from submitted exam attempts and first practice answers."""
    cells: dict[tuple[str, int], dict[int, float]] = {}
    answered = (AttemptItem.objects.filter(attempt__submitted_at__isnull=False, chosen_index__isnull=False)
                .values_list("attempt_id", "item_version__item_id", "is_correct"))
    if item_ids is not None:
        answered = answered.filter(item_version__item_id__in=item_ids)
    n_exam = 0
    for attempt_id, item_id, correct in answered.iterator(chunk_size=5000):
        cells.setdefault(("attempt", attempt_id), {})[item_id] = 1.0 if correct else 0.0
        n_exam += 1
    n_practice = 0
    try:
        from medtutor.learning.models import ItemResponse
    except ImportError:  # pragma: no cover - the learning app is part of every install
        ItemResponse = None  # noqa: N806
    if ItemResponse is not None:
        practice = ItemResponse.objects.order_by("answered_at", "id").values_list(
            "learner_id", "item_version__item_id", "is_correct")
        if item_ids is not None:
            practice = practice.filter(item_version__item_id__in=item_ids)
        for learner_id, item_id, correct in practice.iterator(chunk_size=5000):
            row = cells.setdefault(("learner", learner_id), {})
            if item_id not in row:  # the first answer only: later ones are practice, not measurement
                row[item_id] = 1.0 if correct else 0.0
                n_practice += 1
    columns = sorted({item_id for row in cells.values() for item_id in row})
    matrix = np.full((len(cells), len(columns)), np.nan)
    index = {item_id: j for j, item_id in enumerate(columns)}
    for i, row in enumerate(cells.values()):
        for item_id, value in row.items():
            matrix[i, index[item_id]] = value
    return columns, matrix, f"{n_exam} exam answers, {n_practice} first practice answers"


def calibrate_items(*, actor: Any, item_ids: Iterable[int] | None = None, model: str = "auto",
                    min_responses: dict[str, int] | None = None) -> CalibrationRun:
    """Calibrate the items that have enough responses; refuse (InvalidInput) when none have.

    Items under the threshold are left out and named in the run's notes.
    """
    wanted = list(item_ids) if item_ids is not None else None
    thresholds = {**irt.MIN_RESPONSES, **(min_responses or {})}
    need = thresholds["2pl" if model == "auto" else model] if model in ("auto", "1pl", "2pl", "3pl") else None
    if need is None:
        raise InvalidInput(f"model: choose auto, 1pl, 2pl or 3pl (got {model!r})")
    columns, matrix, source = _response_matrix(wanted)
    counts = (~np.isnan(matrix)).sum(axis=0) if columns else np.zeros(0)
    keep = [j for j, n in enumerate(counts) if n >= need]
    short = len(columns) - len(keep) + (len(set(wanted) - set(columns)) if wanted is not None else 0)
    if not keep:
        most = int(counts.max()) if len(counts) else 0
        raise InvalidInput(
            f"not enough response data to calibrate: the {('2PL' if model == 'auto' else model.upper())} needs "
            f"at least {need} answers per item and the best-covered item has {most} ({source}). "
            "Collect more answers (exam attempts or practice) before running an adaptive exam.")
    kept_ids = [columns[j] for j in keep]
    data = matrix[:, keep]
    try:
        result = irt.calibrate(data, model=model, min_responses=thresholds)
    except irt.CalibrationError as error:
        raise InvalidInput(f"calibration refused: {error}") from None
    notes = list(result.notes)
    if short:
        notes.append(f"{short} item(s) left out with fewer than {need} answers; they cannot be served adaptively")
    labels = dict(Item.objects.filter(pk__in=kept_ids).values_list("pk", "external_id"))
    notes = [_name_items(note, kept_ids, labels) for note in notes]
    with transaction.atomic():
        run = CalibrationRun.objects.create(
            model=result.model, model_version=result.version, n_persons=result.n_persons,
            n_responses=result.n_responses, n_items=len(kept_ids), log_likelihood=result.log_likelihood,
            iterations=result.iterations, converged=result.converged, notes=notes, source=source[:200],
            created_by=actor if getattr(actor, "is_authenticated", False) else None, created_at=clock.now())
        ItemCalibration.objects.bulk_create([
            ItemCalibration(run=run, item_id=item_id, a=est.params.a, b=est.params.b, c=est.params.c,
                            se_a=_finite(est.se_a), se_b=_finite(est.se_b),
                            se_c=_finite(est.se_c) if est.se_c is not None else None,
                            n_responses=est.n_responses, p_correct=est.p_correct)
            for item_id, est in zip(kept_ids, result.items, strict=True)])
        audit.record_action(actor, "exam.items.calibrated", subject=run, data={
            "model": result.model, "version": result.version, "items": len(kept_ids),
            "persons": result.n_persons, "responses": result.n_responses, "notes": notes})
    logger.info("calibrated %s items (%s)", len(kept_ids), result.model)
    return run


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 99.0


def _name_items(note: str, ids: list[int], labels: dict[int, str]) -> str:
    """The engine numbers items from 1; name them as faculty know them."""
    if note.startswith("item ") and ":" in note:
        number, rest = note[5:].split(":", 1)
        if number.isdigit() and 0 < int(number) <= len(ids):
            return f"item {labels.get(ids[int(number) - 1], ids[int(number) - 1])}:{rest}"
    return note


def current_calibrations(item_ids: Iterable[int]) -> dict[int, ItemCalibration]:
    """The latest calibration of each item, where it has one."""
    latest: dict[int, ItemCalibration] = {}
    for row in (ItemCalibration.objects.filter(item_id__in=list(item_ids)).select_related("run")
                .order_by("item_id", "-run__created_at", "-run_id")):
        latest.setdefault(row.item_id, row)
    return latest


# --- adaptive exams ------------------------------------------------------------------------------

def settings_for(exam: Exam) -> AdaptiveSettings:
    found = AdaptiveSettings.objects.filter(exam=exam).select_related("competency").first()
    return found if found is not None else AdaptiveSettings(exam=exam)


def save_settings(exam: Exam, *, actor: Any, competency: Any, se_target: float, min_items: int, max_items: int,
                  content_balancing: bool, exposure: str, randomesque_k: int) -> AdaptiveSettings:
    try:
        cat.CatConfig(se_target=se_target, min_items=min_items, max_items=max_items, randomesque_k=randomesque_k,
                      exposure=exposure)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    with transaction.atomic():
        found, _ = AdaptiveSettings.objects.update_or_create(exam=exam, defaults={
            "competency": competency, "se_target": se_target, "min_items": min_items, "max_items": max_items,
            "content_balancing": content_balancing, "exposure": exposure, "randomesque_k": randomesque_k})
        audit.record_action(actor, "exam.adaptive.settings", subject=exam, data={
            "competency": competency.code if competency else None, "se_target": se_target, "min_items": min_items,
            "max_items": max_items, "content_balancing": content_balancing, "exposure": exposure,
            "randomesque_k": randomesque_k})
    return found


def _under(code: str) -> Q:
    return Q(competency__code=code) | Q(competency__code__startswith=code + ".")


def pool_item_ids(exam: Exam) -> list[int]:
    """The items an adaptive exam may draw from: a competency's items, the blueprint's competencies,
    or the hand-picked items."""
    adaptive = settings_for(exam)
    active = Item.objects.active().filter(kind=ItemKind.SINGLE)
    if adaptive.competency_id:
        return list(active.filter(_under(adaptive.competency.code)).values_list("pk", flat=True))
    if exam.build == ExamBuild.BLUEPRINT:
        where = Q()
        rows = list(exam.blueprint_rows.select_related("competency"))
        for row in rows:
            where |= _under(row.competency.code)
        return list(active.filter(where).values_list("pk", flat=True)) if rows else []
    return list(active.filter(pk__in=exam.exam_items.values("item_id")).values_list("pk", flat=True))


@dataclass(frozen=True, slots=True)
class PoolStatus:
    pool: int
    calibrated: int
    needed: int
    ready: bool
    message: str


def pool_status(exam: Exam) -> PoolStatus:
    adaptive = settings_for(exam)
    ids = pool_item_ids(exam)
    calibrated = len(current_calibrations(ids))
    needed = adaptive.min_items
    if not ids:
        message = "The item pool is empty: add items, a blueprint or a competency."
    elif calibrated < needed:
        message = (f"Only {calibrated} of the {len(ids)} pool items are calibrated; at least {needed} (the minimum "
                   "length) are needed. Calibrate from response data first.")
    else:
        message = f"{calibrated} of {len(ids)} pool items are calibrated and can be served."
    return PoolStatus(len(ids), calibrated, needed, bool(ids) and calibrated >= needed, message)


def _targets(exam: Exam, bank: dict[str, list]) -> dict[str, float]:
    """Content targets: the blueprint's counts where there is one, else each area's share of the pool."""
    rows = list(exam.blueprint_rows.select_related("competency"))
    weights: dict[str, float] = {}
    if rows:
        for row in rows:
            weights[row.competency.code] = weights.get(row.competency.code, 0.0) + row.count
        areas = {entry[3] for entry in bank.values()}
        for code in list(weights):
            if not any(area == code or area.startswith(code + ".") for area in areas):
                weights.pop(code)
    else:
        for entry in bank.values():
            weights[entry[3]] = weights.get(entry[3], 0.0) + 1.0
    return cat.content_targets(weights)


def _area(code: str, targets: dict[str, float]) -> str:
    """An item's content area: the most specific target competency that contains it."""
    matches = [t for t in targets if code == t or code.startswith(t + ".")]
    return max(matches, key=len) if matches else code


def _config(adaptive: AdaptiveSettings, targets: dict[str, float]) -> cat.CatConfig:
    return cat.CatConfig(se_target=adaptive.se_target, min_items=adaptive.min_items, max_items=adaptive.max_items,
                         exposure=adaptive.exposure, randomesque_k=adaptive.randomesque_k,
                         content_targets=targets if adaptive.content_balancing else {})


def _bank_items(bank: dict[str, list], targets: dict[str, float]) -> dict[int, cat.BankItem]:
    return {int(item_id): cat.BankItem(int(item_id), irt.ItemParams(a, b, c), _area(content, targets))
            for item_id, (a, b, c, content) in bank.items()}


def draw_first_item(exam: Exam, attempt: Attempt) -> None:
    """At the start of an adaptive attempt (inside its transaction): freeze the calibrated pool, add item 1."""
    adaptive = settings_for(exam)
    status = pool_status(exam)
    if not status.ready:
        raise InvalidInput(f"this adaptive exam cannot start yet: {status.message}")
    calibrations = current_calibrations(pool_item_ids(exam))
    codes = dict(Item.objects.filter(pk__in=calibrations).values_list("pk", "competency__code"))
    bank = {str(item_id): [cal.a, cal.b, cal.c, codes.get(item_id) or ""] for item_id, cal in calibrations.items()}
    run_id = max((cal.run_id for cal in calibrations.values()), default=None)
    state = AdaptiveAttempt.objects.create(attempt=attempt, bank=bank, calibration_run_id=run_id, theta=0.0, se=1.0)
    _add_next(attempt, state, adaptive, position=1)


def _rng(attempt: Attempt, position: int) -> np.random.Generator:
    return np.random.default_rng([attempt.seed % 2**63, position])


def _answers(attempt: Attempt, bank: dict[int, cat.BankItem]) -> tuple[list[cat.BankItem], list[tuple[cat.BankItem, bool]]]:
    given, answers = [], []
    for item_id, correct, chosen in (attempt.items.order_by("position")
                                     .values_list("item_version__item_id", "is_correct", "chosen_index")):
        item = bank[item_id]
        given.append(item)
        if chosen is not None:
            answers.append((item, bool(correct)))
    return given, answers


def _add_next(attempt: Attempt, state: AdaptiveAttempt, adaptive: AdaptiveSettings, *, position: int) -> bool:
    """Choose and add the item at `position`; False when the pool has nothing left."""
    targets = _targets(attempt.exam, state.bank)
    bank = _bank_items(state.bank, targets)
    given, answers = _answers(attempt, bank)
    excluded = {item.item_id for item in given} | {int(i) for i in state.refused}
    available = [item for item_id, item in bank.items() if item_id not in excluded]
    current = cat.estimate(answers, _config(adaptive, targets))
    selection = cat.choose_next(current.theta, given, available, _config(adaptive, targets), _rng(attempt, position))
    if selection.item is None:
        return False
    if selection.refused:
        state.refused = [*state.refused, *(item.item_id for item in selection.refused)]
        state.save(update_fields=["refused"])
    item = Item.objects.select_related("current_version").get(pk=selection.item.item_id)
    version = item.current_version
    AttemptItem.objects.create(
        attempt=attempt, position=position, item_version=version,
        option_order=option_order(len(version.options), seed=attempt.seed, item_id=item.pk,
                                  shuffle=attempt.exam.shuffle_options))
    Attempt.objects.filter(pk=attempt.pk).update(last_position=position)
    return True


@dataclass(frozen=True, slots=True)
class Answered:
    status: str          # "saved" or "duplicate"
    finished: bool
    position: int        # the item to show next (the same one when finished)


def current_item(attempt: Attempt) -> AttemptItem | None:
    """The item the student is on: the last one, unless it is answered (the attempt is then ending)."""
    last = attempt.items.select_related("item_version").order_by("-position").first()
    return last if last is not None and last.chosen_index is None else None


def answer(user: Any, attempt_id: int, position: int, choice: Any, *, item_ms: int | None = None,
           at: datetime | None = None) -> Answered:
    """Commit the answer to the current item, update the ability estimate and add the next item, or finish."""
    at = at or clock.now()
    attempt = services.attempt_for(user, attempt_id, for_writing=True)
    if attempt.mode != ExamMode.ADAPTIVE:
        raise InvalidInput("this is not an adaptive attempt")
    services.refresh(attempt, at=at)
    try:
        displayed = int(choice)
    except (TypeError, ValueError):
        raise InvalidInput("choice: choose one of the options") from None
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("exam").get(pk=attempt_id)
        ai = attempt.items.select_for_update().select_related("item_version").filter(position=position).first()
        if ai is None:
            raise NotFound(f"this attempt has no question {position}")
        if not 0 <= displayed < len(ai.option_order):
            raise InvalidInput("choice: choose one of the options")
        chosen = original_index(ai.option_order, displayed)
        if ai.chosen_index is not None:
            if ai.chosen_index == chosen:
                return Answered("duplicate", attempt.is_submitted, attempt.last_position)
            raise AnswerLocked("answers in an adaptive exam are final: this question was answered already")
        if attempt.submitted_at is not None:
            if attempt.submit_reason == "deadline":
                raise DeadlinePassed("Time is up: the exam was submitted automatically at its deadline. "
                                     "This answer arrived after the deadline and was not saved.")
            raise AttemptClosed("this attempt has been submitted; answers can no longer change")
        ai.chosen_index = chosen
        ai.answered_at = at
        ai.is_correct = scoring.is_correct(ai.item_version.key_index, chosen)
        if item_ms is not None and item_ms > 0:
            ceiling = max(0, int((at - attempt.started_at).total_seconds() * 1000))
            ai.time_spent_ms = min(int(item_ms), ceiling)
        ai.last_seq += 1
        ai.save(update_fields=["chosen_index", "answered_at", "is_correct", "time_spent_ms", "last_seq"])
        state = AdaptiveAttempt.objects.select_for_update().get(attempt=attempt)
        adaptive = settings_for(attempt.exam)
        targets = _targets(attempt.exam, state.bank)
        bank = _bank_items(state.bank, targets)
        given, answers = _answers(attempt, bank)
        config = _config(adaptive, targets)
        current = cat.estimate(answers, config)
        state.theta, state.se = current.theta, current.se
        state.path = [*state.path, {"position": position, "item_id": ai.item_version.item_id,
                                    "theta": round(current.theta, 4), "se": round(current.se, 4)}]
        remaining = len(bank) - len(given) - len(state.refused)
        decision = cat.stop_decision(len(given), current.se, remaining, config)
        finished = decision.stop or not _add_next(attempt, state, adaptive, position=position + 1)
        if finished:
            state.stop_reason = decision.reason or "pool"
        state.save(update_fields=["theta", "se", "path", "stop_reason"])
        if finished:  # in the same transaction: a crash cannot leave a complete but open attempt
            services.submit_attempt(user, attempt_id, at=at, stopping_rule=True)
            finish(Attempt.objects.get(pk=attempt_id), actor=user)
    return Answered("saved", finished, position if finished else position + 1)


def finish(attempt: Attempt, *, actor: Any = None) -> AdaptiveAttempt:
    """Record the final ability estimate as an AI decision (once). The attempt must be submitted."""
    if not attempt.is_submitted:
        raise AttemptClosed("the ability estimate is ready once the attempt is finished")
    with transaction.atomic():
        state = AdaptiveAttempt.objects.select_for_update().get(attempt=attempt)
        if state.decision_id is not None:
            return state
        if not state.stop_reason:
            state.stop_reason = "deadline" if attempt.submit_reason == "deadline" else "manual"
        targets = _targets(attempt.exam, state.bank)
        bank = _bank_items(state.bank, targets)
        _, answers = _answers(attempt, bank)
        adaptive = settings_for(attempt.exam)
        final = cat.estimate(answers, _config(adaptive, targets))
        state.theta, state.se = final.theta, final.se
        run = state.calibration_run
        model = run.model.upper() if run else "IRT"
        low, high = final.theta - 1.96 * final.se, final.theta + 1.96 * final.se
        explanation = (
            f"EAP ability estimate (normal prior, mean 0, SD 1) from {len(answers)} answers to {model}-calibrated "
            f"items; 95% interval {low:.2f} to {high:.2f}. The test stopped because "
            f"{STOP_REASONS.get(state.stop_reason, state.stop_reason)}. Confidence is the share of the prior's "
            "variance the answers removed (1 - SE²).")
        record = audit.record_decision(
            model_name=MODEL_NAME, model_version=MODEL_VERSION, subject=attempt,
            inputs={"answers": [[item.item_id, correct] for item, correct in answers],
                    "params": {str(item.item_id): [item.params.a, item.params.b, item.params.c]
                               for item, _ in answers}},
            output={"theta": round(final.theta, 4), "se": round(final.se, 4), "items": len(answers),
                    "stop_reason": state.stop_reason,
                    "calibration": f"{run.model}/run-{run.pk}" if run else None},
            explanation=explanation, confidence=_confidence(final.se), action="exam.adaptive.ability",
            actor=None)
        state.decision = record
        state.save(update_fields=["theta", "se", "stop_reason", "decision"])
    return state


def _confidence(se: float) -> float:
    return float(min(1.0, max(0.0, 1.0 - se * se)))


@dataclass(frozen=True, slots=True)
class PathRow:
    position: int
    item_id: int
    external_id: str
    stem: str
    competency: str
    a: float
    b: float
    c: float
    chosen_letter: str
    key_letter: str
    is_correct: bool | None
    theta: float | None
    se: float | None


@dataclass(frozen=True, slots=True)
class AdaptiveReport:
    attempt: Attempt
    theta: float
    se: float
    low: float
    high: float
    percentile: float       # of the calibration population, N(0, 1)
    confidence: float
    n_items: int
    stop_reason: str
    model: str
    model_version: str
    explanation: str
    path: tuple[PathRow, ...]
    correct: int
    overrides: tuple[Any, ...] = ()  # faculty overrides of the estimate (audit records), newest first


def report(attempt: Attempt, *, actor: Any = None) -> AdaptiveReport:
    state = finish(attempt, actor=actor)
    steps = {row["position"]: row for row in state.path}
    rows = []
    correct = 0
    for ai in attempt.items.select_related("item_version__item__competency").order_by("position"):
        version = ai.item_version
        params = state.bank.get(str(version.item_id), [1.0, 0.0, 0.0, ""])
        step = steps.get(ai.position, {})
        chosen = ai.chosen_displayed
        key = displayed_index(ai.option_order, version.key_index)
        correct += bool(ai.is_correct)
        rows.append(PathRow(
            position=ai.position, item_id=version.item_id, external_id=version.item.external_id,
            stem=version.stem[:160], competency=version.item.competency.name if version.item.competency else "",
            a=params[0], b=params[1], c=params[2],
            chosen_letter=services.LETTERS[chosen] if chosen is not None else "",
            key_letter=services.LETTERS[key] if key is not None else "",
            is_correct=ai.is_correct if ai.chosen_index is not None else None,
            theta=step.get("theta"), se=step.get("se")))
    record = state.decision
    return AdaptiveReport(
        attempt=attempt, theta=state.theta, se=state.se, low=state.theta - 1.96 * state.se,
        high=state.theta + 1.96 * state.se, percentile=100.0 * 0.5 * (1 + math.erf(state.theta / math.sqrt(2))),
        confidence=record.confidence if record and record.confidence is not None else _confidence(state.se),
        n_items=sum(1 for row in rows if row.is_correct is not None),
        stop_reason=STOP_REASONS.get(state.stop_reason, state.stop_reason),
        model=record.model_name if record else MODEL_NAME, model_version=record.model_version if record else "",
        explanation=record.explanation if record else "", path=tuple(rows), correct=correct,
        overrides=tuple(AuditRecord.objects.filter(overrides=record).order_by("-seq")) if record else ())


def override_estimate(attempt: Attempt, *, actor: Any, theta: float, reason: str) -> Any:
    """Faculty replace the reported ability with their own judgement: a new audit record, never an edit."""
    if not -irt.THETA_BOUND <= theta <= irt.THETA_BOUND:
        raise InvalidInput(f"theta: give an ability between -{irt.THETA_BOUND:g} and {irt.THETA_BOUND:g}")
    if not reason.strip():
        raise InvalidInput("reason: say why the estimate is overridden")
    state = finish(attempt)
    return audit.record_override(state.decision, actor=actor, output={"theta": round(theta, 4)},
                                 reason=reason.strip()[:1000])


# --- standard setting ----------------------------------------------------------------------------

def angoff_items(exam: Exam) -> list[Item]:
    """The items judges rate: a hand-picked exam's items, in order. Blueprint and adaptive forms vary per
    candidate, so Angoff (which rates a fixed form) is refused for them."""
    if exam.build != ExamBuild.MANUAL or exam.mode == ExamMode.ADAPTIVE:
        raise InvalidInput("modified Angoff rates a fixed form: use it on a hand-picked (not blueprint or "
                           "adaptive) exam, or use Hofstee")
    return [row.item for row in exam.exam_items.select_related("item__current_version").order_by("position", "id")]


def parse_ratings(text: str, n_items: int) -> dict[str, list[float]]:
    """One line per judge: `name, r1, r2, ...` with probabilities (0-1) or percentages (0-100)."""
    ratings: dict[str, list[float]] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.replace(";", ",").replace("\t", ",").split(",")]
        judge, values = cells[0], [c for c in cells[1:] if c != ""]
        if not judge:
            problems.append(f"line {number}: start with the judge's name")
            continue
        if judge in ratings:
            problems.append(f"line {number}: judge {judge} appears twice")
            continue
        if len(values) != n_items:
            problems.append(f"line {number}: judge {judge} gave {len(values)} ratings; the exam has {n_items} items")
            continue
        try:
            numbers = [float(v.rstrip("%")) for v in values]
        except ValueError:
            problems.append(f"line {number}: ratings must be numbers")
            continue
        percent = any(v > 1 for v in numbers) or any(v.endswith("%") for v in values)
        numbers = [v / 100 if percent else v for v in numbers]
        if any(not 0 <= v <= 1 for v in numbers):
            problems.append(f"line {number}: ratings must lie between 0 and 1 (or 0% and 100%)")
            continue
        ratings[judge] = numbers
    if problems:
        raise InvalidInput("ratings: some lines could not be read; nothing was saved", details=problems)
    if not ratings:
        raise InvalidInput("ratings: enter one line per judge")
    return ratings


def save_angoff(exam: Exam, ratings_text: str, *, actor: Any) -> StandardSetting:
    items = angoff_items(exam)
    if not items:
        raise InvalidInput("this exam has no items to rate")
    ratings = parse_ratings(ratings_text, len(items))
    try:
        result = standards.angoff(ratings)
    except standards.StandardSettingError as error:
        raise InvalidInput(f"ratings: {error}") from None
    summary = {"n_items": result.n_items, "judges": list(result.judges), "judge_cuts": list(result.judge_cuts),
               "cut_raw": result.cut_raw, "sd_raw": result.sd_raw, "se_raw": result.se_raw,
               "min_raw": result.min_raw, "max_raw": result.max_raw,
               "items": [{"external_id": items[i.index].external_id, "mean": i.mean, "sd": i.sd}
                         for i in result.items],
               "disputed": [items[i.index].external_id for i in result.most_disputed if i.sd > 0]}
    return _save_setting(exam, StandardMethod.ANGOFF, {"ratings": ratings, "item_ids": [i.pk for i in items]},
                         summary, result.cut_percent, actor)


def exam_scores(exam: Exam) -> list[float]:
    return [100.0 * c / t for c, t in exam.attempts.submitted().filter(score_total__gt=0)
            .values_list("score_correct", "score_total")]


def save_hofstee(exam: Exam, *, min_cut: float, max_cut: float, min_fail: float, max_fail: float,
                 actor: Any) -> StandardSetting:
    """Bounds in percent (cut scores and fail rates alike)."""
    if exam.mode == ExamMode.ADAPTIVE:
        raise InvalidInput("an adaptive exam reports ability, not percent correct: Hofstee needs a fixed-length "
                           "exam's percent scores")
    try:
        result = standards.hofstee(exam_scores(exam), min_cut=min_cut, max_cut=max_cut, min_fail=min_fail / 100,
                                   max_fail=max_fail / 100)
    except standards.StandardSettingError as error:
        raise InvalidInput(str(error)) from None
    summary = {"fail_rate": result.fail_rate, "intersects": result.intersects, "note": result.note,
               "n_scores": result.n_scores, "curve": [list(point) for point in result.curve]}
    return _save_setting(exam, StandardMethod.HOFSTEE, {"min_cut": min_cut, "max_cut": max_cut,
                                                        "min_fail": min_fail, "max_fail": max_fail},
                         summary, result.cut_percent, actor)


def _save_setting(exam: Exam, method: str, inputs: dict, result: dict, cut: float, actor: Any) -> StandardSetting:
    with transaction.atomic():
        setting = StandardSetting.objects.create(
            exam=exam, method=method, inputs=inputs, result=result, cut_percent=round(cut, 2),
            created_by=actor if getattr(actor, "is_authenticated", False) else None, created_at=clock.now())
        audit.record_action(actor, "exam.standard.computed", subject=exam, data={
            "method": method, "cut_percent": setting.cut_percent, "setting_id": setting.pk})
    return setting


def apply_setting(exam: Exam, setting_id: int, *, actor: Any) -> StandardSetting:
    """Make this setting's cut the exam's pass mark (replacing any other)."""
    with transaction.atomic():
        setting = StandardSetting.objects.select_for_update().filter(exam=exam, pk=setting_id).first()
        if setting is None:
            raise NotFound(f"this exam has no standard setting {setting_id}")
        StandardSetting.objects.filter(exam=exam, is_applied=True).exclude(pk=setting.pk).update(is_applied=False)
        setting.is_applied = True
        setting.applied_at = clock.now()
        setting.save(update_fields=["is_applied", "applied_at"])
        audit.record_action(actor, "exam.pass_mark.set", subject=exam, data={
            "method": setting.method, "cut_percent": setting.cut_percent, "setting_id": setting.pk})
    return setting


def pass_mark(exam: Exam) -> StandardSetting | None:
    return StandardSetting.objects.filter(exam=exam, is_applied=True).first()


@dataclass(frozen=True, slots=True)
class PassStatus:
    cut_percent: float
    method: str
    passed: bool


def pass_status(attempt: Attempt) -> PassStatus | None:
    """Pass or fail against the exam's applied pass mark (submitted, percent-scored attempts only)."""
    if not attempt.is_submitted or attempt.mode == ExamMode.ADAPTIVE or attempt.percent is None:
        return None
    setting = pass_mark(attempt.exam)
    if setting is None:
        return None
    return PassStatus(setting.cut_percent, setting.get_method_display(), attempt.percent >= setting.cut_percent)
