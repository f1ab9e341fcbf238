"""Two app servers on one PostgreSQL and one Redis: an exam answered through both survives one being
killed mid-exam, a login lockout earned on one holds on the other, and scheduled work runs once."""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from medtutor.assessment.liveserver import DatabaseUnavailable, Server, run_python, scratch_database, server_env
from tests.assessment.test_durability import SETUP, Ledger, Unacknowledged, _call

N_ITEMS = 6

# An attempt of a second student whose deadline has already passed: scheduled work must close it once.
EXPIRED = r"""
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from medtutor.accounts.models import Role, User
from medtutor.assessment.models import Exam
from medtutor.assessment.services import start_attempt
late = User.objects.create_user(username="late-stu", password="correct-horse-battery-9", role=Role.STUDENT)
attempt = start_attempt(late, Exam.objects.get().pk, at=timezone.now() - timedelta(hours=2))
print(attempt.pk)
"""

CHECK = r"""
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
import django
django.setup()
from django.db.models import Count
from medtutor.core.models import AuditRecord, JobRun
runs = list(JobRun.objects.values("job", "slot").annotate(n=Count("id")).filter(n__gt=1))
print(json.dumps({
    "duplicate_slots": len(runs),
    "runs": JobRun.objects.filter(job="exams.close_expired").count(),
    "instances": sorted(set(JobRun.objects.values_list("instance", flat=True))),
    "closed": AuditRecord.objects.filter(action="exam.attempt.submitted", subject_id=os.environ["EXPIRED_ID"]).count(),
}))
"""


@pytest.fixture
def two_servers(tmp_path):
    try:
        with scratch_database("postgresql", tmp_path, prefix="medtutor_scale") as url:
            shared = {"SECRET_KEY": secrets.token_urlsafe(50), "REDIS_URL": "redis://127.0.0.1:6379/0",
                      "MEDTUTOR_CACHE_PREFIX": f"scale-{secrets.token_hex(4)}", "DURABILITY_ITEMS": str(N_ITEMS),
                      "MEDTUTOR_LOGIN_FAILURE_LIMIT": "3"}
            envs = []
            for name in ("a", "b"):
                (tmp_path / name).mkdir()
                envs.append(server_env(tmp_path / name, url, **shared))
            run_python(["-m", "medtutor", "migrate"], envs[0], timeout=120)
            data = json.loads(run_python(["-c", SETUP], envs[0], timeout=120).strip().splitlines()[-1])
            data["expired_id"] = run_python(["-c", EXPIRED], envs[0]).strip().splitlines()[-1]
            servers = [Server(env, tmp_path / name, workers=1) for env, name in zip(envs, ("a", "b"), strict=True)]
            for server in servers:
                server.start(timeout=90)
            try:
                yield servers, envs, data
            finally:
                for server in servers:
                    server.stop()
    except DatabaseUnavailable as exc:
        pytest.skip(str(exc))


def _save_via(servers, alive, token, attempt_id, position, body, ledger) -> None:
    """Send through a live server, round robin; a dead one's refused connection goes to the next."""
    for _ in range(20):
        server = servers[alive[0] % len(servers)]
        alive[0] += 1
        if server.proc is None:
            continue
        try:
            status, out = _call(server.base, token, "PUT", f"/api/v1/attempts/{attempt_id}/items/{position}", body)
        except Unacknowledged:
            continue
        assert status == 200, out
        ledger.acked[(position, body["seq"])] = out["status"]
        return
    raise AssertionError("no server acknowledged a save")


def _failed_login(base: str, username: str) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username,
                                   "password": "wrong-password-1"}).encode()
    request = urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"})
    try:
        return opener.open(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def test_two_instances_share_the_work_and_survive_losing_one(two_servers):
    servers, envs, data = two_servers
    token = data["token"]
    status, attempt = _call(servers[0].base, token, "POST", f"/api/v1/exams/{data['exam_id']}/attempts")
    assert status == 201, attempt
    attempt_id = attempt["id"]
    # Both instances run the scheduler at once, as every app server would.
    runners = [subprocess.Popen([sys.executable, "-m", "medtutor", "jobs", "run", "--loop", "0.3"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
               for env in envs]
    ledger, rng, turn = Ledger(), random.Random(7), [0]
    try:
        for n in range(60):
            position = rng.randint(1, N_ITEMS)
            _save_via(servers, turn, token, attempt_id, position, ledger.new_save(position, rng), ledger)
            if n == 30:  # mid-exam, instance A dies without warning
                os.killpg(servers[0].proc.pid, signal.SIGKILL)
                servers[0].proc.wait(timeout=10)
                servers[0].proc = None
        time.sleep(1.5)  # the scheduler keeps running on both (A's runner too: it needs no web process)
    finally:
        for runner in runners:
            os.killpg(runner.pid, signal.SIGTERM)
            runner.wait(timeout=15)

    status, back = _call(servers[1].base, token, "GET", f"/api/v1/attempts/{attempt_id}")
    assert status == 200, back
    stored = {item["position"]: item for item in back["items"]}
    for position in range(1, N_ITEMS + 1):
        expected = ledger.last_acknowledged(position)
        if expected is None:
            continue
        got = stored[position]
        assert (got["seq"], got.get("choice"), got["note"]) == (expected["seq"], expected["choice"], expected["note"])
    assert len(ledger.acked) == 60

    result = json.loads(run_python(["-c", CHECK], envs[1] | {"EXPIRED_ID": data["expired_id"]}).strip().splitlines()[-1])
    assert result["duplicate_slots"] == 0 and result["runs"] >= 1
    assert result["closed"] == 1  # the expired attempt was submitted once, by whichever instance claimed the slot


def test_a_login_lockout_on_one_instance_holds_on_the_other(two_servers):
    servers, _, _ = two_servers
    # Limit 3: two failures through A, the third through B reaches the limit only if B sees A's count.
    for _ in range(2):
        assert _failed_login(servers[0].base, "dur-stu") == 200  # the form again, with an error
    assert _failed_login(servers[1].base, "dur-stu") == 429
    assert _failed_login(servers[0].base, "dur-stu") == 429
