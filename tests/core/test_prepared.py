"""core.prepared: the same instances and writes as the ORM's, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from medtutor.assessment import services
from medtutor.assessment.models import Attempt, AttemptItem
from medtutor.core import clock
from medtutor.core.models import AuditRecord, JobRun
from medtutor.core.prepared import PreparedInsert, PreparedSelect, PreparedUpdate
from tests.assessment.factories import make_exam, make_items


@pytest.fixture
def attempt(outline, faculty, student):
    exam = make_exam(make_items(3, actor=faculty))
    return services.start_attempt(student, exam.pk)


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_prepared_read_gives_what_the_orm_gives(attempt):
    item = AttemptItem.objects.get(attempt=attempt, position=2)
    item.struck, item.note, item.answered_at = [1, 3], "why not B?", clock.now()
    item.save()
    by_key = PreparedSelect(AttemptItem, by=("attempt", "position"))
    read = by_key.first(attempt.pk, 2)
    assert isinstance(read, AttemptItem) and not read._state.adding
    assert _fields(read) == _fields(AttemptItem.objects.get(pk=item.pk))  # JSON, datetimes, booleans converted
    assert by_key.first(attempt.pk, 99) is None
    assert _fields(PreparedSelect(Attempt, by=("id",)).first(attempt.pk)) == _fields(Attempt.objects.get(pk=attempt.pk))


def test_a_locking_read_locks_where_the_database_can(attempt):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        PreparedSelect(Attempt, by=("id",), for_update=True).first(attempt.pk)
    sql = queries.captured_queries[-1]["sql"]
    assert sql.endswith("FOR UPDATE") == connection.features.has_select_for_update


def test_the_wrong_number_of_key_values_is_refused(attempt):
    with pytest.raises(TypeError, match="expected 2 value"):
        PreparedSelect(AttemptItem, by=("attempt", "position")).first(attempt.pk)


def test_a_prepared_update_writes_what_save_would(attempt):
    item = AttemptItem.objects.get(attempt=attempt, position=1)
    item.chosen_index, item.struck, item.note, item.last_seq = 2, [0], "changed", 7
    item.is_correct = True  # not in the update's fields: must stay as stored
    assert PreparedUpdate(AttemptItem, fields=("chosen_index", "struck", "note", "last_seq")).run(item) == 1
    stored = AttemptItem.objects.get(pk=item.pk)
    assert (stored.chosen_index, stored.struck, stored.note, stored.last_seq) == (2, [0], "changed", 7)
    assert stored.is_correct is None


def test_the_user_lookup_by_key_is_the_orms(student, django_user_model):
    """accounts.AccountManager.get(pk=...) (the signed-in user on every request) runs prepared."""
    with CaptureQueriesContext(connection) as queries:
        user = django_user_model.objects.get(pk=student.pk)
    assert _fields(user) == _fields(django_user_model.objects.filter(pk=student.pk).first())
    assert queries.captured_queries[0]["sql"].endswith("LIMIT 1")  # prepared (the ORM's get says LIMIT 21)
    with pytest.raises(django_user_model.DoesNotExist):
        django_user_model.objects.get(pk=student.pk + 1000)
    assert django_user_model.objects.get(username=student.username) == student  # other lookups: the ORM


def test_a_related_managers_lookup_by_key_still_filters(student, other_student):
    from medtutor.accounts.models import Cohort

    cohort = Cohort.objects.create(code="year-2", name="Year 2")
    cohort.members.add(student)
    assert cohort.members.get(pk=student.pk) == student
    with pytest.raises(type(student).DoesNotExist):
        cohort.members.get(pk=other_student.pk)


def test_a_prepared_insert_stores_what_save_would_and_reads_back_the_key(attempt, student):
    at = clock.now()

    def new(seq):
        return AuditRecord(seq=seq, created_at=at, kind="action", action="test.insert", actor=student,
                           actor_label=student.username, output={"a": [1, 2], "b": None}, confidence=0.25,
                           prev_hash="0" * 64, hash=f"{seq:064d}")

    by_orm, prepared = new(10_001), new(10_002)
    by_orm.save(force_insert=True)
    PreparedInsert(AuditRecord).run(prepared)
    assert prepared.pk is not None and prepared.pk != by_orm.pk and not prepared._state.adding
    stored = {f: v for f, v in _fields(AuditRecord.objects.get(pk=prepared.pk)).items() if f not in ("id", "seq", "hash")}
    assert stored == {f: v for f, v in _fields(AuditRecord.objects.get(pk=by_orm.pk)).items()
                      if f not in ("id", "seq", "hash")}
    assert stored["output"] == {"a": [1, 2], "b": None}  # JSON written as the ORM writes it


def test_a_prepared_insert_needs_an_auto_key_as_its_only_database_value():
    assert PreparedInsert(JobRun).key.name == "id"
    from medtutor.accounts.models import SubgroupAttribute
    assert PreparedInsert(SubgroupAttribute).fields  # an ordinary model is accepted
