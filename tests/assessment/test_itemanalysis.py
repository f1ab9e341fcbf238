"""Item analysis: the pure engine against hand-computed values, its edge cases, and the faculty page/CSV."""

from __future__ import annotations

import csv
import io
import math

import pytest

from medtutor.accounts.models import Role
from medtutor.assessment import services
from medtutor.assessment.engine.itemanalysis import (
    FLAG_NON_DISCRIMINATING,
    FLAG_POSSIBLY_MISKEYED,
    FLAG_TOO_EASY,
    FLAG_TOO_HARD,
    analyse,
    pearson,
)
from medtutor.assessment.models import AttemptItem
from tests.assessment.factories import make_exam, make_items

# 6 students x 3 items, 4 options each; keys A, B, C (0, 1, 2). None = unanswered.
#            item1 item2 item3     scores  total
MATRIX = [
    [0, 1, 2],        # 1 1 1   3
    [0, 1, 0],        # 1 1 0   2
    [0, 0, 2],        # 1 0 1   2
    [0, 1, 0],        # 1 1 0   2
    [1, None, 2],     # 0 0 1   1
    [2, 3, None],     # 0 0 0   0
]
KEYS = [0, 1, 2]
OPTIONS = [4, 4, 4]


def test_hand_computed_values_on_a_small_matrix():
    items, test = analyse(MATRIX, KEYS, OPTIONS, ["q1", "q2", "q3"])
    one, two, three = items

    # Facility: item 1 is right for 4 of 6, items 2 and 3 for 3 of 6.
    assert one.facility == pytest.approx(4 / 6)
    assert two.facility == pytest.approx(3 / 6)
    assert three.facility == pytest.approx(3 / 6)
    assert one.sd == pytest.approx(math.sqrt(4 / 6 * 2 / 6))

    # Totals 3,2,2,2,1,0: mean 10/6; population variance 22/6 - (10/6)^2 = 66/18 - 50/18 = 8/9.
    assert test.n == 6 and test.k == 3
    assert test.mean == pytest.approx(10 / 6)
    assert test.sd == pytest.approx(math.sqrt(8 / 9))
    # KR-20 = k/(k-1) * (1 - sum(pq)/var) with sum(pq) = 2/9 + 1/4 + 1/4 = 13/18:
    # 3/2 * (1 - (13/18)/(8/9)) = 3/2 * (1 - 13/16) = 3/2 * 3/16 = 9/32.
    assert test.kr20 == pytest.approx(9 / 32)
    assert test.alpha == pytest.approx(9 / 32)        # alpha equals KR-20 on 0/1 items
    # SEM = SD * sqrt(1 - KR-20) = sqrt(8/9 * 23/32) = sqrt(23/36).
    assert test.sem == pytest.approx(math.sqrt(23) / 6)

    # Point-biserial of item 1 with the rest score: x = 1,1,1,1,0,0 (mean 2/3), rest = 2,1,1,1,1,0 (mean 1).
    # sum(dx*dy) = 1/3*1 + (-2/3)*(-1) = 1; sum(dx^2) = 4/9 + 8/9 = 4/3; sum(dy^2) = 1 + 1 = 2.
    # r = 1 / sqrt(4/3 * 2) = sqrt(3/8).
    assert one.point_biserial == pytest.approx(math.sqrt(3 / 8))

    # Groups of round(0.27 * 6) = 2: upper = students 1, 2 (totals 3, 2); lower = students 5, 6.
    # Item 1: upper 2/2, lower 0/2 -> D = 1; with 4 correct the most possible is 1, so efficiency 1.
    assert one.discrimination == pytest.approx(1.0)
    assert one.efficiency == pytest.approx(1.0)
    # Item 3: upper 1/2 (student 1), lower 1/2 (student 5) -> D = 0.
    assert three.discrimination == pytest.approx(0.0)

    # Distractor analysis: counts per option and omissions.
    assert [o.count for o in one.options] == [4, 1, 1, 0]
    assert [o.count for o in two.options] == [1, 3, 0, 1] and two.omitted == 1
    assert one.options[0].is_key and one.key_letter == "A" and one.options[1].letter == "B"
    assert one.options[3].rest_correlation is None        # nobody chose D: no variance
    assert one.options[0].rest_correlation == pytest.approx(one.point_biserial)
    assert FLAG_POSSIBLY_MISKEYED not in one.flags and FLAG_NON_DISCRIMINATING not in one.flags
    assert FLAG_NON_DISCRIMINATING in three.flags          # rest correlation of item 3 is below 0.15


def test_a_miskeyed_item_is_flagged():
    # Items 1-2 (key A) carry the ability; on item 3 the strong students pick B but the key says A.
    matrix = [[0, 0, 1], [0, 0, 1], [0, 1, 2], [1, 0, 0], [1, 1, 0], [1, 1, 0]]
    items, _ = analyse(matrix, [0, 0, 0], [4, 4, 4])
    item = items[2]
    b, key = item.options[1], item.options[0]
    assert b.rest_correlation is not None and b.rest_correlation > 0
    assert key.rest_correlation is not None and b.rest_correlation > key.rest_correlation
    assert FLAG_POSSIBLY_MISKEYED in item.flags
    assert FLAG_NON_DISCRIMINATING in item.flags
    # Re-keyed to B, the same answers look healthy.
    items, _ = analyse(matrix, [0, 0, 1], [4, 4, 4])
    assert FLAG_POSSIBLY_MISKEYED not in items[2].flags and items[2].point_biserial > 0.15


def test_easy_and_hard_flags_and_zero_variance():
    matrix = [[0, 1], [0, 2], [0, 3], [0, 1]]
    items, test = analyse(matrix, [0, 0], [4, 4])
    easy, hard = items
    assert easy.facility == 1.0 and FLAG_TOO_EASY in easy.flags
    assert hard.facility == 0.0 and FLAG_TOO_HARD in hard.flags
    assert easy.point_biserial is None and "same" in easy.reasons["point_biserial"]
    assert easy.efficiency is None and easy.reasons["efficiency"]
    assert easy.discrimination == 0.0
    assert test.kr20 is None and test.alpha is None and test.sem is None
    assert test.reasons["kr20"] == "total scores do not vary"
    assert test.mean == 1.0 and test.sd == 0.0


@pytest.mark.parametrize("matrix,reason", [([], "no submitted attempts"), ([[0, 1]], "needs at least two attempts")])
def test_too_few_attempts(matrix, reason):
    items, test = analyse(matrix, [0, 1], [4, 4])
    assert test.kr20 is None and test.reasons["kr20"] == reason
    assert all(i.point_biserial is None and i.discrimination is None for i in items)
    assert items[0].reasons["point_biserial"] == reason


def test_one_item_has_no_reliability_and_bad_input_is_refused():
    _, test = analyse([[0], [1]], [0], [2])
    assert test.kr20 is None and test.reasons["kr20"] == "needs at least two items"
    with pytest.raises(ValueError):
        analyse([[5]], [0], [4])
    with pytest.raises(ValueError):
        analyse([[0, 1]], [0], [4])
    with pytest.raises(ValueError):
        analyse([], [4], [4])
    assert pearson([1, 1], [1, 2]) is None and pearson([1], [1]) is None


# --- the page -----------------------------------------------------------------------------------

@pytest.fixture
def sat_exam(outline, faculty, make_user):
    items = make_items(3, actor=faculty)          # keys A, B, C
    exam = make_exam(items, time_limit_minutes=None)
    for n, row in enumerate(MATRIX):
        student = make_user(f"s{n}", Role.STUDENT)
        attempt = services.start_attempt(student, exam.pk)
        by_item = {ai.item_version.item_id: ai for ai in attempt.items.select_related("item_version")}
        for item, chosen in zip(items, row, strict=True):
            AttemptItem.objects.filter(pk=by_item[item.pk].pk).update(chosen_index=chosen)
        services.submit_attempt(student, attempt.pk)
    # An attempt still in progress is left out.
    services.start_attempt(make_user("late", Role.STUDENT), exam.pk)
    return exam


def test_page_for_faculty_shows_the_table(client, faculty, sat_exam):
    client.force_login(faculty)
    page = client.get(f"/exams/{sat_exam.pk}/analysis/")
    assert page.status_code == 200
    result = page.context["result"]
    assert result.test.n == 6 and result.test.kr20 == pytest.approx(9 / 32)
    assert [i.label for i in result.items] == ["ex-0", "ex-1", "ex-2"]
    assert "Item analysis" in client.get(f"/exams/{sat_exam.pk}/").content.decode()


def test_csv_has_a_header_and_a_row_per_item(client, admin_user, sat_exam):
    client.force_login(admin_user)
    response = client.get(f"/exams/{sat_exam.pk}/analysis/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["item", "key", "n", "facility"]
    assert [r[0] for r in rows[1:]] == ["ex-0", "ex-1", "ex-2"]
    assert rows[1][3] == f"{4 / 6:.4f}"


def test_students_get_403(client, student, sat_exam):
    client.force_login(student)
    assert client.get(f"/exams/{sat_exam.pk}/analysis/").status_code == 403
    assert client.get(f"/exams/{sat_exam.pk}/analysis/?format=csv").status_code == 403
