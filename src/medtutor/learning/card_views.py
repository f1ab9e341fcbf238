"""Flashcard pages for students: the deck, one card at a time, undo, catch-up plan, cards from mistakes.

Every page works without JavaScript (plain forms, <details> for "Show answer"); with HTMX a grade or
an undo swaps only the card.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import DomainError, InvalidInput
from medtutor.core.permissions import STUDENT, roles_required
from medtutor.learning import cards
from medtutor.learning.engine.memory import Grade, format_interval
from medtutor.learning.engine.memory_fit import MIN_RECALL_REVIEWS


class DeckSettingsForm(forms.Form):
    daily_cap = forms.IntegerField(
        label="Reviews a day (cap)", min_value=cards.MIN_DAILY_CAP, max_value=cards.MAX_DAILY_CAP,
        help_text="Catch-up and cards falling due together never go over this.")
    new_per_day = forms.IntegerField(label="New cards a day", min_value=0, max_value=cards.MAX_NEW_PER_DAY,
                                     help_text="Paused while the backlog is more than one day's cap.")


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


@roles_required(STUDENT)
def deck(request: HttpRequest, form: DeckSettingsForm | None = None, status: int = 200) -> HttpResponse:
    overview = cards.deck_overview(request.user)
    if form is None:
        form = DeckSettingsForm(initial={"daily_cap": overview.settings.daily_cap,
                                         "new_per_day": overview.settings.new_per_day})
    return render(request, "learning/cards.html", {"overview": overview, "form": form, "plan": overview.plan,
                                                   "min_recall_reviews": MIN_RECALL_REVIEWS}, status=status)


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def memory(request: HttpRequest) -> HttpResponse:
    """Fit personal FSRS weights (kept only if they predict better), or go back to the defaults."""
    if request.method != "POST":
        return redirect("cards")
    if request.POST.get("action") == "reset":
        cards.reset_memory_weights(request.user)
        messages.success(request, "Back to the default FSRS weights.")
        return redirect("cards")
    fit = cards.personalise_memory(request.user)
    (messages.success if fit.adopted else messages.info)(request, fit.reason[:1].upper() + fit.reason[1:] + ".")
    return redirect("cards")


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def plan(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("cards")
    form = DeckSettingsForm(request.POST)
    if not form.is_valid():
        return deck(request, form=form, status=400)
    _, made = cards.save_deck_settings(request.user, form.cleaned_data["daily_cap"], form.cleaned_data["new_per_day"])
    if made.backlog:
        messages.success(request, f"Plan saved: {made.backlog} overdue card(s) cleared in {made.days_to_clear} day(s), "
                                  f"at most {made.daily_cap} reviews a day.")
    else:
        messages.success(request, f"Saved: at most {made.daily_cap} reviews a day.")
    return redirect("cards")


def _review_context(request: HttpRequest, *, prefer: int | None = None, notice: str = "", error: str = "") -> dict:
    entry = cards.next_card(request.user, prefer_card_id=prefer)
    last = cards.last_undoable_review(request.user)
    return {"entry": entry, "client_seq": cards.new_client_seq(), "notice": notice, "error": error,
            "last_review": last, "last_grade": Grade(last.grade).label if last else "",
            "is_personal": bool(entry and hasattr(entry.card, "personal_owner"))}


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def review(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _grade(request)
    return render(request, "learning/card_review.html", _review_context(request, prefer=_int(request.GET.get("card"))))


def _grade(request: HttpRequest) -> HttpResponse:
    card_id = _int(request.POST.get("card"))
    try:
        if card_id is None:
            raise InvalidInput("the form names no card; reload the page")
        version = _int(request.POST.get("version"))
        if version is None:
            raise InvalidInput("the form does not say which version of the card you saw; reload the page")
        done = cards.record_review(request.user, card_id, request.POST.get("grade", ""),
                                   client_seq=request.POST.get("client_seq", ""), expected_version=version)
    except DomainError as error:
        if not _is_htmx(request) and error.status == 409:
            messages.warning(request, error.message)
            return redirect("cards_review")
        context = _review_context(request, error=error.message)
        return render(request, _template(request), context, status=error.status)
    notice = (f"Saved: {Grade(done.review.grade).label} — this card comes back in {format_interval(done.interval)}."
              if not done.replayed else "That grade was already saved.")
    if _is_htmx(request):
        return render(request, "learning/_card_review.html", _review_context(request, notice=notice))
    messages.success(request, notice)
    return redirect("cards_review", permanent=False)


def _template(request: HttpRequest) -> str:
    return "learning/_card_review.html" if _is_htmx(request) else "learning/card_review.html"


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def undo(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("cards_review")
    try:
        undone = cards.undo_last_review(request.user, review_id=_int(request.POST.get("review_id")))
    except DomainError as error:
        return render(request, _template(request), _review_context(request, error=error.message), status=error.status)
    notice = "Review undone: here is that card again."
    if _is_htmx(request):
        return render(request, "learning/_card_review.html",
                      _review_context(request, prefer=undone.review.card_id, notice=notice))
    messages.success(request, notice)
    return redirect(f"{reverse('cards_review')}?card={undone.review.card_id}")


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def from_answer(request: HttpRequest) -> HttpResponse:
    """"Make a card" on the feedback page of a question answered wrongly."""
    if request.method != "POST":
        return redirect("cards")
    made = cards.make_card_from_answer(request.user, _int(request.POST.get("response")) or 0)
    text = "Card added to your deck." if made.created else "This question is already in your deck."
    if _is_htmx(request):
        return render(request, "learning/_card_made.html", {"made": made, "text": text})
    messages.success(request, text)
    return redirect("cards")
