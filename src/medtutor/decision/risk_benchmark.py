"""`medtutor bench risk`: per dataset, AUC (95% CI), Brier, ECE and the largest subgroup AUC gap of each
model, logistic regression as the same-run baseline, the recommended model marked, and the goal check
(recommended AUC ≥ baseline AUC and ECE ≤ 0.05 on the test rows). Pure: uses the engine only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from medtutor.decision.engine import clinical_data as cd
from medtutor.decision.engine import risk

LABELS = {"logreg": "logistic regression (baseline)", "gbm": "gradient boosting", "recommended": "recommended"}


def dataset_of_csv(path: Path) -> str:
    """Which dataset a test CSV belongs to, from its header (or its file name)."""
    header = set(path.read_text(encoding="utf-8-sig").splitlines()[0].split(","))
    matches = [key for key, spec in cd.DATASETS.items()
               if {spec.outcome, *spec.default_features()} <= header]
    if len(matches) == 1:
        return matches[0]
    by_name = [key for key in cd.DATASETS if key in path.name]
    if len(by_name) == 1:
        return by_name[0]
    raise cd.DataError("cannot tell which dataset the test file belongs to", [f"{path}: header matches {matches}"])


def _fmt(value, digits: int = 3) -> str:
    return "  —  " if value is None else f"{value:.{digits}f}"


def run_risk_benchmark(data_dir: Path, tests: list[Path] | None = None, *, keys: list[str] | None = None,
                       config: risk.TrainConfig | None = None,
                       log: Callable[[str], None] | None = None) -> Iterator[str]:
    config = config or risk.TrainConfig()
    test_for = {dataset_of_csv(path): path for path in (tests or [])}
    keys = keys or ([k for k in cd.available_datasets(data_dir) if k in test_for] if test_for
                    else cd.available_datasets(data_dir))
    met = 0
    started = time.perf_counter()
    for key in keys:
        spec = cd.DATASETS[key]
        data = cd.load_dataset(data_dir, key)
        full = cd.load_dataset(data_dir, key, features=spec.feature_names)
        test = cd.load_dataset(data_dir, key, csv_path=test_for[key]) if key in test_for else None
        if log:
            log(f"training {key} ...")
        report = risk.train_dataset(data, config, test=test, leakage_data=full)
        yield (f"\n{spec.title} [{key}]: train {report.n_train} rows, test {report.n_test} rows "
               f"({report.test_source}); recommended = {risk.KIND_LABELS[report.recommended_base]} + Platt "
               f"(5-fold CV AUC: " + ", ".join(f"{k} {v:.3f}" for k, v in report.cv_auc.items()) + ")")
        yield (f"  {'model':<32} {'AUC (95% CI)':<22} {'Brier':>6} {'ECE':>6} {'ECE floor':>9}  largest subgroup "
               "AUC gap   (ECE floor: mean ECE of a perfectly calibrated model on this many rows)")
        for kind in risk.MODEL_KINDS:
            m = report.models[kind].metrics
            ci = m.get("auc_ci") or [None, None]
            gap = m["subgroups"]["largest_auc_gap"]
            gap_text = f"{gap['gap']:.3f} ({gap['attribute']})" if gap else "— (no subgroup attribute)"
            mark = " <- recommended" if kind == "recommended" else ""
            yield (f"  {LABELS[kind]:<32} {_fmt(m['auc'])} ({_fmt(ci[0])}–{_fmt(ci[1])})  {_fmt(m['brier']):>6} "
                   f"{_fmt(m['ece']):>6} {_fmt(m['ece_noise_floor']):>9}  {gap_text}{mark}")
        goal, m_rec = report.goal, report.models["recommended"].metrics
        met += int(goal["as_discriminating"] and goal["ece_ok"])
        yield (f"  goal: recommended AUC >= baseline: {'yes' if goal['as_discriminating'] else 'NO'}; "
               f"ECE <= 0.05: {'yes' if goal['ece_ok'] else 'NO'}; ECE within sampling noise of perfect "
               f"calibration (below the 95th percentile {m_rec['ece_noise_p95']:.3f}): "
               f"{'yes' if goal['ece_within_noise'] else 'NO'}")
        flagged = [f"{f.feature} ({f.severity})" for f in report.leakage]
        yield f"  leakage detector: {', '.join(flagged) if flagged else 'nothing flagged'}"
        if report.warnings:
            yield "  data warnings: " + "; ".join(report.warnings)
        if report.external:
            ext = report.external
            yield (f"  external validation, trained at {ext['train_site']} (LR, {len(ext['features'])} features, "
                   f"internal CV AUC {ext['internal_cv_auc']:.3f}): " + "; ".join(
                       f"{s['site']} AUC {_fmt(s['auc'])} ECE {_fmt(s['ece'])}" for s in ext["sites"]))
        yield f"  ({report.seconds:.1f} s)"
    yield (f"\nGoal met (AUC >= baseline and ECE <= 0.05) for {met} of {len(keys)} datasets; "
           f"total {time.perf_counter() - started:.0f} s")
