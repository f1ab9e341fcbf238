"""Computerized adaptive testing benchmark: CAT against fixed linear forms on a calibrated bank.

Simulated examinees (N(0, 1)) on a bank calibrated by MML-EM from simulated response data; ability
RMSE and bias against test length for the CAT and a fixed-length linear form in the same run, plus
an SE-stopped CAT with its mean length and item exposure. No dataset is needed (the bank and the
examinees are simulated, so the true abilities are known). The same as `medtutor bench cat`.

    python benchmarks/bench_cat.py [--examinees N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESPONSES = ROOT.parent / "shared" / "data" / "kt" / "assist2015" / "assist2015_train.csv"
sys.path.insert(0, str(ROOT / "src"))


def main(args: list[str]) -> int:
    from medtutor.assessment.cat_benchmark import run_cat_benchmark

    examinees = 1000
    if args[:1] == ["--examinees"] and len(args) > 1:
        examinees = int(args[1])
    responses = [RESPONSES] if RESPONSES.exists() else []
    if not responses:
        print(f"part 2 skipped: {RESPONSES} not found", file=sys.stderr)
    start = time.perf_counter()
    for line in run_cat_benchmark(examinees=examinees, responses=responses,
                                  log=lambda line: print(line, file=sys.stderr, flush=True)):
        print(line)
    print(f"(wall time {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
