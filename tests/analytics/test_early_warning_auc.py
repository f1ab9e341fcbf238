"""Early warning against the synthetic generator's ground truth: two earlier cohorts train, a later one tests."""

from __future__ import annotations

from datetime import UTC, datetime

from medtutor.analytics import early_warning as ew
from medtutor.analytics.synthetic_services import simulate_cohort


def test_a_later_cohort_is_ranked_far_better_than_chance(db, capsys):
    for n, start in enumerate((datetime(2024, 9, 2, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC))):
        simulate_cohort(60, 4, seed=80 + n, start=start, code=f"auc-{n}")
    target = simulate_cohort(60, 4, seed=82, start=datetime(2026, 1, 5, tzinfo=UTC), code="auc-2").cohort
    run = ew.run_early_warning(target, weeks=3)
    test = run.metrics["test"]
    with capsys.disabled():
        print(f"\nearly warning on synthetic truth: {ew.format_metrics(run.metrics)}")
    assert run.trained_on == ["synthetic-auc-0", "synthetic-auc-1"] and test["n"] == 60
    assert test["auc"] > 0.7
    assert test["auc_ci"][0] > 0.5  # the whole interval is above chance
    assert test["precision_top_decile"] >= test["positive_rate"]  # the top decile is richer in failures
