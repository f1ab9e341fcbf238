"""Differential-diagnosis benchmark on ../shared/data/ddxplus/.

Only the validate-split development subset is here (the matching test subset is held out), so by
default 20% of its patients are held out by a fixed seed. The interactive engine (naive Bayes +
expected information gain) is printed beside two full-information ceilings from the same run. The
same as `medtutor bench ddx --train ...validate_subset_en.csv.gz`.

    python benchmarks/bench_ddx.py [TEST_FILE]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ddxplus"
sys.path.insert(0, str(ROOT / "src"))


def main(args: list[str]) -> int:
    from medtutor.decision.ddx_benchmark import format_result, run_ddx_benchmark

    train = DATA / "patients" / "validate_subset_en.csv.gz"
    if not train.exists():
        print(f"dataset not found: {train}", file=sys.stderr)
        return 1
    test = Path(args[0]) if args else None
    start = time.perf_counter()
    result = run_ddx_benchmark(train, test, kb_dir=DATA / "kb_en",
                               log=lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(format_result(result)))
    print(f"total wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
