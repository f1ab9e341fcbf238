"""`medtutor bench cat` end to end on small sizes: both parts run and print the comparison."""

from __future__ import annotations

import numpy as np

from medtutor.assessment.cat_benchmark import first_answer_matrix, run_cat_benchmark
from medtutor.assessment.engine import irt


def _dkvmn_file(path, n_students=260, n_items=24, seed=0):
    rng = np.random.default_rng(seed)
    bank = irt.random_bank(n_items, rng)
    lines = []
    for theta in rng.normal(size=n_students):
        tags = list(rng.permutation(n_items)[:20] + 1) + [1]  # a repeat of item 1 at the end: not a first answer
        answers = [int(rng.random() < float(irt.prob(theta, bank[t - 1]))) for t in tags[:-1]] + [1]
        lines += [str(len(tags)), ",".join(map(str, tags)), ",".join(map(str, answers))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_first_answer_matrix_keeps_only_first_answers(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("3\n1,2,1\n0,1,1\n2\n2,2\n0,1\n")
    matrix, ids = first_answer_matrix([path])
    assert ids == [1, 2]
    assert matrix[0].tolist() == [0.0, 1.0]
    assert np.isnan(matrix[1, 0]) and matrix[1, 1] == 0.0


def test_benchmark_runs_both_parts_and_reports_the_comparison(tmp_path):
    lines = run_cat_benchmark(bank_items=60, areas=3, calibration_examinees=500, examinees=40, lengths=(5, 10),
                              responses=[_dkvmn_file(tmp_path / "real.csv")], real_examinees=30)
    text = "\n".join(lines)
    assert "part 1" in text and "part 2" in text and "goal:" in text
    assert text.count("linear form (random") == 4 and "Sympson-Hetter" in text
    assert "24 of 24 items with at least 200 answers" in text
    assert all("result: CAT RMSE lower at" in line for line in lines if line.startswith("result"))
