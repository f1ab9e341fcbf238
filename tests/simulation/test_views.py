"""Virtual-patient pages: the encounter from first question to debrief, permissions, OSCE limits,
authoring and imports."""

from datetime import timedelta

import pytest

from medtutor.accounts.models import Cohort, Role
from medtutor.core import clock
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.simulation import services
from medtutor.simulation.models import Case, Session, SessionEvent, SessionState
from tests.conftest import shared_data
from tests.simulation.factories import DEMO_CASES, assigned_case, demo_case

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cohort(db, student, faculty):
    cohort = Cohort.objects.create(code="vp-2028", name="VP 2028")
    cohort.members.add(student, faculty)
    return cohort


@pytest.fixture
def case(cohort):
    return assigned_case(cohort)


def start(client, user, case):
    client.force_login(user)
    response = client.post(f"/vp/cases/{case.pk}/start/")
    assert response.status_code == 302
    return Session.objects.get(student=user, case=case, state=SessionState.ACTIVE)


def act(client, session, htmx=True, **data):
    return client.post(f"/vp/sessions/{session.pk}/act/", data, **(HTMX if htmx else {}))


def test_whole_encounter_to_debrief(client, student, case):
    client.force_login(student)
    listing = client.get("/vp/")
    assert case.title in listing.content.decode() and "For education, not patient care" in listing.content.decode()
    session = start(client, student, case)
    page = client.get(f"/vp/sessions/{session.pk}/").content.decode()
    assert "nuts in my curry" in page and "not patient care" in page

    answer = act(client, session, kind="question", question="When did it start?", token="t1")
    assert answer.status_code == 200 and "fifteen minutes" in answer.content.decode()
    act(client, session, kind="question", question="When did it start?", token="t1")   # a retried request
    assert SessionEvent.objects.filter(session=session, kind="question").count() == 1

    assert "urticaria" in act(client, session, kind="exam", system="skin", token="t2").content.decode()
    ordered = act(client, session, kind="test", test="tryptase", token="t3").content.decode()
    assert "Pending" in ordered and "38 ug/L" not in ordered                 # result not before its turnaround

    session.refresh_from_db()
    before = services.current_vitals(session)
    act(client, session, kind="intervention", code="epinephrine_im", token="t4")
    act(client, session, kind="advance", minutes="15", token="t5")
    session.refresh_from_db()
    after = services.current_vitals(session)
    assert after.systolic_bp > before.systolic_bp + 20 and session.sim_minute >= 15

    reload = client.get(f"/vp/sessions/{session.pk}/").content.decode()      # a reload rebuilds everything
    assert "fifteen minutes" in reload and "Epinephrine" in reload

    done = client.post(f"/vp/sessions/{session.pk}/diagnosis/",
                       {"diagnosis": "anaphylactic reaction to peanuts", "differential": "angioedema\nasthma",
                        "token": "t6"})
    assert done.status_code == 302 and done["Location"].endswith("/debrief/")
    session.refresh_from_db()
    assert session.state == SessionState.SUBMITTED and session.score is not None
    decision = AuditRecord.objects.get(pk=session.decision_id)
    assert decision.kind == AuditKind.DECISION and decision.model_name == "vp-debrief"
    assert decision.confidence is not None and "critical actions" in decision.explanation

    debrief = client.get(f"/vp/sessions/{session.pk}/debrief/").content.decode()
    for text in ("Components and reasons", "vp-debrief", "confidence", "Teaching points", "expert path",
                 "Critical actions", "missed", "Timeline", "History coverage", "not patient care"):
        assert text in debrief, text
    # The ended session accepts no more actions and sends the student to the debrief.
    assert act(client, session, htmx=False, kind="question", question="hello").status_code == 302
    assert SessionEvent.objects.filter(session=session).count() == 6


def test_bad_input_gets_a_message_and_changes_nothing(client, student, case):
    session = start(client, student, case)
    for data in ({"kind": "question", "question": "   "}, {"kind": "exam", "system": "spleen"},
                 {"kind": "intervention", "code": "leeches"}, {"kind": "advance", "minutes": "7"},
                 {"kind": "nonsense"}):
        response = act(client, session, **data)
        assert response.status_code == 200 and 'role="alert"' in response.content.decode(), data
    assert not SessionEvent.objects.filter(session=session).exists()
    for text in ("WHAT IS WRONG???", "¿Dónde le duele?", "x" * 5000, "<script>alert(1)</script>"):
        response = act(client, session, kind="question", question=text)
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()
    bad = client.post(f"/vp/sessions/{session.pk}/diagnosis/", {"diagnosis": ""})
    assert bad.status_code == 302 and Session.objects.get(pk=session.pk).is_active


def test_unknown_test_is_recorded_as_unavailable(client, student, case):
    session = start(client, student, case)
    text = act(client, session, kind="test", test="serum unobtainium").content.decode()
    assert "not available" in text


def test_an_untreated_patient_arrests(client, student, case):
    session = start(client, student, case)
    act(client, session, kind="advance", minutes="60", token="a")
    page = act(client, session, kind="advance", minutes="30", token="b").content.decode()
    assert "The patient has arrested" in page


def test_students_see_only_their_own_sessions(client, student, other_student, case, cohort):
    cohort.members.add(other_student)
    session = start(client, student, case)
    client.force_login(other_student)
    for url in (f"/vp/sessions/{session.pk}/", f"/vp/sessions/{session.pk}/debrief/"):
        assert client.get(url).status_code == 404
    assert act(client, session, kind="question", question="hi").status_code == 404


def test_students_cannot_open_unassigned_cases_or_faculty_pages(client, student, cohort):
    other = demo_case("opioid-overdose")
    client.force_login(student)
    assert client.post(f"/vp/cases/{other.pk}/start/").status_code == 404
    assert "Unresponsive man" not in client.get("/vp/").content.decode()
    for url in ("/vp/new/", "/vp/import/", "/vp/sessions/", f"/vp/cases/{other.pk}/"):
        assert client.get(url).status_code == 403, url


def test_faculty_review_only_their_cohorts(client, student, other_student, faculty, admin_user, make_user, case,
                                           cohort):
    session = start(client, student, case)
    outsider_cohort = Cohort.objects.create(code="other", name="Other")
    outsider_cohort.members.add(other_student)
    other_case = assigned_case(outsider_cohort, "opioid-overdose")
    other_session = start(client, other_student, other_case)
    client.force_login(faculty)
    listing = client.get("/vp/sessions/").content.decode()
    assert student.name in listing and other_student.name not in listing
    assert client.get(f"/vp/sessions/{session.pk}/debrief/").status_code == 200      # in progress: timeline
    assert client.get(f"/vp/sessions/{other_session.pk}/debrief/").status_code == 404
    assert client.get(f"/vp/sessions/{session.pk}/").status_code == 403               # encounter is the student's
    stranger = make_user("fac2", Role.FACULTY)
    client.force_login(stranger)
    assert client.get(f"/vp/sessions/{session.pk}/debrief/").status_code == 404
    client.force_login(admin_user)
    assert client.get(f"/vp/sessions/{other_session.pk}/debrief/").status_code == 200


def test_faculty_override_is_audited(client, student, faculty, case):
    session = start(client, student, case)
    client.post(f"/vp/sessions/{session.pk}/diagnosis/", {"diagnosis": "anaphylaxis"})
    client.force_login(faculty)
    client.post(f"/vp/sessions/{session.pk}/override/", {"score": "77", "reason": "Gave epinephrine verbally"})
    session.refresh_from_db()
    assert session.score == 77
    override = AuditRecord.objects.get(kind=AuditKind.OVERRIDE)
    assert override.overrides_id == session.decision_id and override.output == {"overall": 77}
    assert "Gave epinephrine verbally" in client.get(f"/vp/sessions/{session.pk}/debrief/").content.decode()


def test_osce_session_ends_at_its_time_limit(client, student, cohort, monkeypatch):
    case = assigned_case(cohort, "chest-pain-exertional", osce=True)
    session = start(client, student, case)
    assert session.osce_mode and session.time_limit_minutes == 8
    assert "OSCE time left" in client.get(f"/vp/sessions/{session.pk}/").content.decode()
    later = clock.now() + timedelta(minutes=9)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = act(client, session, kind="question", question="where is the pain?")
    assert response.status_code == 204 and response["HX-Redirect"].endswith("/debrief/")   # HTMX redirect
    session.refresh_from_db()
    assert session.state == SessionState.TIMED_OUT and session.decision_id is not None
    assert not SessionEvent.objects.filter(session=session).exists()


def test_start_resumes_the_open_session(client, student, case):
    first = start(client, student, case)
    second = start(client, student, case)
    assert first.pk == second.pk


# --- faculty: authoring and import -------------------------------------------------------------------


def test_import_is_all_or_nothing_and_lists_every_problem(client, faculty):
    client.force_login(faculty)
    good = (DEMO_CASES / "opioid-overdose.yaml").read_text()
    bad = good.replace("id: opioid-overdose", "id: Opioid Overdose").replace("title:", "titel:")
    response = client.post("/vp/import/", {"kind": "medtutor", "text": bad})
    assert response.status_code == 400
    body = response.content.decode()
    assert "id: must be a slug" in body and "titel: unknown key" in body and "title: is required" in body
    assert not Case.objects.exists()
    assert client.post("/vp/import/", {"kind": "medtutor", "text": good}).status_code == 200
    case = Case.objects.get(slug="opioid-overdose")
    assert case.version == 1 and case.physiology_scenario == "opioid_overdose"
    client.post("/vp/import/", {"kind": "medtutor", "text": good.replace("Unresponsive man", "Unconscious man")})
    case.refresh_from_db()
    assert case.version == 2 and case.title.startswith("Unconscious")


def test_import_rejects_empty_and_garbage(client, faculty):
    client.force_login(faculty)
    assert client.post("/vp/import/", {"kind": "medtutor", "text": ""}).status_code == 400
    assert client.post("/vp/import/", {"kind": "medtutor", "text": "{not: [valid"}).status_code == 400
    assert client.post("/vp/import/", {"kind": "medtutor", "text": "- 1\n- 2\n"}).status_code == 400
    assert not Case.objects.exists()


def test_agentclinic_collection_import(client, faculty):
    path = shared_data("cases", "agentclinic", "agentclinic_medqa.dev.jsonl")
    text = "\n".join(path.read_text(encoding="utf-8").splitlines()[:5])
    client.force_login(faculty)
    response = client.post("/vp/import/", {"kind": "agentclinic", "text": text, "skip_invalid": "on"})
    assert response.status_code == 200
    assert Case.objects.count() >= 4
    case = Case.objects.first()
    assert services.spec(case).diagnosis.name


def test_author_a_case_in_the_form(client, faculty):
    client.force_login(faculty)
    form = {
        "id": "sore-throat-01", "title": "Sore throat", "setting": "GP surgery", "age": "19", "sex": "female",
        "chief_complaint": "sore throat", "opening_statement": "My throat is killing me.",
        "history": "onset: It started three days ago [key]\nassociated_symptoms: No cough [negative] [key]",
        "social_history": "smoking: I don't smoke [negative]",
        "examination": "heent: Tonsillar exudate [key]\nlymphatic: Tender anterior cervical nodes",
        "tests": "Throat swab | microbiology | 20 | 2880 | no | Group A Streptococcus",
        "diagnosis": "Streptococcal tonsillitis", "diagnosis_synonyms": "strep throat, bacterial tonsillitis",
        "differential": "Infectious mononucleosis\nViral pharyngitis",
        "critical_actions": "centor | Assess Centor criteria | | heent",
        "teaching_points": "Use FeverPAIN or Centor.", "expert_path": "Ask about cough\nExamine the throat",
        "physiology_scenario": "",
    }
    bad = client.post("/vp/new/", {**form, "history": "started three days ago", "tests": "Swab | lab"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "write it as &#x27;topic: text&#x27;" in text and "needs 6 parts" in text
    bad_topic = client.post("/vp/new/", {**form, "history": "when: It started [key]"})
    assert bad_topic.status_code == 400 and "unknown topic" in bad_topic.content.decode()
    assert not Case.objects.exists()
    done = client.post("/vp/new/", form)
    assert done.status_code == 302
    case = Case.objects.get(slug="sore-throat-01")
    spec = services.spec(case)
    assert spec.key_facts()[0].text == "It started three days ago" and spec.tests[0].turnaround_minutes == 2880
    edit = client.get(f"/vp/cases/{case.pk}/edit/").content.decode()
    assert "It started three days ago [key]" in edit
    assert client.post(f"/vp/cases/{case.pk}/edit/", {**form, "title": "Sore throat (v2)"}).status_code == 302
    case.refresh_from_db()
    assert case.version == 2
    assert "id: sore-throat-01" in client.get(f"/vp/cases/{case.pk}/file/").content.decode()


def test_assign_and_osce_settings(client, faculty, cohort):
    case = demo_case()
    client.force_login(faculty)
    refused = client.post(f"/vp/cases/{case.pk}/", {"action": "assign", "cohort": cohort.pk, "osce_mode": "on"})
    assert refused.status_code == 400 and not case.assignments.exists()
    client.post(f"/vp/cases/{case.pk}/", {"action": "osce", "time_limit_minutes": "10", "checklist": "Greets\nABC"})
    client.post(f"/vp/cases/{case.pk}/", {"action": "assign", "cohort": cohort.pk, "osce_mode": "on"})
    case.refresh_from_db()
    assert case.osce_checklist == ["Greets", "ABC"] and case.assignments.get().osce_mode
    other = Cohort.objects.create(code="not-mine", name="Not mine")
    assert client.post(f"/vp/cases/{case.pk}/", {"action": "assign", "cohort": other.pk}).status_code == 400


def test_demo_cases_load_and_are_assigned(db):
    from medtutor.simulation.demo import load_demo_cases

    cohort = Cohort.objects.create(code="class-of-2028", name="Class of 2028")
    saved = load_demo_cases(DEMO_CASES, cohort)
    assert len(saved.created) == len(list(DEMO_CASES.glob("*.yaml"))) >= 8
    assert sum(bool(c.physiology_scenario) for c in saved.created) >= 6
    again = load_demo_cases(DEMO_CASES, cohort)
    assert not again.created and not again.updated
    assert cohort.vp_assignments.count() == len(saved.created)


def test_craftmd_import_without_skipping_is_all_or_nothing(client, faculty):
    import csv
    import io

    path = shared_data("cases", "craftmd", "usmle_and_derm_dataset.dev.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [next(reader) for _ in range(4)]
        fields = reader.fieldnames
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    rows[1]["case_vignette"] = ""                     # one broken record
    broken = io.StringIO()
    writer = csv.DictWriter(broken, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    client.force_login(faculty)
    refused = client.post("/vp/import/", {"kind": "craftmd", "text": broken.getvalue()})
    assert refused.status_code == 400 and "nothing was saved" in refused.content.decode()
    assert not Case.objects.exists()
    assert client.post("/vp/import/", {"kind": "craftmd", "text": out.getvalue()}).status_code == 200
    assert Case.objects.count() == 4


@pytest.mark.parametrize("name", sorted(p.stem for p in DEMO_CASES.glob("*.yaml")))
def test_saving_a_case_unchanged_in_the_form_changes_nothing(client, faculty, name):
    case = demo_case(name)
    client.force_login(faculty)
    form = client.get(f"/vp/cases/{case.pk}/edit/").context["form"]
    data = {field.name: ("" if field.value() is None else field.value()) for field in form}
    response = client.post(f"/vp/cases/{case.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    case.refresh_from_db()
    assert case.version == 1     # the same content: no new version, nothing lost


def test_events_are_append_only(client, student, case):
    session = start(client, student, case)
    act(client, session, kind="question", question="hello")
    event = SessionEvent.objects.get(session=session)
    event.answer = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert SessionEvent.objects.get(session=session).answer != "rewritten"


def test_results_arrive_when_simulated_time_passes(client, student, case):
    session = start(client, student, case)
    page = act(client, session, kind="test", test="EKG", token="e1").content.decode()    # a synonym
    assert "Sinus tachycardia 130/min" not in page and "expected at 0 min" not in page
    assert "Pending" in page
    page = act(client, session, kind="advance", minutes="5", token="e2").content.decode()
    assert "Sinus tachycardia 130/min" in page
    assert "Tests ordered cost <strong>20</strong>" in page


def test_unknown_physiology_scenario_is_reported(client, faculty):
    client.force_login(faculty)
    text = (DEMO_CASES / "opioid-overdose.yaml").read_text().replace("opioid_overdose", "zombie_bite")
    response = client.post("/vp/import/", {"kind": "medtutor", "text": text})
    assert response.status_code == 400 and "unknown scenario" in response.content.decode()
    assert not Case.objects.exists()


def test_osce_examiner_marks_the_checklist(client, student, faculty, cohort):
    case = assigned_case(cohort, "chest-pain-exertional", osce=True)
    case.osce_checklist = ["Introduces self", "Asks about radiation", "Offers ECG"]
    case.save()
    session = start(client, student, case)
    client.post(f"/vp/sessions/{session.pk}/diagnosis/", {"diagnosis": "stable angina"})
    assert "Not marked by an examiner yet" in client.get(f"/vp/sessions/{session.pk}/debrief/").content.decode()
    assert client.post(f"/vp/sessions/{session.pk}/checklist/", {"done": ["0"]}).status_code == 403
    client.force_login(faculty)
    client.post(f"/vp/sessions/{session.pk}/checklist/", {"done": ["0", "2"]})
    session.refresh_from_db()
    assert session.osce_marks["done"] == [True, False, True] and session.osce_marks["by"] == faculty.username
    assert AuditRecord.objects.filter(action="vp.osce_marked").exists()
    client.force_login(student)
    page = client.get(f"/vp/sessions/{session.pk}/debrief/").content.decode()
    assert "✔ Introduces self" in page and "✘ Asks about radiation" in page
