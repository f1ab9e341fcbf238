"""`medtutor bench selector`: how long choosing the next question takes on a large bank.

Builds a scratch bank (N items over the outline's topics) and M students with a history of answers,
then times practice.choose_question for random students: ours (neediest topics shortlisted, a
sample scored) beside a baseline that scores every item of the bank, in the same run. Also times the
BKT mastery update for one answer.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction

from medtutor.accounts.models import Role, User
from medtutor.content.models import Competency, CompetencyKind, Item, ItemVersion
from medtutor.core import clock
from medtutor.learning import practice
from medtutor.learning.models import ItemResponse

SYSTEMS = ("cardio", "resp", "renal", "gi", "neuro", "endo", "heme", "immuno")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_bank(items: int, students: int, answers_per_student: int, seed: int) -> None:
    rng = random.Random(seed)
    with transaction.atomic():
        topics = []
        for s, system in enumerate(SYSTEMS):
            root = Competency.objects.create(code=system, name=system, kind=CompetencyKind.SYSTEM, weight=1 + s % 3)
            for t in range(4):
                topics.append(Competency.objects.create(code=f"{system}.t{t}", name=f"{system} {t}", parent=root))
        made = Item.objects.bulk_create([
            Item(external_id=f"bench-{i}", competency=topics[i % len(topics)],
                 difficulty=rng.choice(["easy", "medium", "hard"])) for i in range(items)], batch_size=2000)
        made = list(Item.objects.order_by("pk"))
        options = [{"text": t, "explanation": ""} for t in "ABCDE"]
        versions = ItemVersion.objects.bulk_create([
            ItemVersion(item=item, number=1, stem=f"Stem {item.pk}", options=options, key_index=0) for item in made],
            batch_size=2000)
        versions = {v.item_id: v for v in ItemVersion.objects.all()}
        for item in made:
            item.current_version = versions[item.pk]
        Item.objects.bulk_update(made, ["current_version"], batch_size=2000)
        users = User.objects.bulk_create([User(username=f"bench-student-{n}", role=Role.STUDENT)
                                          for n in range(students)], batch_size=2000)
        users = list(User.objects.filter(username__startswith="bench-student-"))
        start = clock.now() - timedelta(days=60)
        all_versions = list(versions.values())
        responses = []
        for user in users:
            for a in range(answers_per_student):
                version = rng.choice(all_versions)
                correct = rng.random() < 0.65
                responses.append(ItemResponse(learner=user, item_version=version, chosen_index=0 if correct else 1,
                                              is_correct=correct, client_token=f"b{user.pk}-{a}",
                                              answered_at=start + timedelta(minutes=17 * a + user.pk % 97)))
            if len(responses) > 20000:
                ItemResponse.objects.bulk_create(responses, batch_size=5000)
                responses = []
        ItemResponse.objects.bulk_create(responses, batch_size=5000)


def run_selector_benchmark(*, items: int, students: int, answers: int, choices: int,
                           seed: int = 11) -> Iterator[str]:
    start = time.perf_counter()
    build_bank(items, students, answers, seed)
    yield (f"scratch bank: {items:,} items, {students:,} students, {answers} answers each "
           f"(built in {time.perf_counter() - start:.0f} s)")
    rng = random.Random(seed)
    learners = list(User.objects.filter(username__startswith="bench-student-").order_by("pk"))
    ours: list[float] = []
    baseline: list[float] = []
    for _ in range(choices):
        learner = rng.choice(learners)
        t0 = time.perf_counter()
        practice.choose_question(learner, rng=random.Random(rng.random()))
        ours.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        _score_everything(learner, rng)
        baseline.append((time.perf_counter() - t0) * 1000)
    yield ""
    yield f"{'choose the next question':<40}{'p50 ms':>10}{'p95 ms':>10}"
    yield f"{'ours: shortlist + sample, audited':<40}{statistics.median(ours):>10.1f}{_percentile(ours, 0.95):>10.1f}"
    yield f"{'baseline: score every item':<40}{statistics.median(baseline):>10.1f}{_percentile(baseline, 0.95):>10.1f}"
    params = practice.DEFAULT_BKT
    t0 = time.perf_counter()
    known = params.prior
    for i in range(100_000):
        known = params.after(known, i % 3 != 0)
    per_update = (time.perf_counter() - t0) / 100_000 * 1e6
    yield f"mastery update (BKT, one answer): {per_update:.2f} µs"
    yield f"({choices} choices for random students; goal p95 under 20 ms)"


def _score_everything(learner, rng: random.Random) -> None:
    """The naive selector: every active item of the bank is a candidate."""
    from medtutor.learning.engine.selector import DIFFICULTY_LOGIT, Candidate, CompetencyState, choose_next

    mastery = practice.topic_mastery(learner)
    states = {c: CompetencyState(m.mastery, m.uncertainty, m.last_practised_at) for c, m in mastery.items()}
    pool = Item.objects.active().values_list("pk", "competency__code", "difficulty")
    candidates = [Candidate(pk, code, code.split(".")[0], DIFFICULTY_LOGIT.get(d or None, 0.0))
                  for pk, code, d in pool]
    choose_next(candidates, states, {}, [], [], now=clock.now(), rng=random.Random(rng.random()))
