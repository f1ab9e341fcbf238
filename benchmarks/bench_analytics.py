"""Analytics render times: the cohort dashboard and the curriculum page on 5,000 synthetic students and
1,000,000+ answers on PostgreSQL, with pre-aggregated tables beside the same pages from raw answers.

Run with `make bench`; the same as `medtutor bench analytics`. It (re)creates the database
medtutor_bench_analytics (or $MEDTUTOR_BENCH_ANALYTICS_DATABASE) and takes a few minutes; pass
--students/--answers for a quicker run. Skipped, and said so, when no PostgreSQL answers.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE = os.environ.get("MEDTUTOR_BENCH_ANALYTICS_DATABASE",
                          "postgres://postgres@127.0.0.1:5432/medtutor_bench_analytics")


def postgres_answers(url: str) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    base = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0]
    try:
        with psycopg.connect(f"{base}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


if __name__ == "__main__":
    if not postgres_answers(DATABASE):
        print(f"skipped: no PostgreSQL at {DATABASE.rsplit('/', 1)[0]}")
        sys.exit(0)
    sys.exit(subprocess.call([sys.executable, "-m", "medtutor", "bench", "analytics", "--database", DATABASE,
                              *sys.argv[1:]], cwd=ROOT))
