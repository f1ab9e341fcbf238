"""The JSON API at /api/v1/ (OpenAPI at /api/v1/openapi.json).

Session auth (with the X-CSRFToken header on writes) or a personal token (`Authorization: Bearer mt_...`).
Each operation checks the caller's role, and objects are filtered by owner: a student reads only
their own answers, and never sees a key or an explanation before answering.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, NinjaAPI, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer, django_auth
from pydantic import Field

from medtutor.accounts.models import ApiToken
from medtutor.content import services as content_services
from medtutor.content.forms import filtered_items
from medtutor.content.importers import parse_upload
from medtutor.content.importers import records as rec
from medtutor.content.importers.records import InvalidImportFile
from medtutor.content.models import Competency, Item, ItemVersion
from medtutor.core.audit import verify_chain
from medtutor.core.errors import DomainError
from medtutor.core.permissions import ADMIN, AUTHORS, EVERYONE, STUDENT, has_role
from medtutor.learning import services as learning_services
from medtutor.learning import cards as learning_cards
from medtutor.learning.models import ItemResponse


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = ApiToken.objects.find(token)
        if found is None or not found.user.is_active:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.user = found.user
        return found.user


api = NinjaAPI(title="medtutor API", version="1", urls_namespace="api-v1", auth=[TokenAuth(), django_auth],
               docs_url="/docs")


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError):
    return api.create_response(request, {"detail": error.message, "errors": error.details}, status=error.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, error: ValidationError):
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
              for e in error.errors]
    return api.create_response(request, {"detail": "the request is not valid", "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, error: AuthenticationError):
    return api.create_response(request, {"detail": "sign in or send a valid API token"}, status=401)


def require_role(request: HttpRequest, *roles: str) -> None:
    if not has_role(request.auth, *roles):
        raise HttpError(403, f"this needs a {' or '.join(roles)} account")


# --- schemas -------------------------------------------------------------------------------------

class Me(Schema):
    id: int
    username: str
    name: str
    role: str


class CompetencyOut(Schema):
    code: str
    name: str
    parent: str | None
    kind: str
    weight: float
    objectives: list[dict[str, str]]


class OptionPublic(Schema):
    text: str


class OptionFull(Schema):
    text: str
    explanation: str = ""


class ItemPublic(Schema):
    """What a student may see before answering: no key, no explanations."""
    id: int
    external_id: str
    version_id: int
    stem: str
    lead_in: str
    options: list[OptionPublic]
    competency: str | None
    difficulty: str | None


class ItemFull(ItemPublic):
    version: int
    options: list[OptionFull]
    key: int | None
    explanation: str
    objective: str | None
    discipline: str | None
    tags: list[str]
    source: str
    licence: str


class ItemIn(Schema):
    external_id: str = Field(min_length=1, max_length=200)
    stem: str = Field(min_length=1, max_length=20000)
    lead_in: str = Field(default="", max_length=1000)
    options: list[OptionFull] = Field(min_length=2, max_length=10)
    key: int = Field(ge=0, le=9)
    explanation: str = ""
    competency: str | None = None
    discipline: str | None = None
    objective: str | None = None
    tags: list[str] = []
    difficulty: Literal["easy", "medium", "hard"] | None = None
    source: str = ""
    licence: str = ""
    change_note: str = Field(default="", max_length=300)


class AnswerIn(Schema):
    choice: int = Field(ge=0, le=9)
    client_token: str = Field(min_length=8, max_length=64)
    version_id: int | None = None
    seconds_taken: int | None = Field(default=None, ge=0, le=86400)


class AnswerOut(Schema):
    id: int
    item_id: int
    version_id: int
    choice: int
    correct: bool
    key: int
    options: list[OptionFull]
    explanation: str
    objective: str | None
    answered_at: datetime
    replayed: bool


class ImportOut(Schema):
    format: str
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    notes: list[str]


class ChainOut(Schema):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str


class ItemFilters(Schema):
    q: str = ""
    competency: str = ""
    tag: str = ""
    difficulty: str = ""
    source: str = ""
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


# --- shaping --------------------------------------------------------------------------------------

def _public(item: Item, version: ItemVersion) -> dict:
    return {"id": item.pk, "external_id": item.external_id, "version_id": version.pk, "stem": version.stem,
            "lead_in": version.lead_in, "options": [{"text": o["text"]} for o in version.options],
            "competency": item.competency.code if item.competency else None,
            "difficulty": item.difficulty or None}


def _full(item: Item) -> dict:
    version = item.current_version
    return _public(item, version) | {
        "version": version.number, "options": version.options, "key": version.key_index,
        "explanation": version.explanation, "objective": version.objective.text if version.objective else None,
        "discipline": item.discipline.code if item.discipline else None,
        "tags": sorted(t.slug for t in item.tags.all()), "source": item.source, "licence": item.licence}


def _answer(response: ItemResponse, replayed: bool = False) -> dict:
    version = response.item_version
    return {"id": response.pk, "item_id": version.item_id, "version_id": version.pk, "choice": response.chosen_index,
            "correct": response.is_correct, "key": version.key_index, "options": version.options,
            "explanation": version.explanation, "objective": version.objective.text if version.objective else None,
            "answered_at": response.answered_at, "replayed": replayed}


def _item_query():
    return Item.objects.active().select_related("competency", "discipline", "current_version__objective")


# --- routes ---------------------------------------------------------------------------------------

router = Router()


@router.get("/me", response=Me, tags=["accounts"])
def me(request: HttpRequest):
    user = request.auth
    return {"id": user.pk, "username": user.username, "name": user.name, "role": user.role}


@router.get("/competencies", response=list[CompetencyOut], tags=["content"])
def competencies(request: HttpRequest):
    require_role(request, *EVERYONE)
    outline = Competency.objects if has_role(request.auth, *AUTHORS) else Competency.objects.for_students()
    return [{"code": c.code, "name": c.name, "parent": c.parent.code if c.parent else None, "kind": c.kind,
             "weight": c.weight, "objectives": [{"code": o.code, "text": o.text} for o in c.objectives.all()]}
            for c in outline.select_related("parent").prefetch_related("objectives")]


@router.get("/items", response=list[ItemFull], tags=["content"])
def list_items(request: HttpRequest, filters: Query[ItemFilters]):
    require_role(request, *AUTHORS)
    _, items = filtered_items(filters.dict())
    items = items.select_related("current_version__objective").prefetch_related("tags").order_by("external_id")
    return [_full(i) for i in items[filters.offset:filters.offset + filters.limit]]


@router.get("/items/{item_id}", response={200: ItemFull | ItemPublic}, tags=["content"])
def get_item(request: HttpRequest, item_id: int):
    require_role(request, *EVERYONE)
    items = _item_query() if has_role(request.auth, *AUTHORS) else _item_query().for_students()
    item = items.prefetch_related("tags").filter(pk=item_id).first()
    if item is None:
        raise HttpError(404, f"there is no question {item_id}")
    if has_role(request.auth, *AUTHORS):
        return ItemFull(**_full(item))
    return ItemPublic(**_public(item, item.current_version))


def _record_from(body: ItemIn, external_id: str) -> rec.ItemRecord:
    return rec.ItemRecord(
        external_id=external_id, stem=body.stem, lead_in=body.lead_in,
        options=tuple(rec.OptionRecord(o.text, o.explanation) for o in body.options), key=body.key,
        explanation=body.explanation, competency=body.competency, discipline=body.discipline,
        objective=body.objective, tags=tuple(body.tags), difficulty=body.difficulty, source=body.source,
        licence=body.licence)


@router.post("/items", response={201: ItemFull}, tags=["content"])
def create_item(request: HttpRequest, body: ItemIn):
    require_role(request, *AUTHORS)
    content_services.save_item(None, _record_from(body, body.external_id), actor=request.auth)
    return Status(201, _full(_item_query().get(external_id=body.external_id)))


@router.put("/items/{item_id}", response=ItemFull, tags=["content"])
def update_item(request: HttpRequest, item_id: int, body: ItemIn):
    require_role(request, *AUTHORS)
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        raise HttpError(404, f"there is no question {item_id}")
    content_services.save_item(item, _record_from(body, item.external_id), actor=request.auth,
                               change_note=body.change_note)
    return _full(_item_query().get(pk=item_id))


@router.post("/items/{item_id}/answers", response={201: AnswerOut, 200: AnswerOut}, tags=["learning"])
def answer_item(request: HttpRequest, item_id: int, body: AnswerIn):
    require_role(request, STUDENT)
    result = learning_services.record_answer(request.auth, item_id, body.version_id, body.choice, body.client_token,
                                             body.seconds_taken)
    return Status(200 if result.replayed else 201, _answer(result.response, result.replayed))


@router.get("/me/answers", response=list[AnswerOut], tags=["learning"])
def my_answers(request: HttpRequest, limit: int = Query(50, ge=1, le=500)):
    require_role(request, *EVERYONE)
    responses = (ItemResponse.objects.filter(learner=request.auth)
                 .select_related("item_version__objective").order_by("-answered_at")[:limit])
    return [_answer(r) for r in responses]


@router.get("/answers/{answer_id}", response=AnswerOut, tags=["learning"])
def get_answer(request: HttpRequest, answer_id: int):
    require_role(request, *EVERYONE)
    response = ItemResponse.objects.select_related("item_version__objective").filter(pk=answer_id).first()
    # Another student's answer is reported as absent, not forbidden, so ids reveal nothing.
    if response is None or (response.learner_id != request.auth.pk and not has_role(request.auth, *AUTHORS)):
        raise HttpError(404, f"there is no answer {answer_id}")
    return _answer(response)


@router.post("/imports", response={201: ImportOut}, tags=["content"])
def import_file(request: HttpRequest, file: File[UploadedFile], format: Form[str] = ""):
    require_role(request, *AUTHORS)
    data = file.read()
    try:
        fmt, bundle = parse_upload(data, filename=file.name or "", fmt=format or None)
    except InvalidImportFile as error:
        raise DomainError(f"{file.name}: nothing was imported", details=[str(i) for i in error.issues] or [str(error)])
    summary = content_services.import_bundle(bundle, actor=request.auth, filename=file.name or "", fmt=fmt)
    return Status(201, {"format": fmt, "created": summary.created, "updated": summary.updated,
                        "unchanged": summary.unchanged, "notes": list(summary.notes)})


@router.get("/audit/verify", response=ChainOut, tags=["governance"])
def audit_verify(request: HttpRequest):
    require_role(request, ADMIN)
    report = verify_chain()
    return {"ok": report.ok, "checked": report.checked, "first_broken_seq": report.first_broken_seq,
            "reason": report.reason}


# --- flashcards (learning.cards): FSRS review, undo ----------------------------------------------

class CardStateOut(Schema):
    phase: str
    is_new: bool
    step: int | None
    stability_days: float | None
    difficulty: float | None
    due_at: datetime
    last_review_at: datetime | None
    version: int


class DueCardOut(Schema):
    card_id: int
    kind: str
    front: str = Field(description="cloze deletions shown as [...] or [hint]")
    back: str
    competency: str | None
    is_new: bool
    version: int = Field(description="send it back as `version` when grading, so two tabs never grade twice")
    intervals: dict[str, str] = Field(description="grade name → next interval, e.g. good → '2 d'")


class CardsDueOut(Schema):
    due_now: int
    new_available: int
    backlog: int
    new_cards_paused: bool
    daily_cap: int
    cards: list[DueCardOut]


class CardReviewIn(Schema):
    grade: int = Field(ge=1, le=4, description="1 again, 2 hard, 3 good, 4 easy")
    client_seq: str = Field(min_length=1, max_length=64, description="client id of this review; a retry replays it")
    reviewed_at: datetime | None = Field(default=None, description="UTC, e.g. 2025-03-01T08:00:00Z; default now")
    version: int | None = Field(default=None, ge=0, le=2**31 - 1, description="the card state version shown")


class CardReviewOut(Schema):
    review_id: int
    card_id: int
    grade: int
    reviewed_at: datetime
    replayed: bool
    interval: str
    state: CardStateOut
    next_intervals: dict[str, str]


class CardUndoIn(Schema):
    review_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="undo only if this is still your last review")


class CardUndoOut(Schema):
    review_id: int
    card_id: int
    replayed: bool
    state: CardStateOut


def _card_state(state, version: int) -> dict:
    return {"phase": state.phase.name.lower(), "is_new": state.is_new, "step": state.step,
            "stability_days": state.stability_days, "difficulty": state.difficulty, "due_at": state.due_at,
            "last_review_at": state.last_review_at, "version": version}


def _intervals(intervals) -> dict[str, str]:
    from medtutor.learning.engine.memory import format_interval

    return {grade.name.lower(): format_interval(gap) for grade, gap in intervals.items()}


@router.get("/cards/due", response=CardsDueOut, tags=["cards"])
def cards_due(request: HttpRequest, limit: int = Query(20, ge=1, le=200)):
    require_role(request, STUDENT)
    from medtutor.learning.engine import cloze

    overview = learning_cards.deck_overview(request.auth)
    entries = learning_cards.queue(request.auth, limit=limit, plan=overview.plan)
    out = []
    for entry in entries:
        card = entry.card
        is_cloze = entry.is_cloze
        back = (cloze.back_text(card.front) + (f"\n\n{card.back}" if card.back else "")) if is_cloze else card.back
        out.append({"card_id": card.pk, "kind": card.kind, "back": back, "is_new": entry.is_new,
                    "front": cloze.front_text(card.front) if is_cloze else card.front,
                    "competency": card.competency.code if card.competency else None, "version": entry.version,
                    "intervals": {g.name.lower(): label for g, label in entry.intervals()}})
    return {"due_now": overview.due_now, "new_available": overview.new_available, "backlog": overview.plan.backlog,
            "new_cards_paused": overview.plan.new_cards_paused, "daily_cap": overview.plan.daily_cap, "cards": out}


@router.post("/cards/{card_id}/reviews", response={201: CardReviewOut, 200: CardReviewOut}, tags=["cards"])
def review_card(request: HttpRequest, card_id: int, body: CardReviewIn):
    require_role(request, STUDENT)
    from medtutor.learning.engine.memory import format_interval

    done = learning_cards.record_review(request.auth, card_id, body.grade, client_seq=body.client_seq,
                                        reviewed_at=body.reviewed_at, expected_version=body.version)
    return Status(200 if done.replayed else 201, {
        "review_id": done.review.pk, "card_id": done.review.card_id, "grade": done.review.grade,
        "reviewed_at": done.review.reviewed_at, "replayed": done.replayed, "interval": format_interval(done.interval),
        "state": _card_state(done.state, done.version), "next_intervals": _intervals(done.next_intervals())})


@router.post("/cards/reviews/undo", response=CardUndoOut, tags=["cards"])
def undo_card_review(request: HttpRequest, body: CardUndoIn):
    require_role(request, STUDENT)
    undone = learning_cards.undo_last_review(request.auth, review_id=body.review_id)
    return {"review_id": undone.review.pk, "card_id": undone.review.card_id, "replayed": undone.replayed,
            "state": _card_state(undone.state, undone.version)}


api.add_router("/", router)


# --- exams (routes in medtutor.assessment.api) ------------------------------------------------------

from medtutor.assessment.api import router as exams_router  # noqa: E402  (after the shared routes)

api.add_router("/", exams_router)

from medtutor.decision.risk_api import router as risk_router  # noqa: E402  (risk lab + model registry)

api.add_router("/", risk_router)

from medtutor.decision.ddx_api import router as ddx_router  # noqa: E402  (differential-diagnosis engine)

api.add_router("/", ddx_router)
