"""`medtutor bench exam-load` for real, tiny: a few students for a few seconds on gunicorn, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from medtutor.assessment.loadtest import LoadConfig, format_report, run_exam_load

pytest.importorskip("aiohttp")


def test_a_tiny_load_run_loses_no_acknowledged_answer():
    config = LoadConfig(students=6, duration=3.0, interval=0.3, items=5, ramp=0.5, navigate=0.3, workers=1, seed=3)
    results = run_exam_load(config, ("sqlite", "postgresql"))
    report = "\n".join(format_report(results, config))
    ran = [r for r in results if not r.skipped]
    assert ran and ran[0].database == "sqlite", report
    for result in ran:
        save = result.stats("save")
        assert save is not None and save.count >= 12, report
        assert result.saves_acked == result.saves_sent and result.errors == 0, report
        assert result.answers_checked > 0 and result.answers_lost == 0, report
        assert result.submits_acked == result.submitted_in_db == config.students, report
        assert result.requests_per_second > 0 and save.p50_ms <= save.p95_ms <= save.p99_ms, report
    assert "healthz*" in report and "lost" in report


def test_lost_answers_are_counted_when_the_database_disagrees():
    """The comparison itself: a save acknowledged but not held by the database is a loss."""
    from medtutor.assessment.loadtest import DbResult, Ledger, _compare

    ledger = Ledger()
    ledger.acked = {7: {1: (3, 2), 2: (5, None)}, 8: {1: (1, 0)}}
    stored = {"attempts": {"7": {"submitted": True, "items": {"1": [3, 2], "2": [4, 1]}},
                           "8": {"submitted": False, "items": {}}}}
    result = DbResult(database="sqlite")
    _compare(ledger, stored, result)
    assert result.answers_checked == 3 and result.answers_lost == 2 and result.submitted_in_db == 1
    assert "attempt 7 q2" in result.lost_samples[0]
