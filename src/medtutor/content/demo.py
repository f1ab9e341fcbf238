"""The demo: original content written for medtutor, three users per role and one cohort."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from medtutor.accounts.models import Accommodation, Cohort, Role, User
from medtutor.content import services
from medtutor.content.importers import parse

DEMO_PASSWORD = "medtutor-demo"
DEMO_FILES = ("outline.jsonl", "items.jsonl", "cards.jsonl")
DEMO_USERS = [(f"{role.value}{n}", role) for role in (Role.STUDENT, Role.FACULTY, Role.ADMIN) for n in (1, 2, 3)]


def demo_dir() -> Path:
    """demo/ at the project root (next to src/), or MEDTUTOR_DEMO_DIR."""
    configured = os.environ.get("MEDTUTOR_DEMO_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "demo"


@dataclass(frozen=True)
class DemoLoaded:
    summaries: list[services.ImportSummary]
    users_created: int


def load_demo(progress: services.Progress | None = None) -> DemoLoaded:
    """Idempotent: a second run changes nothing and creates no duplicates."""
    folder = demo_dir()
    missing = [name for name in DEMO_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"demo content not found in {folder} (missing {', '.join(missing)}); "
                                "set MEDTUTOR_DEMO_DIR to the folder holding it")
    with transaction.atomic():
        created = _demo_users()
        summaries = []
        for name in DEMO_FILES:
            data = (folder / name).read_bytes()
            bundle = parse(data, "medtutor", filename=name)
            summaries.append(services.import_bundle(bundle, actor=None, filename=f"demo/{name}", fmt="medtutor",
                                                    progress=progress))
        if (folder / "cases").is_dir():  # virtual-patient cases (simulation app)
            from medtutor.simulation.demo import load_demo_cases

            load_demo_cases(folder / "cases", Cohort.objects.filter(code="class-of-2028").first())
        if (folder / "ai-course").is_dir():  # the faculty course on AI in medical education (governance app)
            from medtutor.governance.ai_course import load_course

            summaries.append(load_course(folder / "ai-course", progress=progress).summary)
    return DemoLoaded(summaries, created)


def _demo_users() -> int:
    created = 0
    cohort, _ = Cohort.objects.get_or_create(code="class-of-2028", defaults={"name": "Class of 2028", "year": 2028})
    for username, role in DEMO_USERS:
        user, made = User.objects.get_or_create(
            username=username, defaults={"role": role, "display_name": f"Demo {role.label.lower()} {username[-1]}"})
        if made:
            user.set_password(DEMO_PASSWORD)
            user.save()
            created += 1
        cohort.members.add(user)
        if role == Role.STUDENT:
            Accommodation.objects.get_or_create(
                user=user, defaults={"extra_time_percent": 25 if username.endswith("2") else 0,
                                     "rest_breaks": username.endswith("2")})
    return created


def login_help() -> str:
    lines = ["Demo logins (password for all: " + DEMO_PASSWORD + "):"]
    for role in (Role.STUDENT, Role.FACULTY, Role.ADMIN):
        names = ", ".join(u for u, r in DEMO_USERS if r == role)
        lines.append(f"  {role.label:<22} {names}")
    return "\n".join(lines)
