"""The DDx trainer pages: start, ask, commit, compare; ownership, bad input, audit, a disabled model."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from medtutor.core.models import AuditKind, AuditRecord
from medtutor.decision import ddx_services as ddx
from medtutor.decision.models import TrainerSession
from tests.conftest import shared_data


@pytest.fixture(scope="session")
def ddx_lab(tmp_path_factory):
    """The trainer's model fitted once for the whole run, cached in a temporary var/ folder."""
    folder = shared_data("ddxplus")
    cache = tmp_path_factory.mktemp("ddx-var")
    lab = ddx._build_lab(folder, cache)
    assert [f.name for f in cache.glob("*.npz")] == [lab.stem.name + ".npz"]
    assert [f.name for f in cache.glob("*.json")] == [lab.stem.name + ".json"]
    assert lab.data_digest[:12] in lab.stem.name and lab.kb.digest[:12] in lab.stem.name
    reloaded = ddx._build_lab(folder, cache)  # the second process loads the cache instead of refitting
    assert reloaded.model.meta == lab.model.meta and np.array_equal(reloaded.model.lik, lab.model.lik)
    return lab


@pytest.fixture(autouse=True)
def _use_lab(ddx_lab, monkeypatch):
    monkeypatch.setattr(ddx, "_lab", ddx_lab)


def _start(client, pathology="Acute otitis media") -> TrainerSession:
    response = client.post(reverse("ddx_home"), {"pathology": pathology})
    assert response.status_code == 302, response.content[:500]
    return TrainerSession.objects.latest("created_at")


def _askable(session: TrainerSession, lab) -> str:
    """The engine's own best next question: always available."""
    state = ddx.replay(lab, session)
    return lab.model.next_question(state)[0]


def test_home_lists_pathologies_and_says_not_for_patient_care(client, student):
    client.force_login(student)
    page = client.get(reverse("ddx_home"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "For education, not patient care" in text and "Acute otitis media" in text
    assert "DDx trainer" in text  # the nav link


def test_start_ask_commit_and_compare(client, student, ddx_lab):
    client.force_login(student)
    session = _start(client)
    assert session.learner == student and session.pathology == "Acute otitis media"
    assert session.patient_index in {int(k) for k in ddx_lab.patients}  # held out from fitting
    page = client.get(reverse("ddx_session", args=[session.pk])).content.decode()
    assert "For education, not patient care" in page and ddx_lab.kb.question(session.initial_evidence).text_en in page
    assert "The patient has" not in page  # the truth stays on the server until the commit
    decisions = AuditRecord.objects.filter(kind=AuditKind.DECISION, subject_id=str(session.pk)).count()
    assert decisions == 1  # the opening posterior

    code = _askable(session, ddx_lab)
    response = client.post(reverse("ddx_ask", args=[session.pk]), {"code": code})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.asked_codes == [code]
    step = session.steps[0]
    assert sum(p for _, p in step["posterior"]) <= 1.0 + 1e-6 and step["gain_bits"] >= 0
    record = AuditRecord.objects.filter(kind=AuditKind.DECISION, subject_id=str(session.pk)).order_by("-seq").first()
    assert record.model_name == "ddx-naive-bayes" and record.model_version and record.inputs_digest
    assert len(record.output["top5"]) == 5 and "likelihood ratio" in record.explanation

    # reload resumes: the question is listed, no longer offered
    page = client.get(reverse("ddx_session", args=[session.pk])).content.decode()
    assert "Your questions (1)" in page and f'value="{code}"' not in page

    response = client.post(reverse("ddx_commit", args=[session.pk]),
                           {"dx1": "Acute otitis media", "dx2": "Viral pharyngitis"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "committed" and session.committed_differential == ["Acute otitis media", "Viral pharyngitis"]
    page = client.get(reverse("ddx_session", args=[session.pk])).content.decode()
    assert "The patient has" in page and "The engine's path" in page and "What you missed" in page
    assert AuditRecord.objects.filter(subject_id=str(session.pk), action="ddx.engine").count() == 1


def test_bad_questions_change_nothing(client, student, ddx_lab):
    client.force_login(student)
    session = _start(client)
    code = _askable(session, ddx_lab)
    client.post(reverse("ddx_ask", args=[session.pk]), {"code": code})
    for bad, message in [(code, "already asked"), ("E_9999", "unknown question"),
                         (session.initial_evidence, "already asked"), ("E_57", "follow-up")]:
        response = client.post(reverse("ddx_ask", args=[session.pk]), {"code": bad}, follow=True)
        if bad == "E_57" and ddx_lab.model.available(ddx.replay(ddx_lab, session))[ddx_lab.model.q_index["E_57"]]:
            continue  # this patient's complaint already opened the pain questions
        assert message in response.content.decode(), bad
        session.refresh_from_db()
        assert session.asked_codes == [code]


def test_bad_differentials_are_refused(client, student):
    client.force_login(student)
    session = _start(client)
    url = reverse("ddx_commit", args=[session.pk])
    for data, message in [({}, "at least one"), ({"dx1": "Scurvy"}, "unknown pathology"),
                          ({"dx1": "Bronchitis", "dx2": "Bronchitis"}, "only once")]:
        response = client.post(url, data, follow=True)
        assert message in response.content.decode()
        session.refresh_from_db()
        assert session.status == "open"
    client.post(url, {"dx1": "Bronchitis"})
    response = client.post(reverse("ddx_ask", args=[session.pk]), {"code": "E_91"}, follow=True)
    assert "already committed" in response.content.decode()
    response = client.post(url, {"dx1": "Bronchitis"}, follow=True)
    assert "already committed" in response.content.decode()


def test_unknown_pathology_to_start_is_refused(client, student):
    client.force_login(student)
    response = client.post(reverse("ddx_home"), {"pathology": "Scurvy"})
    assert response.status_code == 400 and "unknown pathology" in response.content.decode()
    assert not TrainerSession.objects.exists()


def test_a_student_cannot_open_another_students_session(client, student, other_student, ddx_lab):
    client.force_login(student)
    session = _start(client)
    client.force_login(other_student)
    assert client.get(reverse("ddx_session", args=[session.pk])).status_code == 404
    assert client.post(reverse("ddx_ask", args=[session.pk]), {"code": "E_91"}).status_code == 404
    assert client.post(reverse("ddx_commit", args=[session.pk]), {"dx1": "Bronchitis"}).status_code == 404
    assert "#" + str(session.patient_index) not in client.get(reverse("ddx_home")).content.decode()
    session.refresh_from_db()
    assert session.steps == [] and session.status == "open"


def test_faculty_may_use_the_trainer_and_anonymous_users_log_in(client, faculty):
    assert client.get(reverse("ddx_home")).status_code == 302
    client.force_login(faculty)
    session = _start(client, pathology="")
    assert session.learner == faculty
    assert client.get(reverse("ddx_session", args=[session.pk])).status_code == 200


def test_the_model_is_registered_with_a_card_and_a_disabled_model_serves_nothing(client, student, faculty, ddx_lab):
    from medtutor.decision import registry
    from medtutor.decision.models import RegisteredModel

    client.force_login(student)
    session = _start(client)
    row = RegisteredModel.objects.get(name="ddx-naive-bayes")
    assert row.version == ddx_lab.version and row.data_digest == ddx_lab.data_digest and row.kind == "ddx"
    assert "Not for patient care" in row.card and row.metrics["top1"] > 0.5
    assert registry.load_artifact(row)[:2] == b"PK"  # npz + json in a zip, digest checked
    assert session.model_version == ddx_lab.version
    _start(client)
    assert RegisteredModel.objects.filter(name="ddx-naive-bayes").count() == 1  # registered once

    registry.set_enabled(row, False, actor=faculty, reason="teaching a lesson on model governance")
    response = client.post(reverse("ddx_home"), {"pathology": ""})
    assert response.status_code == 409 and "disabled" in response.content.decode()
    assert TrainerSession.objects.count() == 2
    response = client.post(reverse("ddx_ask", args=[session.pk]), {"code": _askable(session, ddx_lab)}, follow=True)
    assert "disabled" in response.content.decode()
    page = client.get(reverse("ddx_session", args=[session.pk])).content.decode()
    assert "Posterior: what the model now believes" not in page
    session.refresh_from_db()
    assert session.steps == []


def test_faculty_review_their_cohorts_sessions_read_only(client, student, other_student, faculty, admin_user):
    from medtutor.accounts.models import Cohort

    client.force_login(student)
    mine = _start(client)
    client.force_login(other_student)
    theirs = _start(client)
    cohort = Cohort.objects.create(code="md-2029", name="MD 2029")
    cohort.members.add(student, faculty)

    client.force_login(faculty)
    listing = client.get(reverse("ddx_review")).content.decode()
    assert "stu</th>" in listing and "stu2</th>" not in listing
    page = client.get(reverse("ddx_session", args=[mine.pk]))
    assert page.status_code == 200 and "Read only" in page.content.decode()
    assert "Commit differential" not in page.content.decode() and "Ask a question" not in page.content.decode()
    assert client.get(reverse("ddx_session", args=[theirs.pk])).status_code == 404  # not in a cohort of theirs
    assert client.post(reverse("ddx_ask", args=[mine.pk]), {"code": "E_91"}).status_code == 404  # never edits
    client.force_login(admin_user)
    assert client.get(reverse("ddx_session", args=[theirs.pk])).status_code == 200
    client.force_login(student)
    assert client.get(reverse("ddx_review")).status_code == 403


def test_comparison_lists_what_was_missed_and_what_was_wasted(student, ddx_lab):
    from medtutor.decision.engine.ddx import patient_answer

    session = ddx.start_session(student, pathology="Tuberculosis", seed=3)
    patient = ddx_lab.patient(session.patient_index)
    # a wasted question: the one the model expects to teach least right now
    gains = ddx_lab.model.information_gains(ddx.replay(ddx_lab, session))
    unrelated = ddx_lab.model.questions[int(np.nanargmin(gains))].code
    assert np.nanmin(gains) < ddx.WASTED_BITS
    ddx.ask(session, unrelated, student)
    session.refresh_from_db()
    ddx.commit(session, ["Bronchiectasis"], student)
    session.refresh_from_db()
    view = ddx.session_view(session)
    comparison = view["comparison"]
    assert comparison["truth"] == "Tuberculosis" and comparison["committed_rank"] is None
    assert view["steps"][0]["verdict"] == "wasted" and comparison["n_wasted"] == 1
    engine_codes = [s["code"] for s in comparison["engine_steps"]]
    assert len(engine_codes) == len(set(engine_codes)) and session.initial_evidence not in engine_codes
    assert {m["code"] for m in comparison["missed"]} == set(engine_codes) - {unrelated}
    for finding in comparison["unelicited"]:
        question = ddx_lab.kb.question(finding["code"])
        assert finding["code"] != unrelated and patient_answer(question, patient) != question.default
    for name in comparison["severe_unlisted"]:
        assert ddx_lab.kb.pathology(name).severity <= 2 and name != "Bronchiectasis"
    assert comparison["engine_differential_set"]
