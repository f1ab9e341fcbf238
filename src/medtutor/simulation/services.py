"""Virtual patients: the Python API the views and the CLI call.

Rules kept here:
- every learner action is an append-only ``SessionEvent`` committed (one transaction, the session
  row locked) before the view acknowledges it; a repeated client token returns the stored event,
  so a double-click or a retried request records nothing twice; a reload rebuilds the page from
  the stored events;
- the simulated clock belongs to the server: each action costs simulated minutes, test results
  appear only once the clock reaches their turnaround, and vital signs are recomputed by
  replaying the session's interventions through the pure physiology engine (seeded);
- an OSCE session ends at its real-time limit on the next access (the server owns the deadline);
- the debrief is an automatic assessment: it is recorded with ``record_decision`` and shows its
  reasons and confidence; faculty may override the score (``record_override``);
- students see only their own sessions; faculty see sessions of students in their cohorts;
  administrators see all.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from medtutor.accounts.models import Cohort, User
from medtutor.core import audit, clock
from medtutor.core.errors import InvalidInput, NotFound, PermissionDenied
from medtutor.core.permissions import ADMIN, FACULTY, STUDENT, has_role
from medtutor.simulation.engine import interview, physiology, scoring
from medtutor.simulation.engine.case import Case as CaseSpec
from medtutor.simulation.engine.case import (
    CaseValidationError,
    Problem,
    case_list,
    case_to_dict,
    load_case,
    parse_case_text,
    validate_case_data,
)
from medtutor.simulation.models import Case, CaseAssignment, EventKind, Session, SessionEvent, SessionState

QUESTION_MINUTES = 1
EXAM_MINUTES = 2
TEST_ORDER_MINUTES = 1
ADVANCE_CHOICES = (1, 5, 15, 30, 60)
MAX_QUESTION_CHARS = 2000
MAX_DIAGNOSIS_CHARS = 300
MAX_DIFFERENTIAL = 10
MAX_EVENTS = 2000


# ---------------------------------------------------------------------------------------------
# Cases


def spec(case_or_session: Case | Session) -> CaseSpec:
    data = case_or_session.case_data if isinstance(case_or_session, Session) else case_or_session.data
    return load_case(data)


def _problems_error(error: CaseValidationError) -> InvalidInput:
    details = [str(p) for p in error.problems]
    return InvalidInput(f"The case file has {len(details)} problem(s); nothing was saved.", details=details)


def parse_cases(text: str, fmt: str | None = None) -> list[CaseSpec]:
    """Every case in a YAML/JSON text, or InvalidInput listing every problem (all-or-nothing)."""
    if not text or not text.strip():
        raise InvalidInput("The case file is empty.", details=["file: is empty"])
    try:
        data = parse_case_text(text, fmt=fmt)
    except CaseValidationError as error:
        raise _problems_error(error) from None
    cases, problems = validate_case_data(data)
    # The case format accepts any scenario slug; here it must name one the physiology engine has.
    for index, case in enumerate(cases):
        if case.physiology_scenario and case.physiology_scenario not in physiology.SCENARIOS:
            prefix = case_list(data)[1]
            where = f"{prefix}[{index}].physiology_scenario" if prefix else "physiology_scenario"
            problems.append(Problem(where, f"unknown scenario {case.physiology_scenario!r} (known: "
                                           f"{', '.join(sorted(physiology.SCENARIOS))})"))
    if problems:
        raise _problems_error(CaseValidationError(problems))
    return cases


@dataclass(frozen=True)
class SavedCases:
    created: list[Case]
    updated: list[Case]
    unchanged: list[Case]


def save_cases(actor: User | None, cases: list[CaseSpec], *, source: str) -> SavedCases:
    """Create or update (new version) each case by its id, in one transaction."""
    created, updated, unchanged = [], [], []
    now = clock.now()
    with transaction.atomic():
        for spec_ in cases:
            data = case_to_dict(spec_)
            existing = Case.objects.select_for_update().filter(slug=spec_.id).first()
            if existing is None:
                case = Case.objects.create(slug=spec_.id, title=spec_.title, data=data, source=source[:300],
                                           author=actor, physiology_scenario=spec_.physiology_scenario or "",
                                           created_at=now, updated_at=now)
                created.append(case)
            elif existing.data == data:
                unchanged.append(existing)
                continue
            else:
                existing.data, existing.title = data, spec_.title
                existing.physiology_scenario = spec_.physiology_scenario or ""
                existing.version += 1
                existing.updated_at = now
                existing.source = source[:300] or existing.source
                existing.save()
                updated.append(existing)
        if created or updated:
            audit.record_action(actor, "vp.cases_saved", data={
                "source": source, "created": [c.slug for c in created], "updated": [c.slug for c in updated]})
    return SavedCases(created, updated, unchanged)


def import_case_text(actor: User | None, text: str, *, source: str, fmt: str | None = None) -> SavedCases:
    return save_cases(actor, parse_cases(text, fmt), source=source)


def json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class ImportResult:
    filename: str
    saved: SavedCases
    reported: list[tuple[str, str]]       # (record label, reason) for records not imported
    total: int


def import_file(actor: User | None, kind: str, text: str, *, filename: str, skip_invalid: bool = False) -> ImportResult:
    """A medtutor case file (all or nothing) or an AgentClinic/CRAFT-MD collection.

    A collection imports only when every record converts, unless ``skip_invalid`` is set, in which
    case the valid records are saved and each other record is reported with its reason.
    """
    source = f"import:{kind}:{filename}"[:300]
    if kind == "medtutor":
        cases = parse_cases(text)
        return ImportResult(filename, save_cases(actor, cases, source=source), [], len(cases))
    from medtutor.simulation.engine import importers

    if kind == "agentclinic":
        report = importers.import_jsonl(text, source=filename)
    elif kind == "craftmd":
        report = importers.import_craftmd_csv(text, source=filename)
    else:
        raise InvalidInput(f"kind: unknown format {kind!r}")
    reported = [(r.label, "; ".join(r.problems) or "not imported") for r in report.results if not r.ok]
    if not report.results:
        raise InvalidInput("The file holds no records.", details=["file: no records found"])
    if reported and not skip_invalid:
        raise InvalidInput(f"{len(reported)} of {len(report.results)} records cannot be imported; nothing was saved.",
                           details=[f"{label}: {reason}" for label, reason in reported])
    return ImportResult(filename, save_cases(actor, report.cases, source=source), reported, len(report.results))


def set_osce(actor: User, case: Case, *, checklist: list[str], time_limit_minutes: int | None) -> Case:
    checklist = [line.strip()[:300] for line in checklist if line.strip()][:50]
    if time_limit_minutes is not None and not 1 <= time_limit_minutes <= 240:
        raise InvalidInput("time_limit_minutes: must be between 1 and 240")
    with transaction.atomic():
        case.osce_checklist, case.osce_time_limit_minutes = checklist, time_limit_minutes
        case.updated_at = clock.now()
        case.save(update_fields=["osce_checklist", "osce_time_limit_minutes", "updated_at"])
        audit.record_action(actor, "vp.osce_set", subject=case,
                            data={"checklist": checklist, "time_limit_minutes": time_limit_minutes})
    return case


def assign(actor: User, case: Case, cohort: Cohort, *, osce_mode: bool = False) -> CaseAssignment:
    if osce_mode and not case.osce_time_limit_minutes:
        raise InvalidInput("osce_mode: set the station's time limit first")
    with transaction.atomic():
        assignment, made = CaseAssignment.objects.get_or_create(
            case=case, cohort=cohort,
            defaults={"osce_mode": osce_mode, "assigned_by": actor, "created_at": clock.now()})
        if not made and assignment.osce_mode != osce_mode:
            assignment.osce_mode = osce_mode
            assignment.save(update_fields=["osce_mode"])
        audit.record_action(actor, "vp.case_assigned", subject=case,
                            data={"cohort": cohort.code, "osce_mode": osce_mode})
    return assignment


def unassign(actor: User, assignment: CaseAssignment) -> None:
    with transaction.atomic():
        audit.record_action(actor, "vp.case_unassigned", subject=assignment.case,
                            data={"cohort": assignment.cohort.code})
        assignment.delete()


def cases_for(user: User) -> QuerySet[Case]:
    if has_role(user, FACULTY, ADMIN):
        return Case.objects.all()
    return Case.objects.filter(is_active=True, assignments__cohort__members=user).distinct()


def visible_case(user: User, case_id: int) -> Case:
    case = cases_for(user).filter(pk=case_id).first()
    if case is None:
        raise NotFound("No such case (or it is not assigned to you).")
    return case


# ---------------------------------------------------------------------------------------------
# Sessions


def sessions_for(user: User) -> QuerySet[Session]:
    """Students: their own. Faculty: students sharing a cohort with them. Administrators: all."""
    base = Session.objects.select_related("student", "case")
    if has_role(user, ADMIN):
        return base
    if has_role(user, FACULTY):
        cohorts = Cohort.objects.filter(members=user)
        return base.filter(student__cohorts__in=cohorts).distinct()
    return base.filter(student=user)


def visible_session(user: User, session_id: int) -> Session:
    session = sessions_for(user).filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    return session


def start_session(student: User, case: Case) -> Session:
    """Resume the student's open session on this case, or start one (one transaction)."""
    if not has_role(student, STUDENT):
        raise PermissionDenied("Only students run virtual-patient sessions.")
    if not cases_for(student).filter(pk=case.pk).exists():
        raise NotFound("No such case (or it is not assigned to you).")
    with transaction.atomic():
        open_ = Session.objects.select_for_update().filter(student=student, case=case,
                                                           state=SessionState.ACTIVE).first()
        if open_ is not None:
            return open_
        osce = CaseAssignment.objects.filter(case=case, cohort__members=student, osce_mode=True).exists()
        session = Session.objects.create(
            student=student, case=case, case_version=case.version, case_data=case.data,
            seed=random.SystemRandom().randrange(1, 2**31), started_at=clock.now(), osce_mode=osce,
            time_limit_minutes=case.osce_time_limit_minutes if osce else None)
        audit.record_action(student, "vp.session_started", subject=session,
                            data={"case": case.slug, "version": case.version, "osce": osce})
    return session


def deadline(session: Session) -> Any:
    if not session.time_limit_minutes:
        return None
    return session.started_at + timedelta(minutes=session.time_limit_minutes)


def seconds_left(session: Session) -> int | None:
    end = deadline(session)
    if end is None:
        return None
    return max(0, int((end - clock.now()).total_seconds()))


def refresh(session: Session) -> Session:
    """End an OSCE session past its time limit (the server owns the deadline)."""
    end = deadline(session)
    if session.is_active and end is not None and clock.now() >= end:
        _finish(session, SessionState.TIMED_OUT, actor=session.student)
        session.refresh_from_db()
    return session


@dataclass(frozen=True)
class Recorded:
    event: SessionEvent
    duplicate: bool


def _append(session: Session, kind: str, detail: str, *, answer: str = "", data: dict[str, Any] | None = None,
            cost_minutes: int = 0, token: str = "") -> Recorded:
    token = (token or "")[:64]
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if token:
            existing = SessionEvent.objects.filter(session=locked, client_token=token).first()
            if existing is not None:
                return Recorded(existing, True)
        if locked.state != SessionState.ACTIVE:
            raise InvalidInput("This session has ended; open its debrief.")
        last = SessionEvent.objects.filter(session=locked).order_by("-seq").values_list("seq", flat=True).first()
        if (last or 0) >= MAX_EVENTS:
            raise InvalidInput("This session has reached its limit of actions; submit your diagnosis.")
        event = SessionEvent.objects.create(session=locked, seq=(last or 0) + 1, kind=kind, minute=locked.sim_minute,
                                            detail=detail, answer=answer, data=data or {}, client_token=token,
                                            created_at=clock.now())
        if cost_minutes:
            locked.sim_minute = min(physiology.MAX_MINUTES, locked.sim_minute + cost_minutes)
            locked.save(update_fields=["sim_minute"])
    session.sim_minute = locked.sim_minute
    return Recorded(event, False)


def _require_active(session: Session) -> None:
    refresh(session)
    if not session.is_active:
        raise InvalidInput("This session has ended; open its debrief.")


def ask(session: Session, question: str, *, token: str = "") -> Recorded:
    _require_active(session)
    question = (question or "").strip()
    if not question:
        raise InvalidInput("question: type a question for the patient.")
    question = question[:MAX_QUESTION_CHARS]
    reply = interview.answer(spec(session), question)
    return _append(session, EventKind.QUESTION, question, answer=reply.text,
                   data={"fact_ids": list(reply.fact_ids), "intent": reply.intent}, cost_minutes=QUESTION_MINUTES,
                   token=token)


def examine(session: Session, system: str, *, token: str = "") -> Recorded:
    _require_active(session)
    case = spec(session)
    systems = exam_systems(case)
    if system not in systems:
        raise InvalidInput(f"system: choose one of {', '.join(systems)}")
    if system == "vitals" and case.physiology_scenario:
        answer = describe_vitals(current_vitals(session, case))
    else:
        answer = "\n".join(f.text for f in case.findings(system)) or "Nothing abnormal found."
    return _append(session, EventKind.EXAM, system, answer=answer, cost_minutes=1 if system == "vitals" else EXAM_MINUTES,
                   token=token)


def exam_systems(case: CaseSpec) -> tuple[str, ...]:
    systems = list(case.exam_systems())
    if "vitals" not in systems and (case.vitals is not None or case.physiology_scenario):
        systems.insert(0, "vitals")
    return tuple(systems)


def order_test(session: Session, name: str, *, token: str = "") -> Recorded:
    _require_active(session)
    name = (name or "").strip()[:300]
    if not name:
        raise InvalidInput("test: choose a test to order.")
    test = spec(session).test(name)
    if test is None:
        return _append(session, EventKind.TEST, name, answer="This test is not available for this patient.",
                       data={"known": False, "cost": 0, "result_minute": session.sim_minute},
                       cost_minutes=TEST_ORDER_MINUTES, token=token)
    return _append(session, EventKind.TEST, test.name, answer=test.result,
                   data={"known": True, "cost": test.cost, "category": test.category,
                         "result_minute": session.sim_minute + test.turnaround_minutes},
                   cost_minutes=TEST_ORDER_MINUTES, token=token)


def intervene(session: Session, code: str, *, token: str = "") -> Recorded:
    _require_active(session)
    intervention = physiology.INTERVENTIONS.get(code)
    if intervention is None:
        raise InvalidInput(f"intervention: unknown intervention {code!r}")
    return _append(session, EventKind.INTERVENTION, code, answer=intervention.label,
                   data={"category": intervention.category}, cost_minutes=intervention.minutes, token=token)


def advance_time(session: Session, minutes: int, *, token: str = "") -> Recorded:
    _require_active(session)
    if minutes not in ADVANCE_CHOICES:
        raise InvalidInput(f"minutes: choose one of {', '.join(map(str, ADVANCE_CHOICES))}")
    return _append(session, EventKind.ADVANCE, f"{minutes} min", cost_minutes=minutes, token=token)


def submit_diagnosis(session: Session, leading: str, differential: list[str], *, token: str = "") -> Session:
    _require_active(session)
    leading = (leading or "").strip()
    if not leading:
        raise InvalidInput("diagnosis: enter your leading diagnosis.")
    if len(leading) > MAX_DIAGNOSIS_CHARS:
        raise InvalidInput(f"diagnosis: keep it under {MAX_DIAGNOSIS_CHARS} characters.")
    ranked = [d.strip()[:MAX_DIAGNOSIS_CHARS] for d in differential if d and d.strip()][:MAX_DIFFERENTIAL]
    with transaction.atomic():
        _append(session, EventKind.DIAGNOSIS, leading, data={"differential": ranked}, token=token)
        _finish(session, SessionState.SUBMITTED, actor=session.student)
    session.refresh_from_db()
    return session


# ---------------------------------------------------------------------------------------------
# Reading a session


def events(session: Session) -> list[SessionEvent]:
    return list(session.events.order_by("seq"))


def doses(session_events: list[SessionEvent]) -> list[tuple[int, str]]:
    return [(e.minute, e.detail) for e in session_events if e.kind == EventKind.INTERVENTION]


def current_vitals(session: Session, case: CaseSpec | None = None,
                   session_events: list[SessionEvent] | None = None) -> physiology.Vitals | None:
    case = case or spec(session)
    if case.physiology_scenario in physiology.SCENARIOS:
        timeline = session_events if session_events is not None else events(session)
        return physiology.simulate(case.physiology_scenario, session.seed, doses(timeline), session.sim_minute).vitals()
    v = case.vitals
    if v is None or v.heart_rate is None:
        return None
    return physiology.Vitals(
        minute=session.sim_minute, heart_rate=round(v.heart_rate), systolic_bp=round(v.systolic_bp or 0),
        diastolic_bp=round(v.diastolic_bp or 0), respiratory_rate=round(v.respiratory_rate or 0),
        spo2=round(v.spo2 or 0), temperature_c=v.temperature_c or 0.0, gcs=round(v.gcs or 15),
        glucose_mmol_l=v.glucose_mmol_l)


def vitals_history(session: Session, case: CaseSpec, session_events: list[SessionEvent],
                   points: int = 8) -> list[physiology.Vitals]:
    if case.physiology_scenario not in physiology.SCENARIOS or session.sim_minute == 0:
        return []
    every = max(1, session.sim_minute // points)
    return physiology.trajectory(case.physiology_scenario, session.seed, doses(session_events), session.sim_minute,
                                 every=every)


def describe_vitals(v: physiology.Vitals | None) -> str:
    if v is None:
        return "No vital signs recorded."
    if v.arrested:
        return "No pulse, not breathing: cardiac arrest."
    text = (f"HR {v.heart_rate}/min, BP {v.systolic_bp}/{v.diastolic_bp} mmHg (MAP {v.mean_arterial_pressure}), "
            f"RR {v.respiratory_rate}/min, SpO2 {v.spo2}%, T {v.temperature_c} C, GCS {v.gcs} ({v.avpu})")
    if v.glucose_mmol_l is not None:
        text += f", glucose {v.glucose_mmol_l} mmol/L"
    return text


def test_results(session: Session, session_events: list[SessionEvent]) -> list[dict[str, Any]]:
    """Ordered tests with the result only once the simulated clock has reached it."""
    out = []
    for e in session_events:
        if e.kind != EventKind.TEST:
            continue
        ready_at = int(e.data.get("result_minute", e.minute))
        ready = session.sim_minute >= ready_at or not session.is_active
        out.append({"name": e.detail, "ordered_at": e.minute, "ready_at": ready_at, "ready": ready,
                    "result": e.answer if ready else "", "cost": e.data.get("cost", 0),
                    "known": e.data.get("known", True)})
    return out


def timeline(session_events: list[SessionEvent]) -> list[scoring.TimelineEvent]:
    return [scoring.TimelineEvent(
        minute=e.minute, kind=e.kind, detail=e.detail, answer=e.answer,
        fact_ids=tuple(e.data.get("fact_ids", ())), differential=tuple(e.data.get("differential", ())),
        result_minute=e.data.get("result_minute")) for e in session_events]


def compute_debrief(session: Session, session_events: list[SessionEvent] | None = None) -> scoring.Debrief:
    timeline_ = timeline(session_events if session_events is not None else events(session))
    return scoring.score(spec(session), timeline_, end_minute=session.sim_minute)


def _finish(session: Session, state: str, *, actor: Any) -> None:
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.state != SessionState.ACTIVE:
            return
        session_events = events(locked)
        debrief = compute_debrief(locked, session_events)
        summary = debrief.as_dict()
        record = audit.record_decision(
            model_name=debrief.model_name, model_version=debrief.model_version, subject=locked,
            inputs={"case": locked.case.slug, "case_version": locked.case_version,
                    "events": [[e.seq, e.kind, e.minute, e.detail] for e in session_events]},
            output={"overall": debrief.overall, "components": summary["components"]},
            explanation="; ".join(debrief.reasons), confidence=debrief.confidence,
            action="vp.debrief", actor=actor)
        locked.state, locked.ended_at = state, clock.now()
        locked.debrief, locked.score, locked.decision = summary, debrief.overall, record
        locked.save(update_fields=["state", "ended_at", "debrief", "score", "decision"])


def override_score(actor: User, session: Session, *, score: float, reason: str) -> Session:
    if session.decision is None:
        raise InvalidInput("This session has no debrief to override yet.")
    if not 0 <= score <= 100:
        raise InvalidInput("score: must be between 0 and 100")
    if not reason.strip():
        raise InvalidInput("reason: say why you are changing the score")
    with transaction.atomic():
        audit.record_override(session.decision, actor=actor, output={"overall": score}, reason=reason.strip()[:2000])
        Session.objects.filter(pk=session.pk).update(score=score)
    session.refresh_from_db()
    return session


def mark_checklist(actor: User, session: Session, done: set[int]) -> Session:
    """The OSCE examiner ticks the station's checklist for this session (stored and audited)."""
    items = list(session.case.osce_checklist)
    if not items:
        raise InvalidInput("This station has no checklist.")
    if any(i < 0 or i >= len(items) for i in done):
        raise InvalidInput("checklist: unknown item")
    marks = {"items": items, "done": [i in done for i in range(len(items))], "by": actor.get_username(),
             "at": clock.now().isoformat()}
    with transaction.atomic():
        Session.objects.filter(pk=session.pk).update(osce_marks=marks)
        audit.record_action(actor, "vp.osce_marked", subject=session,
                            data={"done": sum(marks["done"]), "of": len(items)})
    session.refresh_from_db()
    return session


def checklist_rows(session: Session) -> list[tuple[int, str, bool | None]]:
    """(index, item, ticked or None when not marked yet) for the station's checklist."""
    marks = session.osce_marks or {}
    items = marks.get("items") or list(session.case.osce_checklist)
    done = marks.get("done") or []
    return [(i, item, done[i] if i < len(done) else None) for i, item in enumerate(items)]


def overrides(session: Session) -> QuerySet[Any]:
    from medtutor.core.models import AuditRecord

    if session.decision_id is None:
        return AuditRecord.objects.none()
    return AuditRecord.objects.filter(overrides_id=session.decision_id).order_by("seq")


def assignable_cohorts(user: User) -> QuerySet[Cohort]:
    if has_role(user, ADMIN):
        return Cohort.objects.all()
    return Cohort.objects.filter(members=user)

