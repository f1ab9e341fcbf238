"""The `medtutor` command: import/export/createuser/demo in-process, and `serve` as a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medtutor.accounts.models import Cohort, User
from medtutor.cli import app
from medtutor.content.models import Card, Item

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


ITEM = {"type": "item", "id": "cli-1", "stem": "Which vitamin deficiency causes scurvy?", "lead_in": "Choose one.",
        "options": [{"text": "Vitamin C", "explanation": "Needed for collagen hydroxylation."},
                    {"text": "Vitamin D", "explanation": "Causes rickets, not scurvy."}], "key": 0}


def test_import_reports_a_summary(db, tmp_path):
    result = runner.invoke(app, ["import", str(_write_jsonl(tmp_path / "a.jsonl", [ITEM]))])
    assert result.exit_code == 0, result.output
    assert "created 1 items" in result.output
    assert Item.objects.get().current_version.option_texts == ["Vitamin C", "Vitamin D"]


def test_import_of_a_bad_file_names_the_line_and_changes_nothing(db, tmp_path):
    bad = dict(ITEM, id="cli-2", key=7)
    path = _write_jsonl(tmp_path / "b.jsonl", [ITEM, bad])
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    assert "nothing was imported" in result.output and "line 2" in result.output
    assert not Item.objects.exists()


def test_import_refuses_unknown_format_and_user(db, tmp_path):
    path = _write_jsonl(tmp_path / "a.jsonl", [ITEM])
    assert runner.invoke(app, ["import", str(path), "--format", "docx"]).exit_code == 1
    assert runner.invoke(app, ["import", str(path), "--as", "nobody"]).exit_code == 1
    assert not Item.objects.exists()


def test_export_writes_a_file_that_imports_again(db, tmp_path):
    runner.invoke(app, ["import", str(_write_jsonl(tmp_path / "a.jsonl", [ITEM]))])
    for fmt in ("medtutor", "moodlexml", "gift", "csv"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(app, ["export", str(out), "--format", fmt])
        assert result.exit_code == 0 and out.stat().st_size > 0, result.output
        from medtutor.content.importers import parse

        bundle = parse(out.read_bytes(), fmt)
        (item,) = bundle.items
        # Moodle and GIFT have no separate lead-in: it comes back appended to the stem.
        assert item.stem.startswith(ITEM["stem"]) and ITEM["lead_in"] in item.stem + item.lead_in
        assert [o.text for o in item.options] == ["Vitamin C", "Vitamin D"] and item.key == 0


def test_createuser_validates_password_and_role(db, monkeypatch):
    monkeypatch.setenv("MEDTUTOR_PASSWORD", "a-long-enough-passphrase")
    ok = runner.invoke(app, ["createuser", "newfac", "--role", "faculty", "--cohort", "y1-2027"])
    assert ok.exit_code == 0, ok.output
    user = User.objects.get(username="newfac")
    assert user.role == "faculty" and user.check_password("a-long-enough-passphrase")
    assert Cohort.objects.get(code="y1-2027").members.filter(pk=user.pk).exists()
    assert runner.invoke(app, ["createuser", "newfac"]).exit_code == 1
    assert runner.invoke(app, ["createuser", "x", "--role", "dean"]).exit_code == 1
    weak = runner.invoke(app, ["createuser", "weak", "--password", "123"])
    assert weak.exit_code == 1 and not User.objects.filter(username="weak").exists()


def test_demo_load_meets_the_content_minimums_and_is_idempotent(db):
    first = runner.invoke(app, ["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = (Item.objects.count(), Card.objects.count(), User.objects.count())
    systems = Item.objects.values("competency__parent__code").distinct().count()
    assert Item.objects.count() >= 60 and Card.objects.count() >= 100 and systems >= 6
    for role in ("student", "faculty", "admin"):
        assert User.objects.filter(role=role).count() == 3
    assert Cohort.objects.exclude(code="staff-ai-course").count() == 1  # + the staff-only AI course cohort
    for item in Item.objects.select_related("current_version"):
        version = item.current_version
        assert version.objective_id, item.external_id
        assert all(o["explanation"] for o in version.options), item.external_id
    again = runner.invoke(app, ["demo", "load"])
    summaries = [line for line in again.output.splitlines() if line.startswith("demo/")]
    assert again.exit_code == 0 and len(summaries) == 3
    assert all("created" not in line and "updated" not in line for line in summaries), summaries
    assert "demo users created: 0" in again.output
    assert (Item.objects.count(), Card.objects.count(), User.objects.count()) == counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    var = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = os.environ | {"MEDTUTOR_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var}/db.sqlite3"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen([sys.executable, "-m", "medtutor", "serve", "--demo", "--port", str(port),
                               "--workers", "1"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            pytest.fail(f"medtutor serve exited: {server.stdout.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail("medtutor serve did not answer within 90 s")
        time.sleep(0.3)
    yield base
    server.terminate()
    server.wait(timeout=15)


def test_serve_answers_with_pages_and_static_files(served):
    with urllib.request.urlopen(served + "/login/") as response:
        html = response.read().decode()
        assert response.status == 200 and "Content-Security-Policy" in response.headers
    css = next(part.split('"')[0] for part in html.split('href="')[1:] if ".css" in part.split('"')[0])
    with urllib.request.urlopen(served + css) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
        assert "max-age" in response.headers.get("Cache-Control", "")


def test_serve_passes_workers_and_threads_to_gunicorn(monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    started = {}

    def exec_instead(path, args):
        started["args"] = args
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", exec_instead)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    result = runner.invoke(app, ["serve", "--port", "8199", "--workers", "3", "--threads", "8"])
    assert result.exit_code == 0, result.output
    args = started["args"]
    assert args[args.index("--workers") + 1] == "3" and args[args.index("--threads") + 1] == "8"
    assert "http://127.0.0.1:8199/" in result.output


@pytest.mark.parametrize("option", ["--threads", "--workers"])
def test_serve_refuses_no_threads_or_workers(option):
    result = runner.invoke(app, ["serve", option, "0"])
    assert result.exit_code == 2
    assert "--workers and --threads must be at least 1" in result.output
