"""`medtutor decision train` and `medtutor bench risk` refuse bad input with the reason."""

from __future__ import annotations

from typer.testing import CliRunner

from medtutor.cli import app
from medtutor.decision.models import RegisteredModel
from tests.conftest import shared_data

runner = CliRunner()


def test_decision_train_registers_three_models_per_dataset(db):
    folder = shared_data("clinical")
    result = runner.invoke(app, ["decision", "train", "--data", str(folder), "--dataset",
                                 "heart_failure_clinical_records"])
    assert result.exit_code == 0, result.output
    names = sorted(RegisteredModel.objects.values_list("name", flat=True))
    assert names == [f"risk-heart_failure_clinical_records-{k}" for k in ("gbm", "logreg", "recommended")]
    assert "registered risk-heart_failure_clinical_records-recommended v1" in result.output


def test_decision_train_refuses_an_unknown_dataset(db):
    result = runner.invoke(app, ["decision", "train", "--data", str(shared_data("clinical")), "--dataset", "nope"])
    assert result.exit_code == 2 and "no dataset 'nope'" in result.output
    assert not RegisteredModel.objects.exists()


def test_bench_risk_refuses_a_test_file_of_no_known_dataset(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["bench", "risk", "--data", str(shared_data("clinical")), "--test", str(bad)])
    assert result.exit_code == 2 and "cannot tell which dataset" in result.output
