"""Anki decks: import (cards, cloze, tags, images, review history into FSRS state), export, hostile files."""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from medtutor.content.models import Card
from medtutor.core.errors import InvalidInput
from medtutor.core.models import AuditRecord
from medtutor.integrations.anki.apkg import (ApkgError, ExportCard, html_to_text, read_apkg, render_template,
                                             write_apkg)
from medtutor.integrations.anki.services import export_deck, import_deck
from medtutor.integrations.models import CardImage
from medtutor.learning import cards as learning_cards
from medtutor.learning.models import CardReview, CardState, PersonalCard

DAY = 86_400_000


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _database_bytes(conn: sqlite3.Connection) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        target = sqlite3.connect(Path(scratch) / "c.db")
        conn.backup(target)
        target.close()
        return (Path(scratch) / "c.db").read_bytes()


def make_apkg(*, revlog=(), media=None, extra_members=None, notes=None, schema_models=None) -> bytes:
    """An .apkg the way Anki 2.1 writes one (schema 11): a Basic and a Cloze note type, two notes."""
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE col (id integer primary key, models text);
        CREATE TABLE notes (id integer primary key, guid text, mid integer, mod integer, usn integer, tags text,
                            flds text, sfld text, csum integer, flags integer, data text);
        CREATE TABLE cards (id integer primary key, nid integer, did integer, ord integer, mod integer, usn integer,
                            type integer, queue integer, due integer, ivl integer, factor integer, reps integer,
                            lapses integer, left integer, odue integer, odid integer, flags integer, data text);
        CREATE TABLE revlog (id integer primary key, cid integer, usn integer, ease integer, ivl integer,
                             lastIvl integer, factor integer, time integer, type integer);
    """)
    models = schema_models or {
        "100": {"name": "Basic (and reversed card)", "type": 0, "flds": [{"name": "Front", "ord": 0}, {"name": "Back", "ord": 1}],
                "tmpls": [{"ord": 0, "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"},
                          {"ord": 1, "qfmt": "{{Back}}", "afmt": "{{FrontSide}}<hr id=answer>{{Front}}"}]},
        "200": {"name": "Cloze", "type": 1, "flds": [{"name": "Text", "ord": 0}, {"name": "Extra", "ord": 1}],
                "tmpls": [{"ord": 0, "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}<br>{{Extra}}"}]},
    }
    conn.execute("INSERT INTO col VALUES (1, ?)", (json.dumps(models),))
    notes = notes if notes is not None else [
        (1, "g-basic", 100, " cardio.hf loop ", "First-line for <b>congestion</b>?<img src=\"heart.png\">\x1fA loop&nbsp;diuretic<br>(furosemide)"),
        (2, "g-cloze", 200, "", "The reliever in asthma is {{c1::salbutamol}}.\x1fInhaled"),
    ]
    for nid, guid, mid, tags, flds in notes:
        conn.execute("INSERT INTO notes VALUES (?, ?, ?, 0, 0, ?, ?, '', 0, 0, '')", (nid, guid, mid, tags, flds))
    conn.executemany("INSERT INTO cards (id, nid, did, ord) VALUES (?, ?, 1, ?)", [(11, 1, 0), (12, 1, 1), (21, 2, 0)])
    conn.executemany("INSERT INTO revlog (id, cid, ease, type) VALUES (?, ?, ?, ?)", revlog)
    conn.commit()
    db_bytes = _database_bytes(conn)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("collection.anki2", db_bytes)
        archive.writestr("media", json.dumps(media if media is not None else {"0": "heart.png"}))
        if media is None:
            archive.writestr("0", _png())
        for name, data in (extra_members or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def test_html_fields_become_text_with_their_images():
    text, images = html_to_text('<div>Beta&nbsp;blocker<br>dose</div><img src="a.png"> [sound:x.mp3]<script>x</script>')
    assert text == "Beta blocker\ndose" and images == ("a.png",)


def test_templates_sections_and_filters():
    fields = {"Front": "Q", "Back": "A", "Hint": ""}
    assert render_template("{{Front}}{{#Hint}} ({{hint:Hint}}){{/Hint}}{{^Hint}}!{{/Hint}}", fields) == "Q!"
    assert render_template("{{FrontSide}}<hr id=answer>{{text:Back}}{{type:Back}}", fields, front="Q") == "Q<hr id=answer>A"


def test_read_apkg_reads_both_templates_the_cloze_tags_images_and_history():
    t0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    deck = read_apkg(make_apkg(revlog=[(t0, 11, 3, 0), (t0 + 3 * DAY, 11, 3, 1), (t0 + 4 * DAY, 11, 0, 4)]))
    basic, reverse, cloze = deck.cards
    assert (basic.front, basic.back) == ("First-line for congestion?", "A loop diuretic\n(furosemide)")
    assert (reverse.front, reverse.back) == ("A loop diuretic\n(furosemide)", "First-line for congestion?")
    assert basic.tags == ("cardio.hf", "loop") and basic.images == ("heart.png",) and "heart.png" in deck.media
    assert cloze.kind == "cloze" and cloze.front == "The reliever in asthma is {{c1::salbutamol}}." and cloze.back == "Inhaled"
    assert [r.ease for r in basic.reviews] == [3, 3]  # the manual reschedule (type 4, ease 0) is not memory evidence


def test_export_then_import_round_trips():
    data = write_apkg("Cardio", [ExportCard("c1", "basic", "Dose <of> furosemide?\nin AHF", "40 mg IV", ("cardio.hf",)),
                                 ExportCard("c2", "cloze", "{{c1::Salbutamol}} relieves & <wheeze>", "", ())])
    basic, cloze = read_apkg(data).cards
    assert (basic.front, basic.back, basic.tags) == ("Dose <of> furosemide?\nin AHF", "40 mg IV", ("cardio.hf",))
    assert cloze.front == "{{c1::Salbutamol}} relieves & <wheeze>"


def test_a_students_import_makes_personal_cards_with_fsrs_state(student, other_student, outline):
    now = datetime.now(UTC)
    t0 = int((now - timedelta(days=20)).timestamp() * 1000)
    apkg = make_apkg(revlog=[(t0, 11, 3, 0), (t0 + 2 * DAY, 11, 3, 1), (t0 + 9 * DAY, 11, 1, 1),
                             (t0 + 9 * DAY + 600_000, 11, 3, 2), (t0 + 12 * DAY, 11, 4, 1)])
    result = import_deck(student, apkg, filename="mine.apkg")
    assert (result.created, result.updated, result.reviews, result.images) == (3, 0, 5, 2)  # front and reverse
    personal = Card.objects.filter(personal_owner__learner=student)
    assert personal.count() == 3 and PersonalCard.objects.filter(learner=student).count() == 3
    basic = personal.get(front="First-line for congestion?")
    assert basic.competency.code == "cardio.hf" and {t.slug for t in basic.tags.all()} == {"cardio-hf", "loop"}
    state = CardState.objects.get(learner=student, card=basic)
    assert state.reps == 5 and state.stability_days > 1 and state.last_review_at.date() == (now - timedelta(days=8)).date()
    assert CardReview.objects.filter(learner=student, card=basic).count() == 5
    assert CardImage.objects.get(card=basic).path.startswith("anki/")
    # Nobody else sees them; the student reviews them like any card.
    assert not learning_cards.visible_cards(other_student).filter(pk=basic.pk).exists()
    assert learning_cards.visible_cards(student).filter(pk=basic.pk).exists()
    assert AuditRecord.objects.filter(action="anki.import", actor=student).exists()
    # Importing again updates, and adds no history twice.
    again = import_deck(student, apkg, filename="mine.apkg")
    assert (again.created, again.updated, again.reviews) == (0, 3, 0)
    assert CardReview.objects.filter(learner=student).count() == 5


def test_a_faculty_import_adds_shared_cards_without_history(faculty, student, outline):
    result = import_deck(faculty, make_apkg(revlog=[(1_700_000_000_000, 11, 3, 0)]))
    assert result.created == 3 and result.reviews == 0 and not result.personal
    assert Card.objects.shared().filter(external_id__startswith="anki-").count() == 3
    assert learning_cards.visible_cards(student).filter(external_id__startswith="anki-").count() == 3


@pytest.mark.parametrize("data,message", [
    (b"not a zip", "not a zip"),
    ("traversal", "unsafe file name"),
    ("bomb", "zip bomb"),
    ("broken-db", "cannot be read"),
    ("new-format", "Support older Anki versions"),
    ("no-notes-table", "lacks Anki's notes"),
])
def test_hostile_or_broken_decks_are_refused_and_nothing_is_written(student, data, message):
    if data == "traversal":
        data = make_apkg(extra_members={"../evil.txt": b"x"})
    elif data == "bomb":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("collection.anki2", bytes(50 * 1024**2))
        data = out.getvalue()
    elif data == "broken-db":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("collection.anki2", b"SQLite format 3\x00" + b"\xff" * 4000)
        data = out.getvalue()
    elif data == "new-format":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("collection.anki21b", b"zstd...")
        data = out.getvalue()
    elif data == "no-notes-table":
        out = io.BytesIO()
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (x)")
        raw = _database_bytes(conn)
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("collection.anki2", raw)
        data = out.getvalue()
    with pytest.raises(InvalidInput, match=message):
        import_deck(student, data, filename="x.apkg")
    assert Card.objects.count() == 0 and CardReview.objects.count() == 0


def test_media_that_is_not_an_image_is_left_out(student):
    apkg = make_apkg(media={"0": "heart.png"}, extra_members={"0": b"<script>alert(1)</script>"})
    result = import_deck(student, apkg)
    assert result.images == 0 and any("not a readable image" in note for note in result.skipped)


def test_export_holds_only_what_the_user_may_see(student, other_student, faculty, outline):
    import_deck(other_student, make_apkg())
    Card.objects.create(external_id="shared-1", front="Shared front", back="Shared back")
    name, data, count = export_deck(student)
    fronts = {c.front for c in read_apkg(data).cards}
    assert name == "medtutor-all.apkg" and count == 1 and fronts == {"Shared front"}
    _, data, count = export_deck(faculty)
    assert count == 1  # the bank: other students' personal cards are theirs alone


def test_pages(client, student):
    client.force_login(student)
    empty = client.get("/anki/export.apkg", follow=True)
    assert empty.redirect_chain[-1][0] == "/anki/" and "There are no cards to export" in empty.content.decode()
    assert "Import a deck" in client.get("/anki/").content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile
    page = client.post("/anki/", {"file": SimpleUploadedFile("deck.apkg", make_apkg())})
    assert page.status_code == 200 and "data-anki-result" in page.content.decode()
    card = Card.objects.get(personal_owner__learner=student, front="First-line for congestion?")
    review = client.get(f"/cards/review/?card={card.pk}").content.decode()
    assert f'src="/media/{CardImage.objects.get(card=card).path}"' in review
    bad = client.post("/anki/", {"file": SimpleUploadedFile("deck.apkg", b"nonsense")})
    assert bad.status_code == 400 and "Nothing was saved" in bad.content.decode()
    wrong = client.post("/anki/", {"file": SimpleUploadedFile("deck.txt", b"x")})
    assert wrong.status_code == 400
    download = client.get("/anki/export.apkg")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.apkg"')
    assert len(read_apkg(download.content).cards) == 3
    assert client.get("/anki/export.apkg?competency=nope").status_code == 400
