"""medtutor as an LTI 1.3 tool, end to end against a platform run in the test (tests/integrations/
lti_platform.py): login -> launch with real RS256 signatures, role mapping, refusals, grade passback
through the outbox, deep linking and Names and Roles provisioning."""

from __future__ import annotations

import stat
from datetime import timedelta

import jwt
import pytest
from django.core.cache import cache

from medtutor.accounts.models import Cohort, ExternalIdentity, Role
from medtutor.core import clock
from medtutor.core.models import AuditRecord
from medtutor.integrations.lti import launch as lti_launch
from medtutor.integrations.lti.claims import role_from_lti
from medtutor.integrations.models import LtiNonce, LtiPlatform, LtiResourceLink, LtiScore
from tests.integrations.lti_platform import CLIENT_ID, DEPLOYMENT_ID, LTI, NRPS_SCOPE, ROLE, SCORE_SCOPE, Platform


@pytest.fixture
def platform(db, settings, tmp_path, client, monkeypatch):
    monkeypatch.delenv("MEDTUTOR_LTI_PRIVATE_KEY", raising=False)
    settings.VAR_DIR = tmp_path
    cache.clear()
    tool_jwks = client.get("/lti/jwks.json").json()
    lms = Platform(tool_jwks)
    lms.record = LtiPlatform.objects.create(
        name="Test LMS", issuer=lms.url, client_id=CLIENT_ID, deployment_ids=[DEPLOYMENT_ID],
        auth_login_url=lms.url + "/auth", auth_token_url=lms.url + "/token", jwks_url=lms.url + "/jwks",
        created_at=clock.now())
    yield lms
    lms.server.shutdown()
    cache.clear()


@pytest.fixture
def exam(db, outline):
    from tests.assessment.factories import make_exam, make_items

    return make_exam(make_items(2, prefix="lti"), time_limit_minutes=None, title="Heart failure quiz")


def resource_message(lms: Platform, target: str, *, ags: bool = True, nrps: bool = False) -> str:
    claims = {LTI + "message_type": "LtiResourceLinkRequest",
              LTI + "resource_link": {"id": "rl-" + target, "title": "Week 3 quiz"},
              LTI + "context": {"id": "course-42", "label": "CARD101", "title": "Cardiology 101"},
              LTI + "custom": {"medtutor_target": target}}
    if ags:
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
            "scope": [SCORE_SCOPE], "lineitem": lms.url + "/lineitems/7"}
    if nrps:
        claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
            "context_memberships_url": lms.url + "/memberships", "service_versions": ["2.0"]}
    hint = f"msg-{len(lms.messages)}"
    lms.messages[hint] = claims
    return hint


def start_login(client, lms: Platform, person: str, hint: str, deployment: str = DEPLOYMENT_ID):
    return client.post("/lti/login", {"iss": lms.url, "client_id": CLIENT_ID, "login_hint": person,
                                      "lti_message_hint": hint, "target_link_uri": "http://testserver/lti/launch",
                                      "lti_deployment_id": deployment})


def launch(client, lms: Platform, person: str, hint: str):
    """The browser's round trip: tool login -> platform authorization -> form post to the tool."""
    login = start_login(client, lms, person, hint)
    assert login.status_code == 302, login.content
    form = lms.authorize(login["Location"])
    return client.post("/lti/launch", form), form


def refused(response, words: str) -> None:
    assert response.status_code == 403
    assert words.lower() in response.content.decode().lower()
    assert AuditRecord.objects.filter(action="login.lti.refused").exists()


def test_student_launch_signs_in_and_lands_on_the_exam(client, platform, exam):
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}"))
    assert response.status_code == 302 and response["Location"] == f"/exams/{exam.pk}/"
    identity = ExternalIdentity.objects.get(issuer=platform.url, subject="lms-stu-1")
    assert identity.user.role == Role.STUDENT and identity.user.display_name == "Noor Haddad"
    assert not identity.user.has_usable_password()
    assert client.get(response["Location"]).status_code == 200
    cohort = Cohort.objects.get(name="Cardiology 101")
    assert identity.user in cohort.members.all()
    link = LtiResourceLink.objects.get(resource_link_id=f"rl-exam:{exam.pk}")
    assert link.lineitem_url == platform.url + "/lineitems/7" and link.cohort == cohort
    assert AuditRecord.objects.filter(action="login.lti", actor=identity.user).exists()


def test_faculty_launch_maps_the_instructor_role_and_rotates_the_session(client, platform, exam):
    hint = resource_message(platform, f"exam:{exam.pk}")
    launch(client, platform, "hint-student", hint)
    first_session = client.cookies["sessionid"].value
    response, _ = launch(client, platform, "hint-faculty", hint)
    assert response.status_code == 302
    faculty = ExternalIdentity.objects.get(subject="lms-fac-1").user
    assert faculty.role == Role.FACULTY
    assert client.cookies["sessionid"].value != first_session
    assert int(client.session["_auth_user_id"]) == faculty.pk
    assert client.get(f"/exams/{exam.pk}/").status_code == 200   # the faculty view of the exam


def test_role_mapping():
    assert role_from_lti([ROLE + "Learner"]) == Role.STUDENT
    assert role_from_lti([ROLE + "Instructor"]) == Role.FACULTY
    assert role_from_lti([ROLE + "Learner", "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]) \
        == Role.ADMIN
    assert role_from_lti(["Instructor"]) == Role.FACULTY   # NRPS short names
    assert role_from_lti([ROLE + "Instructor#TeachingAssistant"]) == Role.STUDENT
    assert role_from_lti(None) == Role.STUDENT


def test_a_replayed_launch_is_refused(client, platform, exam):
    hint = resource_message(platform, f"exam:{exam.pk}")
    login = start_login(client, platform, "hint-student", hint)
    form = platform.authorize(login["Location"])
    cookie_name = lti_launch.state_cookie_name(form["state"])
    cookie = client.cookies[cookie_name].value
    assert client.post("/lti/launch", form).status_code == 302
    client.logout()
    client.cookies[cookie_name] = cookie   # the attacker holds the browser's cookie too
    refused(client.post("/lti/launch", form), "already been used")
    assert LtiNonce.objects.count() == 1


def test_a_forged_signature_is_refused(client, platform, exam):
    from tests.integrations.lti_platform import new_key

    platform.sign_key = new_key()     # same kid, a key the platform never published
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}"))
    refused(response, "signature is not valid")
    assert not ExternalIdentity.objects.exists() and "_auth_user_id" not in client.session


def test_an_expired_launch_is_refused(client, platform, exam):
    platform.overrides = {"exp": int(clock.now().timestamp()) - 3600, "iat": int(clock.now().timestamp()) - 4000}
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}"))
    refused(response, "expired")


def test_an_unknown_deployment_is_refused(client, platform, exam):
    hint = resource_message(platform, f"exam:{exam.pk}")
    refused(start_login(client, platform, "hint-student", hint, deployment="dep-evil"), "not registered")
    platform.overrides = {LTI + "deployment_id": "dep-evil"}
    response, _ = launch(client, platform, "hint-student", hint)
    refused(response, "not registered")


def test_a_launch_this_browser_did_not_start_is_refused(client, platform, exam):
    hint = resource_message(platform, f"exam:{exam.pk}")
    form = platform.authorize(start_login(client, platform, "hint-student", hint)["Location"])
    client.cookies.clear()
    refused(client.post("/lti/launch", form), "state cookie")


def test_a_token_for_another_tool_is_refused(client, platform, exam):
    platform.overrides = {"aud": "some-other-tool"}
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}"))
    refused(response, "not issued by the platform")


def test_the_exam_score_reaches_the_gradebook_even_when_the_platform_was_down(client, platform, exam):
    from medtutor.assessment import services
    from medtutor.core.jobs import JOBS, run_due

    launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}"))
    student = ExternalIdentity.objects.get(subject="lms-stu-1").user
    attempt = services.start_attempt(student, exam.pk)
    services.submit_attempt(student, attempt.pk)
    score = LtiScore.objects.get(attempt=attempt)
    platform.down = 1
    score_job = tuple(job for job in JOBS if job.name == "lti.send_scores")
    now = clock.now()
    run_due(now, jobs=score_job)
    score.refresh_from_db()
    assert score.sent_at is None and score.attempts == 1 and "503" in score.last_error
    assert platform.scores == []
    run_due(now + timedelta(seconds=61), jobs=score_job)   # the next slot, after the 30 s backoff
    score.refresh_from_db()
    assert score.sent_at is not None
    [received] = platform.scores
    assert received["userId"] == "lms-stu-1" and received["scoreMaximum"] == 2
    assert received["activityProgress"] == "Completed" and received["gradingProgress"] == "FullyGraded"
    assert received["scoreGiven"] == attempt.__class__.objects.get(pk=attempt.pk).score_correct


def test_deep_linking_returns_a_signed_choice(client, platform, exam):
    platform.messages["dl"] = {
        LTI + "message_type": "LtiDeepLinkingRequest",
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
            "deep_link_return_url": platform.url + "/deep-link-return", "accept_types": ["ltiResourceLink"],
            "data": "opaque-123"}}
    response, _ = launch(client, platform, "hint-faculty", "dl")
    assert response.status_code == 302 and response["Location"] == "/lti/deep-link/"
    page = client.get("/lti/deep-link/")
    assert "Heart failure quiz" in page.content.decode()
    assert client.post("/lti/deep-link/", {}).status_code == 400
    answer = client.post("/lti/deep-link/", {"target": f"exam:{exam.pk}"})
    assert answer.status_code == 200
    assert f"form-action 'self' {platform.url}" in answer["Content-Security-Policy"]
    body = answer.content.decode()
    assert f'action="{platform.url}/deep-link-return"' in body
    token = body.split('name="JWT" value="')[1].split('"')[0]
    jwks = client.get("/lti/jwks.json").json()
    [key] = [k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, jwt.algorithms.RSAAlgorithm.from_jwk(key), algorithms=["RS256"],
                        audience=platform.url, issuer=CLIENT_ID)
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == DEPLOYMENT_ID
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-123"
    [item] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["custom"] == {"medtutor_target": f"exam:{exam.pk}"} and item["title"] == "Heart failure quiz"
    assert item["url"] == "http://testserver/lti/launch" and item["lineItem"]["scoreMaximum"] == 2


def test_students_cannot_deep_link(client, platform):
    platform.messages["dl"] = {
        LTI + "message_type": "LtiDeepLinkingRequest",
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
            "deep_link_return_url": platform.url + "/deep-link-return"}}
    response, _ = launch(client, platform, "hint-student", "dl")
    refused(response, "only instructors")


def test_names_and_roles_provision_the_course_cohort(client, platform, exam):
    from medtutor.integrations.lti.services import sync_roster

    launch(client, platform, "hint-faculty", resource_message(platform, f"exam:{exam.pk}", nrps=True))
    platform.members = [
        {"user_id": "lms-fac-1", "name": "Dr Ines Moreau", "roles": [ROLE + "Instructor"], "status": "Active"},
        {"user_id": "lms-stu-1", "name": "Noor Haddad", "email": "noor@uni.example", "roles": ["Learner"]},
        {"user_id": "lms-stu-2", "name": "Tomas Weber", "roles": [ROLE + "Learner"], "status": "Active"},
        {"user_id": "lms-stu-3", "name": "Left Early", "roles": [ROLE + "Learner"], "status": "Inactive"},
    ]
    link = LtiResourceLink.objects.get(resource_link_id=f"rl-exam:{exam.pk}")
    report = sync_roster(link)
    cohort = Cohort.objects.get(name="Cardiology 101")
    members = {u.external_identities.get().subject for u in cohort.members.all()}
    assert members == {"lms-stu-1", "lms-stu-2"} and report.members == 4 and report.added == 2
    assert ExternalIdentity.objects.get(subject="lms-stu-3").user.role == Role.STUDENT
    platform.members = platform.members[:1] + platform.members[2:]   # Noor left the course
    assert sync_roster(link).removed == 1
    assert {u.external_identities.get().subject for u in cohort.members.all()} == {"lms-stu-2"}
    assert NRPS_SCOPE in next(iter(platform.tokens.values()))


def test_the_tool_key_is_generated_once_and_private(platform, settings, client):
    path = settings.VAR_DIR / "lti_private_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.get("/lti/jwks.json").json() == platform.tool_jwks
    assert "PRIVATE" not in client.get("/lti/jwks.json").content.decode()


def test_the_private_key_can_come_from_the_environment(db, monkeypatch, settings, tmp_path, client):
    from cryptography.hazmat.primitives import serialization

    from tests.integrations.lti_platform import new_key

    key = new_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("MEDTUTOR_LTI_PRIVATE_KEY", pem)
    [published] = client.get("/lti/jwks.json").json()["keys"]
    assert published["n"] == jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)["n"]
    assert not (tmp_path / "lti_private_key.pem").exists()


def test_a_case_placed_in_a_course_opens_for_its_students(client, platform):
    from medtutor.simulation.models import CaseAssignment
    from tests.simulation.factories import demo_case

    case = demo_case()
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"case:{case.pk}", ags=False))
    assert response.status_code == 302 and response["Location"] == "/vp/"
    assert CaseAssignment.objects.filter(case=case, cohort__name="Cardiology 101").exists()
    assert case.title in client.get(response["Location"]).content.decode()   # on the student's list now


def test_practice_target_and_a_link_without_grades(client, platform, exam):
    from medtutor.assessment import services

    response, _ = launch(client, platform, "hint-student", resource_message(platform, "practice", ags=False))
    assert response["Location"] == "/practice/"
    response, _ = launch(client, platform, "hint-student", resource_message(platform, f"exam:{exam.pk}", ags=False))
    student = ExternalIdentity.objects.get(subject="lms-stu-1").user
    attempt = services.start_attempt(student, exam.pk)
    services.submit_attempt(student, attempt.pk)
    assert not LtiScore.objects.exists()   # the course did not ask for grades: nothing to send


def test_register_cli(db, settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from medtutor.cli import app

    monkeypatch.delenv("MEDTUTOR_LTI_PRIVATE_KEY", raising=False)
    settings.VAR_DIR = tmp_path
    args = ["lti", "register", "--issuer", "https://lms.example", "--client-id", "abc", "--deployment-id", "1",
            "--deployment-id", "2", "--login-url", "https://lms.example/auth", "--token-url",
            "https://lms.example/token", "--jwks-url", "https://lms.example/jwks", "--name", "Example LMS"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "/lti/login" in result.output and "/lti/jwks.json" in result.output
    platform = LtiPlatform.objects.get(issuer="https://lms.example")
    assert platform.deployment_ids == ["1", "2"] and platform.client_id == "abc"
    assert (tmp_path / "lti_private_key.pem").exists()
    bad = CliRunner().invoke(app, [*args[:10], "not a url", *args[11:]])
    assert bad.exit_code == 2 and "--login-url" in bad.output
    assert LtiPlatform.objects.count() == 1


def test_administrators_register_a_platform_on_the_page(client, admin_user, faculty, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    form = {"name": "Moodle", "issuer": "https://moodle.example", "client_id": "xyz",
            "auth_login_url": "https://moodle.example/auth", "auth_token_url": "https://moodle.example/token",
            "jwks_url": "https://moodle.example/jwks", "deployments": "3, 4,3"}
    client.force_login(faculty)
    assert client.get("/lti/platforms/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/lti/platforms/")
    assert page.status_code == 200 and "http://testserver/lti/jwks.json" in page.content.decode()
    bad = client.post("/lti/platforms/", form | {"jwks_url": "nope", "deployments": " , "})
    assert bad.status_code == 400 and not LtiPlatform.objects.exists()
    assert "Give at least one deployment id" in bad.content.decode()
    assert client.post("/lti/platforms/", form).status_code == 302
    platform = LtiPlatform.objects.get(issuer="https://moodle.example")
    assert platform.deployment_ids == ["3", "4"]
    assert AuditRecord.objects.filter(action="lti.platform.registered", actor=admin_user).exists()


def test_administrators_sync_a_course_roster_on_the_page(client, platform, exam, admin_user):
    launch(client, platform, "hint-faculty", resource_message(platform, f"exam:{exam.pk}", nrps=True))
    platform.members = [{"user_id": "lms-stu-9", "name": "Ada Obi", "roles": [ROLE + "Learner"]}]
    link = LtiResourceLink.objects.get()
    client.force_login(admin_user)
    response = client.post("/lti/platforms/", {"action": "sync", "link": link.pk})
    assert response.status_code == 200 and "1 added" in response.content.decode()
    assert Cohort.objects.get(name="Cardiology 101").members.get().external_identities.get().subject == "lms-stu-9"


def test_a_debriefed_case_sends_its_score(client, platform):
    from medtutor.integrations.lti.services import send_pending_scores
    from medtutor.simulation import services as vp
    from tests.simulation.factories import demo_case

    case = demo_case()
    launch(client, platform, "hint-student", resource_message(platform, f"case:{case.pk}"))
    student = ExternalIdentity.objects.get(subject="lms-stu-1").user
    session = vp.start_session(student, case)
    vp.submit_diagnosis(session, "anaphylaxis", ["anaphylaxis", "asthma"])
    session.refresh_from_db()
    assert send_pending_scores().sent == 1
    [received] = platform.scores
    assert received["scoreMaximum"] == 100 and received["scoreGiven"] == round(session.score, 2)
    assert LtiScore.objects.get().vp_session == session


def test_a_disabled_account_cannot_launch(client, platform, exam):
    hint = resource_message(platform, f"exam:{exam.pk}")
    launch(client, platform, "hint-student", hint)
    client.logout()
    user = ExternalIdentity.objects.get(subject="lms-stu-1").user
    user.is_active = False
    user.save(update_fields=["is_active"])
    response, _ = launch(client, platform, "hint-student", hint)
    refused(response, "disabled")


def test_registering_again_updates_the_platform(db, settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from medtutor.cli import app

    monkeypatch.delenv("MEDTUTOR_LTI_PRIVATE_KEY", raising=False)
    settings.VAR_DIR = tmp_path
    base = ["lti", "register", "--issuer", "https://lms.example", "--client-id", "abc", "--login-url",
            "https://lms.example/auth", "--token-url", "https://lms.example/token", "--jwks-url",
            "https://lms.example/jwks"]
    assert CliRunner().invoke(app, [*base, "--deployment-id", "1"]).exit_code == 0
    created_at = LtiPlatform.objects.get().created_at
    result = CliRunner().invoke(app, [*base, "--deployment-id", "9"])
    assert result.exit_code == 0 and "updated platform" in result.output
    platform = LtiPlatform.objects.get()
    assert platform.deployment_ids == ["9"] and platform.created_at == created_at
