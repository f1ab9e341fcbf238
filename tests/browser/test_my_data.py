"""End-to-end in Debian chromium: a student downloads their data, asks for deletion; an admin confirms."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from medtutor.accounts.models import Role
from tests.browser.conftest import login
from tests.conftest import PASSWORD


@pytest.fixture
def people(transactional_db, django_user_model):
    from medtutor.accounts.models import Accommodation

    learner = django_user_model.objects.create_user("b-data", password=PASSWORD, role=Role.STUDENT,
                                                    email="b-data@example.org")
    Accommodation.objects.create(user=learner, extra_time_percent=25)
    django_user_model.objects.create_user("b-other", password=PASSWORD, role=Role.STUDENT, email="other@example.org")
    django_user_model.objects.create_user("b-admin", password=PASSWORD, role=Role.ADMIN)
    return learner


def test_student_downloads_their_data_and_an_admin_confirms_deletion(page, browser, live_server, people, tmp_path):
    login(page, live_server.url, "b-data", PASSWORD)
    page.get_by_role("link", name="My data", exact=True).click()
    page.wait_for_url(f"{live_server.url}/my-data/")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download all my data (zip)").click()
    target = Path(tmp_path) / info.value.suggested_filename
    info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        data = json.loads(archive.read("data.json"))
        assert "csv/accounts.User.csv" in archive.namelist()
    assert data["tables"]["accounts.User"][0]["email"] == "b-data@example.org"
    assert data["tables"]["accounts.Accommodation"][0]["extra_time_percent"] == 25
    assert "other@example.org" not in json.dumps(data)

    page.get_by_role("link", name="Ask for deletion…").click()
    page.get_by_label("I want my personal data deleted", exact=False).check()
    page.get_by_role("button", name="Ask for deletion").click()
    page.wait_for_url(f"{live_server.url}/my-data/")
    assert "an administrator will confirm it" in page.content()
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]

    admin_context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    admin = admin_context.new_page()
    login(admin, live_server.url, "b-admin", PASSWORD)
    admin.goto(f"{live_server.url}/governance/privacy/")
    # works on a phone: nothing wider than the screen
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    admin.get_by_label("Delete the personal data of", exact=False).check()
    admin.get_by_role("button", name="Confirm and delete").click()
    admin.wait_for_url(f"{live_server.url}/governance/privacy/")
    assert "Deleted the personal data" in admin.content()
    admin_context.close()

    page.goto(f"{live_server.url}/my-data/")  # the student's session was ended
    assert "/login/" in page.url
    from django.contrib.auth import get_user_model

    gone = get_user_model().objects.get(pk=people.pk)
    assert gone.username.startswith("deleted-") and gone.email == "" and not gone.is_active


def test_my_data_fits_a_phone(phone, live_server, people):
    login(phone, live_server.url, "b-other", PASSWORD)
    for path in ("/my-data/", "/my-data/delete/"):
        phone.goto(f"{live_server.url}{path}")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
