"""Virtual-patient pages: students run encounters and read debriefs; faculty author, import,
assign and review. Thin views: the rules live in ``services``.

Encounter actions post to one URL; with HTMX the response is the re-rendered encounter body,
without JavaScript the page redirects back (post/redirect/get), so both work and a reload always
rebuilds the page from the stored events.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, EVERYONE, STUDENT, has_role, roles_required
from medtutor.simulation import services
from medtutor.simulation.engine import physiology
from medtutor.simulation.engine.case import case_to_dict
from medtutor.simulation.forms import FORM_SECTIONS, AssignForm, CaseFileForm, CaseForm, OsceForm, OverrideForm
from medtutor.simulation.models import Case, CaseAssignment

INTERVENTION_GROUPS = (("airway_breathing", "Airway and breathing"), ("circulation", "Circulation"),
                       ("drug", "Drugs"), ("procedure", "Procedures"))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- lists -------------------------------------------------------------------------------------


@roles_required(*EVERYONE)
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if has_role(user, *AUTHORS):
        cases = Case.objects.annotate(n_sessions=Count("sessions"), n_cohorts=Count("assignments", distinct=True))
        return render(request, "simulation/case_list_faculty.html", {"cases": cases})
    cases = list(services.cases_for(user))
    sessions = services.sessions_for(user).order_by("-started_at")[:50]
    open_by_case = {s.case_id: s for s in sessions if s.is_active}
    osce_cases = set(CaseAssignment.objects.filter(cohort__members=user, osce_mode=True).values_list("case_id", flat=True))
    rows = [{"case": c, "open": open_by_case.get(c.pk), "osce": c.pk in osce_cases,
             "acute": bool(c.physiology_scenario)} for c in cases]
    return render(request, "simulation/case_list_student.html", {"rows": rows, "sessions": sessions})


@roles_required(*AUTHORS)
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = services.sessions_for(request.user).order_by("-started_at")
    case_id = request.GET.get("case", "")
    if case_id.isdigit():
        sessions = sessions.filter(case_id=int(case_id))
    return render(request, "simulation/session_list.html", {"sessions": sessions[:200]})


# --- faculty: cases ------------------------------------------------------------------------------


def _case(case_id: int) -> Case:
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"there is no case {case_id}")
    return case


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def case_detail(request: HttpRequest, vp_case_id: int) -> HttpResponse:
    case = _case(vp_case_id)
    cohorts = services.assignable_cohorts(request.user)
    assign_form = AssignForm(cohorts=cohorts)
    osce_form = OsceForm(initial={"time_limit_minutes": case.osce_time_limit_minutes,
                                  "checklist": "\n".join(case.osce_checklist)})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "assign":
                assign_form = AssignForm(request.POST, cohorts=cohorts)
                if assign_form.is_valid():
                    services.assign(request.user, case, assign_form.cleaned_data["cohort"],
                                    osce_mode=assign_form.cleaned_data["osce_mode"])
                    messages.success(request, f"Assigned to {assign_form.cleaned_data['cohort'].name}.")
                    return redirect("vp_case", vp_case_id=case.pk)
            elif action == "unassign":
                assignment = CaseAssignment.objects.filter(case=case, pk=request.POST.get("assignment") or 0,
                                                           cohort__in=cohorts).first()
                if assignment is None:
                    raise InvalidInput("Choose an assignment to remove.")
                services.unassign(request.user, assignment)
                messages.success(request, "Assignment removed.")
                return redirect("vp_case", vp_case_id=case.pk)
            elif action == "osce":
                osce_form = OsceForm(request.POST)
                if osce_form.is_valid():
                    services.set_osce(request.user, case, checklist=osce_form.cleaned_data["checklist"].splitlines(),
                                      time_limit_minutes=osce_form.cleaned_data["time_limit_minutes"])
                    messages.success(request, "OSCE station settings saved.")
                    return redirect("vp_case", vp_case_id=case.pk)
            else:
                raise InvalidInput("Unknown action.")
        except InvalidInput as error:
            messages.error(request, error.message)
        status = 400
    spec = services.spec(case)
    assignments = case.assignments.select_related("cohort")
    return render(request, "simulation/case_detail.html", {
        "case": case, "spec": spec, "assign_form": assign_form, "osce_form": osce_form,
        "assignments": assignments, "scenario": physiology.SCENARIOS.get(spec.physiology_scenario or ""),
        "n_sessions": services.sessions_for(request.user).filter(case=case).count(),
    }, status=status)


@roles_required(*AUTHORS)
def case_file(request: HttpRequest, vp_case_id: int) -> HttpResponse:
    import yaml

    case = _case(vp_case_id)
    text = yaml.safe_dump(case.data, sort_keys=False, allow_unicode=True, width=110)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{case.slug}.yaml"'
    return response


def _authoring_help() -> dict[str, Any]:
    return {"intervention_codes": list(physiology.INTERVENTIONS.values()),
            "scenarios": list(physiology.SCENARIOS.values())}


def _keep_finding_names(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Findings edited in the form keep the short names the file gave them (the form has no column for it)."""
    names = {(system, f["text"]): f["name"] for system, findings in old.get("examination", {}).items()
             for f in findings if isinstance(f, dict) and f.get("name")}
    for system, findings in new.get("examination", {}).items():
        for finding in findings:
            if isinstance(finding, dict) and (system, finding["text"]) in names:
                finding["name"] = names[(system, finding["text"])]


def _save_form(request: HttpRequest, form: CaseForm, existing: Case | None) -> HttpResponse | None:
    if not form.is_valid():
        return None
    data = form.to_case_data()
    if form.errors:
        return None
    if existing is not None and data["id"] != existing.slug:
        form.add_error("id", "The id of an existing case cannot change; save it as a new case instead.")
        return None
    if existing is None and Case.objects.filter(slug=data["id"]).exists():
        form.add_error("id", "A case with this id exists already.")
        return None
    if existing is not None:  # keep what the form does not show (review of systems, vitals, source, ...)
        data = {**{k: v for k, v in existing.data.items() if k not in FORM_SECTIONS}, **data,
                "source": existing.data.get("source") or data["source"]}
        _keep_finding_names(existing.data, data)
    try:
        cases = services.parse_cases(services.json_text(data), fmt="json")
        saved = services.save_cases(request.user, cases, source="authored")
    except InvalidInput as error:
        form.add_problems(error.details)
        return None
    case = (saved.created or saved.updated or saved.unchanged)[0]
    messages.success(request, f"Saved {case.title} (version {case.version}).")
    return redirect("vp_case", vp_case_id=case.pk)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def case_new(request: HttpRequest) -> HttpResponse:
    form = CaseForm(request.POST or None, initial={"sex": "unknown"})
    if request.method == "POST":
        done = _save_form(request, form, None)
        if done is not None:
            return done
    return render(request, "simulation/case_form.html", {"form": form, "case": None, **_authoring_help()},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def case_edit(request: HttpRequest, vp_case_id: int) -> HttpResponse:
    case = _case(vp_case_id)
    form = CaseForm(request.POST or None, initial=CaseForm.initial_from(case_to_dict(services.spec(case))))
    if request.method == "POST":
        done = _save_form(request, form, case)
        if done is not None:
            return done
    return render(request, "simulation/case_form.html", {"form": form, "case": case, **_authoring_help()},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def case_import(request: HttpRequest) -> HttpResponse:
    form = CaseFileForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.import_file(request.user, data["kind"], data["text"], filename=data["filename"],
                                          skip_invalid=data["skip_invalid"])
        except InvalidInput as error:
            context.update(problems=error.details or [error.message], message=error.message)
            status = 400
        else:
            context["result"] = result
    elif request.method == "POST":
        status = 400
    return render(request, "simulation/import.html", context, status=status)


# --- students: encounter ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def session_start(request: HttpRequest, vp_case_id: int) -> HttpResponse:
    case = services.visible_case(request.user, vp_case_id)
    if request.method == "GET":
        return redirect("vp_cases")
    session = services.start_session(request.user, case)
    return redirect("vp_encounter", vp_session_id=session.pk)


def _own_session(request: HttpRequest, vp_session_id: int) -> Any:
    session = services.visible_session(request.user, vp_session_id)
    if session.student_id != request.user.pk:
        raise NotFound("No such session.")
    return services.refresh(session)


def _encounter_context(request: HttpRequest, session: Any, error: str = "", last_event: Any = None) -> dict[str, Any]:
    spec = services.spec(session)
    events = services.events(session)
    vitals = services.current_vitals(session, spec, events)
    scenario = physiology.SCENARIOS.get(spec.physiology_scenario or "")
    interventions = []
    if scenario is not None:
        for key, label in INTERVENTION_GROUPS:
            items = [iv for iv in physiology.INTERVENTIONS.values() if iv.category == key]
            interventions.append((label, items))
    given = [e for e in events if e.kind == "intervention"]
    return {
        "session": session, "spec": spec, "events": events, "vitals": vitals, "scenario": scenario,
        "history": services.vitals_history(session, spec, events) if scenario else [],
        "conversation": [e for e in events if e.kind == "question"],
        "findings": [e for e in events if e.kind == "exam"],
        "results": services.test_results(session, events), "given": given,
        "systems": services.exam_systems(spec), "interventions": interventions,
        "test_names": [t.name for t in spec.tests], "advance_choices": services.ADVANCE_CHOICES,
        "seconds_left": services.seconds_left(session), "token": uuid.uuid4().hex, "error": error,
        "last_event": last_event,
        "total_cost": sum(r["cost"] for r in services.test_results(session, events)),
    }


@roles_required(STUDENT)
def encounter(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = _own_session(request, vp_session_id)
    if not session.is_active:
        return redirect("vp_debrief", vp_session_id=session.pk)
    return render(request, "simulation/encounter.html", _encounter_context(request, session))


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def act(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = _own_session(request, vp_session_id)
    if request.method == "GET":
        return redirect("vp_encounter", vp_session_id=session.pk)
    if not session.is_active:
        if _is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("vp_debrief", args=[session.pk])
            return response
        return redirect("vp_debrief", vp_session_id=session.pk)
    kind, token = request.POST.get("kind", ""), request.POST.get("token", "")
    error, recorded = "", None
    try:
        if kind == "question":
            recorded = services.ask(session, request.POST.get("question", ""), token=token)
        elif kind == "exam":
            recorded = services.examine(session, request.POST.get("system", ""), token=token)
        elif kind == "test":
            recorded = services.order_test(session, request.POST.get("test", ""), token=token)
        elif kind == "intervention":
            recorded = services.intervene(session, request.POST.get("code", ""), token=token)
        elif kind == "advance":
            minutes = request.POST.get("minutes", "")
            recorded = services.advance_time(session, int(minutes) if minutes.isdigit() else -1, token=token)
        else:
            raise InvalidInput("Unknown action.")
    except InvalidInput as err:
        error = err.message
    session.refresh_from_db()
    if not session.is_active:
        return redirect("vp_debrief", vp_session_id=session.pk)
    if _is_htmx(request):
        context = _encounter_context(request, session, error, recorded.event if recorded else None)
        # 200 even with an error: HTMX swaps only 2xx responses, and the body shows the error itself.
        return render(request, "simulation/_encounter_body.html", context)
    if error:
        messages.error(request, error)
    return redirect(reverse("vp_encounter", args=[session.pk]) + ("#conversation" if kind == "question" else ""))


@require_http_methods(["GET", "POST"])
@roles_required(STUDENT)
def submit(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = _own_session(request, vp_session_id)
    if request.method == "GET" or not session.is_active:
        return redirect("vp_debrief" if not session.is_active else "vp_encounter", vp_session_id=session.pk)
    differential = [line for line in request.POST.get("differential", "").splitlines()]
    try:
        services.submit_diagnosis(session, request.POST.get("diagnosis", ""), differential,
                                  token=request.POST.get("token", ""))
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect(reverse("vp_encounter", args=[session.pk]) + "#diagnosis")
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("vp_debrief", args=[session.pk])
        return response
    return redirect("vp_debrief", vp_session_id=session.pk)


# --- debrief and review ---------------------------------------------------------------------------------


@roles_required(*EVERYONE)
def debrief(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = services.refresh(services.visible_session(request.user, vp_session_id))
    is_owner = session.student_id == request.user.pk
    if session.is_active and is_owner:
        return redirect("vp_encounter", vp_session_id=session.pk)
    events = services.events(session)
    result = services.compute_debrief(session, events)
    spec = services.spec(session)
    return render(request, "simulation/debrief.html", {
        "session": session, "spec": spec, "events": events, "d": result, "is_owner": is_owner,
        "can_override": has_role(request.user, *AUTHORS) and session.decision_id is not None,
        "override_form": OverrideForm(initial={"score": session.score}), "overrides": services.overrides(session),
        "checklist": services.checklist_rows(session) if session.osce_mode else [],
        "checklist_marks": session.osce_marks,
        "final_vitals": services.current_vitals(session, spec, events),
        "vitals_history": services.vitals_history(session, spec, events),
    })


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def override(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = services.visible_session(request.user, vp_session_id)
    if request.method == "POST":
        form = OverrideForm(request.POST)
        if form.is_valid():
            try:
                services.override_score(request.user, session, score=form.cleaned_data["score"],
                                        reason=form.cleaned_data["reason"])
                messages.success(request, "Score overridden; the original assessment stays in the audit log.")
            except InvalidInput as error:
                messages.error(request, error.message)
        else:
            messages.error(request, "Give a score between 0 and 100 and a reason.")
    return redirect("vp_debrief", vp_session_id=session.pk)


@require_http_methods(["GET", "POST"])
@roles_required(*AUTHORS)
def checklist(request: HttpRequest, vp_session_id: int) -> HttpResponse:
    session = services.visible_session(request.user, vp_session_id)
    if request.method == "POST":
        done = {int(v) for v in request.POST.getlist("done") if v.isdigit()}
        try:
            services.mark_checklist(request.user, session, done)
            messages.success(request, "Checklist saved.")
        except InvalidInput as error:
            messages.error(request, error.message)
    return redirect(reverse("vp_debrief", args=[session.pk]) + "#checklist")


__all__ = ["act", "case_detail", "checklist", "case_edit", "case_file", "case_import", "case_list", "case_new", "debrief",
           "encounter", "override", "session_list", "session_start", "submit"]
