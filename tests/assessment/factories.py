"""Exams for tests: items in the bank, an exam over them, and ids for the authorization matrix."""

from __future__ import annotations

from datetime import UTC, datetime

from medtutor.assessment.models import Exam, ExamBuild, ExamItem, ExamMode
from medtutor.content.models import Item
from tests.conftest import make_record

T0 = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


def make_items(n: int, *, prefix: str = "ex", competency: str = "cardio.hf", discipline: str = "pharm",
               difficulty: str = "easy", actor=None) -> list[Item]:
    from medtutor.content.importers import records as rec
    from medtutor.content.services import save_item

    items = []
    for i in range(n):
        external_id = f"{prefix}-{i}"
        options = tuple(rec.OptionRecord(f"{external_id} option {letter}", f"Why {letter} for {external_id}")
                        for letter in "ABCD")
        save_item(None, make_record(external_id, stem=f"Stem of {external_id}: a patient presents.",
                                    options=options, key=i % 4, competency=competency, discipline=discipline,
                                    objective="cardio.hf.1" if competency == "cardio.hf" else None,
                                    difficulty=difficulty), actor=actor)
        items.append(Item.objects.get(external_id=external_id))
    return items


def make_exam(items: list[Item], *, mode: str = ExamMode.TIMED, time_limit_minutes: int | None = 60,
              title: str = "Cardiology block", **fields) -> Exam:
    exam = Exam.objects.create(title=title, mode=mode, build=ExamBuild.MANUAL, time_limit_minutes=time_limit_minutes,
                               created_at=T0, updated_at=T0, **fields)
    ExamItem.objects.bulk_create([ExamItem(exam=exam, item=item, position=n) for n, item in enumerate(items, 1)])
    return exam


def exam_and_attempt_ids(item_id: int, student_id: int) -> tuple[int, int]:
    """An exam over one item and an open attempt of that student on it (for URL patterns that need ids)."""
    from medtutor.accounts.models import User
    from medtutor.assessment import services

    exam = make_exam([Item.objects.get(pk=item_id)], time_limit_minutes=None, title="Matrix exam")
    attempt = services.start_attempt(User.objects.get(pk=student_id), exam.pk)
    return exam.pk, attempt.pk
