"""Adaptive practice: mastery per competency from a student's answers, and the next question.

Mastery is Bayesian knowledge tracing (the BKT update of learning.engine.kt) with population
defaults, run over the student's answers in each topic; the choice is learning.engine.selector's.
Every choice is an AI recommendation the student sees, so it goes to the audit log with its reason.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef

from medtutor.content.models import Competency, Item, ItemKind, staff_only_competency_ids
from medtutor.core import audit, clock
from medtutor.learning.engine.kt import BKTParams
from medtutor.learning.engine.selector import (DIFFICULTY_LOGIT, Candidate, Choice, CompetencyState,
                                               SelectorSettings, choose_next)
from medtutor.learning.models import ItemResponse

SELECTOR_NAME = "practice-selector"
SELECTOR_VERSION = "1.0"
# Population defaults for single-best-answer questions with 4-5 options: a guess succeeds about
# one time in five; an answer teaches something (learn) and a slip is rarer than a guess.
DEFAULT_BKT = BKTParams(prior=0.3, learn=0.12, guess=0.2, slip=0.1)
CANDIDATE_TOPICS = 6      # topics considered per choice, the neediest first
CANDIDATE_ITEMS = 300     # items scored per choice


@dataclass(frozen=True)
class TopicMastery:
    code: str
    mastery: float
    uncertainty: float
    answered: int
    correct: int
    last_practised_at: datetime | None


def topic_mastery(learner, *, exclude_response_id: int | None = None) -> dict[str, TopicMastery]:
    """BKT mastery per topic from every answer the learner has given, oldest first."""
    responses = (ItemResponse.objects.filter(learner=learner, item_version__item__competency__isnull=False)
                 .order_by("answered_at", "pk")
                 .values_list("pk", "item_version__item__competency__code", "is_correct", "answered_at"))
    known: dict[str, float] = {}
    counts: dict[str, list] = {}
    for pk, code, correct, at in responses:
        if pk == exclude_response_id:
            continue
        known[code] = DEFAULT_BKT.after(known.get(code, DEFAULT_BKT.prior), correct)
        entry = counts.setdefault(code, [0, 0, None])
        entry[0] += 1
        entry[1] += int(correct)
        entry[2] = at
    return {code: TopicMastery(code, p, _uncertainty(p, counts[code][0]), counts[code][0], counts[code][1],
                               counts[code][2]) for code, p in known.items()}


def _uncertainty(p: float, n: int) -> float:
    # A plain binomial standard error: wide after a few answers, narrow after many.
    return math.sqrt(max(p * (1 - p), 0.01) / (n + 1))


def _root_weights(hidden: list[int] | None = None) -> dict[str, float]:
    return dict(Competency.objects.for_students(hidden).filter(parent__isnull=True).values_list("code", "weight"))


def _system_of(code: str) -> str:
    return code.split(".", 1)[0]


def choose_question(learner, *, within: Competency | None = None, now: datetime | None = None,
                    rng: random.Random | None = None, settings: SelectorSettings = SelectorSettings()
                    ) -> tuple[Item, Choice, audit.AuditRecord] | None:
    now = now or clock.now()
    rng = rng or random.Random()
    mastery = topic_mastery(learner)
    states = {code: CompetencyState(m.mastery, m.uncertainty, m.last_practised_at) for code, m in mastery.items()}
    # Practice is for students: staff-only content (faculty training) is never in the pool.
    hidden = staff_only_competency_ids()
    weights = _root_weights(hidden)
    items = Item.objects.active().for_students(hidden).filter(kind=ItemKind.SINGLE).order_by()
    topic_codes = dict(Competency.objects.filter(
        Exists(items.filter(competency=OuterRef("pk")))).values_list("pk", "code"))
    if within is not None:
        topic_codes = {pk: code for pk, code in topic_codes.items()
                       if code == within.code or code.startswith(within.code + ".")}
    recent = list(ItemResponse.objects.filter(learner=learner).order_by("-answered_at")
                  .values_list("item_version__item_id", "item_version__item__competency__code")[:settings.no_repeat_window])
    if not topic_codes:
        return None

    def need(code: str) -> float:
        state = states.get(code, CompetencyState(DEFAULT_BKT.prior))
        return weights.get(_system_of(code), 1.0) * (1 - state.mastery + 0.5 * state.uncertainty)

    # Score only the neediest topics, and a sample of their items, so a choice stays fast however
    # large the bank is (one EXISTS per topic, no scan of the whole bank).
    shortlisted = sorted(topic_codes, key=lambda pk: (-need(topic_codes[pk]), topic_codes[pk]))[:CANDIDATE_TOPICS]
    pool = list(items.filter(competency_id__in=shortlisted).values_list("pk", "competency_id", "difficulty")[:5000])
    if len(pool) > CANDIDATE_ITEMS:
        pool = rng.sample(pool, CANDIDATE_ITEMS)
    exposure = dict(ItemResponse.objects.filter(item_version__item_id__in=[p[0] for p in pool])
                    .order_by().values_list("item_version__item_id").annotate(n=Count("id")).values_list(
                        "item_version__item_id", "n"))
    candidates = [Candidate(pk, topic_codes[topic], _system_of(topic_codes[topic]),
                            DIFFICULTY_LOGIT.get(difficulty or None, 0.0), exposure.get(pk, 0))
                  for pk, topic, difficulty in pool]
    choice = choose_next(candidates, states, weights, [r[0] for r in recent], [r[1] for r in recent],
                         now=now, rng=rng, settings=settings, default_mastery=DEFAULT_BKT.prior)
    if choice is None:
        return None
    item = Item.objects.select_related("competency").get(pk=choice.item_id)
    record = audit.record_decision(
        model_name=SELECTOR_NAME, model_version=SELECTOR_VERSION, action="practice.next_question",
        subject=("accounts.user", learner.pk), actor=learner,
        inputs={"mastery": {c: round(s.mastery, 4) for c, s in states.items()}, "recent": [r[0] for r in recent],
                "within": within.code if within else None, "candidates": len(candidates)},
        output={"item": item.external_id, "competency": choice.competency,
                "predicted_success": round(choice.predicted_success, 4),
                "factors": {k: round(v, 4) for k, v in choice.factors.items()}},
        explanation=choice.reason, confidence=round(choice.predicted_success, 4))
    return item, choice, record


def mastery_change(learner, response: ItemResponse) -> tuple[TopicMastery | None, TopicMastery | None]:
    """The topic's mastery before and after this answer, for the feedback page."""
    code = response.item_version.item.competency.code if response.item_version.item.competency else None
    if code is None:
        return None, None
    before = topic_mastery(learner, exclude_response_id=response.pk).get(code)
    after = topic_mastery(learner).get(code)
    return before, after

