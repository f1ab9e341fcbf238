"""Demo virtual-patient cases (demo/cases/*.yaml, written for medtutor) for `medtutor demo load`."""

from __future__ import annotations

from pathlib import Path

from medtutor.accounts.models import Cohort
from medtutor.core import clock
from medtutor.simulation import services
from medtutor.simulation.models import CaseAssignment


def load_demo_cases(folder: Path, cohort: Cohort | None = None) -> services.SavedCases:
    """Save every demo case (new versions only when a file changed) and assign each to the cohort.

    All files are validated before anything is written; one bad file stops the whole load.
    """
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        cases.extend(services.parse_cases(path.read_text(encoding="utf-8"), fmt="yaml"))
    saved = services.save_cases(None, cases, source="demo")
    if cohort is not None:
        for case in saved.created + saved.updated + saved.unchanged:
            CaseAssignment.objects.get_or_create(case=case, cohort=cohort, defaults={"created_at": clock.now()})
    return saved
