import json

from typer.testing import CliRunner

from medtutor.cli import app
from tests.conftest import shared_data

from .vp_fixtures import ASTHMA_YAML

runner = CliRunner()


def test_vp_intent_single_question():
    result = runner.invoke(app, ["vp", "intent", "when did the pain start?"])
    assert result.exit_code == 0, result.output
    assert result.output.split("\t")[0] == "onset"


def test_vp_intent_file_prints_accuracy_and_confusions(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [{"question": "do you smoke cigarettes at all", "intent": "smoking"},
            {"question": "where exactly is the pain", "intent": "location"},
            {"question": "do you smoke cigarettes at all", "intent": "alcohol"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = runner.invoke(app, ["vp", "intent", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "accuracy 0.667 (2/3)" in result.output
    assert "alcohol -> smoking: 1" in result.output


def test_vp_intent_bad_file_is_an_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "hi", "intent": "bogus"}\n')
    result = runner.invoke(app, ["vp", "intent", "--file", str(path)])
    assert result.exit_code == 2 and "unknown intent" in result.output


def test_vp_ask_on_a_yaml_case(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(ASTHMA_YAML)
    result = runner.invoke(app, ["vp", "ask", str(path), "--case", "1", "any fever?"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "No, no fever."
    result = runner.invoke(app, ["vp", "ask", str(path), "--case", "2", "any fever?"])
    assert result.exit_code == 2 and "--case must be between 1 and 1" in result.output


def test_vp_ask_on_an_agentclinic_file():
    path = shared_data("cases", "agentclinic", "agentclinic_nejm.jsonl")
    result = runner.invoke(app, ["vp", "ask", str(path), "--case", "1", "what cream have you been using?"])
    assert result.exit_code == 0, result.output
    assert "hydroquinone" in result.output.splitlines()[0]


def test_vp_ask_invalid_case_file_reports_problems(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nfoo: 1\n")
    result = runner.invoke(app, ["vp", "ask", str(path), "hello"])
    assert result.exit_code == 2 and "foo: unknown key" in result.output


def test_bench_vp_on_small_files(tmp_path):
    source = shared_data("cases", "agentclinic", "agentclinic_medqa.dev.jsonl")
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(source.read_text(encoding="utf-8").splitlines()[:6]) + "\n{broken\n")
    result = runner.invoke(app, ["bench", "vp", "--cases", str(small), "--max-cases", "6", "--folds", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    row = next(line.split() for line in out.splitlines() if line.startswith("small.jsonl"))
    assert row[1:4] == ["7", "6", "1"]          # records, imported, reported
    assert "invalid JSON" in out
    assert "keyword rules" in out and "majority class" in out
    assert "Fact recall" in out and "lexical baseline" in out
    assert "p95" in out and "Odd inputs answered without error: 11/11" in out
