import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtutor.assessment.engine.blueprint import BlueprintRow, BlueprintShortfall, PoolItem, assemble, matches

CODES = ["cardio", "cardio.hf", "cardio.hf.acute", "cardio.arrhythmia", "resp", "resp.asthma", "renal"]
DIFFICULTIES = [None, "easy", "medium", "hard"]

pool_items = st.builds(lambda code, diff: (code, diff), st.sampled_from(CODES + [None]),
                       st.sampled_from(DIFFICULTIES))
pools = st.lists(pool_items, max_size=60).map(
    lambda rows: [PoolItem(i, code, diff) for i, (code, diff) in enumerate(rows, 1)])
rows = st.lists(st.builds(BlueprintRow, st.sampled_from(CODES), st.sampled_from(DIFFICULTIES),
                          st.integers(1, 6)), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(pool=pools, blueprint=rows, seed=st.integers(0, 2**32 - 1))
def test_counts_are_respected_without_duplicates_or_it_says_why(pool, blueprint, seed):
    by_id = {p.item_id: p for p in pool}
    try:
        chosen = assemble(blueprint, pool, rng=random.Random(seed))
    except BlueprintShortfall as error:
        assert error.details
        return
    assert len(chosen) == len(set(chosen)) == sum(r.count for r in blueprint)
    # There is an assignment of the chosen items to the rows' slots (checked by a fresh matching on them).
    restricted = [by_id[i] for i in chosen]
    again = assemble(blueprint, restricted, rng=random.Random(seed + 1))
    assert sorted(again) == sorted(chosen)


@settings(max_examples=100, deadline=None)
@given(pool=pools, blueprint=rows, seed=st.integers(0, 2**32 - 1))
def test_the_same_seed_draws_the_same_form(pool, blueprint, seed):
    def draw():
        try:
            return assemble(blueprint, pool, rng=random.Random(seed))
        except BlueprintShortfall as error:
            return error.details
    assert draw() == draw()


@settings(max_examples=200, deadline=None)
@given(blueprint=rows, seed=st.integers(0, 2**32 - 1), spare=st.integers(0, 5))
def test_a_feasible_blueprint_is_always_filled(blueprint, seed, spare):
    """Build a pool that certainly fits (distinct items per slot), plus spares: assembly must succeed."""
    pool, next_id = [], 1
    for row in blueprint:
        for _ in range(row.count + spare):
            pool.append(PoolItem(next_id, row.competency_code + ".x", row.difficulty))
            next_id += 1
    chosen = assemble(blueprint, pool, rng=random.Random(seed))
    assert len(set(chosen)) == sum(r.count for r in blueprint)


def test_a_general_row_does_not_starve_a_specific_one():
    # Two hard cardio.hf items; "cardio: 2 any" must leave them to "cardio.hf: 2 hard" and take the others.
    pool = [PoolItem(1, "cardio.hf", "hard"), PoolItem(2, "cardio.hf", "hard"),
            PoolItem(3, "cardio.arrhythmia", "easy"), PoolItem(4, "cardio", "easy")]
    for seed in range(20):
        chosen = assemble([BlueprintRow("cardio", None, 2), BlueprintRow("cardio.hf", "hard", 2)], pool,
                          rng=random.Random(seed))
        assert sorted(chosen) == [1, 2, 3, 4]


def test_shortfall_names_the_row():
    with pytest.raises(BlueprintShortfall) as error:
        assemble([BlueprintRow("resp", "hard", 3)], [PoolItem(1, "resp.asthma", "hard")], rng=random.Random(0))
    assert "resp (hard)" in error.value.details[0]


def test_matching_is_by_code_prefix_at_a_dot():
    row = BlueprintRow("cardio", None, 1)
    assert matches(row, PoolItem(1, "cardio.hf", "easy"))
    assert not matches(row, PoolItem(2, "cardiology", "easy"))


def test_different_seeds_give_different_forms():
    pool = [PoolItem(i, "cardio", "easy") for i in range(100)]
    forms = {tuple(assemble([BlueprintRow("cardio", None, 10)], pool, rng=random.Random(s))) for s in range(10)}
    assert len(forms) == 10
    assert Counter(len(f) for f in forms) == {10: 10}
