"""Faculty pages: the bank, the editor, import and export through the browser's forms."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from medtutor.content.importers import MAX_IMPORT_BYTES
from medtutor.content.models import Item
from medtutor.core.models import AuditRecord

GOOD = {"type": "item", "id": "web-1", "stem": "A child has a barking cough and stridor.",
        "lead_in": "Most likely diagnosis?", "key": 1,
        "options": [{"text": "Epiglottitis", "explanation": "Drooling, toxic, no barking cough."},
                    {"text": "Croup", "explanation": "Barking cough and stridor after a coryzal illness."}]}


def _upload(client, name: str, data: bytes, fmt: str = ""):
    return client.post("/items/import/", {"file": SimpleUploadedFile(name, data), "format": fmt})


def test_import_page_imports_and_audits(client, faculty):
    client.force_login(faculty)
    response = _upload(client, "good.jsonl", json.dumps(GOOD).encode())
    assert response.status_code == 200 and b"created" in response.content
    assert Item.objects.get().external_id == "web-1"
    assert AuditRecord.objects.filter(action="content.import", actor=faculty).exists()


def test_a_bad_file_lists_problems_and_changes_nothing(client, faculty):
    client.force_login(faculty)
    bad = json.dumps(GOOD) + "\n" + json.dumps(dict(GOOD, id="web-2", key=9)) + "\n{truncated"
    response = _upload(client, "bad.jsonl", bad.encode())
    html = response.content.decode()
    assert response.status_code == 400 and "Nothing was imported" in html
    assert "line 2" in html and "line 3" in html
    assert not Item.objects.exists()


def test_script_in_an_imported_text_is_refused(client, faculty):
    client.force_login(faculty)
    evil = dict(GOOD, stem='<script>alert("x")</script> A child coughs.')
    response = _upload(client, "evil.jsonl", json.dumps(evil).encode())
    assert response.status_code == 400 and not Item.objects.exists()
    assert b"stem" in response.content


def test_wrong_encoding_and_oversized_files(client, faculty):
    client.force_login(faculty)
    latin1 = json.dumps(dict(GOOD, stem="Ménière"), ensure_ascii=False).encode("utf-8").replace("é".encode(), "é".encode("latin-1"))
    response = _upload(client, "latin1.jsonl", latin1)
    assert response.status_code == 400 and b"UTF-8" in response.content
    huge = _upload(client, "huge.jsonl", b" " * (MAX_IMPORT_BYTES + 1))
    assert huge.status_code == 400 and b"limit" in huge.content
    assert not Item.objects.exists()


def test_editor_creates_then_versions_an_item(client, faculty, outline):
    client.force_login(faculty)
    form = {"external_id": "ed-1", "stem": "Stem text", "lead_in": "Which?", "key": "1",
            "option_0": "First", "option_0_explanation": "Wrong because.", "option_1": "Second",
            "option_1_explanation": "Right because.", "competency": "cardio.hf", "objective": "cardio.hf.1",
            "tags": "a, b", "difficulty": "medium"}
    created = client.post("/items/new/", form)
    item = Item.objects.get(external_id="ed-1")
    assert created.status_code == 302 and item.current_version.key_index == 1
    edited = client.post(f"/items/{item.pk}/edit/", form | {"stem": "Changed stem", "change_note": "clarity"})
    item.refresh_from_db()
    assert edited.status_code == 302 and item.current_version.number == 2
    assert item.current_version.change_note == "clarity"


def test_editor_shows_errors_and_saves_nothing(client, faculty, outline):
    client.force_login(faculty)
    form = {"external_id": "ed-2", "stem": "Stem", "lead_in": "Which?", "key": "3",
            "option_0": "Only", "option_2": "Gap"}
    response = client.post("/items/new/", form)
    assert response.status_code == 200 and b"in order from A" in response.content
    assert not Item.objects.exists()


def test_bank_filters_and_search(client, faculty, item):
    client.force_login(faculty)
    assert client.get("/items/?q=furosemide").context["total"] == 1
    assert client.get("/items/?q=insulin").context["total"] == 0
    assert client.get("/items/?competency=cardio&difficulty=easy&tag=heart-failure&source=test").context["total"] == 1
    assert client.get("/items/?competency=resp").context["total"] == 0


def test_export_downloads_each_format(client, faculty, item):
    client.force_login(faculty)
    for fmt in ("medtutor", "csv", "moodlexml", "gift"):
        response = client.get(f"/items/export/?format={fmt}&q=furosemide")
        assert response.status_code == 200 and b"Furosemide" in response.content
        assert "attachment" in response["Content-Disposition"]
    assert client.get("/items/export/?format=docx").status_code == 400


def test_api_import_endpoint_reports_issues_as_400(client, faculty):
    client.force_login(faculty)
    bad = client.post("/api/v1/imports", {"file": SimpleUploadedFile("x.jsonl", b'{"type": "item"}')})
    assert bad.status_code == 400 and bad.json()["errors"]
    good = client.post("/api/v1/imports", {"file": SimpleUploadedFile("g.jsonl", json.dumps(GOOD).encode())})
    assert good.status_code == 201 and good.json()["created"] == {"items": 1}


def _png(width=4, height=3) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_upload_makes_a_version_and_the_old_version_keeps_its_image(client, faculty, student, item):
    from medtutor.learning.services import record_answer
    from tests.conftest import make_record  # noqa: F401

    client.force_login(faculty)
    form = {"stem": item.current_version.stem, "lead_in": item.current_version.lead_in, "key": "0",
            "option_0": "Furosemide", "option_0_explanation": "A loop diuretic that offloads fluid within hours.",
            "option_1": "Bisoprolol", "option_1_explanation": "Long-term benefit, but may worsen acute congestion.",
            "option_2": "Digoxin", "option_2_explanation": "Controls rate; does not relieve congestion quickly.",
            "explanation": "Loop diuretics are first-line for congestion.", "competency": "cardio.hf",
            "discipline": "pharm", "objective": "cardio.hf.1", "tags": "heart-failure", "difficulty": "easy",
            "source": "test", "licence": "CC-BY-4.0"}
    response = client.post(f"/items/{item.pk}/edit/", form | {"image": SimpleUploadedFile("ecg.png", _png(), "image/png")})
    assert response.status_code == 302
    item.refresh_from_db()
    with_image = item.current_version
    assert with_image.number == 2 and with_image.image.name.endswith(".png")
    record_answer(student, item.pk, None, 0, "img-answer-1")
    client.post(f"/items/{item.pk}/edit/", form | {"remove_image": "on"})
    item.refresh_from_db()
    assert item.current_version.number == 3 and not item.current_version.image
    with_image.refresh_from_db()
    assert with_image.image  # the answered version still shows what the student saw
    client.force_login(student)
    assert client.get(f"/media/{with_image.image.name}").status_code == 200
    client.logout()
    assert client.get(f"/media/{with_image.image.name}").status_code == 302


def test_a_non_image_upload_is_refused(client, faculty, item):
    client.force_login(faculty)
    response = client.post(f"/items/{item.pk}/edit/", {"stem": "x", "lead_in": "y", "key": "0", "option_0": "a",
                                                       "option_1": "b",
                                                       "image": SimpleUploadedFile("x.png", b"not an image")})
    assert response.status_code == 200 and b"image" in response.content.lower()
    item.refresh_from_db()
    assert item.current_version.number == 1
