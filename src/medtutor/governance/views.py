"""Governance pages: the audit log (administrators) and transparency (everyone signed in)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from medtutor.core.audit import verify_chain
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.core.permissions import ADMIN, EVERYONE, roles_required
from medtutor.governance import model_cards


@roles_required(ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    report = verify_chain() if request.GET.get("verify") else None
    records = AuditRecord.objects.select_related("actor").order_by("-seq")
    kind = request.GET.get("kind", "")
    if kind in AuditKind.values:
        records = records.filter(kind=kind)
    return render(request, "governance/audit.html", {"records": records[:200], "report": report, "kind": kind})


@roles_required(*EVERYONE)
def transparency(request: HttpRequest) -> HttpResponse:
    decisions = AuditRecord.objects.filter(kind=AuditKind.DECISION)
    return render(request, "governance/transparency.html", {
        "cards": model_cards.all_cards(),
        "decisions": decisions.count(),
        "overrides": AuditRecord.objects.filter(kind=AuditKind.OVERRIDE).count(),
    })


@roles_required(*EVERYONE)
def model_card(request: HttpRequest, slug: str) -> HttpResponse:
    found = model_cards.card(slug)
    if found is None:
        raise Http404("no such model card")
    return render(request, "governance/model_card.html", {"card": found})
