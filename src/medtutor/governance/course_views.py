"""The faculty course on AI in medical education: lesson index, lessons, and the quiz (faculty, admins).

Logic: governance/ai_course.py. The quiz page works without JavaScript: one question at a time, the
answer is checked on submit (tutor mode), then the next question.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, roles_required
from medtutor.governance import ai_course


def _progress(user) -> dict:
    all_lessons = ai_course.lessons()
    done = ai_course.completed_slugs(user)
    exam = ai_course.quiz_exam()
    attempts = ai_course.attempts_of(user, exam)
    best = ai_course.best_percent(attempts)
    finished = sum(1 for lesson in all_lessons if lesson.slug in done)
    return {"lessons": all_lessons, "done": done, "exam": exam, "attempts": attempts, "best": best,
            "finished": finished, "pass_percent": ai_course.PASS_PERCENT,
            "course_complete": bool(all_lessons) and finished == len(all_lessons)
            and best is not None and best >= ai_course.PASS_PERCENT,
            "open_attempt": next((a for a in attempts if a.submitted_at is None), None)}


@roles_required(*AUTHORS)
def course_index(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/ai_course.html", {"title": ai_course.COURSE_TITLE, **_progress(request.user)})


@roles_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def course_lesson(request: HttpRequest, slug: str) -> HttpResponse:
    found = ai_course.lesson(slug)
    if found is None:
        raise Http404("no such lesson")
    if request.method == "POST":
        done = request.POST.get("done")
        if done not in ("yes", "no"):
            return render(request, "web/error.html", {"status": 400, "message": "done: choose yes or no"}, status=400)
        ai_course.set_completed(request.user, slug, done == "yes")
        if done == "yes":
            messages.success(request, f"Lesson {found.number} marked as done.")
        return redirect("ai_course_lesson", slug=slug)
    all_lessons = ai_course.lessons()
    at = next(n for n, lesson in enumerate(all_lessons) if lesson.slug == slug)
    return render(request, "governance/ai_lesson.html", {
        "lesson": found, "html": found.html(), "done": slug in ai_course.completed_slugs(request.user),
        "previous": all_lessons[at - 1] if at > 0 else None,
        "next": all_lessons[at + 1] if at + 1 < len(all_lessons) else None,
        "count": len(all_lessons), "title": ai_course.COURSE_TITLE,
    })


@roles_required(*AUTHORS)
@require_http_methods(["GET", "POST"])
def course_quiz(request: HttpRequest) -> HttpResponse:
    """GET: the question in progress (?n=K to look at another), or the start page / a result (?attempt=ID).
    POST action=start | answer (n, choice) | finish."""
    exam = ai_course.quiz_exam()
    if exam is None:
        return render(request, "governance/ai_quiz.html", {"missing": True, **_progress(request.user)})
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "start":
                ai_course.start_quiz(request.user)
                return redirect("ai_course_quiz")
            if action == "answer":
                position = request.POST.get("n", "")
                ai_course.answer(request.user, position, request.POST.get("choice", ""))
                return redirect(f"{reverse('ai_course_quiz')}?n={int(position)}")
            if action == "finish":
                finished = ai_course.finish(request.user)
                messages.success(request, f"Quiz finished: {finished.score_correct} of {finished.score_total}.")
                return redirect(f"{reverse('ai_course_quiz')}?attempt={finished.pk}")
            error = "action: choose start, answer or finish"
        except (InvalidInput, NotFound) as failure:
            error = failure.message
    context = {"exam": exam, "error": error, **_progress(request.user)}
    attempt = context["open_attempt"]
    if request.GET.get("attempt"):
        try:
            result = ai_course.attempt_for(request.user, request.GET["attempt"])
        except NotFound as missing:
            raise Http404(missing.message) from None
        if result.submitted_at is not None:
            context.update({"result": result, "review": [ai_course.question_view(result, n)
                                                         for n in range(1, result.total + 1)]})
            return render(request, "governance/ai_quiz.html", context, status=400 if error else 200)
        attempt = result
    if attempt is not None:
        wanted = request.GET.get("n") or request.POST.get("n") or ai_course.next_unanswered(attempt) or attempt.total
        try:
            position = ai_course.parse_position(attempt, wanted)
        except InvalidInput as bad:
            error, position = error or bad.message, ai_course.next_unanswered(attempt) or 1
        context.update({"attempt": attempt, "q": ai_course.question_view(attempt, position), "error": error,
                        "answered": len(attempt.answers), "positions": range(1, attempt.total + 1),
                        "next_open": ai_course.next_unanswered(attempt)})
    return render(request, "governance/ai_quiz.html", context, status=400 if error else 200)
