"""Autosave durability end to end (issue 5), against a real `medtutor serve` (gunicorn) process.

Several threads autosave answers through the API while one gunicorn worker is SIGKILLed mid-stream and,
later, the whole server is stopped and started again. A save that failed with a connection error was
never acknowledged and is simply sent again (same sequence number: the server treats a replay as a
duplicate). At the end, every item must hold exactly the last acknowledged save: the one with the
highest sequence number the server answered "saved" or "duplicate" for.

Runs on a scratch SQLite database and, when postgres://postgres@127.0.0.1:5432 answers, on a fresh
PostgreSQL database that is dropped afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from medtutor.assessment.liveserver import (
    DatabaseUnavailable,
    Server,
    ServerError,
    run_python,
    scratch_database,
    server_env,
)
N_ITEMS = 6
N_THREADS = 4
START_TIMEOUT = 30.0
# A save that cannot be acknowledged within this long (worker restarts included) fails the test.
SAVE_DEADLINE = 15.0

# Run in a child interpreter with the server's environment: the test process keeps its own
# pytest-django settings and never opens the scratch database itself.
SETUP = r"""
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
import django
django.setup()
from django.utils import timezone
from medtutor.accounts.models import ApiToken, Role, User
from medtutor.assessment.models import Exam, ExamBuild, ExamItem, ExamMode
from medtutor.content.importers import records as rec
from medtutor.content.models import Item
from medtutor.content.services import import_bundle, save_item

n_items = int(os.environ["DURABILITY_ITEMS"])
import_bundle(rec.ImportBundle(
    disciplines=(rec.DisciplineRecord("pharm", "Pharmacology"),),
    competencies=(
        rec.CompetencyRecord("cardio", "Cardiovascular", None, "system", 1.0),
        rec.CompetencyRecord("cardio.hf", "Heart failure", "cardio", "topic", 1.0,
                             (rec.ObjectiveRecord("cardio.hf.1", "Explain loop diuretics."),)),
    ), items=(), cards=()), actor=None, filename="outline")
faculty = User.objects.create_user(username="dur-fac", password="correct-horse-battery-9", role=Role.FACULTY)
student = User.objects.create_user(username="dur-stu", password="correct-horse-battery-9", role=Role.STUDENT)
items = []
for i in range(n_items):
    ext = f"dur-{i}"
    save_item(None, rec.ItemRecord(
        external_id=ext, stem=f"Stem of {ext}: a patient presents.", lead_in="Choose one.",
        options=tuple(rec.OptionRecord(f"{ext} option {c}", f"Why {c}") for c in "ABCD"), key=i % 4,
        explanation="Because.", competency="cardio.hf", discipline="pharm", objective="cardio.hf.1",
        tags=(), difficulty="easy", source="test", licence="CC-BY-4.0"), actor=faculty)
    items.append(Item.objects.get(external_id=ext))
now = timezone.now()
exam = Exam.objects.create(title="Durability", mode=ExamMode.TIMED, build=ExamBuild.MANUAL, time_limit_minutes=60,
                           created_by=faculty, created_at=now, updated_at=now)
ExamItem.objects.bulk_create([ExamItem(exam=exam, item=item, position=n) for n, item in enumerate(items, 1)])
_, raw = ApiToken.issue(student, "durability")
print(json.dumps({"exam_id": exam.pk, "token": raw}))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    try:
        with scratch_database(request.param, tmp_path, prefix="medtutor_durability") as url:
            yield url
    except DatabaseUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def server(database_url, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    env = server_env(var, database_url, DURABILITY_ITEMS=str(N_ITEMS))
    try:
        run_python(["-m", "medtutor", "migrate"], env, timeout=120)
        data = json.loads(run_python(["-c", SETUP], env, timeout=120).strip().splitlines()[-1])
        srv = Server(env, var, workers=2)
        srv.start(timeout=START_TIMEOUT)
    except ServerError as exc:
        pytest.fail(str(exc))
    try:
        yield srv, data
    finally:
        srv.stop()


class Unacknowledged(Exception):
    """The request got no HTTP answer (the worker died, the server was down): it may or may not have landed."""


def _call(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
        raise Unacknowledged(repr(exc)) from exc


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged, per item position."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    next_seq: dict[int, int] = field(default_factory=dict)
    sent: dict[tuple[int, int], dict] = field(default_factory=dict)      # (position, seq) -> body
    acked: dict[tuple[int, int], str] = field(default_factory=dict)      # (position, seq) -> status
    retries: int = 0
    errors: list[str] = field(default_factory=list)

    def new_save(self, position: int, rng: random.Random) -> dict:
        with self.lock:
            seq = self.next_seq.get(position, 0) + 1
            self.next_seq[position] = seq
            body = {"seq": seq, "choice": rng.choice([0, 1, 2, 3, None]), "is_flagged": rng.random() < 0.3,
                    "note": f"p{position} s{seq}"}
            self.sent[(position, seq)] = body
            return body

    def last_acknowledged(self, position: int) -> dict | None:
        """The applied save with the highest sequence number ("stale" answers were not applied)."""
        seqs = [s for (p, s), status in self.acked.items() if p == position and status in ("saved", "duplicate")]
        return self.sent[(position, max(seqs))] if seqs else None


def _save(base: str, token: str, attempt_id: int, position: int, body: dict, ledger: Ledger) -> None:
    """PUT one autosave until the server answers it; a lost connection is retried with the same seq."""
    deadline = time.monotonic() + SAVE_DEADLINE
    while True:
        try:
            status, out = _call(base, token, "PUT", f"/api/v1/attempts/{attempt_id}/items/{position}", body)
        except Unacknowledged as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"save {position}/{body['seq']} never acknowledged: {exc}") from exc
            with ledger.lock:
                ledger.retries += 1
            time.sleep(0.05)
            continue
        assert status == 200, f"save {position}/{body['seq']} answered {status}: {out}"
        assert out["status"] in ("saved", "duplicate", "stale"), out
        with ledger.lock:
            ledger.acked[(position, body["seq"])] = out["status"]
        return


def _saver(base: str, token: str, attempt_id: int, ledger: Ledger, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    try:
        while not stop.is_set():
            position = rng.randint(1, N_ITEMS)
            _save(base, token, attempt_id, position, ledger.new_save(position, rng), ledger)
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        with ledger.lock:
            ledger.errors.append(f"{type(exc).__name__}: {exc}")


def _burst(srv: Server, token: str, attempt_id: int, ledger: Ledger, seconds: float, during=None) -> None:
    """Save from several threads for about `seconds`, running `during()` meanwhile in this thread."""
    stop = threading.Event()
    threads = [threading.Thread(target=_saver, args=(srv.base, token, attempt_id, ledger, stop, random.random()),
                                daemon=True) for _ in range(N_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        if during is not None:
            during()
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=SAVE_DEADLINE + 15)
    assert not any(t.is_alive() for t in threads), "a saver thread hung"
    assert not ledger.errors, ledger.errors


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_acknowledged_saves_survive_a_killed_worker_and_a_restart(server):
    srv, data = server
    token = data["token"]
    status, attempt = _call(srv.base, token, "POST", f"/api/v1/exams/{data['exam_id']}/attempts")
    assert status == 201, attempt
    attempt_id = attempt["id"]
    assert [i["position"] for i in attempt["items"]] == list(range(1, N_ITEMS + 1))
    ledger = Ledger()
    killed: list[int] = []

    def kill_a_worker() -> None:
        time.sleep(random.uniform(0.3, 1.0))  # a random moment while saves are in flight
        before = srv.workers()
        assert len(before) == 2, before
        victim = random.choice(before)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        # The master notices and boots a replacement; saves keep going meanwhile.
        _wait_for(lambda: len(srv.workers()) == 2 and victim not in srv.workers(), 20, "a replacement worker")

    saves_before = len(ledger.sent)
    _burst(srv, token, attempt_id, ledger, seconds=2.0, during=kill_a_worker)
    assert killed and len(ledger.sent) > saves_before
    acked_before_restart = {p: ledger.last_acknowledged(p) for p in range(1, N_ITEMS + 1)}

    # The attempt survives a full restart: stop the master, start a new server on the same database.
    srv.stop()
    srv.start()
    _burst(srv, token, attempt_id, ledger, seconds=0.5)

    status, back = _call(srv.base, token, "GET", f"/api/v1/attempts/{attempt_id}")
    assert status == 200, back
    assert back.get("submitted_at") is None and back["seconds_left"] > 0  # still open (None fields are left out)
    stored = {item["position"]: item for item in back["items"]}
    assert set(stored) == set(range(1, N_ITEMS + 1))
    for position in range(1, N_ITEMS + 1):
        expected = ledger.last_acknowledged(position)
        assert expected is not None, f"question {position} was never saved"
        got = stored[position]
        assert (got["seq"], got.get("choice"), got["is_flagged"], got["note"]) == (
            expected["seq"], expected["choice"], expected["is_flagged"], expected["note"]), (position, got, expected)
        before = acked_before_restart[position]
        assert before is None or got["seq"] >= before["seq"]
    assert ledger.acked, "no save was acknowledged"
    print(f"\n{srv.base}: {len(ledger.sent)} saves, {len(ledger.acked)} acknowledged, "
          f"{ledger.retries} retried after a lost connection, worker {killed[0]} killed")
