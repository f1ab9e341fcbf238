from __future__ import annotations

import os
from pathlib import Path

import pytest

from medtutor.accounts.models import Role

# Browser tests drive Playwright's sync API, which runs an event loop in the test thread; the
# ORM refuses to run inside one unless told it is safe (it is: the loop is not serving requests).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-9"

# The public datasets sit beside the checkout (../shared/data); tests read them in place, never copy.
SHARED_DATA = Path(os.environ.get("MEDTUTOR_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """A path under the shared datasets; skips the test where the datasets are not beside the checkout."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"dataset not found: {path}")
    return path


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Manifest storage needs collectstatic; tests read static files from the apps directly.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher"]


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, role: str = Role.STUDENT, password: str = PASSWORD):
        return django_user_model.objects.create_user(username=username, password=password, role=role)
    return make


@pytest.fixture
def student(make_user):
    return make_user("stu", Role.STUDENT)


@pytest.fixture
def other_student(make_user):
    return make_user("stu2", Role.STUDENT)


@pytest.fixture
def faculty(make_user):
    return make_user("fac", Role.FACULTY)


@pytest.fixture
def admin_user(make_user):
    return make_user("adm", Role.ADMIN)


@pytest.fixture
def users(student, faculty, admin_user):
    return {"student": student, "faculty": faculty, "admin": admin_user}


@pytest.fixture
def outline(db):
    from medtutor.content.importers import records as rec
    from medtutor.content.services import import_bundle

    bundle = rec.ImportBundle(
        disciplines=(rec.DisciplineRecord("pharm", "Pharmacology"), rec.DisciplineRecord("phys", "Physiology")),
        competencies=(
            rec.CompetencyRecord("cardio", "Cardiovascular", None, "system", 2.0),
            rec.CompetencyRecord("cardio.hf", "Heart failure", "cardio", "topic", 1.0,
                                 (rec.ObjectiveRecord("cardio.hf.1", "Explain how loop diuretics relieve congestion."),)),
            rec.CompetencyRecord("resp", "Respiratory", None, "system", 1.0),
            rec.CompetencyRecord("resp.asthma", "Asthma", "resp", "topic", 1.0,
                                 (rec.ObjectiveRecord("resp.asthma.1", "Choose the reliever for acute asthma."),)),
        ),
        items=(), cards=())
    import_bundle(bundle, actor=None, filename="outline")
    return bundle


def make_record(external_id: str = "q-1", **overrides):
    from medtutor.content.importers import records as rec

    values = dict(
        external_id=external_id,
        stem="A 70-year-old man has worsening breathlessness and bilateral basal crackles.",
        lead_in="Which drug relieves his pulmonary congestion fastest?",
        options=(rec.OptionRecord("Furosemide", "A loop diuretic that offloads fluid within hours."),
                 rec.OptionRecord("Bisoprolol", "Long-term benefit, but may worsen acute congestion."),
                 rec.OptionRecord("Digoxin", "Controls rate; does not relieve congestion quickly.")),
        key=0,
        explanation="Loop diuretics are first-line for congestion.",
        competency="cardio.hf", discipline="pharm", objective="cardio.hf.1",
        tags=("heart-failure",), difficulty="easy", source="test", licence="CC-BY-4.0")
    values.update(overrides)
    return rec.ItemRecord(**values)


@pytest.fixture
def item(outline, faculty):
    from medtutor.content.models import Item
    from medtutor.content.services import save_item

    save_item(None, make_record(), actor=faculty)
    return Item.objects.get(external_id="q-1")
