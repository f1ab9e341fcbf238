"""The synthetic cohort generator (pure engine) and writing a cohort into the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from medtutor.analytics.engine.synthetic import (
    CohortSpec,
    SyntheticItem,
    generate_cohort,
    probability_correct,
)

START = datetime(2026, 9, 7, tzinfo=UTC)


def _items(n: int = 40) -> list[SyntheticItem]:
    return [SyntheticItem(str(i), f"sys{i % 4}.topic{i % 8}", 5, i % 5, difficulty=(i % 7 - 3) / 2.0)
            for i in range(n)]


def _cohort(seed: int = 7, students: int = 60, weeks: int = 6, **kw):
    return generate_cohort(CohortSpec(n_students=students, n_weeks=weeks, seed=seed, start=START, **kw), _items())


def test_same_seed_same_cohort_other_seed_differs():
    a, b, c = _cohort(7), _cohort(7), _cohort(8)
    assert a.answers == b.answers and a.students == b.students
    assert a.ground_truth() == b.ground_truth()
    assert a.answers != c.answers


def test_higher_ability_answers_more_correctly():
    cohort = _cohort(3, students=120)
    per_student: dict[str, list[bool]] = {}
    for answer in cohort.answers:
        per_student.setdefault(answer.student_key, []).append(answer.is_correct)
    keys = [s.key for s in cohort.students if len(per_student.get(s.key, [])) >= 20]
    ability = [next(s.general_ability for s in cohort.students if s.key == k) for k in keys]
    accuracy = [float(np.mean(per_student[k])) for k in keys]
    assert np.corrcoef(ability, accuracy)[0, 1] > 0.6
    # the response function itself is monotone, and never below blind guessing
    item = SyntheticItem("x", "c", n_options=4)
    probabilities = [probability_correct(theta, item) for theta in (-3, -1, 0, 1, 3)]
    assert probabilities == sorted(probabilities) and probabilities[0] >= 0.25


def test_drop_outs_stop_answering_and_nothing_falls_outside_the_weeks():
    cohort = _cohort(5, students=120, dropout_rate=0.3)
    dropped = [s for s in cohort.students if s.dropout_week is not None]
    assert dropped, "with a 30% drop-out rate some students drop out"
    last = {}
    for answer in cohort.answers:
        last[answer.student_key] = max(last.get(answer.student_key, START), answer.answered_at)
        assert START <= answer.answered_at < START + timedelta(weeks=6, days=1)
    for student in dropped:
        cutoff = START + timedelta(weeks=student.dropout_week)
        assert last.get(student.key, START) < cutoff


def test_answers_keep_ground_truth_and_keys():
    cohort = _cohort(11, students=20, weeks=2)
    items = {i.item_id: i for i in _items()}
    for answer in cohort.answers[:500]:
        item = items[answer.item_id]
        assert (answer.chosen_index == item.key_index) == answer.is_correct
        assert 0.2 <= answer.p_correct <= 1.0
        assert 5 <= answer.seconds_taken <= 900
    truth = cohort.ground_truth()
    assert len(truth["students"]) == 20
    assert {"sex", "first_generation", "international", "ability", "dropout_week"} <= set(truth["students"][0])


def test_planted_subgroup_gap_lowers_ability():
    cohort = _cohort(2, students=400, weeks=1, subgroup_gap={"first_generation=yes": -1.0})
    gap = (np.mean([s.general_ability for s in cohort.students if s.first_generation == "yes"])
           - np.mean([s.general_ability for s in cohort.students if s.first_generation == "no"]))
    assert gap < -0.6


@pytest.mark.parametrize("kwargs", [dict(n_students=0, n_weeks=1, seed=1), dict(n_students=1, n_weeks=0, seed=1),
                                    dict(n_students=1, n_weeks=1, seed=1, dropout_rate=1.0),
                                    dict(n_students=1, n_weeks=1, seed=1, start=datetime(2026, 1, 1))])
def test_bad_spec_is_refused(kwargs):
    with pytest.raises(ValueError):
        CohortSpec(**kwargs)


def test_no_items_is_refused():
    with pytest.raises(ValueError, match="items"):
        generate_cohort(CohortSpec(n_students=2, n_weeks=1, seed=1), [])


# --- writing into the database ---------------------------------------------------------------------

@pytest.mark.django_db
def test_simulate_cohort_writes_labelled_synthetic_students():
    from django.contrib.auth.models import Group

    from medtutor.accounts.models import Cohort, SubgroupAttribute, User
    from medtutor.analytics.synthetic_services import simulate_cohort
    from medtutor.content.models import Item
    from medtutor.learning.models import ItemResponse

    result = simulate_cohort(12, 2, seed=4, start=START)
    cohort = result.cohort
    assert cohort.code.startswith("synthetic-") and "Synthetic cohort" in cohort.name and cohort.year == 2026
    students = User.objects.filter(cohorts=cohort)
    assert students.count() == 12
    for user in students:
        assert user.username.startswith("synthetic-") and user.display_name.startswith("Synthetic student")
        assert not user.has_usable_password()
    assert result.created_items and Item.objects.filter(external_id__startswith="synthetic-").exists()
    assert ItemResponse.objects.filter(learner__in=students).count() == result.n_answers > 0
    attributes = SubgroupAttribute.objects.filter(user__in=students)
    assert attributes.filter(attribute="sex").count() == 12
    assert set(attributes.values_list("source", flat=True)) == {"synthetic"}
    assert not Group.objects.filter(name__startswith="subgroup:").exists()  # the old storage is gone
    assert len(result.truth["students"]) == 12


@pytest.mark.django_db
def test_simulate_cohort_uses_the_bank_and_refuses_a_taken_code(item):
    from medtutor.accounts.models import User
    from medtutor.analytics.synthetic_services import simulate_cohort
    from medtutor.content.models import Item
    from medtutor.core.errors import InvalidInput
    from medtutor.learning.models import ItemResponse

    result = simulate_cohort(5, 1, seed=1, code="demo", start=START)
    assert not result.created_items and Item.objects.count() == 1
    assert result.cohort.code == "synthetic-demo"
    before = (User.objects.count(), ItemResponse.objects.count())
    with pytest.raises(InvalidInput, match="cohort"):
        simulate_cohort(5, 1, seed=2, code="demo", start=START)
    assert (User.objects.count(), ItemResponse.objects.count()) == before


def test_cli_simulate_cohort(tmp_path, monkeypatch):
    """The command end to end on a scratch database, ground truth written as JSON."""
    import json
    import subprocess
    import sys

    env = {"MEDTUTOR_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
           "PATH": "/usr/bin:/bin"}
    python = sys.executable
    run = lambda *args: subprocess.run([python, "-m", "medtutor", *args], env=env, capture_output=True,  # noqa: E731
                                       text=True, timeout=120)
    assert run("migrate").returncode == 0
    done = run("simulate-cohort", "--students", "8", "--weeks", "2", "--seed", "9", "--truth", str(tmp_path / "t.json"))
    assert done.returncode == 0, done.stderr
    assert "synthetic-s9-n8-w2" in done.stdout
    assert len(json.loads((tmp_path / "t.json").read_text())["students"]) == 8
    again = run("simulate-cohort", "--students", "8", "--weeks", "2", "--seed", "9")
    assert again.returncode == 1 and "already exists" in again.stderr
