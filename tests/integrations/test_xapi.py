"""xAPI through the outbox to a real Learning Record Store (ralph), which goes down and comes back."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from medtutor.assessment.liveserver import free_port
from medtutor.integrations.models import XapiStatement
from medtutor.integrations.xapi import outbox, statements
from medtutor.learning.services import record_answer

ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = Path(os.environ.get("MEDTUTOR_TEST_RALPH_VENV", ROOT / ".venv-lrs"))
USER, PASSWORD = "medtutor", "lrs-pass-4e1d"

# ralph's file backend creates its statements file on the first write and refuses to write to it
# again (its default operation is "create"); as a store for many POSTs it must append. Everything
# else is ralph's own LRS application under uvicorn.
LAUNCH = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.data.fs import FSDataBackend
FSDataBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


class LRS:
    """ralph's LRS (FastAPI under uvicorn) with a file backend and one basic-auth user."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI"
        self.env = os.environ | {"RALPH_APP_DIR": str(folder / "app"), "RALPH_AUTH_FILE": str(folder / "auth.json"),
                                 "RALPH_RUNSERVER_BACKEND": "fs",
                                 "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "data")}
        (folder / "data").mkdir(parents=True, exist_ok=True)
        subprocess.run([str(RALPH_VENV / "bin" / "ralph"), "auth", "-u", USER, "-p", PASSWORD, "-s", "all",
                        "-M", "mailto:lrs@example.org", "-w"], env=self.env, check=True, capture_output=True)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(RALPH_VENV / "bin" / "python"), "-c", LAUNCH, str(self.port)], env=self.env,
                                     cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"ralph did not start: {self.proc.stderr.read().decode()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
            self.proc = None

    def statement(self, statement_id: str) -> dict | None:
        request = urllib.request.Request(f"{self.url}/statements?statementId={statement_id}", headers={
            "X-Experience-API-Version": "1.0.3",
            "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise
        found = body.get("statements", [body]) if isinstance(body, dict) else body
        return next((s for s in found if s.get("id") == statement_id), None)


@pytest.fixture
def lrs(tmp_path, settings):
    if not (RALPH_VENV / "bin" / "ralph").exists():
        pytest.skip("ralph's virtualenv is missing: run `make .venv-lrs/.installed` (make test does)")
    server = LRS(tmp_path / "lrs")
    server.start()
    settings.XAPI_URL, settings.XAPI_USERNAME, settings.XAPI_PASSWORD = server.url, USER, PASSWORD
    settings.XAPI_HOMEPAGE = "https://medtutor.example.org"
    yield server
    server.stop()


def test_statements_are_pseudonymous_and_stable():
    from datetime import UTC, datetime

    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    first = statements.answered("https://m.example", event_id=7, actor=statements.pseudonym(42, "k"), item_key="q-1",
                                item_title="Stem", correct=True, at=at, seconds=30)
    again = statements.answered("https://m.example", event_id=7, actor=statements.pseudonym(42, "k"), item_key="q-1",
                                item_title="Stem", correct=True, at=at, seconds=30)
    assert first == again and first["actor"]["account"]["name"] != "42" and first["result"]["duration"] == "PT30S"
    assert statements.pseudonym(42, "k") != statements.pseudonym(42, "other-site")


def test_no_lrs_no_outbox(student, item, settings):
    settings.XAPI_URL = ""
    record_answer(student, item.pk, None, 0, "t-1")
    assert XapiStatement.objects.count() == 0


def test_answers_reach_the_lrs_and_survive_its_outage(lrs, student, item):
    record_answer(student, item.pk, None, item.current_version.key_index, "t-1")
    queued = XapiStatement.objects.get()
    assert queued.sent_at is None and queued.payload["verb"]["display"]["en-US"] == "answered"

    report = outbox.send_pending()
    assert (report.sent, report.failed, report.pending) == (1, 0, 0)
    stored = lrs.statement(str(queued.statement_id))
    assert stored["result"]["success"] is True and stored["actor"]["account"]["homePage"] == "https://medtutor.example.org"

    lrs.stop()  # the LRS goes down: nothing is lost, the outbox backs off
    record_answer(student, item.pk, None, (item.current_version.key_index + 1) % 4, "t-2")
    down = outbox.send_pending()
    assert (down.sent, down.failed, down.pending) == (0, 1, 1) and down.error
    waiting = XapiStatement.objects.get(sent_at__isnull=True)
    assert waiting.attempts == 1 and waiting.next_attempt_at > waiting.created_at and PASSWORD not in waiting.last_error
    assert outbox.send_pending().sent == 0  # backing off: not due yet

    lrs.start()
    later = outbox.send_pending(now=waiting.next_attempt_at)
    assert (later.sent, later.pending) == (1, 0)
    assert lrs.statement(str(waiting.statement_id))["result"]["success"] is False


def test_a_resend_after_a_lost_acknowledgement_is_not_a_failure(lrs, student, item):
    record_answer(student, item.pk, None, 0, "t-1")
    assert outbox.send_pending().sent == 1
    XapiStatement.objects.update(sent_at=None)  # as if the acknowledgement never reached us
    again = outbox.send_pending()
    assert (again.sent, again.failed) == (1, 0)


def test_card_reviews_and_submitted_exams_are_queued(settings, student, outline):
    from datetime import timedelta

    from medtutor.assessment import services as exam_services
    from medtutor.content.models import Card
    from medtutor.learning import cards
    from tests.assessment.factories import make_exam, make_items

    settings.XAPI_URL = "http://127.0.0.1:9/xAPI"
    card = Card.objects.create(external_id="c-x", front="Front", back="Back")
    cards.record_review(student, card.pk, "good", client_seq="r-1")
    exam = make_exam(make_items(2, prefix="xa"), mode="tutor", time_limit_minutes=None)
    attempt = exam_services.start_attempt(student, exam.pk)
    exam_services.submit_attempt(student, attempt.pk)
    verbs = sorted(s.payload["verb"]["display"]["en-US"] for s in XapiStatement.objects.all())
    assert verbs == ["completed", "reviewed"]
    completed = next(s for s in XapiStatement.objects.all() if s.payload["verb"]["display"]["en-US"] == "completed")
    assert completed.payload["result"]["score"]["max"] == 2
    assert timedelta(0) <= completed.created_at - attempt.started_at
