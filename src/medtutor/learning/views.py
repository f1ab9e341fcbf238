"""Practice questions for students: the key is only sent once the answer is committed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medtutor.content.forms import LETTERS
from medtutor.content.models import Competency
from medtutor.core.errors import InvalidInput
from medtutor.core.permissions import STUDENT, roles_required
from medtutor.learning import practice, services


@roles_required(STUDENT)
def practice_next(request: HttpRequest) -> HttpResponse:
    """The next question chosen for this student; the reason travels with it to the question page."""
    competency = Competency.objects.for_students().filter(code=request.GET.get("competency", "")).first()
    chosen = practice.choose_question(request.user, within=competency)
    if chosen is None:
        return render(request, "learning/practice_empty.html", {"competency": competency})
    item, choice, record = chosen
    request.session["practice_why"] = {"item": item.pk, "reason": choice.reason, "decision": record.seq, "decision_pk": record.pk,
                                       "predicted": round(choice.predicted_success * 100)}
    url = f"/practice/{item.pk}/"
    return redirect(url + (f"?competency={competency.code}" if competency else ""))


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def practice_item(request: HttpRequest, item_id: int) -> HttpResponse:
    practice_competency = Competency.objects.for_students().filter(code=request.GET.get("competency", "")).first()
    competency_code = practice_competency.code if practice_competency else ""
    if request.method == "POST":
        try:
            chosen = int(request.POST.get("choice", ""))
        except ValueError:
            chosen = -1
        version_id = request.POST.get("version")
        try:
            result = services.record_answer(
                request.user, item_id, int(version_id) if (version_id or "").isdigit() else None, chosen,
                request.POST.get("client_token", ""), _seconds(request.POST.get("elapsed")))
        except InvalidInput as error:
            version = services.answerable_version(item_id)
            return render(request, _template(request, "question"), {
                "item": version.item, "version": version, "letters": LETTERS, "error": error.message,
                "client_token": request.POST.get("client_token") or services.new_client_token(),
                "competency_code": competency_code, "practice_competency": practice_competency}, status=error.status)
        before, after = practice.mastery_change(request.user, result.response)
        return render(request, _template(request, "feedback"), {
            "mastery_before": before, "mastery_after": after,
            "item": result.version.item, "version": result.version, "response": result.response,
            "letters": LETTERS, "competency_code": competency_code, "practice_competency": practice_competency,
            "objective": result.version.objective})
    version = services.answerable_version(item_id)
    why = request.session.get("practice_why")
    return render(request, "learning/question.html", {
        "why": why if why and why.get("item") == item_id else None,
        "item": version.item, "version": version, "letters": LETTERS,
        "client_token": services.new_client_token(), "competency_code": competency_code, "practice_competency": practice_competency})


def _template(request: HttpRequest, name: str) -> str:
    # HTMX swaps only the question card; a plain form post gets the whole page.
    return f"learning/_{name}.html" if request.headers.get("HX-Request") else f"learning/{name}.html"


def _seconds(raw: str | None) -> int | None:
    try:
        return max(0, int(float(raw or ""))) if raw else None
    except ValueError:
        return None


@roles_required(STUDENT)
def history(request: HttpRequest) -> HttpResponse:
    responses = (request.user.item_responses.select_related("item_version__item__competency")
                 .order_by("-answered_at")[:100])
    return render(request, "learning/history.html", {"responses": responses, "letters": LETTERS})
