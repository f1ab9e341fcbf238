"""People and cohorts: administrators manage accounts, roles, accommodations and cohorts; faculty read cohorts."""

import pytest

from medtutor.accounts import services
from medtutor.accounts.models import Accommodation, Cohort, Role, User
from medtutor.core.audit import verify_chain
from medtutor.core.models import AuditRecord

STRONG_PASSWORD = "vitreous-lantern-42"


def _audits(action):
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


def _edit_data(person, **overrides):
    """What the edit form posts when nothing is changed, plus overrides."""
    data = {"display_name": person.display_name, "role": person.role,
            "cohorts": [str(c.pk) for c in person.cohorts.all()],
            "acc-extra_time_percent": "0", "acc-rest_break_minutes": "0", "acc-notes": ""}
    if person.is_active:
        data["is_active"] = "on"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.fixture
def cohort(db):
    return Cohort.objects.create(code="md-2028", name="MD class of 2028", year=2028)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


# Creating accounts

def test_admin_creates_a_user(admin_client, admin_user, cohort):
    response = admin_client.post("/people/new/", {
        "username": "newstudent", "display_name": "Amina Okafor", "email": "amina@example.org",
        "role": Role.STUDENT, "cohorts": [cohort.pk], "password": STRONG_PASSWORD})
    person = User.objects.get(username="newstudent")
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    assert person.role == Role.STUDENT and person.display_name == "Amina Okafor" and person.is_active
    assert person.check_password(STRONG_PASSWORD)
    assert list(person.cohorts.all()) == [cohort]
    [record] = _audits("user.created")
    assert record.actor_id == admin_user.pk and record.subject_id == str(person.pk)
    assert record.output["role"] == "student" and record.output["cohorts"] == ["md-2028"]
    assert STRONG_PASSWORD not in str(record.output)
    assert verify_chain().ok


@pytest.mark.parametrize("password", ["short", "password123", "12345678901234", "newstudent1"])
def test_weak_initial_password_is_shown_next_to_the_field(admin_client, password):
    response = admin_client.post("/people/new/", {"username": "newstudent", "role": Role.STUDENT,
                                                  "password": password})
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    assert b'role="alert"' in response.content
    assert b'id="id_password_error"' in response.content
    assert not User.objects.filter(username="newstudent").exists()
    assert _audits("user.created") == []


@pytest.mark.parametrize("username", ["stu", "STU"])
def test_duplicate_username_is_refused(admin_client, student, username):
    before = User.objects.count()
    response = admin_client.post("/people/new/", {"username": username, "role": Role.FACULTY,
                                                  "password": STRONG_PASSWORD})
    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["username"])
    assert User.objects.count() == before
    student.refresh_from_db()
    assert student.role == Role.STUDENT


def test_service_refuses_duplicates_and_weak_passwords_too(admin_user, student):
    with pytest.raises(services.FieldError) as error:
        services.create_user(admin_user, username="Stu", password=STRONG_PASSWORD)
    assert error.value.field == "username"
    with pytest.raises(services.FieldError) as error:
        services.create_user(admin_user, username="someone", password="short")
    assert error.value.field == "password"


# Editing accounts

def test_admin_changes_a_role_and_it_is_audited(admin_client, admin_user, faculty):
    response = admin_client.post(f"/people/{faculty.pk}/", _edit_data(faculty, role=Role.ADMIN))
    assert response.status_code == 302
    faculty.refresh_from_db()
    assert faculty.role == Role.ADMIN
    [record] = _audits("user.updated")
    assert record.output == {"role": ["faculty", "admin"]}
    assert record.actor_id == admin_user.pk and record.subject_id == str(faculty.pk)


def test_admin_edits_name_activity_and_cohorts(admin_client, student, cohort):
    response = admin_client.post(f"/people/{student.pk}/", _edit_data(
        student, display_name="Sam Student", is_active=None, cohorts=[str(cohort.pk)]))
    assert response.status_code == 302
    student.refresh_from_db()
    assert student.display_name == "Sam Student" and not student.is_active
    assert list(student.cohorts.all()) == [cohort]
    [record] = _audits("user.updated")
    assert record.output == {"display_name": ["", "Sam Student"], "is_active": [True, False],
                             "cohorts": [[], ["md-2028"]]}


def test_admin_sets_a_student_accommodation(admin_client, student):
    page = admin_client.get(f"/people/{student.pk}/")
    assert page.status_code == 200 and b"Exam accommodation" in page.content
    response = admin_client.post(f"/people/{student.pk}/", _edit_data(
        student, **{"acc-extra_time_percent": "25", "acc-rest_breaks": "on", "acc-rest_break_minutes": "15",
                    "acc-notes": "Agreed with disability services, 2025."}))
    assert response.status_code == 302
    accommodation = Accommodation.objects.get(user=student)
    assert (accommodation.extra_time_percent, accommodation.rest_breaks, accommodation.rest_break_minutes) == (25, True, 15)
    assert accommodation.notes == "Agreed with disability services, 2025."
    [record] = _audits("accommodation.updated")
    assert record.output["extra_time_percent"] == [None, 25]
    assert record.output["rest_breaks"] == [None, True]
    assert "disability" not in str(record.output)  # notes may be health information: not copied to the log
    assert _audits("user.updated") == []

    admin_client.post(f"/people/{student.pk}/", _edit_data(
        student, **{"acc-extra_time_percent": "50", "acc-rest_breaks": "on", "acc-rest_break_minutes": "15",
                    "acc-notes": "Agreed with disability services, 2025."}))
    assert _audits("accommodation.updated")[-1].output == {"extra_time_percent": [25, 50]}
    listing = admin_client.get("/people/", {"q": "stu"})
    assert b"+50% time, rest breaks (15 min)" in listing.content


def test_saving_without_changes_writes_no_audit(admin_client, student):
    response = admin_client.post(f"/people/{student.pk}/", _edit_data(student))
    assert response.status_code == 302
    assert _audits("user.updated") == [] and _audits("accommodation.updated") == []
    assert not Accommodation.objects.filter(user=student).exists()


@pytest.mark.parametrize("field,value", [("acc-extra_time_percent", "500"), ("acc-extra_time_percent", "-5"),
                                         ("acc-extra_time_percent", "lots"), ("acc-rest_break_minutes", "999")])
def test_bad_accommodation_changes_nothing(admin_client, student, field, value):
    response = admin_client.post(f"/people/{student.pk}/", _edit_data(
        student, role=Role.FACULTY, display_name="Changed", **{field: value}))
    assert response.status_code == 400
    assert response.context["acc_form"].errors[field.removeprefix("acc-")]
    assert b'role="alert"' in response.content
    student.refresh_from_db()
    assert student.role == Role.STUDENT and student.display_name == ""
    assert not Accommodation.objects.filter(user=student).exists()
    assert _audits("user.updated") == [] and _audits("accommodation.updated") == []


def test_rest_break_minutes_need_rest_breaks(admin_client, student):
    response = admin_client.post(f"/people/{student.pk}/", _edit_data(student, **{"acc-rest_break_minutes": "10"}))
    assert response.status_code == 400
    assert response.context["acc_form"].errors["rest_break_minutes"]
    assert not Accommodation.objects.filter(user=student).exists()


def test_accommodation_is_only_offered_for_students(admin_client, faculty):
    page = admin_client.get(f"/people/{faculty.pk}/")
    assert page.status_code == 200 and page.context["acc_form"] is None
    admin_client.post(f"/people/{faculty.pk}/", _edit_data(faculty, **{"acc-extra_time_percent": "50"}))
    assert not Accommodation.objects.filter(user=faculty).exists()


def test_admin_cannot_demote_themselves(admin_client, admin_user):
    response = admin_client.post(f"/people/{admin_user.pk}/", _edit_data(admin_user, role=Role.FACULTY))
    assert response.status_code == 400
    assert "cannot remove your own administrator role" in str(response.context["form"].errors["role"])
    assert b'role="alert"' in response.content
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert _audits("user.updated") == []


def test_admin_cannot_deactivate_themselves(admin_client, admin_user):
    response = admin_client.post(f"/people/{admin_user.pk}/", _edit_data(admin_user, is_active=None))
    assert response.status_code == 400
    assert "cannot deactivate your own account" in str(response.context["form"].errors["is_active"])
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert _audits("user.updated") == []


def test_the_service_enforces_the_self_lockout_rule_too(admin_user):
    with pytest.raises(services.FieldError):
        services.update_user(admin_user, admin_user, role=Role.STUDENT)
    with pytest.raises(services.FieldError):
        services.update_user(admin_user, admin_user, is_active=False)
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN and admin_user.is_active


def test_admin_can_demote_another_admin(admin_client, make_user):
    other = make_user("adm2", Role.ADMIN)
    assert admin_client.post(f"/people/{other.pk}/", _edit_data(other, role=Role.FACULTY)).status_code == 302
    other.refresh_from_db()
    assert other.role == Role.FACULTY


def test_unknown_person_is_404(admin_client):
    assert admin_client.get("/people/999999/").status_code == 404


# The list

def test_people_list_filters_and_searches(admin_client, users, make_user, cohort):
    for i in range(30):
        make_user(f"learner{i:02d}")
    users["student"].display_name = "Zanele Dube"
    users["student"].save()
    cohort.members.add(users["student"], users["faculty"])

    first = admin_client.get("/people/")
    assert first.status_code == 200 and first.context["total"] == 33
    assert len(first.context["page"].object_list) == 25
    assert b'class="table-scroll"' in first.content and b'aria-label="Pages"' in first.content
    assert admin_client.get("/people/", {"page": 2}).context["page"].object_list[-1].username == "stu"

    by_role = admin_client.get("/people/", {"role": "faculty"}).context["page"].object_list
    assert [u.username for u in by_role] == ["fac"]
    by_cohort = admin_client.get("/people/", {"cohort": cohort.pk}).context["page"].object_list
    assert [u.username for u in by_cohort] == ["fac", "stu"]
    by_name = admin_client.get("/people/", {"q": "zanele"}).context["page"].object_list
    assert [u.username for u in by_name] == ["stu"]
    both = admin_client.get("/people/", {"q": "learner0", "role": "student"}).context["total"]
    assert both == 10

    bad = admin_client.get("/people/", {"cohort": "999999"})
    assert bad.status_code == 200 and bad.context["form"].errors and b'role="alert"' in bad.content


# Cohorts

def test_admin_creates_a_cohort(admin_client, admin_user):
    page = admin_client.get("/cohorts/")
    assert page.status_code == 200 and b"Create a cohort" in page.content
    response = admin_client.post("/cohorts/", {"code": "md-2029", "name": "MD class of 2029", "year": "2029"})
    cohort = Cohort.objects.get(code="md-2029")
    assert response.status_code == 302 and response["Location"] == f"/cohorts/{cohort.pk}/"
    assert (cohort.name, cohort.year) == ("MD class of 2029", 2029)
    [record] = _audits("cohort.created")
    assert record.output == {"code": "md-2029", "name": "MD class of 2029", "year": 2029}


@pytest.mark.parametrize("data,field", [
    ({"code": "md-2028", "name": "Another"}, "code"),
    ({"code": "MD-2028", "name": "Another"}, "code"),
    ({"code": "not a slug!", "name": "Another"}, "code"),
    ({"code": "ok-code", "name": ""}, "name"),
    ({"code": "ok-code", "name": "Another", "year": "20"}, "year"),
])
def test_bad_cohort_input_changes_nothing(admin_client, cohort, data, field):
    response = admin_client.post("/cohorts/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert b'role="alert"' in response.content
    assert list(Cohort.objects.values_list("code", flat=True)) == ["md-2028"]
    assert _audits("cohort.created") == []


def test_admin_adds_and_removes_members(admin_client, cohort, student, other_student, faculty):
    response = admin_client.post(f"/cohorts/{cohort.pk}/", {"usernames": "stu, STU2\nfac"})
    assert response.status_code == 302
    assert set(cohort.members.values_list("username", flat=True)) == {"stu", "stu2", "fac"}
    [added] = _audits("cohort.members_added")
    assert added.output == {"usernames": ["fac", "stu", "stu2"]} and added.subject_id == str(cohort.pk)

    listing = admin_client.get("/cohorts/")
    assert listing.context["cohorts"][0].n_members == 3

    response = admin_client.post(f"/cohorts/{cohort.pk}/", {"remove": str(other_student.pk)})
    assert response.status_code == 302
    assert set(cohort.members.values_list("username", flat=True)) == {"stu", "fac"}
    [removed] = _audits("cohort.members_removed")
    assert removed.output == {"usernames": ["stu2"]}

    # Removing someone who is not a member is a 404, and changes nothing.
    assert admin_client.post(f"/cohorts/{cohort.pk}/", {"remove": str(other_student.pk)}).status_code == 404
    assert len(_audits("cohort.members_removed")) == 1
    assert verify_chain().ok


def test_adding_unknown_usernames_adds_no_one(admin_client, cohort, student):
    response = admin_client.post(f"/cohorts/{cohort.pk}/", {"usernames": "stu nobody"})
    assert response.status_code == 400
    assert "nobody" in str(response.context["form"].errors["usernames"])
    assert b'role="alert"' in response.content
    assert cohort.members.count() == 0
    assert _audits("cohort.members_added") == []


def test_faculty_read_cohorts_but_cannot_change_them(client, faculty, student, other_student, cohort):
    cohort.members.add(student)
    client.force_login(faculty)
    listing = client.get("/cohorts/")
    assert listing.status_code == 200 and b"MD class of 2028" in listing.content
    assert b"Create a cohort" not in listing.content
    detail = client.get(f"/cohorts/{cohort.pk}/")
    assert detail.status_code == 200 and b"stu" in detail.content
    assert b"Add members" not in detail.content and b'name="remove"' not in detail.content

    assert client.post("/cohorts/", {"code": "sneaky", "name": "Sneaky"}).status_code == 403
    assert client.post(f"/cohorts/{cohort.pk}/", {"usernames": "stu2"}).status_code == 403
    assert client.post(f"/cohorts/{cohort.pk}/", {"remove": str(student.pk)}).status_code == 403
    assert list(Cohort.objects.values_list("code", flat=True)) == ["md-2028"]
    assert list(cohort.members.values_list("username", flat=True)) == ["stu"]
    assert not AuditRecord.objects.filter(action__startswith="cohort.").exists()

    assert client.get("/people/").status_code == 403
    assert client.get(f"/people/{student.pk}/").status_code == 403
    assert client.post(f"/people/{student.pk}/", _edit_data(student, role=Role.ADMIN)).status_code == 403
    student.refresh_from_db()
    assert student.role == Role.STUDENT


def test_students_get_403_everywhere(client, student, other_student, cohort):
    client.force_login(student)
    pages = ["/people/", "/people/new/", f"/people/{other_student.pk}/", f"/people/{student.pk}/",
             "/cohorts/", f"/cohorts/{cohort.pk}/"]
    for url in pages:
        assert client.get(url).status_code == 403, url
    assert client.post("/people/new/", {"username": "x", "role": "admin", "password": STRONG_PASSWORD}).status_code == 403
    assert client.post(f"/people/{student.pk}/", _edit_data(student, role=Role.ADMIN)).status_code == 403
    assert client.post("/cohorts/", {"code": "x", "name": "X"}).status_code == 403
    assert client.post(f"/cohorts/{cohort.pk}/", {"usernames": "stu"}).status_code == 403
    student.refresh_from_db()
    assert student.role == Role.STUDENT and not User.objects.filter(username="x").exists()
    assert cohort.members.count() == 0


def test_anonymous_users_are_sent_to_login(client, cohort):
    for url in ["/people/", "/people/new/", "/people/1/", "/cohorts/", f"/cohorts/{cohort.pk}/"]:
        response = client.post(url, {})
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


# Navigation and page hygiene

def test_nav_links_by_role(client, users):
    expected = {"student": (False, False), "faculty": (False, True), "admin": (True, True)}
    for role, user in users.items():
        client.force_login(user)
        html = client.get("/").content
        assert (b'href="/people/"' in html, b'href="/cohorts/"' in html) == expected[role], role
        client.logout()


def test_pages_are_labelled_and_have_no_inline_style_or_script(admin_client, student, cohort):
    cohort.members.add(student)
    for url in ["/people/", "/people/new/", f"/people/{student.pk}/", "/cohorts/", f"/cohorts/{cohort.pk}/"]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert b"style=" not in response.content and b"<script>" not in response.content, url
        for field in response.context["form"] or []:
            if not field.is_hidden:
                assert f'for="{field.id_for_label}"'.encode() in response.content, (url, field.name)
