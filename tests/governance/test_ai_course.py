"""The faculty course on AI in medical education: lessons, completion, the quiz (an Exam), permissions, loading."""

from __future__ import annotations

import html as html_lib
import json

import pytest
from django.test import Client

from medtutor.assessment import services as exams
from medtutor.assessment.models import ExamMode
from medtutor.content.models import Competency, Item, ItemVersion
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord
from medtutor.governance import ai_course
from medtutor.governance.course_models import CourseQuiz, LessonCompletion, QuizAttempt

COURSE_DIR = ai_course.course_dir()


@pytest.fixture
def course(db):
    return ai_course.load_course(COURSE_DIR)


# --- the content ---------------------------------------------------------------------------------------------

def test_course_has_five_lessons_and_items_with_explanations_under_its_competency(course):
    lessons = ai_course.lessons()
    assert [lesson.number for lesson in lessons] == [1, 2, 3, 4, 5]
    assert all(lesson.minutes for lesson in lessons)
    text = " ".join(lesson.markdown for lesson in lessons)
    for topic in ("Regulation (EU) 2024/1689", "Annex III", "human oversight", "Mantel", "automation bias",
                  "data minimisation", "early-warning-gbm", "for education, not patient care"):
        assert topic.lower() in text.lower(), topic
    root = Competency.objects.get(code=ai_course.COMPETENCY)
    assert root.weight == 0 and root.parent is None  # not part of any student blueprint
    items = Item.objects.filter(competency__code__startswith=ai_course.COMPETENCY + ".")
    assert items.count() == course.exam.exam_items.count() >= 10
    for item in items.select_related("current_version__objective"):
        version = item.current_version
        assert version.objective and all(option["explanation"] for option in version.options)
        assert version.key_index is not None


def test_quiz_is_a_tutor_mode_exam_of_the_course_items_hidden_from_students(course, student, faculty):
    exam = course.exam
    assert CourseQuiz.objects.get(course=ai_course.COURSE).exam == exam
    assert exam.mode == ExamMode.TUTOR and exam.title == ai_course.QUIZ_TITLE
    assert set(exam.exam_items.values_list("item__competency__parent__code", flat=True)) == {ai_course.COMPETENCY}
    assert [c.code for c in exam.cohorts.all()] == [ai_course.STAFF_COHORT]
    assert exam not in exams.exams_for(student) and exam in exams.exams_for(faculty)


def test_loading_again_changes_nothing(course):
    counts = (Item.objects.count(), ItemVersion.objects.count(), CourseQuiz.objects.count())
    again = ai_course.load_course(COURSE_DIR)
    assert again.exam == course.exam and not again.exam_created and again.items_added == 0
    assert "created" not in again.summary.describe() and "updated" not in again.summary.describe()
    assert (Item.objects.count(), ItemVersion.objects.count(), CourseQuiz.objects.count()) == counts


def test_demo_load_includes_the_course(db):
    from medtutor.content.demo import load_demo

    load_demo()
    assert ai_course.quiz_exam() is not None
    assert Item.objects.filter(competency__code__startswith="faculty-ai.").exists()


# --- pages and permissions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/governance/ai-course/", "/governance/ai-course/what-the-models-do/",
                                 "/governance/ai-course/quiz/"])
def test_faculty_and_admins_only(client, users, course, url):
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    client.force_login(users["student"])
    assert client.get(url).status_code == 403
    for role in ("faculty", "admin"):
        client.force_login(users[role])
        assert client.get(url).status_code == 200, role


def test_index_lists_the_lessons_and_links_the_quiz(client, faculty, course):
    client.force_login(faculty)
    html = html_lib.unescape(client.get("/governance/ai-course/").content.decode())
    for lesson in ai_course.lessons():
        assert f'/governance/ai-course/{lesson.slug}/' in html and lesson.title in html
    assert "/governance/ai-course/quiz/" in html and "0 of 5 done" in html


def test_each_lesson_renders_as_html(client, admin_user, course):
    client.force_login(admin_user)
    for lesson in ai_course.lessons():
        html = html_lib.unescape(client.get(f"/governance/ai-course/{lesson.slug}/").content.decode())
        assert f"<h1>{lesson.title}</h1>" in html and "<h2>" in html and '<table class="table table-compact">' in html
        assert "minutes:" not in html  # the reading-time line is metadata, not text
    regulation = client.get("/governance/ai-course/the-regulatory-picture/").content.decode()
    assert "<strong>Regulation (EU) 2024/1689</strong>" in regulation


def test_lesson_markdown_cannot_inject_html(client, faculty, tmp_path, monkeypatch):
    (tmp_path / "01-intro.md").write_text("# Intro\n\nminutes: 5\n\nHello <script>alert(1)</script> <table>\n\n"
                                          "[x](javascript:alert(1))\n", encoding="utf-8")
    monkeypatch.setenv("MEDTUTOR_AI_COURSE_DIR", str(tmp_path))
    client.force_login(faculty)
    html = client.get("/governance/ai-course/intro/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html and "&lt;table&gt;" in html
    assert 'href="javascript:' not in html


def test_unknown_lesson_is_404(client, faculty, course):
    client.force_login(faculty)
    assert client.get("/governance/ai-course/no-such-lesson/").status_code == 404


# --- completion ------------------------------------------------------------------------------------------------

def test_completion_is_tracked_per_user_and_lesson(client, faculty, admin_user, course):
    client.force_login(faculty)
    url = "/governance/ai-course/bias-and-fairness/"
    assert client.post(url, {"done": "yes"}).status_code == 302
    assert client.post(url, {"done": "yes"}).status_code == 302  # a double click: still one row
    assert list(LessonCompletion.objects.values_list("user", "lesson")) == [(faculty.pk, "bias-and-fairness")]
    assert AuditRecord.objects.filter(action="ai_course.lesson_completed").count() == 1
    assert "1 of 5 done" in client.get("/governance/ai-course/").content.decode()
    assert ai_course.completed_slugs(admin_user) == set()
    assert client.post(url, {"done": "no"}).status_code == 302
    assert not LessonCompletion.objects.exists()
    bad = client.post(url, {"done": "maybe"})
    assert bad.status_code == 400 and not LessonCompletion.objects.exists()


def test_completion_needs_csrf(faculty, course):
    client = Client(enforce_csrf_checks=True)
    client.force_login(faculty)
    assert client.post("/governance/ai-course/bias-and-fairness/", {"done": "yes"}).status_code == 403
    assert not LessonCompletion.objects.exists()


def test_course_is_complete_after_every_lesson_and_a_passing_quiz(client, faculty, course):
    for lesson in ai_course.lessons():
        ai_course.set_completed(faculty, lesson.slug, True)
    attempt = ai_course.start_quiz(faculty)
    for n in range(1, attempt.total + 1):
        version = ItemVersion.objects.get(pk=attempt.items[n - 1][1])
        order = attempt.items[n - 1][2]
        ai_course.answer(faculty, n, order.index(version.key_index))
    assert ai_course.finish(faculty).percent == 100
    client.force_login(faculty)
    assert "Course complete." in client.get("/governance/ai-course/").content.decode()


# --- the quiz ----------------------------------------------------------------------------------------------------

def test_faculty_take_the_quiz_in_tutor_mode(client, faculty, course):
    client.force_login(faculty)
    assert "Start the quiz" in client.get("/governance/ai-course/quiz/").content.decode()
    assert client.post("/governance/ai-course/quiz/", {"action": "start"}).status_code == 302
    attempt = QuizAttempt.objects.get(user=faculty)
    assert attempt.total == course.exam.exam_items.count() and attempt.submitted_at is None
    first = client.get("/governance/ai-course/quiz/")
    html = html_lib.unescape(first.content.decode())
    version = ItemVersion.objects.get(pk=attempt.items[0][1])
    assert version.stem.split(".")[0] in html
    key_option = version.options[version.key_index]
    assert "Correct answer" not in html and key_option["explanation"] not in html  # no key before answering
    shown_key = attempt.items[0][2].index(version.key_index)
    answered = client.post("/governance/ai-course/quiz/", {"action": "answer", "n": 1, "choice": shown_key})
    assert answered.status_code == 302
    after = html_lib.unescape(client.get(answered["Location"]).content.decode())
    assert "Correct answer" in after and key_option["explanation"] in after
    twice = client.post("/governance/ai-course/quiz/", {"action": "answer", "n": 1, "choice": 0})
    assert twice.status_code == 400 and "already answered" in twice.content.decode()
    assert QuizAttempt.objects.get().answers == {"1": version.key_index}
    done = client.post("/governance/ai-course/quiz/", {"action": "finish"})
    finished = QuizAttempt.objects.get()
    assert finished.score_correct == 1 and finished.score_total == attempt.total and finished.submitted_at
    review = client.get(done["Location"]).content.decode()
    assert f"1 of {attempt.total}" in review
    record = AuditRecord.objects.get(action="ai_course.quiz_finished")
    assert record.actor == faculty and record.output["correct"] == 1


@pytest.mark.parametrize("form,message", [
    ({"action": "answer", "n": 99, "choice": 0}, "question: choose a question from 1 to"),
    ({"action": "answer", "n": 1, "choice": 9}, "choose one of the"),
    ({"action": "answer", "n": 1, "choice": "b"}, "choice: choose one of"),
    ({"action": "dance"}, "action: choose start, answer or finish"),
])
def test_bad_quiz_input_is_a_400_and_changes_nothing(client, faculty, course, form, message):
    client.force_login(faculty)
    client.post("/governance/ai-course/quiz/", {"action": "start"})
    response = client.post("/governance/ai-course/quiz/", form)
    assert response.status_code == 400 and message in response.content.decode()
    assert QuizAttempt.objects.get().answers == {}


def test_answer_or_finish_without_a_quiz_in_progress_is_a_400(client, faculty, course):
    client.force_login(faculty)
    assert client.post("/governance/ai-course/quiz/", {"action": "finish"}).status_code == 400
    assert client.post("/governance/ai-course/quiz/", {"action": "answer", "n": 1, "choice": 0}).status_code == 400
    assert not QuizAttempt.objects.exists()


def test_starting_twice_resumes_and_attempts_are_limited(faculty, course):
    first = ai_course.start_quiz(faculty)
    assert ai_course.start_quiz(faculty) == first
    course.exam.max_attempts = 1
    course.exam.save()
    ai_course.finish(faculty)
    with pytest.raises(InvalidInput, match="used all 1 attempts"):
        ai_course.start_quiz(faculty)


def test_students_cannot_take_the_quiz_and_results_are_private(client, student, faculty, admin_user, course):
    client.force_login(student)
    assert client.post("/governance/ai-course/quiz/", {"action": "start"}).status_code == 403
    attempt = ai_course.start_quiz(faculty)
    ai_course.finish(faculty)
    client.force_login(admin_user)
    assert client.get(f"/governance/ai-course/quiz/?attempt={attempt.pk}").status_code == 404
    assert not QuizAttempt.objects.filter(user=student).exists()


def test_course_jsonl_is_valid_content(course):
    lines = [json.loads(line) for line in (COURSE_DIR / "course.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {line["type"] for line in lines} == {"competency", "item"}
    assert all(line["source"].startswith("medtutor faculty course") for line in lines if line["type"] == "item")
