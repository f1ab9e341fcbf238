"""Knowledge-tracing benchmark: our tracers beside pyBKT (same process, same split) and published AUCs.

Used by ``medtutor bench kt`` and ``benchmarks/bench_kt.py``. No Django: it reads files, fits the
engines in ``learning/engine/kt*.py`` and prints tables.

Scoring. Each test response is predicted from the same student's earlier responses (the standard
"next response" protocol of the DKT/DKVMN papers; test students are unseen in training). Two views:

* **all rows** -- every row is scored, as the DKT/DKVMN papers do. In ASSISTments 2009 a problem tagged
  with k skills is k consecutive rows with the same answer, so for rows 2..k the answer was visible
  one row earlier: this inflates AUC for every model that looks at the last answer.
* **first row of each problem** -- only the first row of each repeated problem-response group is
  scored, which removes that leak. Possible only when the file has problem ids (assist2009_pid CSV);
  the DKVMN files have none, so there it cannot be detected and is not reported.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medtutor.learning.engine.kt import BKT, IRTTracer, KnowledgeTracer
from medtutor.learning.engine.kt_data import (FlatResponses, StudentSequence, flatten, read_sequences,
                                              split_students)
from medtutor.learning.engine.kt_metrics import Scores, score
from medtutor.learning.engine.kt_models import FeatureEnsemble, FeatureGBM, FeatureLR

__all__ = ["ModelResult", "DatasetResult", "run_kt_benchmark", "format_result", "PUBLISHED", "MODELS",
           "DEEP_MODELS"]

# Test AUC on the DKVMN split (train on _train.csv, test on the held-out _test.csv), as listed in
# /work/shared/data/kt/README.md. Context only: our runs test on a validation fold of _train.csv.
PUBLISHED: dict[str, dict[str, float]] = {
    "assist2009": {"DKT": 0.821, "DKVMN": 0.816, "Deep-IRT": 0.817},
    "assist2015": {"DKT": 0.736, "DKVMN": 0.729, "Deep-IRT": 0.729},
    "statics2011": {"DKT": 0.827, "DKVMN": 0.832, "Deep-IRT": 0.831},
}

def _dkt(**options: Any) -> KnowledgeTracer:
    """DKT (GRU, optional extra): raises ImportError with the install hint when torch is missing."""
    from medtutor.learning.engine.kt_deep import DKT, require_torch

    require_torch()
    return DKT(**options)


def _dkt_ensemble(**options: Any) -> KnowledgeTracer:
    """DKT stacked with GBM+LR (optional extra): raises ImportError when torch is missing."""
    from medtutor.learning.engine.kt_deep import DKTFeatureEnsemble, require_torch

    require_torch()
    return DKTFeatureEnsemble(**options)


MODELS: dict[str, Callable[..., KnowledgeTracer]] = {
    "bkt": BKT,
    "irt": IRTTracer,
    "lr": FeatureLR,
    "gbm": FeatureGBM,
    "ens": FeatureEnsemble,
    "dkt": _dkt,            # needs torch (extra 'ml')
    "ens+dkt": _dkt_ensemble,  # needs torch (extra 'ml')
}
DEEP_MODELS = ("dkt", "ens+dkt")


def dataset_key(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith("assist2009"):
        return "assist2009"
    if name.startswith("assist2015"):
        return "assist2015"
    if name.startswith("statics"):
        return "statics2011"
    return None


@dataclass
class ModelResult:
    name: str
    train_s: float
    predict_us: float            # batch prediction time per test answer
    online_us: float | None      # one update + one predict_next, mean over a sample of answers
    all_rows: Scores
    first_rows: Scores | None
    note: str = ""


@dataclass
class DatasetResult:
    title: str
    n_train_students: int
    n_train_rows: int
    n_test_students: int
    n_test_rows: int
    groups_detectable: bool
    n_first_rows: int
    published_key: str | None
    models: list[ModelResult] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# pyBKT (reference implementation), run in the same process on the same split
# --------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _pybkt_import_shim() -> Iterator[None]:
    """pyBKT 1.4.3 probes every sklearn *_loss/_score/_error with lists at import time and only
    expects TypeError; current scikit-learn raises AttributeError from a private helper. Turn those
    into TypeError during the import only."""
    import sklearn.metrics as skm

    saved = []
    for module in (skm._regression, skm._classification):
        for attr in dir(module):
            fn = getattr(module, attr)
            if re.search("_loss$|_score$|_error$", attr) and callable(fn):
                def wrapped(*args: Any, _fn: Any = fn, **kwargs: Any) -> Any:
                    try:
                        return _fn(*args, **kwargs)
                    except TypeError:
                        raise
                    except Exception as error:  # noqa: BLE001 - re-raised as the type pyBKT expects
                        raise TypeError(str(error)) from error
                saved.append((module, attr, fn))
                setattr(module, attr, wrapped)
    try:
        yield
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)


def _load_pybkt() -> Any:
    with _pybkt_import_shim(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyBKT.fit import EM_fit  # type: ignore[import-untyped]
        from pyBKT.models import Model  # type: ignore[import-untyped]
    # pyBKT stores a (1, 1) log-likelihood array into a scalar slot, which numpy >= 2.? refuses.
    if not getattr(EM_fit.run, "_medtutor_patched", False):
        original = EM_fit.run

        def run(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            result["total_loglike"] = float(np.asarray(result["total_loglike"]).reshape(-1)[0])
            return result

        run._medtutor_patched = True  # type: ignore[attr-defined]
        EM_fit.run = run
    return Model


def _pybkt_frame(flat: FlatResponses) -> Any:
    import pandas as pd

    return pd.DataFrame({"order_id": np.arange(len(flat)), "user_id": flat.student,
                         "skill_name": flat.skill.astype(str), "correct": flat.correct.astype(int)})


def _subset(flat: FlatResponses, skills: np.ndarray) -> FlatResponses:
    keep = np.isin(flat.skill, skills)
    student = flat.student[keep]
    # renumber students densely and keep each student's rows contiguous and in order
    _, student = np.unique(student, return_inverse=True)
    counts = np.bincount(student) if len(student) else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    position = np.arange(len(student)) - np.repeat(starts[:-1], counts)
    return FlatResponses(student=student.astype(np.int64), position=position.astype(np.int64),
                         skill=flat.skill[keep], item=flat.item[keep], correct=flat.correct[keep],
                         first_of_group=flat.first_of_group[keep], groups_detectable=flat.groups_detectable,
                         starts=starts)


def _pick_skills(train: FlatResponses, max_rows: int | None, seed: int) -> np.ndarray:
    skills, counts = np.unique(train.skill, return_counts=True)
    if max_rows is None or counts.sum() <= max_rows:
        return skills
    order = np.random.default_rng(seed).permutation(len(skills))
    chosen, total = [], 0
    for i in order:
        if total + counts[i] <= max_rows:
            chosen.append(skills[i])
            total += int(counts[i])
    return np.sort(np.array(chosen, dtype=np.int64))


def _run_pybkt(train: FlatResponses, test: FlatResponses, seed: int, max_rows: int | None
               ) -> list[tuple[str, np.ndarray, np.ndarray, float, float, str]]:
    """pyBKT and our BKT on the same skills (all, or a random subset of about ``max_rows`` training rows:
    pyBKT 1.4.3 from PyPI has no compiled E-step here and needs about 3 ms per training response)."""
    Model = _load_pybkt()
    skills = _pick_skills(train, max_rows, seed)
    sub_train, sub_test = _subset(train, skills), _subset(test, skills)
    rows_in_test = np.isin(test.skill, skills)
    model = Model(seed=seed, num_fits=1, parallel=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(data=_pybkt_frame(sub_train))
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        out = model.predict(data=_pybkt_frame(sub_test))
        predict_s = time.perf_counter() - start
    p_ref = out.sort_values("order_id")["correct_predictions"].to_numpy(dtype=np.float64)
    ours = BKT()
    start = time.perf_counter()
    ours.fit_flat(sub_train)
    ours_train_s = time.perf_counter() - start
    start = time.perf_counter()
    p_ours = ours.predict_flat(sub_test)[0]
    ours_predict_s = time.perf_counter() - start
    params = model.params().reset_index()
    diffs = []
    for _, row in params.iterrows():
        if row["param"] in ("prior", "learns", "guesses", "slips") and int(row["skill"]) in ours.params:
            mine = ours.params[int(row["skill"])]
            value = {"prior": mine.prior, "learns": mine.learn, "guesses": mine.guess, "slips": mine.slip}[row["param"]]
            diffs.append(abs(float(row["value"]) - value))
    scope = ("all skills" if len(skills) == len(np.unique(train.skill))
             else f"{len(skills)} of {len(np.unique(train.skill))} skills drawn at random, "
                  f"{len(sub_train):,} train / {len(sub_test):,} test rows")
    agree = (f"; mean |pyBKT - ours| parameter difference {np.mean(diffs):.3f}, "
             f"max |p difference| {np.max(np.abs(p_ref - p_ours)):.3f}" if diffs else "")
    n = max(len(sub_test), 1)
    return [("pyBKT", p_ref, rows_in_test, train_s, predict_s / n * 1e6,
             f"pyBKT 1.4.3 (num_fits=1, serial), on {scope}{agree}"),
            ("BKT (same)", p_ours, rows_in_test, ours_train_s, ours_predict_s / n * 1e6,
             f"our BKT refitted on exactly pyBKT's rows ({scope})")]


# --------------------------------------------------------------------------------------------------

def _online_us(model: KnowledgeTracer, sequences: Sequence[StudentSequence], answers: int = 2000) -> float:
    done = 0
    start = time.perf_counter()
    for seq in sequences:
        state = model.initial_state()
        for skill, item, correct in zip(seq.skills.tolist(), seq.items.tolist(), seq.correct.tolist()):
            model.predict_next(state, skill, item)
            state = model.update(state, skill, bool(correct), item)
            done += 1
            if done >= answers:
                return (time.perf_counter() - start) / done * 1e6
    return (time.perf_counter() - start) / max(done, 1) * 1e6


def run_kt_benchmark(train_files: Sequence[Path], test_files: Sequence[Path] | None = None, *,
                     models: Sequence[str] = ("bkt", "irt", "lr", "gbm"), with_pybkt: bool = True,
                     seed: int = 0, test_fraction: float = 0.2, title: str | None = None,
                     pybkt_max_rows: int | None = 15_000,
                     model_options: dict[str, dict[str, Any]] | None = None, online_answers: int = 2000,
                     log: Callable[[str], None] | None = None) -> DatasetResult:
    """Fit every model on the training files and score it on the test files.

    Without test files, ``test_fraction`` of the training students (by a hash of the student id) is
    held out. pyBKT runs on a random subset of skills with about ``pybkt_max_rows`` training rows
    (None: all), beside our BKT refitted on exactly the same rows.
    """
    train_files = [Path(p) for p in train_files]
    train = read_sequences(train_files)
    if test_files:
        test = read_sequences([Path(p) for p in test_files])
        split = f"test {', '.join(Path(p).name for p in test_files)}"
    else:
        train, test = split_students(train, test_fraction, salt="medtutor-kt-bench")
        split = f"{test_fraction:.0%} of students held out by hash"
    train_flat, test_flat = flatten(train), flatten(test)
    y = test_flat.correct
    first = test_flat.first_of_group if test_flat.groups_detectable else None
    result = DatasetResult(
        title=title or f"train {', '.join(p.name for p in train_files)}; {split}",
        n_train_students=len(train), n_train_rows=len(train_flat), n_test_students=len(test),
        n_test_rows=len(test_flat), groups_detectable=test_flat.groups_detectable,
        n_first_rows=int(first.sum()) if first is not None else len(test_flat),
        published_key=dataset_key(train_files[0]))

    def scores(p: np.ndarray) -> tuple[Scores, Scores | None]:
        return score(y, p), (score(y[first], p[first]) if first is not None else None)

    for key in models:
        try:
            model = MODELS[key](**(model_options or {}).get(key, {}))
        except ImportError as error:  # an optional extra (torch) is not installed
            result.models.append(ModelResult(key, float("nan"), float("nan"), None,
                                             score(np.array([0, 1]), np.array([0.5, 0.5])), None,
                                             note=f"not run: {error}"))
            if log:
                log(f"  {key}: not run ({error})")
            continue
        start = time.perf_counter()
        model.fit(train, seed=seed)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        p = model.predict_sequences(test)
        predict_s = time.perf_counter() - start
        online = _online_us(model, test, online_answers)
        all_rows, first_rows = scores(p)
        chosen = getattr(model, "chosen", None)
        result.models.append(ModelResult(model.name, train_s, predict_s / max(len(y), 1) * 1e6, online,
                                         all_rows, first_rows, note=str(chosen) if chosen else ""))
        if log:
            log(f"  {model.name}: AUC {all_rows.auc:.4f} (train {train_s:.1f} s)")
    if with_pybkt:
        try:
            for name, p, rows, train_s, predict_us, note in _run_pybkt(train_flat, test_flat, seed, pybkt_max_rows):
                sub_first = first[rows] if first is not None else None
                all_rows = score(y[rows], p)
                first_rows = score(y[rows][sub_first], p[sub_first]) if sub_first is not None else None
                result.models.append(ModelResult(name, train_s, predict_us, None, all_rows, first_rows, note=note))
                if log:
                    log(f"  {name}: AUC {all_rows.auc:.4f} (train {train_s:.1f} s)")
        except ImportError as error:
            result.models.append(ModelResult("pyBKT", float("nan"), float("nan"), None,
                                             score(np.array([0, 1]), np.array([0.5, 0.5])), None,
                                             note=f"not run: {error} (pip install 'medtutor[bench]')"))
    return result


def format_result(result: DatasetResult) -> list[str]:
    lines = [f"## {result.title}",
             f"train: {result.n_train_students:,} students / {result.n_train_rows:,} rows; "
             f"test: {result.n_test_students:,} students / {result.n_test_rows:,} rows"]
    header = (f"{'model':<14} {'AUC':>7} {'ACC':>7} {'RMSE':>7} {'ECE':>6} {'train s':>8} "
              f"{'pred µs/ans':>11} {'online µs':>9}")
    if result.groups_detectable:
        header += f" {'AUC 1st-row':>11} {'ACC 1st-row':>11}"
    lines += ["", header, "-" * len(header)]
    for m in result.models:
        if m.note.startswith("not run"):
            lines.append(f"{m.name:<14} {m.note}")
            continue
        online = f"{m.online_us:9.1f}" if m.online_us is not None else f"{'-':>9}"
        line = (f"{m.name:<14} {m.all_rows.auc:7.4f} {m.all_rows.accuracy:7.4f} {m.all_rows.rmse:7.4f} "
                f"{m.all_rows.ece:6.3f} {m.train_s:8.1f} {m.predict_us:11.2f} {online}")
        if result.groups_detectable and m.first_rows is not None:
            line += f" {m.first_rows.auc:11.4f} {m.first_rows.accuracy:11.4f}"
        lines.append(line)
    lines.append("")
    if result.groups_detectable:
        lines.append(f"scoring: AUC/ACC/RMSE/ECE over all {result.n_test_rows:,} rows (standard, as DKT/DKVMN "
                     f"papers; multi-skill problems repeat the answer on consecutive rows, which leaks it); "
                     f"'1st-row' columns score only the first row of each repeated problem-response group "
                     f"({result.n_first_rows:,} rows, no leak).")
    else:
        lines.append("scoring: every row (standard). Multi-skill duplicated rows cannot be detected in this "
                     "format (no problem ids); for ASSIST2009 about 16% of rows repeat the previous row's "
                     "answer under another skill, which inflates every model's AUC alike.")
    for m in result.models:
        if m.note and not m.note.startswith("not run"):
            lines.append(f"  {m.name}: {m.note}")
    if result.published_key:
        pub = PUBLISHED[result.published_key]
        lines.append("published, different split (DKVMN split: train on _train.csv, test on the held-out "
                     "_test.csv; papers' values as listed in the data README): "
                     + ", ".join(f"{k} {v:.3f}" for k, v in pub.items()))
        if result.groups_detectable:
            lines.append("  (those are for the skill-only DKVMN files, scored on every row; this file has "
                         "problem ids and another split, so compare with care)")
    return lines
