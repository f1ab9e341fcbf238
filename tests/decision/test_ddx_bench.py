"""`medtutor bench ddx` on a small slice of the DDXPlus development file."""

from __future__ import annotations

import gzip

import pytest
from typer.testing import CliRunner

from medtutor.decision.ddx_benchmark import format_result, run_ddx_benchmark
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    source = shared_data("ddxplus", "patients", "validate_subset_en.csv.gz")
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    folder = tmp_path_factory.mktemp("ddx-bench")
    train, test = folder / "train.csv.gz", folder / "test.csv"
    with gzip.open(train, "wt", encoding="utf-8") as out:
        out.writelines(lines[:501])
    test.write_text("".join([lines[0], *lines[501:581]]), encoding="utf-8")
    return train, test


def test_benchmark_reports_interactive_beside_ceilings(small_files):
    train, test = small_files
    result = run_ddx_benchmark(train, test, kb_dir=shared_data("ddxplus", "kb_en"), max_questions=6, limit=None)
    assert (result.n_train, result.n_test) == (500, 80)
    interactive, nb_full, logistic = result.rows
    assert interactive.questions is not None and 0 <= interactive.questions <= 6
    for row in result.rows:
        assert 0.0 <= row.top1 <= row.top5 <= 1.0
    assert interactive.top1 > 0.8 and nb_full.top1 > 0.8 and logistic.top1 > 0.8
    assert 0.0 <= interactive.ddx_f1 <= 1.0 and logistic.ddx_f1 is None
    assert 0 < result.latency_p50_ms <= result.latency_p95_ms
    text = "\n".join(format_result(result))
    assert "test n=80" in text and "goal:" in text and "ceiling" in text


def test_one_file_is_split_by_patient_and_the_test_set_sampled(small_files):
    train, _ = small_files
    result = run_ddx_benchmark(train, None, kb_dir=shared_data("ddxplus", "kb_en"), max_questions=3, limit=50,
                               with_logistic=False)
    assert (result.n_train, result.n_test, result.n_test_available) == (400, 50, 100)
    assert "20% of patients held out" in result.title and "random sample of 100" in "\n".join(format_result(result))


def test_cli_bench_ddx(small_files):
    from medtutor.cli import app

    train, test = small_files
    outcome = CliRunner().invoke(app, ["bench", "ddx", "--train", str(train), "--test", str(test),
                                       "--max-questions", "4", "--kb", str(shared_data("ddxplus", "kb_en"))])
    assert outcome.exit_code == 0, outcome.output
    assert "top-1" in outcome.output and "<= 4 q" in outcome.output


def test_cli_bench_ddx_refuses_a_bad_file(tmp_path):
    from medtutor.cli import app

    bad = tmp_path / "bad.csv"
    bad.write_text("AGE,SEX\n1,M\n", encoding="utf-8")
    outcome = CliRunner().invoke(app, ["bench", "ddx", "--train", str(bad), "--kb", str(shared_data("ddxplus", "kb_en"))])
    assert outcome.exit_code == 2 and "missing column" in outcome.output
