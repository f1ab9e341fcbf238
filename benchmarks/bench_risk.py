"""Clinical risk-model benchmark on ../shared/data/clinical/ (the shared 75% of each dataset).

Per dataset: logistic regression (the same-run baseline), gradient boosting and the recommended model
(chosen by 5-fold CV on training rows, Platt-recalibrated) on a fixed stratified 30% test split:
AUC (95% bootstrap CI), Brier, ECE (with the ECE a perfectly calibrated model would show on that many
rows) and the largest subgroup AUC gap. Goal: recommended AUC >= baseline and ECE <= 0.05.
The same as `medtutor bench risk --data ../shared/data/clinical [--test CSV ...]`.

    python benchmarks/bench_risk.py [dataset ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "clinical"
sys.path.insert(0, str(ROOT / "src"))


def main(names: list[str]) -> int:
    from medtutor.decision.risk_benchmark import run_risk_benchmark

    if not DATA.exists():
        print(f"dataset folder not found: {DATA}", file=sys.stderr)
        return 1
    for line in run_risk_benchmark(DATA, keys=names or None,
                                   log=lambda line: print(line, file=sys.stderr, flush=True)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
