"""`medtutor bench imaging`: AUC, accuracy and training time of each imaging-lab model on one split,
beside the logistic-regression baseline from the same run and MedMNIST v2's published ResNet-18.

No Django: it reads the npz files and calls the engine, so `benchmarks/bench_imaging.py` runs it as is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtutor.decision.engine import imaging as engine

GOAL_AUC = engine.PUBLISHED_RESNET18_28_AUC
GOAL_SECONDS = 600.0


def default_models() -> list[str]:
    return ["logreg", "svm", *(["cnn"] if engine.torch_available() else [])]


def _pick_test_split(path: Path) -> str:
    with np.load(path, allow_pickle=False) as handle:
        splits = engine.available_splits(handle.files)
    for name in ("test", "val"):
        if name in splits:
            return name
    if len(splits) == 1:
        return splits[0]
    raise engine.ImagingDataError(f"{path.name}: no test or val split (has {', '.join(splits) or 'none'}); "
                                  "name one with --test-split")


@dataclass(frozen=True, slots=True)
class ImagingBenchmark:
    train: engine.ImageSet
    test: engine.ImageSet
    results: list[engine.Evaluation]
    extra: list[tuple[str, engine.Evaluation]]  # teaching rows (e.g. the baseline without class weights)
    wall_seconds: float
    seed: int
    threads: str


def run_imaging_benchmark(train_path: Path, test_path: Path, *, train_split: str = "train",
                          test_split: str | None = None, models: Sequence[str] | None = None, seed: int = 0,
                          train_limit: int | None = None,
                          log: Callable[[str], None] = lambda line: None) -> ImagingBenchmark:
    started = time.perf_counter()
    train = engine.load_npz(train_path, train_split, min_images=20)
    test = engine.load_npz(test_path, test_split or _pick_test_split(test_path))
    if train_limit:
        train = engine.stratified_subset(train, train_limit, seed=seed)
    for name, part in (("training", train), ("test", test)):
        if len(set(part.labels.tolist())) < 2:
            raise engine.ImagingDataError(f"{part.source}: the {name} images hold only one class")
    chosen = list(models or default_models())
    if "logreg" not in chosen:
        chosen.insert(0, "logreg")  # the same-run baseline is always there
    results = []
    extra = []
    for key in chosen:
        model = engine.make_model(key)
        log(f"training {model.title} on {len(train)} images ...")
        evaluation = engine.train_and_evaluate(model, train, test, seed=seed)
        log(f"  AUC {evaluation.auc:.4f}, accuracy {evaluation.accuracy:.4f}, {evaluation.train_seconds:.1f} s")
        results.append(evaluation)
        if key == "logreg":
            unweighted = engine.PixelLogistic(class_weight=None, title="Logistic regression, no class weights")
            extra.append(("class weighting lesson", engine.train_and_evaluate(unweighted, train, test, seed=seed)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    by_key = {e.model_key: e for e in results}
    if "svm" in by_key and "cnn" in by_key:
        # Two unlike models averaged: often steadier than either when the test films differ from training.
        mean = (by_key["svm"].probabilities + by_key["cnn"].probabilities) / 2
        extra.append(("no extra training", engine.Evaluation(
            "svm+cnn", "SVM + CNN, mean probability", engine.roc_auc(test.labels, mean),
            engine.metrics_at(test.labels, mean, 0.5).accuracy or 0.0,
            by_key["svm"].train_seconds + by_key["cnn"].train_seconds, len(train), len(test), mean)))
    threads = f"{os.cpu_count()} cores visible, load average {load:.1f} at the end (timings grow with load)"
    return ImagingBenchmark(train, test, results, extra, time.perf_counter() - started, seed, threads)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_report(result: ImagingBenchmark) -> list[str]:
    train, test = result.train, result.test
    lines = [f"Imaging lab (pneumonia, 28x28): train {train.source} ({len(train)}: {len(train) - train.positives} "
             f"normal / {train.positives} pneumonia), test {test.source} ({len(test)}: "
             f"{len(test) - test.positives} / {test.positives}); seed {result.seed}; {result.threads}", ""]
    header = f"{'model':<46} {'AUC':>6} {'ACC':>6} {'sens@.5':>8} {'spec@.5':>8} {'train s':>8}"
    lines += [header, "-" * len(header)]
    for evaluation in result.results:
        at = evaluation.at(test.labels, 0.5)
        label = evaluation.title.replace(" (baseline)", "") + (" [baseline]" if evaluation.model_key == "logreg" else "")
        lines.append(f"{label:<46} {evaluation.auc:>6.3f} {evaluation.accuracy:>6.3f} {_rate(at.sensitivity):>8} "
                     f"{_rate(at.specificity):>8} {evaluation.train_seconds:>8.1f}")
    for note, evaluation in result.extra:
        at = evaluation.at(test.labels, 0.5)
        lines.append(f"{evaluation.title:<46} {evaluation.auc:>6.3f} {evaluation.accuracy:>6.3f} "
                     f"{_rate(at.sensitivity):>8} {_rate(at.specificity):>8} {evaluation.train_seconds:>8.1f}  ({note})")
    lines.append(f"{'MedMNIST v2 ResNet-18 (28), published test':<46} {GOAL_AUC:>6.3f} "
                 f"{engine.PUBLISHED_RESNET18_28_ACC:>6.3f} {'':>8} {'':>8} {'':>8}")
    lines.append("")
    total_train = sum(e.train_seconds for e in result.results)
    reaching = [e.title for e in result.results if e.auc > GOAL_AUC]
    lines.append(f"goal: AUC > {GOAL_AUC} on this test split with under {GOAL_SECONDS / 60:.0f} minutes of training in all — "
                 f"{'met by ' + ', '.join(reaching) if reaching else 'not met'}; total training {total_train:.0f} s "
                 f"({'within' if total_train < GOAL_SECONDS else 'OVER'} the limit); wall time {result.wall_seconds:.0f} s")
    if "val" in test.source:
        lines.append("note: tested on the val split; the official test split is harder (other patients), "
                     "so expect lower AUCs there.")
    return lines
