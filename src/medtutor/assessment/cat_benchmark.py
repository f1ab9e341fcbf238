"""`medtutor bench cat`: simulated examinees on a calibrated bank, CAT against fixed linear forms.

Part 1, simulated bank:
1. A true bank is simulated (3PL, in content areas) and a calibration sample answers it; the bank
   is *calibrated* from those answers by MML-EM (so the CAT works with estimated parameters, as in
   real use), and the recovery of the true parameters is reported.
2. New examinees are drawn from N(0, 1). Their answers always come from the *true* parameters.
3. At each test length (10, 20, 30, 40) every examinee sits a fixed-length CAT (maximum information,
   randomesque exposure control, content balancing) and a fixed linear form of the same length drawn
   as a blueprint exam draws one; both are scored by EAP on the calibrated parameters. Also a
   variable-length CAT that stops at SE <= 0.3 (max 40 items) with randomesque, Sympson-Hetter
   (r_max 0.25) or no exposure control.

Part 2, a bank calibrated from real response data (when response files are given; `make bench`
passes ASSISTments 2015): the first answer of each student to each item of a knowledge-tracing file
(DKVMN 3-line format or the assist2009_pid CSV) is calibrated as a 2PL/3PL; items with fewer than
200 answers are left out. Simulated N(0, 1) examinees then sit CATs and linear forms on that bank
(here the calibrated parameters are the truth: the point is a realistic spread of a and b).

The tables show RMSE and bias of the ability estimates, mean items used and the highest item
exposure rate. Goal: the CAT's RMSE is below the linear form's at every length, and the SE-stopped
CAT reaches the precision of a longer linear form with fewer items.

Pure: uses only the engines (no database), deterministic for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtutor.assessment.engine import cat, irt

LENGTHS = (10, 20, 30, 40)
GOAL = "CAT RMSE below the linear form's at every length; SE-stopped CAT as precise as a longer linear form"


@dataclass(frozen=True)
class Row:
    design: str
    length: str
    rmse: float
    bias: float
    mean_items: float
    max_exposure: float
    seconds: float
    adaptive: bool


def run_cat_benchmark(**kwargs: object) -> list[str]:
    """See the module docstring; keyword arguments as `_run`."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # many tiny numpy calls: BLAS threads only add overhead
        return _run(**kwargs)  # type: ignore[arg-type]


def _compare(bank: Sequence[cat.BankItem], true_params: Mapping[Hashable, irt.ItemParams], thetas: np.ndarray,
             lengths: Sequence[int], targets: Mapping[str, float], se_target: float, rng: np.random.Generator,
             log: Callable[[str], None], *, sympson_hetter: bool = True, unrestricted: bool = True) -> list[Row]:
    rows: list[Row] = []
    content = "+ content" if targets else ""

    def run_cat(label: str, length: str, config: cat.CatConfig) -> None:
        started = time.perf_counter()
        results = [cat.simulate_cat(float(t), bank, config, rng, true_params=true_params) for t in thetas]
        rmse, bias = cat.rmse_and_bias([r.theta for r in results], thetas)
        rows.append(Row(label, length, rmse, bias, float(np.mean([r.n_items for r in results])),
                        max(cat.exposure_rates(results, bank).values()), time.perf_counter() - started, True))
        log(f"{label} {length}: RMSE {rmse:.3f}")

    def run_linear(length: int) -> None:
        started = time.perf_counter()
        config = cat.CatConfig(se_target=None, min_items=1, max_items=length)
        estimates = []
        for t in thetas:
            form = cat.linear_form(bank, length, rng, targets)  # a fresh random form per examinee
            estimates.append(cat.simulate_linear(float(t), form, config, rng, true_params=true_params).theta)
        rmse, bias = cat.rmse_and_bias(estimates, thetas)
        # Random forms: each item is seen by length/bank of the examinees on average.
        rows.append(Row("linear form (random" + (", blueprint-balanced)" if targets else ")"), str(length), rmse,
                        bias, float(length), length / len(bank), time.perf_counter() - started, False))

    for length in lengths:
        run_linear(length)
        run_cat(f"CAT max-info + randomesque(5) {content}".strip(), str(length),
                cat.CatConfig(se_target=None, min_items=length, max_items=length, exposure="randomesque",
                              randomesque_k=5, content_targets=targets))
    longest = max(lengths)
    stop = f"CAT stop at SE<={se_target}"
    run_cat(f"{stop} + randomesque(5) {content}".strip(), f"<={longest}",
            cat.CatConfig(se_target=se_target, min_items=5, max_items=longest, exposure="randomesque",
                          randomesque_k=5, content_targets=targets))
    if sympson_hetter:
        base = dict(se_target=se_target, min_items=5, max_items=longest, exposure="sympson-hetter",
                    content_targets=targets)
        k = cat.sympson_hetter_calibrate(bank, cat.CatConfig(**base), rng, r_max=0.25,
                                         examinees=min(300, len(thetas)), rounds=5)
        run_cat(f"{stop} + Sympson-Hetter(0.25) {content}".strip(), f"<={longest}",
                cat.CatConfig(**base, exposure_k=k))
    if unrestricted:
        run_cat(f"{stop}, no exposure control", f"<={longest}",
                cat.CatConfig(se_target=se_target, min_items=5, max_items=longest, exposure="none",
                              content_targets=targets))
    return rows


def _table(rows: Sequence[Row], lengths: Sequence[int]) -> list[str]:
    lines = [f"{'design':<58} {'length':>6} {'RMSE':>7} {'bias':>7} {'items':>6} {'max exp.':>8} {'time s':>7}"]
    for row in rows:
        lines.append(f"{row.design:<58} {row.length:>6} {row.rmse:>7.3f} {row.bias:>+7.3f} {row.mean_items:>6.1f} "
                     f"{row.max_exposure:>8.2f} {row.seconds:>7.1f}")
    by_length = {(r.adaptive, r.length): r for r in rows}
    wins = [n for n in lengths if by_length[(True, str(n))].rmse < by_length[(False, str(n))].rmse]
    se_row = next(r for r in rows if r.design.startswith("CAT stop") and "randomesque" in r.design)
    # the shortest linear form at least as precise as the SE-stopped CAT
    matched = next((n for n in sorted(lengths) if by_length[(False, str(n))].rmse <= se_row.rmse), None)
    lines.append(f"result: CAT RMSE lower at {len(wins)}/{len(lengths)} lengths; SE-stopped CAT RMSE {se_row.rmse:.3f} "
                 f"with {se_row.mean_items:.1f} items on average; "
                 + (f"the linear form needs {matched} items for that precision"
                    if matched else f"no linear form up to {max(lengths)} items is that precise"))
    return lines


def _run(*, bank_items: int = 300, areas: int = 5, calibration_examinees: int = 3000,
         examinees: int = 1000, lengths: tuple[int, ...] = LENGTHS, se_target: float = 0.3,
         seed: int = 0, model: str = "auto", responses: Sequence[Path] = (), real_examinees: int = 400,
         log: Callable[[str], None] = lambda line: None) -> list[str]:
    rng = np.random.default_rng(seed)
    params = irt.random_bank(bank_items, rng, model="3pl")
    truth_bank = [cat.BankItem(j, p, f"area-{j % areas}") for j, p in enumerate(params)]
    true_params = {item.item_id: item.params for item in truth_bank}

    start = time.perf_counter()
    sample = rng.normal(0.0, 1.0, calibration_examinees)
    # Each calibration examinee answers a random half of the bank (forms overlap, as in practice).
    presented = rng.random((calibration_examinees, bank_items)) < 0.5
    data = irt.simulate_responses(sample, [item.params for item in truth_bank], rng, presented=presented)
    calibration = irt.calibrate(data, model=model)
    calibrate_seconds = time.perf_counter() - start
    log(f"calibrated {bank_items} items in {calibrate_seconds:.1f} s ({calibration.model.upper()})")
    bank = [cat.BankItem(item.item_id, est.params, item.content)
            for item, est in zip(truth_bank, calibration.items, strict=True)]
    true_a, est_a = (np.array([p.params.a for p in b]) for b in (truth_bank, bank))
    true_b, est_b = (np.array([p.params.b for p in b]) for b in (truth_bank, bank))
    targets = cat.content_targets({f"area-{k}": 1.0 for k in range(areas)})
    thetas = rng.normal(0.0, 1.0, examinees)
    rows = _compare(bank, true_params, thetas, lengths, targets, se_target, rng, log)

    lines = [
        f"CAT benchmark, part 1: {examinees} simulated examinees from N(0,1); bank of {bank_items} items in {areas} "
        f"content areas (true 3PL), calibrated from {calibration_examinees} simulated examinees "
        f"(each answered half the bank) as {calibration.model.upper()} by MML-EM in {calibrate_seconds:.1f} s",
        f"calibration recovery: r(a) {np.corrcoef(true_a, est_a)[0, 1]:.3f}, r(b) {np.corrcoef(true_b, est_b)[0, 1]:.3f}, "
        f"RMSE(a) {np.sqrt(np.mean((true_a - est_a) ** 2)):.3f}, RMSE(b) {np.sqrt(np.mean((true_b - est_b) ** 2)):.3f}"
        + (f"; notes: {'; '.join(calibration.notes)}" if calibration.notes else ""),
        "answers come from the true parameters; scoring (EAP, N(0,1) prior) uses the calibrated ones",
        "",
        *_table(rows, lengths),
    ]
    if responses:
        lines += ["", *_real_bank(responses, lengths, se_target, real_examinees, rng, log)]
    lines += ["", f"goal: {GOAL}"]
    return lines


def first_answer_matrix(paths: Sequence[Path]) -> tuple[np.ndarray, list[int]]:
    """Students x items (1/0/NaN) from knowledge-tracing files: each student's first answer to each item."""
    from medtutor.learning.engine.kt_data import read_sequences

    sequences = read_sequences(paths)
    ids = sorted({int(i) for s in sequences for i in s.items})
    column = {item_id: j for j, item_id in enumerate(ids)}
    matrix = np.full((len(sequences), len(ids)), np.nan)
    for row, sequence in enumerate(sequences):
        seen: set[int] = set()
        for item_id, correct in zip(sequence.items.tolist(), sequence.correct.tolist(), strict=True):
            if item_id not in seen:
                seen.add(item_id)
                matrix[row, column[item_id]] = correct
    return matrix, ids


def _real_bank(paths: Sequence[Path], lengths: Sequence[int], se_target: float, examinees: int,
               rng: np.random.Generator, log: Callable[[str], None]) -> list[str]:
    start = time.perf_counter()
    matrix, ids = first_answer_matrix(paths)
    counts = (~np.isnan(matrix)).sum(axis=0)
    keep = counts >= irt.MIN_RESPONSES["2pl"]
    calibration = irt.calibrate(matrix[:, keep], model="auto")
    seconds = time.perf_counter() - start
    kept_ids = [item_id for item_id, k in zip(ids, keep, strict=True) if k]
    bank = [cat.BankItem(item_id, est.params) for item_id, est in zip(kept_ids, calibration.items, strict=True)]
    log(f"calibrated {len(bank)} items from {', '.join(p.name for p in paths)} in {seconds:.1f} s")
    usable = [n for n in lengths if n <= len(bank) // 2]
    a = np.array([item.params.a for item in bank])
    b = np.array([item.params.b for item in bank])
    rows = _compare(bank, {item.item_id: item.params for item in bank}, rng.normal(0.0, 1.0, examinees), usable,
                    {}, se_target, rng, log, sympson_hetter=False, unrestricted=False)
    return [
        f"CAT benchmark, part 2: a bank calibrated from real answers ({', '.join(p.name for p in paths)}): first "
        f"answers of {matrix.shape[0]} students, {len(bank)} of {len(ids)} items with at least "
        f"{irt.MIN_RESPONSES['2pl']} answers, {calibration.model.upper()} by MML-EM in {seconds:.1f} s"
        + (f" ({'; '.join(calibration.notes)})" if calibration.notes else ""),
        f"bank: a 5/50/95th percentiles {np.percentile(a, 5):.2f}/{np.median(a):.2f}/{np.percentile(a, 95):.2f}, "
        f"b {np.percentile(b, 5):.2f}/{np.median(b):.2f}/{np.percentile(b, 95):.2f}; {examinees} simulated examinees "
        "from N(0,1) answer from these parameters; no content areas",
        "",
        *_table(rows, usable),
    ]
