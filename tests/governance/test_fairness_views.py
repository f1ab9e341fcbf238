"""Fairness pages: who may see them, what they show, suppression in the HTML, and the attribute import."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from medtutor.accounts import subgroups
from medtutor.accounts.models import Cohort, SubgroupAttribute
from medtutor.core.models import AuditRecord
from tests.governance.test_fairness_reports import (
    cohort,  # noqa: F401  (fixture)
    make_dif_exam,
    make_grades,
    make_practice,
    make_run,
    register_risk_model,
)


def _cohort_urls(cohort_id: int) -> list[str]:
    return [reverse(name, args=[cohort_id]) for name in
            ("fairness_early_warning", "fairness_grader", "fairness_knowledge_tracing")]


@pytest.fixture
def exam(outline, faculty):
    return make_dif_exam(faculty, per_group=35)


def test_permissions_per_role(client, cohort, exam, student, faculty, admin_user, make_user):  # noqa: F811
    everyone = [reverse("fairness_home"), reverse("fairness_risk"), reverse("fairness_dif", args=[exam.pk]),
                *_cohort_urls(cohort.pk)]
    admin_only = [reverse("fairness_attributes")]
    for url in everyone + admin_only:
        assert client.get(url).status_code == 302, url  # anonymous: to the login page
    client.force_login(student)
    for url in everyone + admin_only:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("fairness_attributes")).status_code == 403
    client.force_login(faculty)
    for url in everyone:
        assert client.get(url).status_code == 200, url
    assert client.get(admin_only[0]).status_code == 403
    stranger = make_user("fac-2", "faculty")
    Cohort.objects.create(code="other", name="Another cohort").members.add(stranger)
    client.force_login(stranger)
    for url in _cohort_urls(cohort.pk):
        assert client.get(url).status_code == 404, url   # not theirs: no hint that it exists
    assert client.get(reverse("fairness_dif", args=[exam.pk + 999])).status_code == 404
    client.force_login(admin_user)
    for url in everyone + admin_only:
        assert client.get(url).status_code == 200, url


def test_home_lists_only_the_faculty_members_cohorts(client, cohort, faculty, make_user):  # noqa: F811
    Cohort.objects.create(code="hidden", name="Cohort of someone else")
    client.force_login(faculty)
    body = client.get(reverse("fairness_home")).content.decode()
    assert "Class of 2031" in body and "Cohort of someone else" not in body
    assert reverse("fairness_attributes") not in body


def test_early_warning_page_suppresses_small_groups_and_names_no_student(client, cohort, faculty):  # noqa: F811
    make_run(cohort)
    client.force_login(faculty)
    body = client.get(reverse("fairness_early_warning", args=[cohort.pk])).content.decode()
    assert "By sex" in body and "By first generation" in body
    assert body.count("data-suppressed") == 2       # "other" (2 students) and "male" (its complement)
    assert re.search(r"<th scope=\"row\">female</th>\s*<td class=\"num\">7</td>", body)
    for user in cohort.members.filter(role="student"):
        assert user.username not in body
    assert "confidence intervals" in body


def test_guard_when_there_is_nothing_yet(client, cohort, faculty):  # noqa: F811
    client.force_login(faculty)
    body = client.get(reverse("fairness_early_warning", args=[cohort.pk])).content.decode()
    assert "No early-warning run for this cohort yet" in body
    assert "No graded short answers" in client.get(reverse("fairness_grader", args=[cohort.pk])).content.decode()
    assert "No practice answers" in client.get(reverse("fairness_knowledge_tracing", args=[cohort.pk])).content.decode()


def test_grader_and_kt_pages(client, outline, cohort, faculty, item):  # noqa: F811
    make_grades(cohort, faculty)
    make_practice(cohort, item)
    client.force_login(faculty)
    grader = client.get(reverse("fairness_grader", args=[cohort.pk])).content.decode()
    assert "mean error (automatic − human)" in grader and "interval excludes 0" in grader
    kt = client.get(reverse("fairness_knowledge_tracing", args=[cohort.pk])).content.decode()
    assert "90 answers from 15 students" in kt and "By sex" in kt


def test_risk_page_says_education_not_patient_care(client, faculty, db):
    register_risk_model()
    client.force_login(faculty)
    body = client.get(reverse("fairness_risk")).content.decode()
    assert "risk-demo-logreg" in body and "For education, not patient care" in body
    assert "AUC not reported" in body and "0.82 [" in body


def test_dif_page(client, exam, admin_user):
    client.force_login(admin_user)
    body = client.get(reverse("fairness_dif", args=[exam.pk])).content.decode()
    assert "sex: male (focal, 35) against female (reference, 35)" in body
    assert 'data-item="dif-0 v1" data-class="C"' in body
    assert "MH D-DIF" in body and "ETS" in body


def test_dif_page_says_when_there_are_too_few_examinees(client, outline, faculty, admin_user):
    exam = make_dif_exam(faculty, per_group=10)
    client.force_login(admin_user)
    body = client.get(reverse("fairness_dif", args=[exam.pk])).content.decode()
    assert "Not enough data for DIF" in body and "data-comparison" not in body


# --- the attribute import page -----------------------------------------------------------------------

def _upload(client, text: str, name: str = "attributes.csv"):
    return client.post(reverse("fairness_attributes"),
                       {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")})


def test_attribute_import_page(client, admin_user, make_user):
    people = [make_user(f"person-{n}") for n in range(6)]
    client.force_login(admin_user)
    lines = "\n".join(f"person-{n},sex,{'female' if n < 5 else 'male'}" for n in range(6))
    response = _upload(client, "username,attribute,value\n" + lines + "\n")
    assert response.status_code == 302
    assert subgroups.value_counts([p.pk for p in people], "sex") == {"female": 5, "male": 1}
    assert AuditRecord.objects.filter(action="accounts.subgroups_imported", actor=admin_user).exists()
    body = client.get(reverse("fairness_attributes")).content.decode()
    assert "Imported 6 row(s)" in body
    # counts only, and a value of fewer than 5 students is not counted exactly
    assert re.search(r"<th scope=\"row\">female</th><td class=\"num\">5</td>", body)
    assert re.search(r"<th scope=\"row\">male</th><td class=\"num\">fewer than 5</td>", body)
    # no username leaks onto the page (names long enough that a random CSRF token cannot contain them)
    assert not any(p.username in body for p in people)


def test_attribute_import_refuses_bad_files_and_changes_nothing(client, admin_user, make_user):
    make_user("p0")
    client.force_login(admin_user)
    response = _upload(client, "username,attribute,value\np0,sex,female\nghost,sex,male\n")
    assert response.status_code == 400
    body = response.content.decode()
    assert "nothing was imported" in body and "line 3: no active user &#x27;ghost&#x27;" in body
    assert not SubgroupAttribute.objects.exists()
    assert _upload(client, "\xff\xfe", name="bin.csv").status_code in (400,)
    assert client.post(reverse("fairness_attributes"), {}).status_code == 400
    bad = client.post(reverse("fairness_attributes"),
                      {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00", content_type="text/csv")})
    assert bad.status_code == 400 and "not UTF-8" in bad.content.decode()
    assert not SubgroupAttribute.objects.exists()


def test_attribute_import_needs_csrf(admin_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    assert csrf_client.post(reverse("fairness_attributes"), {}).status_code == 403
