"""The audit log viewer: filters, keyset pages, exports with hashes, chain checks, decisions and overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from medtutor.core import audit
from medtutor.core.models import AuditRecord
from medtutor.governance import audit_viewer
from medtutor.governance.oversight_models import ChainCheck

T0 = datetime(2030, 5, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch):
    """Write audit records at a chosen moment: `at(datetime)` sets the clock the audit log reads."""
    def set_time(moment: datetime) -> None:
        monkeypatch.setattr("medtutor.core.clock.now", lambda: moment)
    set_time(T0)
    return set_time


@pytest.fixture
def log(at, student, faculty, admin_user):
    """A small log: actions on two days, two decisions by two models, one of them overridden."""
    at(T0 - timedelta(days=3))
    audit.record_action(admin_user, "cohort.created", subject=("accounts.cohort", 1))
    at(T0)
    graded = audit.record_decision(model_name="asag-grader", model_version="2.1", subject=("assessment.x", 7),
                                   inputs={"a": 1}, output={"score": 1}, explanation="matched 1 of 4 points",
                                   confidence=0.41, action="asag.grade")
    picked = audit.record_decision(model_name="practice-selector", model_version="1.0", actor=student,
                                   subject=("accounts.user", student.pk), inputs={}, output={"item": "q-1"},
                                   explanation="weakest topic first", confidence=0.7, action="practice.next_question")
    at(T0 + timedelta(hours=2))
    override = audit.record_override(graded, actor=faculty, output={"score": 3}, reason="the answer names 3 points")
    audit.record_action(faculty, "exam.created", subject=("assessment.exam", 5))
    return {"graded": graded, "picked": picked, "override": override}


def _seqs(response) -> list[int]:
    """The records shown, leaving out the log-ins the test client itself causes."""
    return [r.seq for r in response.context["records"] if r.action != "auth.login"]


# --- permissions -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/governance/audit/", "/governance/audit/export/?format=csv",
                                 "/governance/audit/record/?seq=1"])
def test_admins_only(client, users, log, url):
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for role in ("student", "faculty"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403, role
    client.force_login(users["admin"])
    assert client.get(url).status_code == 200


# --- filters -----------------------------------------------------------------------------------------------

def test_filters_by_user_model_kind_action_and_subject(client, admin_user, log):
    client.force_login(admin_user)
    get = lambda query: _seqs(client.get(f"/governance/audit/?{query}"))  # noqa: E731
    assert get("user=FAC") == [log["override"].seq + 1, log["override"].seq]  # case-insensitive
    assert get("model=asag-grader") == [log["override"].seq, log["graded"].seq]  # the override names the model
    assert get("kind=decision") == [log["picked"].seq, log["graded"].seq]
    assert get("kind=override") == [log["override"].seq]
    assert get("action=asag.grade") == [log["graded"].seq]
    assert get("action=exam.*") == [log["override"].seq + 1]
    assert get(f"subject_type=accounts.user&subject_id={log['picked'].subject_id}") == [log["picked"].seq]
    assert get("user=nobody") == []


def test_user_filter_finds_the_label_after_the_account_is_renamed(client, admin_user, faculty, log):
    faculty.username = "deleted-0a1b2c"
    faculty.save()
    client.force_login(admin_user)
    assert len(_seqs(client.get("/governance/audit/?user=fac"))) == 2
    assert len(_seqs(client.get("/governance/audit/?user=deleted-0a1b2c"))) == 2


def test_date_range_is_whole_utc_days_both_ends_included(client, admin_user, log):
    client.force_login(admin_user)
    day = T0.date().isoformat()
    assert len(_seqs(client.get(f"/governance/audit/?from={day}&to={day}"))) == 4
    assert len(_seqs(client.get(f"/governance/audit/?to={(T0 - timedelta(days=1)).date()}"))) == 1
    assert _seqs(client.get(f"/governance/audit/?from={(T0 + timedelta(days=1)).date()}")) == []


@pytest.mark.parametrize("query,message", [
    ("from=2030-13-01", "from: '2030-13-01' is not a date"),
    ("to=yesterday", "to: 'yesterday' is not a date"),
    ("from=2030-05-10&to=2030-05-01", "from: 2030-05-10 is after to (2030-05-01)"),
    ("kind=guess", "kind: choose one of action, decision, override"),
    ("size=7", "size: choose one of 25, 50, 100, 200"),
    ("before=abc", "before: 'abc' is not a record number"),
    ("before=3&after=1", "give one of them, not both"),
    ("user=" + "x" * 151, "user: at most 150 characters"),
])
def test_bad_filters_are_a_400_with_the_reason(client, admin_user, log, query, message):
    client.force_login(admin_user)
    response = client.get(f"/governance/audit/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert response.context["records"] == []


# --- keyset pages --------------------------------------------------------------------------------------------

def test_keyset_pages_walk_the_log_without_offsets(client, admin_user, at):
    client.force_login(admin_user)  # record 1: the log-in
    for n in range(60):
        audit.record_action(admin_user, "test.bulk" if n % 2 else "test.other", subject=("x", n))
    first = client.get("/governance/audit/?size=25")
    seen = _seqs(first)
    assert seen == list(range(61, 36, -1)) and first.context["newer_url"] == ""
    url = first.context["older_url"]
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/governance/audit/" + url)
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
    third = client.get("/governance/audit/" + second.context["older_url"])
    seen += _seqs(second) + _seqs(third)
    assert seen == list(range(61, 1, -1)) and third.context["older_url"] == ""
    back = client.get("/governance/audit/" + third.context["newer_url"])
    assert _seqs(back) == _seqs(second)
    # pages keep the filter
    odd = client.get("/governance/audit/?size=25&action=test.bulk")
    older = client.get("/governance/audit/" + odd.context["older_url"])
    assert all(r.action == "test.bulk" for r in older.context["records"])
    assert len(_seqs(odd)) + len(_seqs(older)) == 30


def test_a_cursor_past_either_end_links_back(admin_user):
    for n in range(3):
        audit.record_action(admin_user, "test.bulk", subject=("x", n))
    records = AuditRecord.objects.all()
    beyond = audit_viewer.page(records, {"after": "99"})
    assert beyond.records == [] and beyond.older_cursor == 100 and beyond.newer_cursor is None
    before = audit_viewer.page(records, {"before": "1"})
    assert before.records == [] and before.newer_cursor == 0 and before.older_cursor is None
    assert [r.seq for r in audit_viewer.page(records, {"after": "0"}).records] == [3, 2, 1]


# --- decisions and overrides ---------------------------------------------------------------------------------

def test_decisions_show_their_reasons_and_overrides_link_both_ways(client, admin_user, log):
    client.force_login(admin_user)
    html = client.get("/governance/audit/").content.decode()
    assert "matched 1 of 4 points" in html and "0.41" in html and "asag-grader" in html and "v2.1" in html
    assert f'?seq={log["override"].seq}">#{log["override"].seq}</a>: the answer names 3 points' in html
    assert f'Overrides decision <a href="/governance/audit/record/?seq={log["graded"].seq}">' in html
    decision = client.get(f"/governance/audit/record/?seq={log['graded'].seq}").content.decode()
    assert "asag-grader version 2.1" in decision and "0.410" in decision and "matched 1 of 4 points" in decision
    assert "the answer names 3 points" in decision and f'?seq={log["override"].seq}"' in decision
    assert "Short-answer grade" in decision
    overriding = client.get(f"/governance/audit/record/?seq={log['override'].seq}").content.decode()
    assert "The decision it overrides" in overriding and f'?seq={log["graded"].seq}"' in overriding
    assert "matches #" in overriding


def test_record_page_errors(client, admin_user, log):
    client.force_login(admin_user)
    assert client.get("/governance/audit/record/?seq=999").status_code == 404
    assert client.get("/governance/audit/record/?seq=-1").status_code == 400
    assert client.get("/governance/audit/record/").status_code == 302


# --- export --------------------------------------------------------------------------------------------------

def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_jsonl_export_streams_the_filtered_records_with_checkable_hashes(client, admin_user, log):
    client.force_login(admin_user)
    response = client.get("/governance/audit/export/?format=jsonl&kind=decision")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in response["Content-Disposition"]
    rows = [json.loads(line) for line in _body(response).splitlines()]
    assert [r["seq"] for r in rows] == [log["graded"].seq, log["picked"].seq]  # oldest first
    assert rows[0]["hash"] == log["graded"].hash and rows[0]["prev_hash"] == log["graded"].prev_hash
    assert rows[0]["explanation"] == "matched 1 of 4 points" and rows[0]["confidence"] == 0.41
    report = audit_viewer.verify_export(rows)
    assert report.ok and report.checked == 2 and report.links_checked == 1
    rows[1]["output"] = {"item": "q-2"}
    tampered = audit_viewer.verify_export(rows)
    assert not tampered.ok and "content does not match" in tampered.problems[0]
    exported = AuditRecord.objects.filter(action="audit.exported").get()
    assert exported.actor == admin_user and exported.output == {"format": "jsonl", "filters": {"kind": "decision"}}


def test_csv_export_has_every_column_and_checks_out(client, admin_user, log):
    client.force_login(admin_user)
    text = _body(client.get("/governance/audit/export/?format=csv"))
    assert text.splitlines()[0] == ",".join(audit_viewer.EXPORT_COLUMNS)
    rows = audit_viewer.rows_from_csv(text)
    assert len(rows) == AuditRecord.objects.count()  # every record, the export's own (written first) included
    report = audit_viewer.verify_export(rows)
    assert report.ok and report.links_checked == len(rows) - 1
    rows[2]["prev_hash"] = "0" * 64
    assert not audit_viewer.verify_export(rows).ok


def test_export_in_batches_keeps_every_record_once(admin_user):
    for n in range(25):
        audit.record_action(admin_user, "test.bulk", subject=("x", n))
    seqs = [r.seq for r in audit_viewer.iter_records(AuditRecord.objects.all(), batch=10)]
    assert seqs == list(range(1, 26))


@pytest.mark.parametrize("query", ["format=xml", "format=csv&from=2030-02-30"])
def test_bad_export_requests_are_a_400(client, admin_user, log, query):
    client.force_login(admin_user)
    count = AuditRecord.objects.count()
    response = client.get(f"/governance/audit/export/?{query}")
    assert response.status_code == 400 and (b"format:" in response.content or b"from:" in response.content)
    assert AuditRecord.objects.count() == count


# --- chain verification --------------------------------------------------------------------------------------

def test_verify_keeps_the_last_result_and_needs_csrf(admin_user, log):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    assert csrf_client.post("/governance/audit/").status_code == 403
    assert not ChainCheck.objects.exists()
    client = Client()
    client.force_login(admin_user)
    written = AuditRecord.objects.count()
    assert client.post("/governance/audit/?kind=decision").status_code == 302
    check = ChainCheck.objects.get()
    assert check.ok and check.checked == written and check.checked_by == admin_user
    page = client.get("/governance/audit/")
    html = page.content.decode()
    assert "Chain intact" in html and f"all {written} records checked" in html and page.context["since_check"] == 0
    audit.record_action(admin_user, "test.later")
    assert client.get("/governance/audit/").context["since_check"] == 1
    assert AuditRecord.objects.filter(action="audit.chain_verified").count() == 1


def test_verify_reports_the_first_broken_record(client, admin_user, log):
    with connection.cursor() as cursor:  # tamper behind the ORM's back, as an attacker would
        cursor.execute(f"UPDATE {AuditRecord._meta.db_table} SET explanation = %s WHERE seq = %s",
                       ["edited", log["graded"].seq])
    client.force_login(admin_user)
    client.post("/governance/audit/")
    check = ChainCheck.objects.get()
    assert not check.ok and check.first_broken_seq == log["graded"].seq
    html = client.get("/governance/audit/").content.decode()
    assert "Chain broken" in html and f"#{log['graded'].seq}" in html and "row-broken" in html
