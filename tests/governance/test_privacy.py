"""Privacy: export, deletion on request (admin confirms), analytics opt-out, retention purge, page permissions."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache

from medtutor.accounts.models import Accommodation, ApiToken, Cohort, ExternalIdentity
from medtutor.assessment import services as exams
from medtutor.assessment.analysis import analyse_exam
from medtutor.assessment.models import Attempt, AttemptItem
from medtutor.core import clock
from medtutor.core.audit import record_decision, verify_chain
from medtutor.core.errors import InvalidInput, PermissionDenied
from medtutor.core.models import AuditRecord
from medtutor.governance import privacy
from medtutor.governance.models import DeletionRequest, DeletionStatus, PrivacySettings
from medtutor.integrations.models import CardImage, XapiStatement
from medtutor.integrations.xapi.statements import pseudonym
from medtutor.learning import cards
from medtutor.learning.models import CardReview, ItemResponse, PersonalCard
from medtutor.learning.services import record_answer
from tests.assessment.factories import make_exam, make_items

SECRET_NOTE = "my-private-note-zebra"


def _fill(user, items, exam, tag: str) -> dict:
    """Personal data of `user` in many tables; returns handles the tests check."""
    cohort, _ = Cohort.objects.get_or_create(code="md-2030", defaults={"name": "MD 2030"})
    cohort.members.add(user)
    Accommodation.objects.create(user=user, extra_time_percent=25, notes=f"{tag} dyslexia")
    ApiToken.issue(user, f"{tag} laptop")
    ExternalIdentity.objects.create(user=user, issuer="https://idp.example", subject=f"sub-{tag}")
    for n, item in enumerate(items):
        record_answer(user, item.pk, None, (n + 1) % 4, f"{tag}-token-{n}")  # wrong: the key is n % 4
    wrong = ItemResponse.objects.filter(learner=user, is_correct=False).order_by("id").first()
    card = cards.make_card_from_answer(user, wrong.pk).card
    card.back += f" ({tag}'s own words)"
    card.save()
    cards.record_review(user, card.pk, 3, client_seq=f"{tag}-seq-1")
    image_path = f"anki/{tag}.png"
    (settings.MEDIA_ROOT / "anki").mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / image_path).write_bytes(b"\x89PNG fake")
    CardImage.objects.create(card=card, path=image_path, name=f"{tag}.png")
    attempt = exams.start_attempt(user, exam.pk)
    for ai in attempt.items.all():
        ai.chosen_index, ai.answered_at, ai.note = 0, clock.now(), f"{SECRET_NOTE}-{tag}"
        ai.save()
    exams.submit_attempt(user, attempt.pk)
    privacy.set_analytics_opt_out(user, True)
    XapiStatement.objects.create(statement_id=f"00000000-0000-0000-0000-00000000000{user.pk % 10}",
                                 payload={"actor": {"account": {"name": pseudonym(user.pk, settings.SECRET_KEY)}}},
                                 created_at=clock.now(), next_attempt_at=clock.now())
    record_decision(model_name="test-model", model_version="1", subject=user, inputs={"u": user.pk},
                    output={"flag": tag}, explanation="test", confidence=0.5)
    return {"card": card, "attempt": attempt, "image": settings.MEDIA_ROOT / image_path}


@pytest.fixture
def world(outline, student, other_student, admin_user, faculty):
    items = make_items(3, prefix="priv", actor=faculty)
    exam = make_exam(items, time_limit_minutes=None, title="Privacy exam")
    exam.cohorts.add(Cohort.objects.get_or_create(code="md-2030", defaults={"name": "MD 2030"})[0])
    return {"items": items, "exam": exam, "mine": _fill(student, items, exam, "alice"),
            "theirs": _fill(other_student, items, exam, "bob")}


def _user_fields():
    user_model = get_user_model()
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.get_fields():
            if f.concrete and f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model is user_model:
                yield model, f


def test_every_foreign_key_to_the_user_has_a_deletion_policy():
    # A new model pointing at the user must be added to privacy.POLICY (delete, keep, staff or audit).
    missing = sorted(f"{m._meta.label}.{f.name}" for m, f in _user_fields()
                     if f"{m._meta.label}.{f.name}" not in privacy.POLICY)
    assert missing == []
    assert set(privacy.POLICY.values()) <= {privacy.DELETE, privacy.KEEP, privacy.STAFF, privacy.AUDIT}


def test_export_holds_my_data_and_nothing_of_another_student(client, student, other_student, world):
    client.force_login(student)
    response = client.get("/my-data/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert "data.json" in names and any(n.startswith("csv/") and n.endswith(".csv") for n in names)
    data = json.loads(archive.read("data.json"))
    tables = data["tables"]
    for label in ("accounts.User", "accounts.Accommodation", "accounts.ApiToken", "accounts.ExternalIdentity",
                  "learning.ItemResponse", "learning.CardReview", "learning.PersonalCard", "content.Card",
                  "assessment.Attempt", "assessment.AttemptItem", "integrations.CardImage",
                  "governance.PrivacySettings", "core.AuditRecord", "accounts.Cohort (memberships)"):
        assert tables.get(label), label
    text = archive.read("data.json").decode()
    assert "alice" in text and SECRET_NOTE in text
    assert "bob" not in text and "stu2" not in text
    assert all(row.get("learner_id", student.pk) == student.pk for row in tables["learning.ItemResponse"])
    assert {row["student_id"] for row in tables["assessment.Attempt"]} == {student.pk}
    assert "password" not in tables["accounts.User"][0]
    csv_text = archive.read("csv/assessment.AttemptItem.csv").decode()
    assert SECRET_NOTE in csv_text and "bob" not in csv_text
    assert AuditRecord.objects.filter(action="privacy.export", actor=student).exists()


def _request_and_confirm(client, student, admin_user, on_commit):
    client.force_login(student)
    assert client.get("/my-data/delete/").status_code == 200
    refused = client.post("/my-data/delete/", {"reason": "leaving"})  # no confirmation ticked
    assert refused.status_code == 400 and not DeletionRequest.objects.exists()
    assert client.post("/my-data/delete/", {"reason": "leaving", "confirm": "yes"}).status_code == 302
    request = DeletionRequest.objects.get(user=student, status=DeletionStatus.PENDING)
    client.force_login(admin_user)
    page = client.get("/governance/privacy/")
    assert page.status_code == 200 and f"#{request.pk}" in page.content.decode()
    unsure = client.post("/governance/privacy/", {"request_id": request.pk, "action": "confirm"})
    assert unsure.status_code == 400 and get_user_model().objects.get(pk=student.pk).is_active
    with on_commit(execute=True):  # media files go once the deletion has committed
        assert client.post("/governance/privacy/", {"request_id": request.pk, "action": "confirm",
                                                    "sure": "yes"}).status_code == 302
    request.refresh_from_db()
    return request


def test_deletion_removes_personal_data_everywhere(client, student, other_student, admin_user, world,
                                                   django_capture_on_commit_callbacks):
    from django.test import Client

    student_browser = Client()
    student_browser.force_login(student)  # an open session that deletion must end
    cache_key = privacy.user_cache_set(student.pk, "dashboard", {"name": "alice"})
    other_key = privacy.user_cache_set(other_student.pk, "dashboard", {"name": "bob"})
    before_other = privacy.summary_counts(other_student)
    attempts_before = AttemptItem.objects.filter(attempt__exam=world["exam"]).count()

    request = _request_and_confirm(client, student, admin_user, django_capture_on_commit_callbacks)
    assert request.status == DeletionStatus.CONFIRMED and request.decided_by == admin_user and request.reason == ""

    user = get_user_model().objects.get(pk=student.pk)
    assert user.username.startswith("deleted-") and not user.is_active and not user.has_usable_password()
    assert (user.first_name, user.last_name, user.email, user.display_name) == ("", "", "", "")
    for model, f in _user_fields():
        policy = privacy.POLICY[f"{model._meta.label}.{f.name}"]
        rows = model.objects.filter(**{f.name: user.pk})
        if policy == privacy.DELETE:
            assert not rows.exists(), f"{model._meta.label}.{f.name} still holds the user's rows"
    # kept answers: anonymised account, free text gone
    assert Attempt.objects.filter(student=user).count() == 1
    assert not AttemptItem.objects.filter(note__contains=SECRET_NOTE + "-alice").exists()
    assert ItemResponse.objects.filter(learner=user).count() == 3
    # personal cards, their images and files, reviews
    assert not PersonalCard.objects.filter(learner=user).exists() and not CardReview.objects.filter(learner=user).exists()
    assert not CardImage.objects.filter(card_id=world["mine"]["card"].pk).exists()
    assert not world["mine"]["image"].exists() and world["theirs"]["image"].exists()
    # outside the tables: sessions, cache, xAPI outbox, search index
    assert not any(str(s.get_decoded().get("_auth_user_id")) == str(student.pk) for s in Session.objects.all())
    assert student_browser.get("/my-data/").status_code == 302  # signed out
    assert cache.get(cache_key) is None and cache.get(other_key) == {"name": "bob"}
    assert not XapiStatement.objects.filter(
        payload__actor__account__name=pseudonym(student.pk, settings.SECRET_KEY)).exists()
    from medtutor.content.models import Item
    assert not Item.objects.search("alice").exists() and not Item.objects.search("stu").exists()
    # nothing of anybody else changed; the audit chain still verifies; item analysis still counts the answers
    assert privacy.summary_counts(other_student) == before_other
    assert verify_chain().ok
    assert AuditRecord.objects.filter(action="privacy.deletion_confirmed", actor=admin_user).exists()
    assert AttemptItem.objects.filter(attempt__exam=world["exam"]).count() == attempts_before
    analysis = analyse_exam(world["exam"])
    assert analysis is not None
    client.force_login(admin_user)
    assert client.get(f"/exams/{world['exam'].pk}/analysis/").status_code == 200
    assert student.pk in privacy.analytics_excluded_user_ids()


def test_deletion_with_nothing_stored_and_self_export_after(client, faculty, admin_user):
    privacy.request_deletion(faculty)
    done = privacy.confirm_deletion(DeletionRequest.objects.get(user=faculty).pk, admin_user)
    assert done.user.username.startswith("deleted-")
    assert verify_chain().ok


def test_students_and_faculty_cannot_confirm_and_admins_not_their_own(client, student, faculty, admin_user):
    request = privacy.request_deletion(student)
    for user in (student, faculty):
        client.force_login(user)
        assert client.post("/governance/privacy/", {"request_id": request.pk, "action": "confirm",
                                                    "sure": "yes"}).status_code == 403
        with pytest.raises(PermissionDenied):
            privacy.confirm_deletion(request.pk, user)
    request.refresh_from_db()
    assert request.status == DeletionStatus.PENDING and get_user_model().objects.get(pk=student.pk).is_active
    own = privacy.request_deletion(admin_user)
    client.force_login(admin_user)
    assert client.post("/governance/privacy/", {"request_id": own.pk, "action": "confirm",
                                                "sure": "yes"}).status_code == 400
    assert get_user_model().objects.get(pk=admin_user.pk).is_active


def test_decline_needs_a_reason_and_the_student_sees_it(client, student, admin_user):
    request = privacy.request_deletion(student)
    with pytest.raises(InvalidInput):
        privacy.request_deletion(student)  # one pending request at a time
    client.force_login(admin_user)
    bad = client.post("/governance/privacy/", {"request_id": request.pk, "action": "decline"})
    assert bad.status_code == 400 and "reason" in bad.content.decode()
    client.post("/governance/privacy/", {"request_id": request.pk, "action": "decline",
                                          "decision_reason": "an exam appeal is open"})
    request.refresh_from_db()
    assert request.status == DeletionStatus.DECLINED
    client.force_login(student)
    assert "an exam appeal is open" in client.get("/my-data/").content.decode()


def test_withdraw_a_pending_request(client, student):
    privacy.request_deletion(student)
    client.force_login(student)
    client.post("/my-data/delete/", {"action": "withdraw"})
    assert DeletionRequest.objects.get(user=student).status == DeletionStatus.WITHDRAWN


def test_analytics_opt_out(client, student, other_student):
    client.force_login(student)
    assert client.post("/my-data/", {"analytics_opt_out": "maybe"}).status_code == 302
    assert not PrivacySettings.objects.exists()
    client.post("/my-data/", {"analytics_opt_out": "yes"})
    assert privacy.analytics_excluded_user_ids() == {student.pk}
    client.post("/my-data/", {"analytics_opt_out": "no"})
    assert privacy.analytics_excluded_user_ids() == set()
    assert AuditRecord.objects.filter(action="privacy.analytics_opt_out", actor=student).exists()


def test_purge_applies_the_retention_periods(settings, student, other_student):
    from axes.models import AccessAttempt

    now = clock.now()
    settings.MEDTUTOR_RETENTION_DAYS_INACTIVE_STUDENTS = 400
    old_token, _ = ApiToken.issue(student, "old")
    ApiToken.objects.filter(pk=old_token.pk).update(created_at=now - timedelta(days=400))
    fresh_token, _ = ApiToken.issue(student, "fresh")
    XapiStatement.objects.create(statement_id="00000000-0000-0000-0000-0000000000aa", payload={},
                                 created_at=now - timedelta(days=60), next_attempt_at=now,
                                 sent_at=now - timedelta(days=60))
    pending = XapiStatement.objects.create(statement_id="00000000-0000-0000-0000-0000000000bb", payload={},
                                           created_at=now - timedelta(days=60), next_attempt_at=now)
    attempt = AccessAttempt.objects.create(username="stu", ip_address="10.0.0.1", user_agent="x",
                                           get_data="", post_data="", failures_since_start=1)
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=now - timedelta(days=100))
    get_user_model().objects.filter(pk=other_student.pk).update(last_login=now - timedelta(days=500))
    report = privacy.purge(now)
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [fresh_token.pk]
    assert list(XapiStatement.objects.values_list("pk", flat=True)) == [pending.pk]
    assert not AccessAttempt.objects.exists()
    assert DeletionRequest.objects.filter(user=other_student, status=DeletionStatus.PENDING).exists()
    assert not DeletionRequest.objects.filter(user=student).exists()
    assert "api tokens 1" in report.describe()
    privacy.purge(now)  # safe to repeat: no second request
    assert DeletionRequest.objects.filter(user=other_student).count() == 1


def test_purge_is_a_daily_job():
    from medtutor.core.jobs import JOBS

    job = next(j for j in JOBS if j.name == "privacy.purge")
    assert job.every == timedelta(days=1)


@pytest.mark.parametrize("url,roles", [("/my-data/", {"student", "faculty", "admin"}),
                                       ("/my-data/delete/", {"student", "faculty", "admin"}),
                                       ("/my-data/export/", {"student", "faculty", "admin"}),
                                       ("/governance/privacy/", {"admin"})])
def test_page_permissions(client, users, url, roles):
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for role, user in users.items():
        client.force_login(user)
        assert client.get(url).status_code == (200 if role in roles else 403), (role, url)


def test_pages_have_no_inline_script_or_style(client, users):
    client.force_login(users["admin"])
    for url in ("/my-data/", "/my-data/delete/", "/governance/privacy/"):
        html = client.get(url).content.decode()
        assert "style=" not in html and "onclick" not in html and "<script>" not in html
        assert 'href="/my-data/"' in html  # the nav link


def test_cli_purge(db, student):
    from typer.testing import CliRunner

    from medtutor.cli import app

    token, _ = ApiToken.issue(student, "ancient")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now() - timedelta(days=900))
    result = CliRunner().invoke(app, ["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "api tokens 1" in result.output and not ApiToken.objects.exists()


def test_a_user_table_missing_from_the_policy_stops_deletion_and_changes_nothing(monkeypatch, student, admin_user):
    ApiToken.issue(student, "kept")
    request = privacy.request_deletion(student)
    monkeypatch.delitem(privacy.POLICY, "accounts.ApiToken.user")  # as if a new model had been added unhandled
    with pytest.raises(InvalidInput, match="accounts.ApiToken.user"):
        privacy.confirm_deletion(request.pk, admin_user)
    request.refresh_from_db()
    assert request.status == DeletionStatus.PENDING and ApiToken.objects.filter(user=student).exists()
    assert get_user_model().objects.get(pk=student.pk).username == "stu"


def test_purge_deletes_kept_answers_of_deleted_accounts_after_their_period(settings, outline, student, admin_user, faculty):
    items = make_items(2, prefix="kept", actor=faculty)
    for n, item in enumerate(items):
        record_answer(student, item.pk, None, 0, f"kept-{n}")
    privacy.request_deletion(student)
    privacy.confirm_deletion(DeletionRequest.objects.get(user=student).pk, admin_user)
    now = clock.now()
    settings.MEDTUTOR_RETENTION_DAYS_DELETED_ANSWERS = 0
    privacy.purge(now + timedelta(days=400))
    assert ItemResponse.objects.filter(learner_id=student.pk).count() == 2  # 0: kept
    settings.MEDTUTOR_RETENTION_DAYS_DELETED_ANSWERS = 365
    privacy.purge(now + timedelta(days=100))
    assert ItemResponse.objects.filter(learner_id=student.pk).count() == 2  # not yet
    privacy.purge(now + timedelta(days=400))
    assert not ItemResponse.objects.filter(learner_id=student.pk).exists()
    assert verify_chain().ok
