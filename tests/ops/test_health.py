"""/readyz and `medtutor check [--deploy]`: what a load balancer and an operator rely on."""

from __future__ import annotations

import subprocess
import sys

from medtutor.assessment.liveserver import server_env


def test_readyz_reports_each_check(client, db):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "cache": "ok", "migrations": "ok"}


def _check(env, *args):
    return subprocess.run([sys.executable, "-m", "medtutor", "check", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_fails_before_migrate_and_passes_after(tmp_path):
    env = server_env(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    before = _check(env)
    assert before.returncode == 1 and "FAIL  migrations" in before.stdout and "not applied" in before.stdout
    subprocess.run([sys.executable, "-m", "medtutor", "migrate"], env=env, check=True, capture_output=True)
    after = _check(env)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "OK    migrations: all applied" in after.stdout


def test_check_deploy_names_what_is_unsafe(tmp_path):
    env = server_env(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    subprocess.run([sys.executable, "-m", "medtutor", "migrate"], env=env, check=True, capture_output=True)
    unsafe = _check(env | {"DEBUG": "1", "ALLOWED_HOSTS": "*"}, "--deploy")
    assert unsafe.returncode == 1
    assert "FAIL  debug" in unsafe.stdout and "FAIL  https" in unsafe.stdout and "FAIL  allowed hosts" in unsafe.stdout
    assert "WARN  secret key" in unsafe.stdout and "WARN  database kind" in unsafe.stdout
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by our browser tests; Django's deploy check rightly refuses it
    production = env | {"SECRET_KEY": "k3-" + "x7Qp9vLm2Rz" * 6, "MEDTUTOR_HTTPS": "1",
                        "ALLOWED_HOSTS": "medtutor.example.org"}
    safe = _check(production, "--deploy")
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "OK    secret key: from the environment" in safe.stdout and "FAIL" not in safe.stdout
