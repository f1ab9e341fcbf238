"""Staff-only competencies (faculty training): students never meet them, their items or their cards;
faculty and administrators still see everything; the AI course is loaded staff-only, idempotently."""

from __future__ import annotations

import json
import random

import pytest

from medtutor.content.exporters import export
from medtutor.content.importers import parse
from medtutor.content.importers import records as rec
from medtutor.content.models import Card, Competency, Item
from medtutor.content.services import export_bundle, import_bundle, save_item
from medtutor.core.errors import NotFound
from medtutor.core.models import AuditRecord
from medtutor.governance import ai_course
from medtutor.learning import cards, dashboard, plans, practice
from medtutor.learning.models import ItemResponse
from medtutor.learning.services import record_answer
from tests.conftest import make_record

STAFF = "staff"


@pytest.fixture
def staff_area(outline, faculty):
    """A staff-only root (heavily weighted, so it would be the neediest area) with a topic below it that is
    not itself flagged: descendants are hidden through their root."""
    import_bundle(rec.ImportBundle(competencies=(
        rec.CompetencyRecord(STAFF, "Faculty development", None, "system", 5.0, staff_only=True),
        rec.CompetencyRecord(f"{STAFF}.ai", "Teaching with AI", STAFF, "topic", 1.0,
                             (rec.ObjectiveRecord(f"{STAFF}.ai.1", "Explain automation bias."),)),
    )), actor=None, filename="staff")
    for i in range(3):
        save_item(None, make_record(f"staff-{i}", competency=f"{STAFF}.ai", objective=f"{STAFF}.ai.1",
                                    discipline=None), actor=faculty)
    return Competency.objects.get(code=STAFF)


@pytest.fixture
def course(db):
    return ai_course.load_course(ai_course.course_dir())


def _staff_item() -> Item:
    return Item.objects.get(external_id="staff-0")


# --- the query sets ------------------------------------------------------------------------------------

def test_for_students_hides_staff_competencies_their_descendants_and_items(staff_area, item):
    topic = Competency.objects.get(code=f"{STAFF}.ai")
    assert staff_area.staff_only and not topic.staff_only  # only the root carries the flag
    visible = set(Competency.objects.for_students().values_list("code", flat=True))
    assert visible == {"cardio", "cardio.hf", "resp", "resp.asthma"}
    assert set(Item.objects.active().for_students().values_list("external_id", flat=True)) == {"q-1"}
    assert Item.objects.active().count() == 4  # everyone else still sees the whole bank


def test_nothing_staff_only_means_nothing_hidden(item):
    assert Competency.objects.for_students().count() == Competency.objects.count() == 4
    assert list(Item.objects.for_students()) == [item]


# --- practice ------------------------------------------------------------------------------------------

def test_practice_never_selects_a_staff_item_even_when_it_is_the_weakest_area(student, staff_area, faculty):
    for i in range(2):
        save_item(None, make_record(f"hf-{i}"), actor=faculty)
    for n in range(4):
        record_answer(student, Item.objects.get(external_id="hf-0").pk, None, 0, f"right-{n}")
    # Control: unflagged, the heavily weighted untouched staff topic is what the selector picks.
    Competency.objects.filter(code=STAFF).update(staff_only=False)
    chosen = practice.choose_question(student, rng=random.Random(1))
    assert chosen is not None and chosen[0].competency.code == f"{STAFF}.ai"
    Competency.objects.filter(code=STAFF).update(staff_only=True)
    for seed in range(15):
        chosen = practice.choose_question(student, rng=random.Random(seed))
        assert chosen is not None and not chosen[0].external_id.startswith("staff-")
    assert STAFF not in practice._root_weights()


def test_practice_with_only_staff_items_has_nothing_to_offer(student, staff_area):
    assert practice.choose_question(student, rng=random.Random(0)) is None


def test_a_staff_competency_filter_is_ignored_for_students(client, student, staff_area, item):
    client.force_login(student)
    page = client.get(f"/practice/?competency={STAFF}")
    assert page.status_code == 302 and page["Location"] == f"/practice/{item.pk}/"


def test_a_staff_item_is_404_to_a_student_like_an_unknown_one(client, student, staff_area):
    client.force_login(student)
    staff_item = _staff_item()
    assert client.get(f"/practice/{staff_item.pk}/").status_code == 404
    posted = client.post(f"/practice/{staff_item.pk}/", {"choice": "0", "version": staff_item.current_version_id,
                                                          "client_token": "tok-staff-1"})
    assert posted.status_code == 404
    api = client.post(f"/api/v1/items/{staff_item.pk}/answers", content_type="application/json",
                      data=json.dumps({"choice": 0, "client_token": "api-token-2"}))
    assert api.status_code == 404
    assert client.get(f"/api/v1/items/{staff_item.pk}").status_code == 404
    assert not ItemResponse.objects.exists()


def test_the_api_outline_hides_staff_competencies_from_students_only(client, student, faculty, staff_area):
    client.force_login(student)
    assert STAFF not in {c["code"] for c in client.get("/api/v1/competencies").json()}
    client.force_login(faculty)
    assert {STAFF, f"{STAFF}.ai"} <= {c["code"] for c in client.get("/api/v1/competencies").json()}
    assert client.get(f"/api/v1/items/{_staff_item().pk}").status_code == 200


# --- plans, dashboard, home, cards ---------------------------------------------------------------------

def test_plans_and_dashboard_leave_staff_competencies_out(student, staff_area):
    assert STAFF not in plans.outline_weights() and STAFF not in plans.system_names()
    assert STAFF not in plans.topics_by_system()
    assert all(not code.startswith(STAFF) for code in plans.topic_weights(plans.outline_weights()))
    rows = dashboard.topic_rows(student)
    assert rows and all(row.system != STAFF for row in rows)
    Competency.objects.filter(code=STAFF).update(staff_only=False)  # control: it would be listed
    assert STAFF in {row.system for row in dashboard.topic_rows(student)}


def test_student_pages_do_not_list_the_ai_course(client, student, outline, course):
    client.force_login(student)
    for url in ("/", "/plan/", "/anki/"):
        page = client.get(url)
        html = page.content.decode()
        assert page.status_code == 200, url
        assert ai_course.COMPETENCY not in html and "Faculty development" not in html, url


def test_faculty_still_see_the_ai_course_in_the_bank(client, faculty, course):
    client.force_login(faculty)
    page = client.get(f"/items/?competency={ai_course.COMPETENCY}")
    html = page.content.decode()
    assert page.status_code == 200 and "faculty-ai-001" in html
    assert page.context["total"] == Item.objects.filter(competency__code__startswith="faculty-ai.").count() >= 10


def test_staff_cards_are_not_in_a_students_deck(student, staff_area):
    deck = [Card.objects.create(external_id="c-hf", front="First-line drug for congestion?", back="Furosemide.",
                                competency=Competency.objects.get(code="cardio.hf"))]
    hidden = Card.objects.create(external_id="c-staff", front="What is automation bias?", back="...",
                                 competency=Competency.objects.get(code=f"{STAFF}.ai"))
    assert hidden not in cards.visible_cards(student) and set(deck) <= set(cards.visible_cards(student))
    shown = {entry.card.pk for entry in cards.queue(student, limit=10)}
    assert hidden.pk not in shown and {c.pk for c in deck} <= shown
    with pytest.raises(NotFound):
        cards.record_review(student, hidden.pk, 3, client_seq="seq-staff")


# --- loading the course and the import format ----------------------------------------------------------

def test_the_ai_course_is_staff_only_and_loading_again_changes_nothing(course):
    subtree = Competency.objects.filter(code__startswith=ai_course.COMPETENCY)
    assert subtree.count() == 6 and all(subtree.values_list("staff_only", flat=True))
    assert Competency.objects.get(code=ai_course.COMPETENCY).weight == 0
    assert AuditRecord.objects.filter(action="ai_course.staff_only").count() == 1
    before = (AuditRecord.objects.filter(action="ai_course.staff_only").count(),
              list(Competency.objects.order_by("code").values_list("code", "staff_only", "weight")))
    again = ai_course.load_course(ai_course.course_dir())
    assert "updated" not in again.summary.describe() and "created" not in again.summary.describe()
    assert (AuditRecord.objects.filter(action="ai_course.staff_only").count(),
            list(Competency.objects.order_by("code").values_list("code", "staff_only", "weight"))) == before


def test_demo_load_twice_keeps_the_course_staff_only(db):
    from medtutor.content.demo import load_demo

    load_demo()
    load_demo()
    assert Competency.objects.filter(code__startswith=ai_course.COMPETENCY, staff_only=False).count() == 0
    assert AuditRecord.objects.filter(action="ai_course.staff_only").count() == 1
    assert not Item.objects.for_students().filter(competency__code__startswith="faculty-ai").exists()


def _jsonl(*records: dict) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def test_the_import_format_takes_staff_only_and_leaving_it_out_keeps_it(db):
    root = {"type": "competency", "code": "fd", "name": "Faculty development", "parent": None, "kind": "system"}
    import_bundle(parse(_jsonl(root | {"staff_only": True}), "medtutor"), actor=None, filename="a")
    assert Competency.objects.get(code="fd").staff_only
    import_bundle(parse(_jsonl(root), "medtutor"), actor=None, filename="b")  # an older file: not stated
    assert Competency.objects.get(code="fd").staff_only
    assert '"staff_only": true' in export(export_bundle(), "medtutor").decode()
    import_bundle(parse(_jsonl(root | {"staff_only": False}), "medtutor"), actor=None, filename="c")
    assert not Competency.objects.get(code="fd").staff_only


def test_a_staff_only_flag_that_is_not_true_or_false_is_refused(db):
    from medtutor.content.importers.records import InvalidImportFile

    bad = {"type": "competency", "code": "fd", "name": "F", "parent": None, "kind": "system", "staff_only": "yes"}
    with pytest.raises(InvalidImportFile) as error:
        parse(_jsonl(bad), "medtutor")
    assert "staff_only" in str(error.value.issues) and not Competency.objects.exists()
