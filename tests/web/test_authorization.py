"""The authorization matrix: every page, every role."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from medtutor.accounts.models import Role

PUBLIC = {"login", "logout", "healthz", "readyz", "metrics", "oidc_authentication_init",
          "oidc_authentication_callback",
          "lti_jwks", "lti_login", "lti_launch"}  # metrics: token or loopback (tests/ops); lti: the signed id_token
POST_ONLY = {"logout", "revoke_token", "ddx_ask", "ddx_commit"}


def _named_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("api/"):
                continue
            yield from _named_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern), entry.callback


PATTERNS = sorted(_named_patterns())


def _url(route: str, item_id: int, user_id: int = 0, cohort_id: int = 0) -> str:
    url = "/" + route.replace("<int:item_id>", str(item_id)).replace("<int:token_id>", "1").replace(
        "<path:path>", "items/none.png").replace("<slug:slug>", "no-such-card").replace(
        "<int:user_id>", str(user_id)).replace("<int:cohort_id>", str(cohort_id)).replace(
        "<int:student_id>", str(user_id)).replace(
        "<int:session_id>", "0").replace(  # a DDx trainer session is its owner's only: 404 for everyone else
        "<int:model_id>", "0")  # no registered model 0: the risk lab's model pages answer 404
    if "<int:exam_id>" in url or "<int:attempt_id>" in url:  # an exam on the item, an attempt of the student
        from tests.assessment.factories import exam_and_attempt_ids

        exam_id, attempt_id = exam_and_attempt_ids(item_id, user_id)
        url = url.replace("<int:exam_id>", str(exam_id)).replace("<int:attempt_id>", str(attempt_id)).replace(
            "<int:position>", "1")
    if "<int:vp_case_id>" in url or "<int:vp_session_id>" in url:  # a case assigned to the student, their session
        from tests.simulation.factories import case_and_session_ids

        case_id, session_id = case_and_session_ids(user_id)
        url = url.replace("<int:vp_case_id>", str(case_id)).replace("<int:vp_session_id>", str(session_id))
    return url


@pytest.fixture
def cohort(db, users):
    from medtutor.accounts.models import Cohort

    cohort = Cohort.objects.create(code="md-2028", name="MD class of 2028", year=2028)
    cohort.members.add(users["student"], users["faculty"])  # faculty teach it (cohort analytics: their cohorts only)
    return cohort


def test_every_page_declares_its_roles():
    undeclared = [name for name, _, view in PATTERNS
                  if name not in PUBLIC and not getattr(view, "allowed_roles", None)]
    assert undeclared == []


@pytest.mark.parametrize("name,route,view", [p for p in PATTERNS if p[0] not in PUBLIC | POST_ONLY],
                         ids=[p[0] for p in PATTERNS if p[0] not in PUBLIC | POST_ONLY])
def test_matrix(client, users, item, cohort, name, route, view):
    url = _url(route, item.pk, user_id=users["student"].pk, cohort_id=cohort.pk)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for role, user in users.items():
        client.force_login(user)
        response = client.get(url)
        if role in view.allowed_roles:
            assert response.status_code in (200, 302, 404), (role, url, response.status_code)
            # these look up objects that may not exist
            if name not in ("media", "model_card", "ddx_session", "risk_model_card", "risk_model_status",
                            "ai_course_lesson"):
                assert response.status_code != 404, (role, url)
        else:
            assert response.status_code == 403, (role, url, response.status_code)
        client.logout()


def test_student_home_shows_only_their_own_answers(client, student, other_student, item):
    from medtutor.learning.services import record_answer

    record_answer(other_student, item.pk, None, 1, "token-other-1")
    client.force_login(student)
    page = client.get("/")
    assert page.context["answered"] == 0
    record_answer(student, item.pk, None, 0, "token-mine-1")
    assert client.get("/").context["answered"] == 1


def test_roles_have_their_own_home_page(client, users):
    templates = {}
    for role, user in users.items():
        client.force_login(user)
        response = client.get("/")
        templates[role] = response.templates[0].name
    assert templates == {"student": "web/home_student.html", "faculty": "web/home_faculty.html",
                         "admin": "web/home_admin.html"}


def test_error_pages_for_unknown_urls(client, student):
    client.force_login(student)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
