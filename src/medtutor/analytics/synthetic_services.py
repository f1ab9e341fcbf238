"""Write a synthetic cohort (analytics/engine/synthetic.py) into the database, for demos, tests and benchmarks.

Synthetic students are never presented as real: their usernames start with `synthetic-`, their
display names say "Synthetic student", they cannot log in (unusable password), and their cohort's
code starts with `synthetic-` and its name with "Synthetic cohort". Subgroup attributes are stored
as accounts.SubgroupAttribute rows with source "synthetic" (the cohort dashboard and the fairness
reports group by them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from medtutor.accounts.models import Cohort, Role, SubgroupAttribute, SubgroupSource
from medtutor.analytics.engine.synthetic import (
    CohortSpec,
    SyntheticCohort,
    SyntheticItem,
    generate_cohort,
)
from medtutor.core import clock
from medtutor.core.errors import InvalidInput

SYNTHETIC_PREFIX = "synthetic-"
MAX_ITEMS = 400
DIFFICULTY_LOGITS = {"easy": -1.0, "medium": 0.0, "hard": 1.0}


@dataclass(frozen=True)
class SimulationResult:
    cohort: Cohort
    n_students: int
    n_answers: int
    n_items: int
    created_items: bool
    truth: dict


def cohort_code(code: str | None, spec: CohortSpec) -> str:
    code = (code or f"s{spec.seed}-n{spec.n_students}-w{spec.n_weeks}").strip().lower()
    return code if code.startswith(SYNTHETIC_PREFIX) else SYNTHETIC_PREFIX + code


def default_start(n_weeks: int, now: datetime | None = None) -> datetime:
    """The Monday n_weeks before now (UTC), so the simulated weeks end this week."""
    now = (now or clock.now()).astimezone(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(weeks=max(0, n_weeks - 1))


def _jitter(item_id: str, seed: int) -> float:
    """A fixed difficulty offset per item and seed in [-0.5, 0.5): the bank's labels are coarse."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 - 0.5


def ensure_synthetic_items() -> None:
    """A small original item set (labelled synthetic) for an empty bank."""
    from medtutor.content.importers import records as rec
    from medtutor.content.services import import_bundle

    systems = [("synthetic-cardio", "Cardiovascular (synthetic)", ["ischaemia", "failure"]),
               ("synthetic-resp", "Respiratory (synthetic)", ["asthma", "infection"]),
               ("synthetic-renal", "Renal (synthetic)", ["electrolytes", "aki"])]
    disciplines = (rec.DisciplineRecord("synthetic-physiology", "Physiology (synthetic)"),
                   rec.DisciplineRecord("synthetic-pharmacology", "Pharmacology (synthetic)"))
    competencies = []
    items = []
    for code, name, topics in systems:
        competencies.append(rec.CompetencyRecord(code, name, None, "system", 1.0))
        for topic in topics:
            topic_code = f"{code}.{topic}"
            competencies.append(rec.CompetencyRecord(topic_code, f"{topic.title()} (synthetic)", code, "topic", 1.0))
            for n, difficulty in enumerate(("easy", "medium", "medium", "hard")):
                items.append(rec.ItemRecord(
                    external_id=f"synthetic-{topic_code}-{n + 1}",
                    stem=f"Synthetic practice item {n + 1} on {topic} for simulated cohorts (not for teaching).",
                    lead_in="Which option is keyed as correct?",
                    options=tuple(rec.OptionRecord(f"Option {letter}", "") for letter in "ABCDE"),
                    key=n % 5, competency=topic_code,
                    discipline=disciplines[n % 2].code, difficulty=difficulty,
                    source="medtutor synthetic cohort generator", licence="CC0-1.0"))
    import_bundle(rec.ImportBundle(disciplines=disciplines, competencies=tuple(competencies),
                                   items=tuple(items), cards=()), actor=None, filename="synthetic items")


def bank_items(seed: int) -> list[SyntheticItem]:
    from medtutor.content.models import Item

    rows = (Item.objects.active().filter(kind="single", competency__isnull=False,
                                         current_version__key_index__isnull=False)
            .order_by("id").values("current_version_id", "competency__code", "difficulty",
                                   "current_version__options", "current_version__key_index")[:MAX_ITEMS])
    items = []
    for row in rows:
        n_options = len(row["current_version__options"] or [])
        if n_options < 2:
            continue
        item_id = str(row["current_version_id"])
        items.append(SyntheticItem(
            item_id=item_id, competency=row["competency__code"], n_options=n_options,
            key_index=row["current_version__key_index"],
            difficulty=DIFFICULTY_LOGITS.get(row["difficulty"] or "medium", 0.0) + _jitter(item_id, seed),
            discrimination=1.0 + 0.5 * _jitter(item_id, seed + 1)))
    return items


def simulate_cohort(n_students: int, n_weeks: int, seed: int, *, code: str | None = None,
                    start: datetime | None = None, year: int | None = None, faculty: Any = None,
                    dropout_rate: float = 0.15) -> SimulationResult:
    """Generate a cohort and write it, all or nothing."""
    if not 1 <= n_students <= 100_000:
        raise InvalidInput("students: must be between 1 and 100000")
    if not 1 <= n_weeks <= 104:
        raise InvalidInput("weeks: must be between 1 and 104")
    spec = CohortSpec(n_students=n_students, n_weeks=n_weeks, seed=seed,
                      start=start or default_start(n_weeks), dropout_rate=dropout_rate)
    final_code = cohort_code(code, spec)
    if Cohort.objects.filter(code=final_code).exists():
        raise InvalidInput(f"cohort: {final_code} already exists; choose another --cohort code")
    with transaction.atomic():
        created_items = False
        items = bank_items(seed)
        if not items:
            ensure_synthetic_items()
            created_items = True
            items = bank_items(seed)
        generated = generate_cohort(spec, items)
        cohort = _write(generated, final_code, year if year is not None else spec.start.year, faculty)
        _write_truth(generated, cohort, items)
    return SimulationResult(cohort=cohort, n_students=len(generated.students), n_answers=len(generated.answers),
                            n_items=len(items), created_items=created_items,
                            truth={**generated.ground_truth(), "cohort": final_code})


def _write(generated: SyntheticCohort, code: str, year: int, faculty: Any) -> Cohort:
    from medtutor.learning.models import ItemResponse

    user_model = get_user_model()
    spec = generated.spec
    cohort = Cohort.objects.create(
        code=code, year=year,
        name=f"Synthetic cohort {code.removeprefix(SYNTHETIC_PREFIX)} (seed {spec.seed}; not real students)")
    users = [user_model(username=f"{code}-{s.key}", role=Role.STUDENT,
                        display_name=f"Synthetic student {s.key} ({code})") for s in generated.students]
    for user in users:
        user.set_unusable_password()
    user_model.objects.bulk_create(users, batch_size=2000)
    by_key = dict(zip([s.key for s in generated.students],
                      user_model.objects.filter(username__in=[u.username for u in users])
                      .order_by("username").values_list("id", flat=True), strict=True))
    # usernames sort like keys (zero-padded), so zip pairs each key with its own id
    membership = Cohort.members.through
    membership.objects.bulk_create([membership(cohort_id=cohort.pk, user_id=uid) for uid in by_key.values()],
                                   batch_size=5000)
    if faculty is not None:
        cohort.members.add(faculty)
    SubgroupAttribute.objects.bulk_create(
        (SubgroupAttribute(user_id=by_key[student.key], attribute=attribute, value=value,
                           source=SubgroupSource.SYNTHETIC)
         for student in generated.students for attribute, value in student.attributes.items()),
        batch_size=5000)
    _insert_answers(ItemResponse, ((by_key[a.student_key], int(a.item_id), a.chosen_index, a.is_correct,
                                    f"synthetic-{n}", a.answered_at, a.seconds_taken)
                                   for n, a in enumerate(generated.answers)))
    return cohort


def _insert_answers(model: Any, rows: Any) -> None:
    """Answers as (learner_id, item_version_id, chosen_index, is_correct, client_token, answered_at, seconds):
    COPY on PostgreSQL (a million answers in seconds, not minutes), bulk_create elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        model.objects.bulk_create((model(learner_id=r[0], item_version_id=r[1], chosen_index=r[2], is_correct=r[3],
                                         client_token=r[4], answered_at=r[5], seconds_taken=r[6]) for r in rows),
                                  batch_size=5000)
        return
    columns = ("learner_id", "item_version_id", "chosen_index", "is_correct", "client_token", "answered_at",
               "seconds_taken")
    sql = f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def run_cli(students: int, weeks: int, seed: int, code: str | None, faculty_username: str | None,
            year: int | None, truth_path: str | None, echo: Any) -> None:
    """The logic of `medtutor simulate-cohort` (the command in cli.py only parses options)."""
    import json

    from medtutor.core import audit

    faculty = None
    if faculty_username:
        faculty = get_user_model().objects.filter(username=faculty_username).first()
        if faculty is None or faculty.role not in (Role.FACULTY, Role.ADMIN):
            raise InvalidInput(f"faculty: no faculty or admin account named {faculty_username!r}")
    result = simulate_cohort(students, weeks, seed, code=code, faculty=faculty, year=year)
    audit.record_action(None, "analytics.synthetic_cohort_created", subject=result.cohort,
                        data={"students": result.n_students, "answers": result.n_answers, "seed": seed,
                              "weeks": weeks, "generator": result.truth["generator"]})
    if truth_path:
        with open(truth_path, "w", encoding="utf-8") as handle:
            json.dump(result.truth, handle, indent=1)
    echo(f"created {result.cohort.code}: {result.n_students} synthetic students, {result.n_answers} answers "
         f"on {result.n_items} items{' (synthetic items created: the bank was empty)' if result.created_items else ''}"
         f"{f'; ground truth in {truth_path}' if truth_path else ''}")


def _write_truth(generated: SyntheticCohort, cohort: Cohort, items: list[SyntheticItem]) -> None:
    """Keep each student's ground truth (analytics.SyntheticStudentTruth) so that early warning can label
    a synthetic cohort later: the expected end-of-course score on the whole item set, and the drop-out."""
    from medtutor.analytics.engine.synthetic import expected_exam_score
    from medtutor.analytics.models import SyntheticStudentTruth

    ids = dict(cohort.members.filter(username__startswith=f"{cohort.code}-").values_list("username", "id"))
    truth = {s["key"]: s for s in generated.ground_truth()["students"]}
    SyntheticStudentTruth.objects.bulk_create(
        (SyntheticStudentTruth(
            student_id=ids[f"{cohort.code}-{s.key}"], cohort=cohort, generator=generated.version,
            general_ability=s.general_ability, dropout_week=s.dropout_week,
            expected_exam_score=expected_exam_score(generated.exam_ability.get(s.key, {}), items),
            truth={**truth[s.key], "exam_ability": {c: round(v, 4) for c, v in
                                                    sorted(generated.exam_ability.get(s.key, {}).items())}})
         for s in generated.students),
        batch_size=2000)
