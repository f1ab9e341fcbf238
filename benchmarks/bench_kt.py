"""Knowledge-tracing benchmark on the development parts of ../shared/data/kt/.

For each DKVMN folder (assist2009_updated, assist2015, statics2011) it trains on `<name>_train1.csv`
and tests on `<name>_valid1.csv` (the official test split is held out), and for assist2009_pid it holds
out 20% of the students of `assist2009_pid_dev80.csv` by hash. Every table shows our models beside
pyBKT run in the same process on the same split, and the published DKVMN/DKT AUCs (different split)
as context. The same as running `medtutor bench kt --train ... --test ...` per dataset.

    python benchmarks/bench_kt.py [dataset ...]      # e.g. statics2011; default: all four
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "kt"
sys.path.insert(0, str(ROOT / "src"))

DKVMN = {"assist2009_updated": "assist2009_updated", "assist2015": "assist2015", "statics2011": "STATICS"}


def main(names: list[str]) -> int:
    from medtutor.learning.engine.kt_deep import torch_available
    from medtutor.learning.kt_benchmark import DEEP_MODELS, format_result, run_kt_benchmark

    if not DATA.exists():
        print(f"dataset folder not found: {DATA}", file=sys.stderr)
        return 1
    names = names or [*DKVMN, "assist2009_pid"]
    # the deep models (DKT, DKT stacked with GBM+LR) need the optional extra 'ml' (torch)
    models = ("bkt", "irt", "lr", "gbm", "ens", *(DEEP_MODELS if torch_available() else ()))
    if not torch_available():
        print("torch not installed: DKT models skipped (pip install 'medtutor[ml]')", file=sys.stderr)
    total = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        if name in DKVMN:
            prefix = DATA / name / DKVMN[name]
            train, test = [Path(f"{prefix}_train1.csv")], [Path(f"{prefix}_valid1.csv")]
            title = f"{name}: train {train[0].name}, test {test[0].name}"
        elif name == "assist2009_pid":
            train, test = [DATA / name / "assist2009_pid_dev80.csv"], None
            title = f"{name}: {train[0].name}, 20% of students held out by hash"
        else:
            print(f"unknown dataset {name}", file=sys.stderr)
            return 2
        if not train[0].exists():
            print(f"skipped {name}: {train[0]} not found", file=sys.stderr)
            continue
        result = run_kt_benchmark(train, test, title=title, models=models,
                                  log=lambda line: print(line, file=sys.stderr, flush=True))
        print("\n".join(format_result(result)))
        print(f"(dataset wall time {time.perf_counter() - start:.0f} s)\n", flush=True)
    print(f"total wall time {time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
