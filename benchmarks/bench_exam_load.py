"""Exam load benchmark: simulated students autosaving over HTTP against gunicorn, SQLite and PostgreSQL.

The same as `medtutor bench exam-load` (1,000 students, a save every ~5 s each, 45 s per database;
about 3 minutes in all). PostgreSQL is skipped, and said so, when none answers at
MEDTUTOR_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).

    python benchmarks/bench_exam_load.py [--students N] [--duration S] [--interval S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str]) -> int:
    from medtutor.assessment.loadtest import LoadConfig, format_report, run_exam_load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=45.0)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start-over-http", action="store_true", help="students start their attempts over HTTP too")
    args = parser.parse_args(argv)
    config = LoadConfig(students=args.students, duration=args.duration, interval=args.interval, workers=args.workers,
                        start_over_http=args.start_over_http)
    started = time.perf_counter()
    results = run_exam_load(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(format_report(results, config)))
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    return 1 if any(r.answers_lost for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
