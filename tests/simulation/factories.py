"""Virtual-patient objects for tests: a case from a demo file, assigned to a cohort, and a session."""

from __future__ import annotations

from pathlib import Path

from medtutor.accounts.models import Cohort, Role, User
from medtutor.simulation import services
from medtutor.simulation.models import Case

DEMO_CASES = Path(__file__).resolve().parents[2] / "demo" / "cases"


def demo_case(name: str = "anaphylaxis-peanut") -> Case:
    text = (DEMO_CASES / f"{name}.yaml").read_text(encoding="utf-8")
    saved = services.import_case_text(None, text, source="test")
    return (saved.created + saved.updated + saved.unchanged)[0]


def assigned_case(cohort: Cohort, name: str = "anaphylaxis-peanut", *, osce: bool = False) -> Case:
    case = demo_case(name)
    if osce:
        case.osce_time_limit_minutes = 8
        case.save()
    services.assign(None, case, cohort, osce_mode=osce)
    return case


def case_and_session_ids(student_id: int) -> tuple[int, int]:
    """For the authorization matrix: a case assigned to a cohort holding the student and every faculty
    account, and an open session of that student on it."""
    student = User.objects.get(pk=student_id)
    cohort, _ = Cohort.objects.get_or_create(code="vp-matrix", defaults={"name": "VP matrix"})
    cohort.members.add(student, *User.objects.filter(role=Role.FACULTY))
    case = assigned_case(cohort)
    session = services.start_session(student, case)
    return case.pk, session.pk
