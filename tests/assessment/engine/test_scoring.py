import pytest

from medtutor.assessment.engine.scoring import ScoredItem, percentile_rank, score
from medtutor.assessment.engine.shuffle import displayed_index, option_order, original_index


def test_score_with_breakdowns():
    items = [ScoredItem(1, 0, 0, "cardio.hf", "pharm", 30), ScoredItem(2, 1, 2, "cardio.hf", "phys", 20),
             ScoredItem(3, 2, None, "resp.asthma", "pharm", 0), ScoredItem(4, 3, 3, "resp.asthma", "pharm", 10)]
    report = score(items)
    assert (report.correct, report.total, report.answered) == (2, 4, 3)
    assert report.percent == 50.0
    assert [(b.key, b.correct, b.total) for b in report.by_competency] == [("cardio.hf", 1, 2), ("resp.asthma", 1, 2)]
    assert [(b.key, b.correct, b.total) for b in report.by_discipline] == [("pharm", 2, 3), ("phys", 0, 1)]
    assert report.seconds_total == 60


def test_shuffled_options_score_against_the_authored_key():
    order = option_order(5, seed=1234, item_id=7)
    assert sorted(order) == [0, 1, 2, 3, 4]
    key = 3
    shown_key = displayed_index(order, key)
    # The student clicks the key where it is shown; the stored (authored) index is the key.
    assert score([ScoredItem(1, key, original_index(order, shown_key))]).correct == 1
    wrong = (shown_key + 1) % 5
    assert score([ScoredItem(1, key, original_index(order, wrong))]).correct == 0


def test_option_order_is_stable_per_attempt_and_item():
    assert option_order(4, seed=99, item_id=1) == option_order(4, seed=99, item_id=1)
    orders = {tuple(option_order(6, seed=s, item_id=1)) for s in range(30)}
    assert len(orders) > 10
    assert option_order(4, seed=99, item_id=1, shuffle=False) == [0, 1, 2, 3]


def test_original_index_refuses_out_of_range():
    with pytest.raises(Exception, match="choose one of the 3 options"):
        original_index([2, 0, 1], 3)


def test_percentile_rank_counts_ties_as_half():
    assert percentile_rank(50, [10, 50, 50, 90]) == 50.0
    assert percentile_rank(100, [10, 20]) == 100.0
    assert percentile_rank(0, [10, 20]) == 0.0
    assert percentile_rank(1, []) is None
