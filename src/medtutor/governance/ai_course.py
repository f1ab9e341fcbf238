"""The faculty course "AI in medical education", built from medtutor's own course features.

- Lessons: Markdown files `NN-slug.md` in demo/ai-course/ (or MEDTUTOR_AI_COURSE_DIR), rendered safely
  (markdown-it, raw HTML shown as text, as model cards are). A lesson's first `# ` heading is its title;
  a line `minutes: N` gives its reading time.
- Questions: single-best-answer items with per-option explanations under the competency `faculty-ai`
  (course.jsonl in the same folder, medtutor's JSON Lines format, imported like any content). The
  competency and its topics are staff-only (Competency.staff_only): students never see them or their
  items in practice, cards, plans or dashboards. Its root weight stays 0 as well.
- Quiz: an assessment Exam in tutor mode over those items, assigned to a staff-only cohort so students
  never see it. Exam attempts in the assessment app are for students (they feed item statistics and
  learner models), so staff take the quiz here (QuizAttempt): same items, same per-option
  explanations, feedback after each question.
- Completion: one LessonCompletion row per user and lesson; completing a lesson and finishing the quiz
  are audited (a deployer's AI-literacy training record).

`load_course` is called by `medtutor demo load`; it is idempotent.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from markdown_it import MarkdownIt

from medtutor.assessment.engine.shuffle import attempt_seed, displayed_index, option_order, original_index
from medtutor.assessment.models import Exam, ExamBuild, ExamMode
from medtutor.content.models import Competency, Item, ItemVersion
from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.errors import InvalidInput, NotFound, PermissionDenied
from medtutor.core.permissions import AUTHORS, has_role
from medtutor.governance.course_models import CourseQuiz, LessonCompletion, QuizAttempt

COURSE = "ai-in-medical-education"
COURSE_TITLE = "AI in medical education: a short course for faculty"
COMPETENCY = "faculty-ai"
STAFF_COHORT = "staff-ai-course"
QUIZ_TITLE = "Quiz: AI in medical education (faculty course)"
QUIZ_INSTRUCTIONS = ("The quiz of the faculty course on AI in medical education. Tutor mode: you see the answer "
                     "and an explanation of every option after each question. Staff take it from the course page.")
QUIZ_MAX_ATTEMPTS = 20
PASS_PERCENT = 80
LETTERS = "ABCDEFGHIJ"

_LESSON_FILE = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)\.md$")
_MINUTES = re.compile(r"(?im)^minutes:\s*(\d{1,3})\s*$")
# html=False: raw HTML in a lesson is shown as text, never run; "linkify" off: links only where written.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def course_dir() -> Path:
    configured = os.environ.get("MEDTUTOR_AI_COURSE_DIR")
    if configured:
        return Path(configured)
    from medtutor.content.demo import demo_dir

    return demo_dir() / "ai-course"


# --- lessons ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    minutes: int | None
    markdown: str

    def html(self) -> str:
        return _render(self.markdown)


@lru_cache(maxsize=64)
def _render(markdown: str) -> str:
    html = _MARKDOWN.render(_MINUTES.sub("", markdown, count=1))
    # The design system's tables, scrolling sideways on a phone. Safe: with html=False a lesson's own
    # "<table>" text arrives escaped, so only markdown-it's tables match.
    return (html.replace("<table>", '<div class="table-scroll" tabindex="0"><table class="table table-compact">')
            .replace("</table>", "</table></div>"))


def _read(path: Path, number: int, slug: str) -> Lesson:
    text = path.read_text(encoding="utf-8")
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), slug)
    minutes = _MINUTES.search(text)
    return Lesson(number, slug, title, int(minutes.group(1)) if minutes else None, text)


def lessons(folder: Path | None = None) -> list[Lesson]:
    folder = folder or course_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.md")):
        match = _LESSON_FILE.match(path.name)
        if match:
            found.append(_read(path, int(match.group(1)), match.group(2)))
    return found


def lesson(slug: str) -> Lesson | None:
    return next((found for found in lessons() if found.slug == slug), None)


def completed_slugs(user: Any) -> set[str]:
    return set(LessonCompletion.objects.filter(user=user, course=COURSE).values_list("lesson", flat=True))


def set_completed(user: Any, slug: str, done: bool) -> bool:
    """Mark a lesson done (or not done again); True when that changed anything. Audited."""
    if not has_role(user, *AUTHORS):
        raise PermissionDenied("the course is for faculty and administrators")
    if lesson(slug) is None:
        raise NotFound(f"lesson: there is no lesson {slug!r}")
    with transaction.atomic():
        if done:
            try:
                with transaction.atomic():
                    row = LessonCompletion.objects.create(user=user, course=COURSE, lesson=slug,
                                                          completed_at=clock.now())
            except IntegrityError:  # already done (a double click): nothing changes
                return False
            record_action(user, "ai_course.lesson_completed", subject=row, data={"course": COURSE, "lesson": slug})
            return True
        deleted = LessonCompletion.objects.filter(user=user, course=COURSE, lesson=slug).delete()[0]
        if deleted:
            record_action(user, "ai_course.lesson_reopened", subject=("governance.course", COURSE),
                          data={"lesson": slug})
        return bool(deleted)


# --- the quiz --------------------------------------------------------------------------------------------

def quiz_exam() -> Exam | None:
    found = CourseQuiz.objects.filter(course=COURSE).select_related("exam").first()
    return found.exam if found else None


def attempts_of(user: Any, exam: Exam | None) -> list[QuizAttempt]:
    if exam is None:
        return []
    return list(QuizAttempt.objects.filter(user=user, exam=exam))


def open_attempt(user: Any, exam: Exam | None) -> QuizAttempt | None:
    if exam is None:
        return None
    return QuizAttempt.objects.filter(user=user, exam=exam, submitted_at__isnull=True).first()


def _require_staff(user: Any) -> None:
    if not has_role(user, *AUTHORS):
        raise PermissionDenied("the course quiz is for faculty and administrators")


def _require_exam() -> Exam:
    exam = quiz_exam()
    if exam is None:
        raise NotFound("the course quiz is not installed; an administrator loads it with `medtutor demo load`")
    return exam


def start_quiz(user: Any) -> QuizAttempt:
    """The open attempt if there is one, else a new one with its form frozen (items, versions, option order)."""
    _require_staff(user)
    exam = _require_exam()
    existing = open_attempt(user, exam)
    if existing is not None:
        return existing
    now = clock.now()
    if exam.opens_at and now < exam.opens_at:
        raise InvalidInput("quiz: it has not opened yet")
    if exam.closes_at and now >= exam.closes_at:
        raise InvalidInput("quiz: it has closed")
    used = QuizAttempt.objects.filter(user=user, exam=exam).count()
    if used >= exam.max_attempts:
        raise InvalidInput(f"quiz: you have used all {exam.max_attempts} attempts")
    number = used + 1
    seed = attempt_seed("course-quiz", exam.pk, user.pk, number)
    rng = random.Random(seed)
    rows = list(exam.exam_items.filter(item__retired_at__isnull=True, item__current_version__isnull=False)
                .order_by("position", "id").values_list("item_id", "item__current_version_id"))
    if exam.shuffle_items:
        rng.shuffle(rows)
    versions = ItemVersion.objects.in_bulk([version_id for _, version_id in rows])
    form = [[item_id, version_id, option_order(len(versions[version_id].options), seed=seed, item_id=item_id,
                                               shuffle=exam.shuffle_options)]
            for item_id, version_id in rows if versions[version_id].options]
    if not form:
        raise InvalidInput("quiz: it has no questions yet")
    try:
        with transaction.atomic():
            attempt = QuizAttempt.objects.create(user=user, exam=exam, number=number, seed=seed, items=form,
                                                 started_at=now)
            record_action(user, "ai_course.quiz_started", subject=attempt, data={"exam": exam.pk, "number": number})
    except IntegrityError:  # started in another tab at the same moment
        existing = open_attempt(user, exam)
        if existing is None:
            raise
        return existing
    return attempt


def attempt_for(user: Any, attempt_id: Any) -> QuizAttempt:
    """The user's own attempt; anyone else's is reported as absent."""
    try:
        pk = int(str(attempt_id))
    except (TypeError, ValueError):
        raise NotFound("there is no such quiz attempt") from None
    found = QuizAttempt.objects.filter(pk=pk, user=user).select_related("exam").first()
    if found is None:
        raise NotFound(f"there is no quiz attempt {pk} of yours")
    return found


def parse_position(attempt: QuizAttempt, raw: Any) -> int:
    try:
        position = int(str(raw))
    except (TypeError, ValueError):
        raise InvalidInput(f"question: choose a question from 1 to {attempt.total}") from None
    if not 1 <= position <= attempt.total:
        raise InvalidInput(f"question: choose a question from 1 to {attempt.total}")
    return position


def answer(user: Any, position: Any, choice: Any) -> QuizAttempt:
    """Record the answer to one question of the open attempt; in tutor mode it is then locked."""
    _require_staff(user)
    exam = _require_exam()
    with transaction.atomic():
        attempt = QuizAttempt.objects.select_for_update().filter(
            user=user, exam=exam, submitted_at__isnull=True).first()
        if attempt is None:
            raise InvalidInput("quiz: you have no quiz in progress; start one first")
        where = parse_position(attempt, position)
        if str(where) in attempt.answers:
            raise InvalidInput(f"question {where}: already answered (an answer is locked once checked)")
        order = attempt.items[where - 1][2]
        try:
            shown = int(str(choice))
        except (TypeError, ValueError):
            raise InvalidInput(f"choice: choose one of the {len(order)} options") from None
        attempt.answers = {**attempt.answers, str(where): original_index(order, shown)}
        attempt.save(update_fields=["answers"])
    return attempt


def finish(user: Any) -> QuizAttempt:
    """Score and close the open attempt (unanswered questions count as wrong). Audited."""
    _require_staff(user)
    exam = _require_exam()
    with transaction.atomic():
        attempt = QuizAttempt.objects.select_for_update().filter(
            user=user, exam=exam, submitted_at__isnull=True).first()
        if attempt is None:
            raise InvalidInput("quiz: you have no quiz in progress")
        keys = dict(ItemVersion.objects.filter(pk__in=[row[1] for row in attempt.items])
                    .values_list("pk", "key_index"))
        correct = sum(1 for n, row in enumerate(attempt.items, 1)
                      if attempt.answers.get(str(n)) is not None and attempt.answers[str(n)] == keys.get(row[1]))
        attempt.score_correct, attempt.score_total = correct, attempt.total
        attempt.submitted_at = clock.now()
        attempt.save(update_fields=["score_correct", "score_total", "submitted_at"])
        record_action(user, "ai_course.quiz_finished", subject=attempt, data={
            "exam": exam.pk, "number": attempt.number, "correct": correct, "total": attempt.total,
            "passed": attempt.percent is not None and attempt.percent >= PASS_PERCENT})
    return attempt


@dataclass(frozen=True)
class OptionView:
    index: int        # displayed position (what the form sends)
    letter: str
    text: str
    is_chosen: bool
    is_key: bool       # only True once the question is answered
    explanation: str   # only once the question is answered


@dataclass(frozen=True)
class QuestionView:
    position: int
    total: int
    stem: str
    lead_in: str
    options: tuple[OptionView, ...]
    answered: bool
    is_correct: bool | None
    key_letter: str
    explanation: str
    objective: str


def question_view(attempt: QuizAttempt, position: int) -> QuestionView:
    """What the page may show: no key or explanation before the question is answered (tutor mode)."""
    item_id, version_id, order = attempt.items[position - 1]
    version = ItemVersion.objects.select_related("objective").get(pk=version_id)
    chosen = attempt.answers.get(str(position))
    answered = chosen is not None
    chosen_shown = displayed_index(order, chosen)
    key_shown = displayed_index(order, version.key_index)
    options = []
    for shown, original in enumerate(order):
        option = version.options[original]
        options.append(OptionView(shown, LETTERS[shown], option.get("text", ""), shown == chosen_shown,
                                  answered and shown == key_shown,
                                  option.get("explanation", "") if answered else ""))
    return QuestionView(position, attempt.total, version.stem, version.lead_in, tuple(options), answered,
                        (chosen == version.key_index) if answered else None,
                        LETTERS[key_shown] if answered and key_shown is not None else "",
                        version.explanation if answered else "",
                        version.objective.text if answered and version.objective else "")


def next_unanswered(attempt: QuizAttempt) -> int | None:
    return next((n for n in range(1, attempt.total + 1) if str(n) not in attempt.answers), None)


def best_percent(attempts: list[QuizAttempt]) -> int | None:
    scores = [a.percent for a in attempts if a.submitted_at and a.percent is not None]
    return max(scores) if scores else None


# --- loading ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseLoaded:
    summary: Any          # content.services.ImportSummary of course.jsonl
    lessons: int
    exam: Exam
    exam_created: bool
    items_added: int


def _make_staff_only() -> int:
    """Hide the course's competency and everything below it from students; only rows not yet hidden are
    written (and audited), so loading again changes nothing. The number of rows changed."""
    course = Competency.objects.filter(code=COMPETENCY).first()
    if course is None:
        return 0
    visible = Competency.objects.filter(course.subtree_codes_filter(), staff_only=False)
    codes = sorted(visible.values_list("code", flat=True))
    if codes:
        visible.update(staff_only=True)
        record_action(None, "ai_course.staff_only", subject=("content.competency", COMPETENCY),
                      data={"competencies": codes})
    return len(codes)


def load_course(folder: Path | None = None, *, progress: Any = None) -> CourseLoaded:
    """Import the course's competency, objectives and items, and make sure its quiz exam holds them all.

    Idempotent: a second run finds everything in place and changes nothing (the content import only
    records that it found nothing new, as the rest of the demo does).
    """
    from medtutor.accounts.models import Cohort
    from medtutor.assessment import services as exams
    from medtutor.content import services as content
    from medtutor.content.importers import parse

    folder = folder or course_dir()
    source = folder / "course.jsonl"
    if not source.is_file():
        raise FileNotFoundError(f"the AI course's questions are missing: {source}")
    found_lessons = lessons(folder)
    if not found_lessons:
        raise FileNotFoundError(f"the AI course has no lessons (NN-slug.md) in {folder}")
    bundle = parse(source.read_bytes(), "medtutor", filename="course.jsonl")
    with transaction.atomic():
        summary = content.import_bundle(bundle, actor=None, filename="ai-course/course.jsonl", fmt="medtutor",
                                        progress=progress)
        _make_staff_only()
        cohort, _ = Cohort.objects.get_or_create(
            code=STAFF_COHORT, defaults={"name": "Staff only: AI in medical education course"})
        quiz = CourseQuiz.objects.filter(course=COURSE).select_related("exam").first()
        created = quiz is None
        if created:
            exam = Exam(title=QUIZ_TITLE, instructions=QUIZ_INSTRUCTIONS, mode=ExamMode.TUTOR,
                        build=ExamBuild.MANUAL, time_limit_minutes=None, max_attempts=QUIZ_MAX_ATTEMPTS,
                        shuffle_items=False, shuffle_options=True)
            exams.save_exam(exam, actor=None, cohorts=[cohort])
            quiz = CourseQuiz.objects.create(course=COURSE, exam=exam)
        exam = quiz.exam
        have = set(exam.exam_items.values_list("item_id", flat=True))
        wanted = [record.external_id for record in bundle.items]
        ids = dict(Item.objects.filter(external_id__in=wanted).values_list("external_id", "pk"))
        added = 0
        for external_id in wanted:
            if ids[external_id] not in have:
                exams.add_exam_item(exam, ids[external_id], actor=None)
                added += 1
    return CourseLoaded(summary, len(found_lessons), exam, created, added)
