import pytest
from django.db import connection

from medtutor.core import audit
from medtutor.core.models import AuditKind, AuditRecord


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chain(db, faculty):
    records = [audit.record_action(faculty, "item.created", subject=("content.item", i)) for i in range(3)]
    decision = audit.record_decision(model_name="tfidf-grader", model_version="1.0", subject=("answer", 9),
                                     inputs={"text": "loop diuretic"}, output={"score": 0.8},
                                     explanation="matched 2 of 3 points", confidence=0.7)
    return records + [decision]


def test_records_link_to_their_predecessor(chain):
    assert chain[0].prev_hash == audit.GENESIS_HASH
    for before, after in zip(chain, chain[1:]):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
    assert audit.verify_chain().ok
    assert audit.verify_chain().checked == 4


def test_decision_records_model_inputs_digest_and_confidence(chain):
    decision = chain[-1]
    assert decision.kind == AuditKind.DECISION
    assert (decision.model_name, decision.model_version) == ("tfidf-grader", "1.0")
    assert decision.inputs_digest == audit.digest({"text": "loop diuretic"})
    assert decision.confidence == 0.7


def test_override_is_a_new_record_pointing_to_the_decision(chain, faculty):
    override = audit.record_override(chain[-1], actor=faculty, output={"score": 1.0}, reason="all points present")
    assert override.kind == AuditKind.OVERRIDE and override.overrides_id == chain[-1].pk
    assert AuditRecord.objects.get(pk=chain[-1].pk).output == {"score": 0.8}
    assert audit.verify_chain().ok


def test_override_needs_a_reason_and_a_decision(chain, faculty):
    with pytest.raises(ValueError):
        audit.record_override(chain[-1], actor=faculty, output={}, reason="  ")
    with pytest.raises(ValueError):
        audit.record_override(chain[0], actor=faculty, output={}, reason="not a decision")


def test_decision_requires_model_version_and_valid_confidence(db):
    with pytest.raises(ValueError):
        audit.record_decision(model_name="m", model_version="", subject=None, inputs={}, output={},
                              explanation="", confidence=None)
    with pytest.raises(ValueError):
        audit.record_decision(model_name="m", model_version="1", subject=None, inputs={}, output={},
                              explanation="", confidence=1.5)


def test_orm_refuses_to_change_or_delete(chain):
    record = chain[1]
    record.action = "something else"
    with pytest.raises(TypeError):
        record.save()
    with pytest.raises(TypeError):
        record.delete()
    with pytest.raises(TypeError):
        AuditRecord.objects.filter(pk=record.pk).update(action="x")
    with pytest.raises(TypeError):
        AuditRecord.objects.all().delete()


def test_verify_finds_changed_content(chain):
    _tamper("UPDATE core_auditrecord SET explanation = %s WHERE seq = %s", ["rewritten", 4])
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_seq == 4 and report.checked == 3
    assert "changed" in report.reason


def test_verify_finds_a_deleted_record(chain):
    _tamper("DELETE FROM core_auditrecord WHERE seq = %s", [2])
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_seq == 2 and "missing" in report.reason


def test_verify_finds_a_rewritten_link(chain):
    # An attacker who recomputes one record's hash still breaks the next record's link.
    record = chain[1]
    fields = audit._hashed_fields(record) | {"action": "forged"}
    forged_hash = audit._record_hash(fields, record.prev_hash)
    _tamper("UPDATE core_auditrecord SET action = %s, hash = %s WHERE seq = %s", ["forged", forged_hash, 2])
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_seq == 3 and "link" in report.reason


def test_cli_audit_verify_reports_the_broken_record(chain):
    from typer.testing import CliRunner

    from medtutor.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 4 records" in ok.output
    _tamper("UPDATE core_auditrecord SET output = %s WHERE seq = %s", ['{"score": 1}', 4])
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "record 4" in broken.output


def test_concurrent_writers_never_fork_the_chain(transactional_db):
    """Eight threads append at once, each record in its own transaction, as gunicorn's threads do."""
    import threading

    from django.db import connection as main_connection
    from django.db import connections, transaction

    if main_connection.vendor != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's; SQLite's test database is not shared between threads")
    errors = []

    def writer(n):
        try:
            for i in range(15):
                with transaction.atomic():
                    audit.record_action(None, "test.concurrent", subject=("writer", f"{n}-{i}"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit.verify_chain()
    assert report.ok, report.reason
    assert report.checked == AuditRecord.objects.count() >= 120


def test_any_text_hashes_the_same_in_python_and_in_the_database(chain, faculty):
    """On PostgreSQL the link is computed by the database: the chain must still verify in Python, whatever
    the record holds (accents, CJK, emoji, quotes, backslashes, a value that looks like a seq)."""
    for text in ("Müller's \"note\" \\ 日本語 🩺", "123456789012345678901234567890123456789", "", "%s %(x)s"):
        audit.record_action(faculty, "test.text", subject=("note", text[:20]), data={"text": text, "n": [1.5, None]})
    audit.record_decision(model_name="m", model_version="1", subject=("x", "1"), inputs={"é": 1},
                          output={"score": 0.25}, explanation="Erklärung — with a dash", confidence=0.5)
    report = audit.verify_chain()
    assert report.ok, report.reason
    assert list(AuditRecord.objects.values_list("seq", flat=True)) == list(range(1, report.checked + 1))


def test_on_postgresql_a_record_is_linked_in_one_round_trip(chain, faculty):
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite links in Python; its writers are serialized by the database file's lock")
    with CaptureQueriesContext(connection) as queries:
        audit.record_action(faculty, "test.round-trip")
    assert len(queries.captured_queries) == 1
    assert "pg_advisory_xact_lock" in queries[0]["sql"] and "sha256" in queries[0]["sql"]
    assert audit.verify_chain().ok
