"""Virtual-patient engine benchmark on ../shared/data/cases (AgentClinic JSONL, CRAFT-MD CSV).

Prints import coverage per file (imported / reported with reasons), intent accuracy with
stratified k-fold cross-validation on medtutor's labelled question set beside keyword-rule and
majority-class baselines, fact recall on questions generated from the imported cases beside a
lexical-overlap baseline, and per-turn latency p50/p95 (goal p95 < 50 ms). The same as
`medtutor bench vp --cases FILE...`.

    python benchmarks/bench_vp.py [FILE ...]        # default: every .jsonl/.csv under shared/data/cases
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cases"
sys.path.insert(0, str(ROOT / "src"))


def main(args: list[str]) -> int:
    from medtutor.simulation.vp_cli import run_bench

    files = [Path(a) for a in args] or sorted(DATA.glob("*/*.jsonl")) + sorted(DATA.glob("*/*.csv"))
    if not files:
        print(f"no case files found in {DATA}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    for line in run_bench(files, log=lambda line: print(line, file=sys.stderr, flush=True)):
        print(line, flush=True)
    print(f"total wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
