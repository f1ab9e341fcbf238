"""Governance pages: the audit log (administrators) and transparency (everyone signed in).

The audit log's logic (filters, keyset pages, exports, chain checks) is in governance/audit_viewer.py;
contests are in contest_views.py, the faculty AI course in course_views.py.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from medtutor.core import clock
from medtutor.core.audit import GENESIS_HASH, record_action
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.core.permissions import ADMIN, AUTHORS, EVERYONE, STUDENT, has_role, roles_required
from medtutor.governance import audit_viewer, contests, model_cards


def _filter_context(request: HttpRequest) -> dict:
    return {
        "kinds": AuditKind.choices,
        "page_sizes": audit_viewer.PAGE_SIZES,
        "model_names": sorted({c.model_name for c in model_cards.all_cards() if c.model_name}),
        "values": {name: request.GET.get(name, "") for name in
                   ("user", "model", "kind", "action", "subject_type", "subject_id", "from", "to", "size")},
    }


@roles_required(ADMIN)
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    """GET: filtered, keyset-paged records. POST: verify the whole chain now (the result is kept)."""
    if request.method == "POST":
        check = audit_viewer.run_chain_check(request.user)
        if check.ok:
            messages.success(request, f"Chain intact: all {check.checked} records checked.")
        else:
            messages.error(request, f"Chain broken at record #{check.first_broken_seq}: {check.reason}.")
        return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
    context = _filter_context(request)
    check = audit_viewer.last_chain_check()
    context.update({"check": check, "since_check": audit_viewer.records_since(check)})
    try:
        wanted = audit_viewer.parse_filters(request.GET)
        result = audit_viewer.page(wanted.apply(AuditRecord.objects.all()), request.GET)
    except InvalidInput as error:
        context.update({"error": error.message, "problems": error.details, "records": []})
        return render(request, "governance/audit.html", context, status=400)
    keep = {**wanted.params(), **({"size": str(result.size)} if "size" in request.GET else {})}
    context.update({
        "records": result.records, "page": result, "filtered": not wanted.is_empty,
        "query": urlencode(keep),
        "older_url": f"?{urlencode({**keep, 'before': result.older_cursor})}" if result.older_cursor else "",
        "newer_url": f"?{urlencode({**keep, 'after': result.newer_cursor})}" if result.newer_cursor else "",
        "export_query": urlencode(wanted.params()),
    })
    return render(request, "governance/audit.html", context)


@roles_required(ADMIN)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered records, oldest first, as CSV or JSON Lines; streamed, with each record's hashes."""
    fmt = request.GET.get("format", "csv")
    try:
        if fmt not in audit_viewer.EXPORT_FORMATS:
            raise InvalidInput(f"format: choose {' or '.join(audit_viewer.EXPORT_FORMATS)}")
        wanted = audit_viewer.parse_filters(request.GET)
    except InvalidInput as error:
        return HttpResponse(f"{error.message}\n", status=400, content_type="text/plain; charset=utf-8")
    record_action(request.user, "audit.exported", subject=("core.auditrecord", "export"),
                  data={"format": fmt, "filters": wanted.params()})
    lines = audit_viewer.export_lines(wanted.apply(AuditRecord.objects.all()), fmt)
    response = StreamingHttpResponse(lines, content_type=audit_viewer.EXPORT_FORMATS[fmt])
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="medtutor-audit-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@roles_required(ADMIN)
@require_GET
def audit_record(request: HttpRequest) -> HttpResponse:
    """One record in full (?seq=N): its output, its hashes, what it overrides, its overrides and contests."""
    raw = request.GET.get("seq", "").strip()
    if not raw:
        return redirect("audit_log")
    if not raw.isdigit() or len(raw) > 18:
        return render(request, "web/error.html", {"status": 400, "message": f"seq: {raw[:30]!r} is not a record number"},
                      status=400)
    record = audit_viewer.with_links(AuditRecord.objects.filter(seq=int(raw))).first()
    if record is None:
        raise Http404(f"there is no audit record #{raw}")
    previous = AuditRecord.objects.filter(seq=record.seq - 1).only("seq", "hash").first()
    return render(request, "governance/audit_record.html", {
        "record": record, "previous": previous,
        "output_json": json.dumps(record.output, indent=2, sort_keys=True, ensure_ascii=False),
        "next": AuditRecord.objects.filter(seq=record.seq + 1).only("seq").first(),
        "link_ok": (previous.hash if previous else GENESIS_HASH) == record.prev_hash,
        "contests": record.contests.select_related("student", "reviewer", "outcome_record") if record.kind == AuditKind.DECISION else [],
        "decision_label": contests.decision_label(record),
    })


@roles_required(*EVERYONE)
def transparency(request: HttpRequest) -> HttpResponse:
    decisions = AuditRecord.objects.filter(kind=AuditKind.DECISION)
    context = {
        "cards": model_cards.all_cards(),
        "decisions": decisions.count(),
        "overrides": AuditRecord.objects.filter(kind=AuditKind.OVERRIDE).count(),
    }
    if has_role(request.user, STUDENT):
        mine = list(contests.decisions_about(request.user)[:10])
        open_ids = set(contests.Contest.objects.filter(decision__in=mine, status=contests.ContestStatus.OPEN)
                       .values_list("decision_id", flat=True))
        context.update({"my_decisions": [(d, contests.decision_label(d), d.pk in open_ids) for d in mine],
                        "my_open_contests": contests.contests_of(request.user).filter(
                            status=contests.ContestStatus.OPEN).count()})
    elif has_role(request.user, *AUTHORS):
        context["open_contests"] = contests.visible_contests(request.user).filter(
            status=contests.ContestStatus.OPEN).count()
    return render(request, "governance/transparency.html", context)


@roles_required(*EVERYONE)
def model_card(request: HttpRequest, slug: str) -> HttpResponse:
    found = model_cards.card(slug)
    if found is None:
        raise Http404("no such model card")
    return render(request, "governance/model_card.html", {"card": found})
