"""Short-answer grading in exams: saving the text, grading at submission, the faculty review queue.

- While an attempt is open the text is saved like any answer (committed before acknowledged); no
  score, reference answer or rubric leaves the server.
- At submission every short answer is graded by `engine.shortanswer`: each automatic grade is an
  audited AI decision (grader name and version, inputs digest, matched points as the explanation,
  confidence). At or above the review threshold (`MEDTUTOR_ASAG_REVIEW_THRESHOLD`, default 0.6) the
  grade counts at once; below it the answer waits in the faculty review queue and the student sees
  a provisional grade.
- Faculty confirm or override grades in bulk; an override is `record_override` of the automatic
  decision with the new score and the reason. The attempt's score follows every review.
- The learned grader is fit on answers faculty have graded (confirmed or overridden). Until there
  are `MIN_TRAINING_ANSWERS` of them, a cold-start grader scores by rubric coverage with confidence
  0, so everything goes to review and nothing is decided by an untrained model.

An item counts as correct in the attempt's score when its final score is at least half its maximum
(the attempt score counts correct items); the report shows the points themselves.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet

from medtutor.assessment.engine import shortanswer as sa
from medtutor.assessment.errors import AnswerLocked
from medtutor.assessment.models import Attempt, AttemptItem, Exam, GradeStatus, ShortAnswerResponse
from medtutor.content.models import Item, ItemKind, ItemVersion
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.models import AuditRecord
from medtutor.core.permissions import ADMIN, AUTHORS, has_role

logger = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 5000
MIN_TRAINING_ANSWERS = 30
CORRECT_SHARE = 0.5  # an item counts as correct in the attempt score from half its points
DEFAULT_REVIEW_THRESHOLD = 0.6


def review_threshold() -> float:
    return float(getattr(settings, "MEDTUTOR_ASAG_REVIEW_THRESHOLD", DEFAULT_REVIEW_THRESHOLD))


def is_short(version: ItemVersion) -> bool:
    return is_short_columns(version.options, version.answers, getattr(version, "rubric", None))


def is_short_columns(options: Any, answers: Any, rubric: Any) -> bool:
    """is_short on a version's columns, for callers that read rows rather than model instances."""
    return not options and bool(answers or rubric)


# --- questions from items --------------------------------------------------------------------------

def question_for(version: ItemVersion) -> sa.ShortQuestion:
    """The engine's view of a short-answer item version: full-credit answers are the references."""
    references = tuple(a["text"] for a in version.answers if float(a.get("score", 1.0)) >= 1.0) or \
        tuple(a["text"] for a in version.answers)
    points = tuple(sa.RubricPoint(text=p["text"], weight=float(p.get("weight", 1.0)),
                                  alternatives=tuple(p.get("alternatives") or ()))
                   for p in (version.rubric or []) if p.get("text"))
    return sa.ShortQuestion(key=f"item-version-{version.pk}", prompt=f"{version.stem} {version.lead_in}".strip(),
                            references=references, points=points, max_score=float(version.max_points or 1.0))


# --- while the attempt is open -----------------------------------------------------------------------

def save_text(ai: AttemptItem, text: str, *, at: datetime) -> ShortAnswerResponse:
    """Store a short answer's text on a locked, open attempt item (inside the caller's transaction)."""
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"an answer can hold up to {MAX_ANSWER_CHARS} characters")
    response, _ = ShortAnswerResponse.objects.get_or_create(
        attempt_item=ai, defaults={"max_score": float(ai.item_version.max_points or 1.0)})
    if ai.is_revealed and response.text != text:
        raise AnswerLocked("the answer to this question is locked: its feedback has been shown")
    if response.text != text:
        response.text = text
        response.save(update_fields=["text"])
        ai.answered_at = at if text.strip() else None
    return response


def text_of(ai: AttemptItem) -> str:
    response = ShortAnswerResponse.objects.filter(attempt_item=ai).values_list("text", flat=True).first()
    return response or ""


# --- the grader --------------------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "grader": None, "path": None}


def _human_graded() -> QuerySet[ShortAnswerResponse]:
    return ShortAnswerResponse.objects.filter(status__in=[GradeStatus.CONFIRMED, GradeStatus.OVERRIDDEN],
                                              final_score__isnull=False)


def _model_dir() -> Path:
    configured = getattr(settings, "MEDTUTOR_ASAG_MODEL_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "asag"


def _training_key() -> tuple[str, int]:
    graded = _human_graded()
    stats = graded.aggregate(last=Max("pk"), at=Max("reviewed_at"))
    count = graded.count()
    fingerprint = f"{sa.GRADER_VERSION}|{count}|{stats['last']}|{stats['at'].isoformat() if stats['at'] else ''}"
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16], count


def current_grader(*, fit: bool = True) -> sa.ShortAnswerGrader | None:
    """The learned grader, fit on faculty-graded answers; None at a cold start (too few of them).

    Fitting takes seconds, so it happens after a review is committed (`refresh_grader`), never while a
    submission holds its locks: a submission uses the grader on disk (`fit=False`), a little out of date
    if a review has just landed, and fits inline only the very first time.
    """
    key, count = _training_key()
    if count < MIN_TRAINING_ANSWERS:
        return None
    with _lock:
        if _cache["key"] == key:
            return _cache["grader"]
        folder = _model_dir()
        path = folder / f"grader-{key}.pkl"
        if not path.exists() and not fit:
            saved = sorted(folder.glob("grader-*.pkl"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
            if not saved:
                return None
            path = saved[-1]
        if path.exists():
            if _cache["path"] == path:  # the newest saved grader, already loaded (out of date: fit=False)
                return _cache["grader"]
            with path.open("rb") as handle:
                grader = pickle.load(handle)  # written by this instance only (see below)
            _cache.update(key=key if path.name == f"grader-{key}.pkl" else None, grader=grader, path=path)
            return grader
        rows = list(_human_graded().select_related("attempt_item__item_version"))
        versions = {r.attempt_item.item_version_id: r.attempt_item.item_version for r in rows}
        answers = [sa.GradedAnswer(f"item-version-{r.attempt_item.item_version_id}", r.text, r.final_score)
                   for r in rows]
        if len({a.score for a in answers}) < 2:
            return None
        grader = sa.ShortAnswerGrader(seed=0).fit([question_for(v) for v in versions.values()], answers)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".grader-{key}.{os.getpid()}.tmp"
        with temporary.open("wb") as handle:
            pickle.dump(grader, handle)
        temporary.replace(path)
        _cache.update(key=key, grader=grader, path=path)
        logger.info("short-answer grader fit on %d faculty-graded answers", count)
        return grader


def refresh_grader() -> None:
    """Refit after reviews change the training answers (run after commit, outside any lock)."""
    try:
        current_grader(fit=True)
    except Exception:  # the previous grader stays in use; the next review tries again
        logger.exception("refitting the short-answer grader failed")


def grade_texts(version: ItemVersion, texts: list[str]) -> list[sa.Grade]:
    question = question_for(version)
    grader = current_grader(fit=False) or current_grader(fit=True)
    if grader is None:
        return [sa.rubric_grade(question, text) for text in texts]
    return grader.grade_many(question, texts)


def _points_json(grade: sa.Grade) -> list[dict[str, Any]]:
    return [{"index": p.index, "text": p.text, "weight": p.weight, "matched": p.matched,
             "coverage": p.coverage, "span_text": p.span_text} for p in grade.points]


def grade_attempt(attempt: Attempt, *, at: datetime, any_short: bool | None = None) -> int:
    """Grade every short answer of a locked attempt being submitted (inside the caller's transaction).

    Returns how many short items graded now count as correct (confident grades only); items graded
    at reveal in tutor mode were counted by the scorer already. `any_short`: whether the caller, having read
    the attempt's items, saw a short one (False: the common all-multiple-choice exam costs no query here).
    """
    if any_short is False:
        return 0
    items = [ai for ai in attempt.items.select_related("item_version", "short_answer")
             if is_short(ai.item_version)]
    if not items:
        return 0
    correct = 0
    by_version: dict[int, list[AttemptItem]] = {}
    for ai in items:
        response = getattr(ai, "short_answer", None)
        if response is not None and response.decision_id is not None:  # graded at reveal (tutor mode): the
            continue  # multiple-choice scorer has counted it already through scored_choice
        by_version.setdefault(ai.item_version_id, []).append(ai)
    for group in by_version.values():
        version = group[0].item_version
        responses = []
        for ai in group:
            response, _ = ShortAnswerResponse.objects.get_or_create(
                attempt_item=ai, defaults={"max_score": float(version.max_points or 1.0)})
            responses.append(response)
        grades = grade_texts(version, [r.text for r in responses])
        for ai, response, grade in zip(group, responses, grades, strict=True):
            _record_grade(ai, response, grade, at=at)
            correct += bool(ai.is_correct)
    return correct


def _record_grade(ai: AttemptItem, response: ShortAnswerResponse, grade: sa.Grade, *, at: datetime) -> None:
    """Store one automatic grade and audit it; unsure grades wait for review (the item counts once reviewed)."""
    confident = grade.confidence >= review_threshold()
    status = GradeStatus.AUTO if confident else GradeStatus.NEEDS_REVIEW
    response.decision = audit.record_decision(
        model_name=grade.model_name, model_version=grade.model_version, subject=response,
        inputs={"item_version": ai.item_version_id, "answer": response.text}, action="asag.grade",
        output={"score": grade.score, "max_score": grade.max_score,
                "matched_points": [p.index for p in grade.matched], "status": status},
        explanation=grade.explanation(), confidence=grade.confidence)
    response.auto_score = grade.score
    response.max_score = grade.max_score
    response.confidence = grade.confidence
    response.matched_points = _points_json(grade)
    response.grader_name, response.grader_version = grade.model_name, grade.model_version
    response.graded_at = at
    response.status = status
    response.final_score = grade.score if confident else None
    response.save()
    ai.is_correct = _counts_correct(response) if confident else None
    ai.save(update_fields=["is_correct"])


def reveal_short(ai: AttemptItem, *, at: datetime) -> None:
    """Tutor mode: grade one short answer now and lock it (inside the caller's transaction). Idempotent."""
    if ai.revealed_at is not None:
        return
    response = ShortAnswerResponse.objects.filter(attempt_item=ai).first()
    if response is None or not response.text.strip():
        raise InvalidInput("write an answer first")
    ai.revealed_at = at
    ai.save(update_fields=["revealed_at"])
    _record_grade(ai, response, grade_texts(ai.item_version, [response.text])[0], at=at)


def _counts_correct(response: ShortAnswerResponse) -> bool:
    score = response.final_score if response.final_score is not None else response.auto_score
    return score is not None and response.max_score > 0 and score >= CORRECT_SHARE * response.max_score


def recount(attempt: Attempt) -> None:
    """The attempt's score after a review: correct items, multiple-choice and short answers alike."""
    correct = attempt.items.filter(is_correct=True).count()
    Attempt.objects.filter(pk=attempt.pk).update(score_correct=correct)


# --- what a student sees ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShortView:
    text: str
    show_grade: bool = False
    score: float | None = None
    max_score: float = 1.0
    is_provisional: bool = False
    status_label: str = ""
    confidence: float | None = None
    matched: tuple[dict[str, Any], ...] = ()
    missed: tuple[dict[str, Any], ...] = ()
    references: tuple[str, ...] = ()
    grader: str = ""
    review_reason: str = ""
    decision_id: int | None = None  # the grade's audit record: what a student contests

    @property
    def score_label(self) -> str:
        return f"{round(self.score, 2):g}" if self.score is not None else "—"

    @property
    def max_label(self) -> str:
        return f"{round(self.max_score, 2):g}"


def short_view(attempt: Attempt, ai: AttemptItem) -> ShortView | None:
    """A short item as its student may see it: only the text while open; the grade once submitted."""
    if not is_short(ai.item_version):
        return None
    response = ShortAnswerResponse.objects.filter(attempt_item=ai).first()
    text = response.text if response else ""
    if not (attempt.is_submitted or ai.is_revealed) or response is None or response.status == GradeStatus.PENDING:
        return ShortView(text=text, max_score=float(ai.item_version.max_points or 1.0))
    provisional = response.status == GradeStatus.NEEDS_REVIEW
    points = response.matched_points or []
    return ShortView(
        text=text, show_grade=True,
        score=response.auto_score if provisional else response.final_score, max_score=response.max_score,
        is_provisional=provisional, status_label=response.get_status_display(), confidence=response.confidence,
        matched=tuple(p for p in points if p.get("matched")), missed=tuple(p for p in points if not p.get("matched")),
        references=question_for(ai.item_version).references,
        grader=f"{response.grader_name} {response.grader_version}".strip(),
        review_reason=response.review_reason if response.status == GradeStatus.OVERRIDDEN else "",
        decision_id=response.decision_id)


def scored_choice(ai: AttemptItem) -> tuple[int | None, int | None]:
    """(key, chosen) standing in for a short item in the multiple-choice scorer: right iff graded correct."""
    return scored_choice_columns(ai.is_correct, ai.answered_at)


def scored_choice_columns(is_correct: bool | None, answered_at: Any) -> tuple[int | None, int | None]:
    return 0, (0 if is_correct else (1 if answered_at is not None else None))


# --- the faculty review queue ----------------------------------------------------------------------------

def reviewable_exams(user: Any) -> QuerySet[Exam]:
    """Admins review every exam; faculty the exams they made, those open to all, and their cohorts' exams."""
    if has_role(user, ADMIN):
        return Exam.objects.all()
    if not has_role(user, *AUTHORS):
        return Exam.objects.none()
    return Exam.objects.filter(Q(created_by=user) | Q(cohorts__isnull=True) | Q(cohorts__members=user)).distinct()


def queue(user: Any, *, exam_id: int | None = None, status: str = GradeStatus.NEEDS_REVIEW) -> QuerySet[ShortAnswerResponse]:
    responses = ShortAnswerResponse.objects.filter(
        attempt_item__attempt__exam__in=reviewable_exams(user), attempt_item__attempt__submitted_at__isnull=False)
    if exam_id is not None:
        responses = responses.filter(attempt_item__attempt__exam_id=exam_id)
    if status != "all":
        responses = responses.filter(status=status)
    return responses.select_related("attempt_item__attempt__exam", "attempt_item__attempt__student",
                                    "attempt_item__item_version__item", "reviewer").order_by(
        "confidence", "attempt_item__attempt_id", "attempt_item__position")


@dataclass(frozen=True, slots=True)
class ReviewResult:
    confirmed: int
    overridden: int


def _parse_score(raw: Any, max_score: float) -> float:
    try:
        score = float(str(raw).strip())
    except (TypeError, ValueError):
        raise InvalidInput("score: enter a number") from None
    if not 0 <= score <= max_score:
        raise InvalidInput(f"score: must be between 0 and {max_score:g}")
    return score


def review(user: Any, response_ids: list[int], *, action: str, score: Any = None, reason: str = "") -> ReviewResult:
    """Confirm or override many grades in one transaction; any bad id or value changes nothing."""
    if action not in ("confirm", "override"):
        raise InvalidInput("action: choose confirm or override")
    if not response_ids:
        raise InvalidInput("answers: tick at least one answer")
    reason = (reason or "").strip()
    if action == "override" and not reason:
        raise InvalidInput("reason: an override needs a reason")
    now = clock.now()
    with transaction.atomic():
        allowed = queue(user, status="all").filter(pk__in=response_ids).select_for_update(of=("self",))
        responses = list(allowed)
        if len(responses) != len(set(response_ids)):
            raise NotFound("some of those answers do not exist or are not yours to review")
        touched: set[int] = set()
        for response in responses:
            if response.decision_id is None:
                raise InvalidInput(f"answer {response.pk} has not been graded yet")
            if action == "confirm":
                response.final_score = response.auto_score
                response.status = GradeStatus.CONFIRMED
                audit.record_action(user, "asag.grade.confirmed", subject=response, data={
                    "decision_seq": response.decision.seq, "score": response.final_score,
                    "max_score": response.max_score, "grader": f"{response.grader_name} {response.grader_version}"})
            else:
                new_score = _parse_score(score, response.max_score)
                audit.record_override(response.decision, actor=user, output={
                    "score": new_score, "max_score": response.max_score, "previous_score": response.auto_score},
                    reason=reason)
                response.final_score = new_score
                response.status = GradeStatus.OVERRIDDEN
                response.review_reason = reason
            response.reviewer = user
            response.reviewed_at = now
            response.save(update_fields=["final_score", "status", "review_reason", "reviewer", "reviewed_at"])
            ai = response.attempt_item
            ai.is_correct = _counts_correct(response)
            ai.save(update_fields=["is_correct"])
            touched.add(ai.attempt_id)
        for attempt in Attempt.objects.filter(pk__in=touched):
            recount(attempt)
        transaction.on_commit(refresh_grader)
    return ReviewResult(confirmed=len(responses) if action == "confirm" else 0,
                        overridden=len(responses) if action == "override" else 0)


def decision_for(response: ShortAnswerResponse) -> AuditRecord | None:
    return response.decision


# --- authoring: reference answers and rubric points ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RubricInput:
    references: list[str]
    points: list[dict[str, Any]]
    max_points: float


def parse_rubric(references_text: str, points_text: str, max_points: Any) -> RubricInput:
    """References one per line; points one per line as `weight | text | alternative; alternative`."""
    references = [line.strip() for line in (references_text or "").splitlines() if line.strip()]
    if not references:
        raise InvalidInput("references: give at least one reference answer")
    points = []
    for number, line in enumerate((points_text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 1:
            weight, text, alternatives = 1.0, parts[0], ""
        else:
            try:
                weight = float(parts[0])
            except ValueError:
                raise InvalidInput(f"points line {number}: the weight '{parts[0][:20]}' is not a number") from None
            text, alternatives = parts[1], (parts[2] if len(parts) > 2 else "")
        if not text or weight <= 0:
            raise InvalidInput(f"points line {number}: needs a text and a positive weight")
        points.append({"text": text, "weight": weight,
                       "alternatives": [a.strip() for a in alternatives.split(";") if a.strip()]})
    try:
        maximum = float(str(max_points).strip() or "1")
    except ValueError:
        raise InvalidInput("max_points: enter a number") from None
    if not 0 < maximum <= 100:
        raise InvalidInput("max_points: must be above 0 and at most 100")
    return RubricInput(references, points, maximum)


def rubric_lines(version: ItemVersion) -> tuple[str, str]:
    refs = "\n".join(a["text"] for a in version.answers)
    points = "\n".join(f"{p.get('weight', 1):g} | {p['text']}" + (f" | {'; '.join(p['alternatives'])}"
                                                                  if p.get("alternatives") else "")
                       for p in version.rubric or [])
    return refs, points


def save_rubric(item: Item, rubric: RubricInput, *, actor: Any) -> ItemVersion:
    """A new version of a short-answer item with these references and points (answered versions never change)."""
    if item.kind != ItemKind.SHORT:
        raise InvalidInput("only short-answer items have a rubric")
    with transaction.atomic():
        current = Item.objects.select_for_update().get(pk=item.pk).current_version
        if current is None:
            raise NotFound(f"question {item.pk} has no version")
        answers = [{"text": text, "score": 1.0, "feedback": ""} for text in rubric.references]
        if answers == current.answers and rubric.points == (current.rubric or []) \
                and rubric.max_points == current.max_points:
            return current
        number = (item.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = ItemVersion.objects.create(
            item=item, number=number, stem=current.stem, lead_in=current.lead_in, options=[], key_index=None,
            answers=answers, explanation=current.explanation, objective=current.objective, image=current.image,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            change_note="rubric edited", rubric=rubric.points, max_points=rubric.max_points)
        item.current_version = version
        item.save(update_fields=["current_version", "updated_at"])
        audit.record_action(actor, "item.rubric.edited", subject=item, data={
            "version": number, "references": len(rubric.references), "points": len(rubric.points),
            "max_points": rubric.max_points})
    return version
