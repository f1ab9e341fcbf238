"""`medtutor bench scale`: the same student workload on one app server, then on two, sharing one
PostgreSQL and one Redis, in the same run. On 2 cores the second server shows whether the app
(Python, one process) or the database limits throughput.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from medtutor.assessment.loadtest import DbResult, LoadConfig, _run_one


def run_scale(config: LoadConfig, *, log: Callable[[str], None] = lambda line: None) -> list[DbResult]:
    folder = Path(tempfile.mkdtemp(prefix="medtutor-scale-"))
    shared = {"REDIS_URL": "redis://127.0.0.1:6379/0", "MEDTUTOR_CACHE_PREFIX": f"scale-{secrets.token_hex(4)}"}
    try:
        return [_run_one("postgresql", config, folder, log, servers=n, **shared) for n in (1, 2)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def format_scale(results: list[DbResult], config: LoadConfig) -> list[str]:
    lines = [f"Scale-out: {config.students} students (a save every ~{config.interval:g} s, pages, submissions) for "
             f"{config.duration:.0f} s, each app server gunicorn {config.workers} worker(s) x 4 threads, one "
             "PostgreSQL, one Redis", "",
             f"{'app servers':<16} {'req/s':>7} {'save p50 ms':>12} {'save p95 ms':>12} {'page p95 ms':>12} "
             f"{'lost':>5} {'server CPU ms/req':>18}"]
    for r in results:
        if r.skipped:
            lines.append(f"{r.database:<16} skipped: {r.skipped}")
            continue
        save, page = r.stats("save"), r.stats("page")
        lines.append(f"{r.database:<16} {r.requests_per_second:>7.1f} {save.p50_ms if save else float('nan'):>12.1f} "
                     f"{save.p95_ms if save else float('nan'):>12.1f} {page.p95_ms if page else float('nan'):>12.1f} "
                     f"{r.answers_lost:>5} {r.server_cpu_ms_per_request:>18.2f}")
    lines.append("(baseline: the one-server row, same workload, same run)")
    return lines
