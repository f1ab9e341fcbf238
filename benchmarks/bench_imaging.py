"""Imaging-lab benchmark on ../shared/data/imaging/pneumoniamnist/ (PneumoniaMNIST, 28x28 chest X-rays).

Trains every model on the `train` split of `pneumoniamnist_trainval.npz` and tests on its `val` split
(the official test split is held out), printing AUC, accuracy, sensitivity/specificity at 0.5 and
training time beside the logistic-regression baseline from the same run and MedMNIST v2's ResNet-18
(AUC 0.944 at 28 px). The small CNN runs only when torch is installed. Same as:

    medtutor bench imaging --train NPZ --test NPZ [--train-split train] [--test-split test|val] [--models ...]

    python benchmarks/bench_imaging.py [--test OTHER.npz] [--models logreg,svm,cnn]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "imaging" / "pneumoniamnist" / "pneumoniamnist_trainval.npz"
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str]) -> int:
    from medtutor.decision.engine.imaging import ImagingDataError
    from medtutor.decision.imaging_benchmark import format_report, run_imaging_benchmark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DATA)
    parser.add_argument("--test", type=Path, default=DATA)
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--test-split", default=None, help="default: test if the file has it, else val")
    parser.add_argument("--models", default="", help="comma-separated: logreg, svm, cnn (default: all available)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.train.exists():
        print(f"dataset not found: {args.train}", file=sys.stderr)
        return 1
    try:
        result = run_imaging_benchmark(args.train, args.test, train_split=args.train_split,
                                       test_split=args.test_split,
                                       models=[m.strip() for m in args.models.split(",") if m.strip()] or None,
                                       seed=args.seed, log=lambda line: print(line, file=sys.stderr, flush=True))
    except ImagingDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(format_report(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
