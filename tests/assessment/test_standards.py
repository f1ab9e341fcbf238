"""Standard-setting pages: modified Angoff and Hofstee, applying the pass mark, pass/fail on reports."""

from __future__ import annotations

import pytest

from medtutor.accounts.models import Role
from medtutor.assessment import cat_services, services
from medtutor.assessment.models import ExamBuild, StandardSetting
from medtutor.core.models import AuditRecord
from tests.assessment.factories import make_exam, make_items


@pytest.fixture
def items(outline, faculty):
    return make_items(4, prefix="std", actor=faculty)


@pytest.fixture
def exam(items):
    return make_exam(items, time_limit_minutes=None, title="Standard-set block", max_attempts=1)


def _sit(make_user, exam, n_students: int, correct_counts: list[int]):
    """Students who each get the first `k` of the exam's questions right (in exam order)."""
    attempts = []
    for i, k in zip(range(n_students), correct_counts, strict=True):
        student = make_user(f"cand{i}", Role.STUDENT)
        attempt = services.start_attempt(student, exam.pk)
        for ai in attempt.items.select_related("item_version"):
            order = list(exam.exam_items.order_by("position").values_list("item_id", flat=True))
            rank = order.index(ai.item_version.item_id)
            key = ai.item_version.key_index
            chosen = key if rank < k else (key + 1) % len(ai.item_version.options)
            displayed = ai.option_order.index(chosen)
            services.save_response(student, attempt.pk, ai.position, services.ItemChange(seq=1, choice=displayed))
        attempts.append(services.submit_attempt(student, attempt.pk))
    return attempts


def test_angoff_from_the_page_shows_the_spread_and_can_be_applied(client, faculty, exam, make_user):
    client.force_login(faculty)
    page = client.get(f"/exams/{exam.pk}/standards/")
    assert page.status_code == 200 and "std-0" in page.content.decode()
    ratings = "Dr A, 0.6, 0.5, 0.9, 0.4\nDr B, 70%, 50%, 80%, 20%\nDr C, 0.5, 0.6, 1.0, 0.3\n"
    response = client.post(f"/exams/{exam.pk}/standards/", {"action": "angoff", "ratings": ratings}, follow=True)
    html = response.content.decode()
    setting = StandardSetting.objects.get(exam=exam)
    assert setting.cut_percent == pytest.approx(58.33, abs=0.01)
    assert "Modified Angoff: 58.3%" in html and "Dr B" in html and "SD 0.12" in html
    assert not setting.is_applied
    client.post(f"/exams/{exam.pk}/standards/", {"action": "apply", "setting": setting.pk})
    setting.refresh_from_db()
    assert setting.is_applied and cat_services.pass_mark(exam) == setting
    assert AuditRecord.objects.filter(action="exam.pass_mark.set").count() == 1

    passed, failed = _sit(make_user, exam, 2, [3, 2])  # 75% and 50% against 58.3%
    client.force_login(passed.student)
    assert "Pass</strong>" in client.get(f"/attempts/{passed.pk}/report/").content.decode()
    client.force_login(failed.student)
    assert "Not yet passed" in client.get(f"/attempts/{failed.pk}/report/").content.decode()


def test_bad_angoff_ratings_name_the_line_and_save_nothing(client, faculty, exam):
    client.force_login(faculty)
    response = client.post(f"/exams/{exam.pk}/standards/", {"action": "angoff",
                                                             "ratings": "Dr A, 0.5, 0.5, 0.5, 0.5\nDr B, 0.5, 0.5\n"})
    assert response.status_code == 400
    assert "line 2: judge Dr B gave 2 ratings; the exam has 4 items" in response.content.decode()
    assert not StandardSetting.objects.exists()
    response = client.post(f"/exams/{exam.pk}/standards/", {"action": "angoff", "ratings": "Dr A, 0.5, x, 0.5, 0.5"})
    assert response.status_code == 400 and "ratings must be numbers" in response.content.decode()


def test_angoff_is_refused_for_a_blueprint_exam(faculty, exam):
    exam.build = ExamBuild.BLUEPRINT
    exam.save()
    with pytest.raises(Exception, match="rates a fixed form"):
        cat_services.save_angoff(exam, "Dr A, 0.5", actor=faculty)


def test_hofstee_uses_the_submitted_scores(client, faculty, exam, make_user):
    _sit(make_user, exam, 8, [0, 1, 2, 2, 3, 3, 4, 4])  # 0, 25, 50, 50, 75, 75, 100, 100
    client.force_login(faculty)
    response = client.post(f"/exams/{exam.pk}/standards/", {"action": "hofstee", "min_cut": 40, "max_cut": 70,
                                                             "min_fail": 10, "max_fail": 50}, follow=True)
    setting = StandardSetting.objects.get(exam=exam)
    # The fail rate is 25% for 25 < c <= 50 and 50% for 50 < c <= 75; the panel's line falls from 50% at 40
    # to 10% at 70, so it is 36.7% at 50 (above the curve) and 36% at 50.5, where the curve is already 50%.
    assert setting.cut_percent == pytest.approx(50.5)
    assert setting.result["intersects"] and setting.result["n_scores"] == 8
    html = response.content.decode()
    assert "Hofstee: 50.5%" in html and "data-hofstee-curve" in html and "<svg" in html


def test_hofstee_without_scores_is_a_clear_error(client, faculty, exam):
    client.force_login(faculty)
    response = client.post(f"/exams/{exam.pk}/standards/", {"action": "hofstee", "min_cut": 40, "max_cut": 70,
                                                             "min_fail": 10, "max_fail": 50})
    assert response.status_code == 400 and "no submitted scores yet" in response.content.decode()
    bad = client.post(f"/exams/{exam.pk}/standards/", {"action": "hofstee", "min_cut": 70, "max_cut": 40,
                                                        "min_fail": 10, "max_fail": 50})
    assert bad.status_code == 400 and "highest pass mark must be above" in bad.content.decode()
    assert not StandardSetting.objects.exists()


def test_applying_a_new_mark_replaces_the_old_one(faculty, exam):
    first = cat_services.save_angoff(exam, "J, 0.5, 0.5, 0.5, 0.5", actor=faculty)
    second = cat_services.save_angoff(exam, "J, 0.8, 0.8, 0.8, 0.8", actor=faculty)
    cat_services.apply_setting(exam, first.pk, actor=faculty)
    cat_services.apply_setting(exam, second.pk, actor=faculty)
    assert list(StandardSetting.objects.filter(is_applied=True)) == [second]


def test_students_cannot_reach_standard_setting(client, student, exam):
    client.force_login(student)
    assert client.get(f"/exams/{exam.pk}/standards/").status_code == 403
    assert client.post(f"/exams/{exam.pk}/standards/", {"action": "angoff", "ratings": "x"}).status_code == 403
    assert not StandardSetting.objects.exists()
