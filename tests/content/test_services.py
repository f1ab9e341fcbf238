"""Writing content through the services: versions, search, all-or-nothing imports."""

import pytest

from medtutor.content import services
from medtutor.content.importers import records as rec
from medtutor.content.models import Card, Competency, Item, ItemVersion, LearningObjective
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord
from medtutor.learning.services import record_answer
from tests.conftest import make_record


def test_created_item_has_version_one_and_is_audited(item, faculty):
    assert item.current_version.number == 1
    assert item.current_version.objective.code == "cardio.hf.1"
    assert AuditRecord.objects.filter(action="item.created", subject_id=str(item.pk), actor=faculty).exists()


def test_editing_words_adds_a_version_and_answers_keep_theirs(item, faculty, student):
    first = item.current_version
    answer = record_answer(student, item.pk, None, 0, "t-1").response
    changed = services.save_item(item, make_record(stem="A 71-year-old man is breathless."), actor=faculty,
                                 change_note="age")
    item.refresh_from_db()
    assert changed and item.current_version.number == 2
    answer.refresh_from_db()
    assert answer.item_version_id == first.pk
    assert ItemVersion.objects.get(pk=first.pk).stem.startswith("A 70-year-old")


def test_saving_the_same_words_changes_nothing(item, faculty):
    assert services.save_item(item, make_record(), actor=faculty) is False
    assert item.versions.count() == 1


def test_metadata_change_does_not_add_a_version(item, faculty):
    assert services.save_item(item, make_record(difficulty="hard", tags=("cardiology",)), actor=faculty)
    item.refresh_from_db()
    assert item.versions.count() == 1 and item.difficulty == "hard"
    assert list(item.tags.values_list("slug", flat=True)) == ["cardiology"]


@pytest.mark.parametrize("overrides,message", [
    ({"key": 5}, "key"),
    ({"options": (rec.OptionRecord("Only one"),)}, "option"),
    ({"competency": "nope"}, "unknown competency"),
    ({"objective": "resp.asthma.1"}, "belongs to"),
])
def test_invalid_items_are_refused_with_a_reason(outline, faculty, overrides, message):
    with pytest.raises(InvalidInput) as error:
        services.save_item(None, make_record("bad", **overrides), actor=faculty)
    assert any(message in d.lower() for d in error.value.details)
    assert not Item.objects.filter(external_id="bad").exists()


def test_duplicate_external_id_is_refused(item, faculty):
    with pytest.raises(InvalidInput):
        services.save_item(None, make_record(), actor=faculty)


@pytest.mark.parametrize("query,found", [
    ("furosemide", True),            # option text
    ("offloads fluid", True),        # option explanation
    ("FIRST-LINE congestion", True),  # overall explanation, any case, words in any order
    ('"basal crackles"', True),      # stem phrase
    ("heart-failure", True),         # tag
    ("loop diuretics relieve", True),  # learning objective
    ("furosemide asthma", False),    # every word must match
])
def test_search_covers_stem_options_explanations_tags(item, query, found):
    assert Item.objects.active().search(query).exists() is found


def test_search_ignores_accents(outline, faculty):
    services.save_item(None, make_record("q-acc", stem="Ménière disease presents with vertigo."), actor=faculty)
    assert Item.objects.search("meniere").filter(external_id="q-acc").exists()


def test_import_is_all_or_nothing(outline, faculty):
    good = make_record("ok-1")
    bad = make_record("bad-1", competency="unknown.code", line=7)
    bundle = rec.ImportBundle(disciplines=(), competencies=(), items=(good, bad), cards=())
    with pytest.raises(InvalidInput) as error:
        services.import_bundle(bundle, actor=faculty, filename="x.jsonl")
    assert "line 7" in error.value.details[0]
    assert not Item.objects.filter(external_id__in=["ok-1", "bad-1"]).exists()


def test_reimport_is_idempotent_and_updates_changed_items(outline, faculty):
    bundle = rec.ImportBundle(disciplines=(), competencies=(), items=(make_record("a"), make_record("b")), cards=(
        rec.CardRecord("c-1", "basic", "Loop diuretic?", "Furosemide", competency="cardio.hf", item="a"),))
    first = services.import_bundle(bundle, actor=faculty)
    assert first.created == {"items": 2, "cards": 1}
    again = services.import_bundle(bundle, actor=faculty)
    assert again.unchanged == {"items": 2, "cards": 1} and not again.created
    changed = rec.ImportBundle(disciplines=(), competencies=(), items=(make_record("a", stem="Changed stem."),), cards=())
    third = services.import_bundle(changed, actor=faculty)
    assert third.updated == {"items": 1}
    assert Item.objects.get(external_id="a").current_version.number == 2
    assert Card.objects.get(external_id="c-1").item.external_id == "a"


def test_export_then_import_on_an_empty_bank_round_trips(outline, faculty, django_db_blocker):
    services.import_bundle(rec.ImportBundle(disciplines=(), competencies=(), items=(
        make_record("a"), make_record("b", key=2, tags=("x", "y"), difficulty=None)), cards=(
        rec.CardRecord("c-1", "cloze", "Furosemide is a {{c1::loop}} diuretic.", "", competency="cardio.hf"),)),
        actor=faculty)
    exported = services.export_bundle()
    from medtutor.content.exporters import export
    from medtutor.content.importers import parse

    data = export(exported, "medtutor")
    Card.objects.all().delete()
    Item.tags.through.objects.all().delete()
    ItemVersion.objects.update(objective=None)
    Item.objects.update(current_version=None)
    ItemVersion.objects.all().delete()
    Item.objects.all().delete()
    LearningObjective.objects.all().delete()
    Competency.objects.filter(parent__isnull=False).delete()
    Competency.objects.all().delete()
    services.import_bundle(parse(data, "medtutor"), actor=faculty)
    assert services.without_lines(services.export_bundle()) == services.without_lines(exported)
