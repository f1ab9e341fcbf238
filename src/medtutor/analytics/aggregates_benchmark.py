"""`medtutor bench analytics`: cohort dashboard and curriculum page render times on a large synthetic cohort.

On a fresh PostgreSQL database it generates a synthetic cohort (5,000 students and at least a million
answers by default; analytics/synthetic_services.py), builds the pre-aggregated tables
(analytics/aggregates.py), then renders each page through the Django test client as a signed-in
administrator: a few warm-up renders, then timed ones. The baseline, measured in the same run on the same
data, renders the same pages computed from the raw answers (MEDTUTOR_ANALYTICS_AGGREGATES=False). It also
checks that both give the same figures, times an incremental refresh, and, when the early-warning service
is there, reports its AUC against the generator's ground truth.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/medtutor_bench_analytics"
GOAL_P95_MS = 500.0
SEED = 8


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        rank = q / 100 * (len(ordered) - 1)
        low, high = math.floor(rank), math.ceil(rank)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)


def fresh_database(url: str) -> str:
    """Drop and create the database named in `url` (only a name with "bench" in it, to protect real data)."""
    import psycopg

    url = re.sub(r"^postgres://", "postgresql://", url)
    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    if "bench" not in name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"database {name!r}: the benchmark drops and re-creates it, so its name must contain "
                         "'bench' (letters, digits and underscores only)")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    from django.conf import settings
    from django.test.utils import override_settings

    call_command("migrate", "--no-input", "-v", "0")
    setup_test_environment()   # the test client's host name is allowed; nothing else changes for timing
    # Pages render without `collectstatic` (the manifest storage needs it); static URLs only differ in hashing.
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()


def weeks_for(students: int, answers: int, seed: int) -> int:
    """Weeks of activity that give at least `answers` answers, from a small pilot of the generator."""
    from medtutor.analytics.engine.synthetic import CohortSpec, SyntheticItem, generate_cohort

    pilot_students, pilot_weeks = 300, 4
    items = [SyntheticItem(str(i), f"c{i % 6}", 5, i % 5) for i in range(24)]
    pilot = generate_cohort(CohortSpec(n_students=pilot_students, n_weeks=pilot_weeks, seed=seed), items)
    per_student_week = len(pilot.answers) / (pilot_students * pilot_weeks)
    # 6% margin: the pilot's rate varies a little with the seed, and drop-outs thin later weeks.
    return max(1, math.ceil(answers * 1.06 / (students * per_student_week)))


def _time_page(client: Any, url: str, renders: int, warmup: int, timing: Timing) -> None:
    for n in range(warmup + renders):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000.0
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        if n >= warmup:
            timing.samples.append(elapsed)


def _dashboard_figures(cohort: Any) -> list:
    from medtutor.analytics import cohort_services

    board = cohort_services.dashboard(cohort)
    return [board.summary, board.by_system, board.by_topic, board.by_discipline, board.weekly, board.histogram,
            board.active_days, board.engagement]


def _add_answers(cohort: Any, n: int, at: datetime, tag: str) -> None:
    """n more answers by the cohort's first students, a day after the last one (an incremental refresh's input)."""
    from medtutor.analytics.synthetic_services import _insert_answers
    from medtutor.content.models import Item
    from medtutor.learning.models import ItemResponse

    learners = list(cohort.members.filter(role="student").order_by("id").values_list("id", flat=True)[:200])
    versions = list(Item.objects.active().values_list("current_version_id", flat=True)[:24])
    _insert_answers(ItemResponse, ((learners[k % len(learners)], versions[k % len(versions)], 0, k % 3 != 0,
                                    f"bench-{tag}-{k}", at + timedelta(seconds=k), 40) for k in range(n)))


def early_warning_auc(cohort: Any, weeks: int, seed: int, log: Callable[[str], None], train_students: int = 1000,
                      observe_weeks: int = 2) -> list[str]:
    """The early-warning model (analytics/early_warning.py) trained on an earlier synthetic cohort and
    scored on the benchmark cohort after its first `observe_weeks` weeks; AUC against the generator's
    ground truth (SyntheticStudentTruth: dropped out or expected exam score under the pass mark)."""
    try:
        from medtutor.analytics.early_warning import run_early_warning
    except ImportError:
        return ["early warning: analytics/early_warning.py is not there (no AUC)"]
    from medtutor.analytics.synthetic_services import simulate_cohort

    log(f"early warning: a training cohort of {train_students} students a year earlier, then the run…")
    train = simulate_cohort(train_students, weeks, seed + 1, code=f"bench-train-{train_students}", year=2025,
                            start=datetime(2025, 1, 6, tzinfo=UTC)).cohort
    started = time.perf_counter()
    run = run_early_warning(cohort, train=[train], weeks=observe_weeks, seed=seed)
    took = time.perf_counter() - started
    test = run.metrics.get("test") or {}
    base = run.metrics.get("baseline") or {}
    if not test:
        return [f"early warning: no evaluation ({'; '.join(run.notes[-2:])})"]
    ci = test.get("auc_ci") or [None, None]
    return [f"early warning after {observe_weeks} weeks ({run.model_name} {run.model_version}, trained on "
            f"{run.metrics.get('n_train')} students, scored {run.metrics.get('n_test')} in {took:.0f} s): "
            f"AUC {test.get('auc'):.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}) against the generator's truth; "
            f"logistic-regression baseline {base.get('auc', float('nan')):.3f}; precision at top decile "
            f"{test.get('precision_top_decile', float('nan')):.3f}; positive rate {test.get('positive_rate', float('nan')):.3f}"]


def run(database: str = DEFAULT_DATABASE, *, students: int = 5000, answers: int = 1_000_000, seed: int = SEED,
        renders: int = 20, baseline_renders: int = 3, log: Callable[[str], None] = print,
        with_early_warning: bool = True) -> Iterator[str]:
    url = fresh_database(database)
    log(f"fresh database {url.rsplit('/', 1)[-1]}; migrating…")
    setup(url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from medtutor.analytics import aggregates
    from medtutor.analytics.synthetic_services import simulate_cohort
    from medtutor.learning.models import ItemResponse

    if connection.vendor != "postgresql":
        raise ValueError("the analytics benchmark runs on PostgreSQL (--database postgres://…)")
    weeks = weeks_for(students, answers, seed)
    log(f"generating {students} synthetic students over {weeks} weeks (seed {seed})…")
    started = time.perf_counter()
    result = simulate_cohort(students, weeks, seed, code=f"bench-{students}", year=2026,
                             start=datetime(2026, 1, 5, tzinfo=UTC))
    generate_s = time.perf_counter() - started
    cohort = result.cohort
    n_answers = ItemResponse.objects.count()
    log(f"{n_answers} answers written in {generate_s:.1f} s; building the aggregates…")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    aggregates.rebuild()
    build_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    admin = get_user_model().objects.create_user(username="bench-admin", password=None, role="admin")
    client = Client()
    client.force_login(admin)
    pages = {"cohort dashboard": reverse("cohort_dashboard", args=[cohort.pk]),
             "curriculum page": reverse("curriculum_analytics")}
    ours = {name: Timing(name) for name in pages}
    base = {name: Timing(name) for name in pages}
    for name, page_url in pages.items():
        log(f"timing {name} with pre-aggregates ({renders} renders)…")
        _time_page(client, page_url, renders, 2, ours[name])
    figures_ours = _dashboard_figures(cohort)
    with override_settings(MEDTUTOR_ANALYTICS_AGGREGATES=False):
        for name, page_url in pages.items():
            log(f"timing {name} from raw answers ({baseline_renders} renders)…")
            _time_page(client, page_url, baseline_renders, 1, base[name])
        figures_raw = _dashboard_figures(cohort)
    same = figures_ours == figures_raw

    started = time.perf_counter()
    aggregates.ensure_fresh()
    check_ms = (time.perf_counter() - started) * 1000.0
    last = ItemResponse.objects.order_by("-answered_at").values_list("answered_at", flat=True).first()
    _add_answers(cohort, 1000, last + timedelta(days=1), "render")
    first_after = Timing("first render after 1,000 new answers")
    _time_page(client, pages["cohort dashboard"], 1, 0, first_after)
    started = time.perf_counter()
    _add_answers(cohort, 1000, last + timedelta(days=2), "refresh")
    report = aggregates.refresh(item_stats=True)
    refresh_s = time.perf_counter() - started

    yield (f"analytics benchmark on PostgreSQL: {students} synthetic students, {n_answers:,} answers "
           f"({weeks} weeks, seed {seed}); database {settings.DATABASES['default']['NAME']}")
    yield f"generate + write (COPY): {generate_s:.1f} s; initial aggregate build: {build_s:.1f} s"
    yield ""
    yield f"{'page':<20} {'variant':<26} {'renders':>7} {'p50 ms':>9} {'p95 ms':>9}"
    for name in pages:
        for variant, timing in (("pre-aggregated (ours)", ours[name]), ("raw answers (baseline)", base[name])):
            yield (f"{name:<20} {variant:<26} {len(timing.samples):>7} {timing.p50:>9.1f} {timing.p95:>9.1f}")
    yield ""
    for name in pages:
        speedup = base[name].p50 / ours[name].p50 if ours[name].p50 else math.nan
        verdict = "met" if ours[name].p95 < GOAL_P95_MS else "NOT met"
        yield f"{name}: p95 {ours[name].p95:.0f} ms, goal p95 < {GOAL_P95_MS:.0f} ms {verdict}; {speedup:.0f}x faster than the baseline at p50"
    yield f"dashboard figures identical with and without pre-aggregates: {'yes' if same else 'NO'}"
    yield f"freshness check with nothing new: {check_ms:.1f} ms"
    yield f"first dashboard render after 1,000 new answers (folds them in): {first_after.samples[0]:.0f} ms"
    yield f"refresh of 1,000 new answers with item statistics: {refresh_s * 1000:.0f} ms ({report.describe()})"
    if with_early_warning:
        yield from early_warning_auc(cohort, weeks, seed, log)

