"""Risk lab pages: roles, predictions recorded with record_decision, disabled models serve nothing,
bad input changes nothing, exercises store their answers."""

from __future__ import annotations

import pytest
from django.test import Client

from medtutor.core.models import AuditKind, AuditRecord
from medtutor.decision.models import RegisteredModel, RiskExerciseAnswer
from tests.conftest import shared_data
from tests.decision.risk_fixtures import register

HF = "heart_failure_clinical_records"
PATIENT = {"dataset": HF, "age": "70", "anaemia": "1", "creatinine_phosphokinase": "500", "diabetes": "0",
           "ejection_fraction": "25", "high_blood_pressure": "1", "platelets": "250000", "serum_creatinine": "2.1",
           "serum_sodium": "130", "sex": "1", "smoking": "0"}


@pytest.fixture
def hf_models(db, faculty):
    return {m.name.rsplit("-", 1)[1]: m for m in register(HF, faculty)}


def _decisions():
    return AuditRecord.objects.filter(kind=AuditKind.DECISION)


def test_prediction_is_shown_with_reasons_and_recorded(client, student, hf_models):
    client.force_login(student)
    response = client.post(f"/risk/predict/?dataset={HF}", PATIENT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Model's risk" in page and "table-explanation" in page and "For education, not patient care" in page
    record = _decisions().get()
    model = hf_models["recommended"]
    assert (record.model_name, record.model_version, record.actor_id) == (model.name, model.version, student.pk)
    assert record.inputs_digest and 0 <= record.output["risk"] <= 1 and "Largest reasons" in record.explanation


def test_out_of_range_value_is_named_and_nothing_is_recorded(client, student, hf_models):
    client.force_login(student)
    response = client.post(f"/risk/predict/?dataset={HF}", {**PATIENT, "ejection_fraction": "400"})
    assert response.status_code == 400
    assert "ejection_fraction (Ejection fraction, %): 400 is outside the plausible range 5–85 %" in \
        response.content.decode()
    assert not _decisions().exists()


def test_faculty_disables_a_model_and_it_serves_nothing(client, faculty, student, hf_models):
    model = hf_models["recommended"]
    client.force_login(student)
    assert client.post(f"/risk/models/{model.pk}/status/", {"enabled": "0", "reason": "x"}).status_code == 403
    client.force_login(faculty)
    response = client.post(f"/risk/models/{model.pk}/status/", {"enabled": "0", "reason": "miscalibrated"})
    assert response.status_code == 302
    assert not RegisteredModel.objects.get(pk=model.pk).enabled
    action = AuditRecord.objects.get(action="decision.model.disable")
    assert action.actor_id == faculty.pk and action.output["reason"] == "miscalibrated"
    client.force_login(student)
    page = client.post(f"/risk/predict/?dataset={HF}", PATIENT)
    assert "disabled and serves nothing" in page.content.decode() and "Model's risk" not in page.content.decode()
    estimate = client.post(f"/risk/exercises/estimate/?dataset={HF}", {"dataset": HF, "patient": "0",
                                                                     "estimate": "30"})
    assert "disabled and serves nothing" in estimate.content.decode()
    assert not _decisions().exists() and not RiskExerciseAnswer.objects.exists()
    # not retrained behind faculty's back on "first use"
    assert RegisteredModel.objects.filter(name=model.name).count() == 1


def test_disabling_needs_a_reason(client, faculty, hf_models):
    client.force_login(faculty)
    response = client.post(f"/risk/models/{hf_models['gbm'].pk}/status/", {"enabled": "0", "reason": " "})
    assert response.status_code == 400 and RegisteredModel.objects.get(pk=hf_models["gbm"].pk).enabled


def test_model_card_page_has_calibration_chart_and_tables(client, student, hf_models):
    client.force_login(student)
    page = client.get(f"/risk/models/{hf_models['recommended'].pk}/").content.decode()
    for part in ("chart-calibration", "table-reliability", "table-decision", "table-importance", "Intended use",
                 "education only", "Metrics by subgroup", "Limitations", "Ethical considerations", "time"):
        assert part in page, part
    assert "Disable this model" not in page  # students cannot manage models
    assert client.get("/risk/models/999999/").status_code == 404


def test_registry_list_shows_versions_and_status(client, faculty, hf_models):
    client.force_login(faculty)
    page = client.get("/risk/models/").content.decode()
    assert page.count(f"risk-{HF}-") == 3 and "recommended" in page


def test_estimate_exercise_scores_and_keeps_the_answer(client, student, other_student, hf_models):
    client.force_login(student)
    response = client.post(f"/risk/exercises/estimate/?dataset={HF}", {"dataset": HF, "patient": "2",
                                                                      "estimate": "35"})
    assert response.status_code == 200 and "estimate-result" in response.content.decode()
    answer = RiskExerciseAnswer.objects.get(learner=student)
    outcome = answer.feedback["outcome"]
    assert answer.score == pytest.approx(1 - (0.35 - outcome) ** 2)
    assert _decisions().get().action == "decision.risk.exercise.estimate"
    bad = client.post(f"/risk/exercises/estimate/?dataset={HF}", {"dataset": HF, "patient": "2", "estimate": "140"})
    assert bad.status_code == 400 and "outside 0–100" in bad.content.decode()
    client.force_login(other_student)
    assert "Your recent estimates" not in client.get(f"/risk/exercises/estimate/?dataset={HF}").content.decode()


def test_leakage_exercise(client, student, hf_models):
    client.force_login(student)
    wrong = client.post("/risk/exercises/leakage/", {"feature": "age", "reason": "old people die"})
    assert "Not this one" in wrong.content.decode()
    right = client.post("/risk/exercises/leakage/", {"feature": "time", "reason": "follow-up ends at death"})
    assert "Correct" in right.content.decode()
    assert list(RiskExerciseAnswer.objects.order_by("created_at").values_list("score", flat=True)) == [0.0, 1.0]


def test_threshold_exercise_shows_metrics_at_the_chosen_threshold(client, student, hf_models):
    client.force_login(student)
    response = client.post(f"/risk/exercises/threshold/?dataset={HF}", {
        "dataset": HF, "purpose": "screen", "threshold": "10", "defence": "missing a death is worse"})
    page = response.content.decode()
    assert response.status_code == 200 and "table-threshold" in page
    answer = RiskExerciseAnswer.objects.get(kind="threshold")
    assert answer.answer["threshold"] == pytest.approx(0.10) and answer.feedback["metrics"]["sensitivity"] >= 0.9
    missing = client.post(f"/risk/exercises/threshold/?dataset={HF}", {"dataset": HF, "purpose": "screen",
                                                                      "threshold": "10", "defence": ""})
    assert missing.status_code == 400 and RiskExerciseAnswer.objects.count() == 1


def test_transport_exercise(client, student):
    shared_data("clinical", "heart_disease_uci")
    client.force_login(student)
    page = client.get("/risk/exercises/transport/?site=cleveland").content.decode()
    assert "table-transport" in page and "switzerland" in page
    response = client.post("/risk/exercises/transport/", {"train_site": "cleveland", "worst_site": "switzerland",
                                                          "reason": "prevalence 0.94"})
    assert "transport-result" in response.content.decode()
    assert RiskExerciseAnswer.objects.get(kind="transport").answer["worst_site"] == "switzerland"


def test_bad_upload_is_refused_with_the_reason_and_registers_nothing(client, faculty, student):
    client.force_login(student)
    assert client.post("/risk/train/", {"dataset": HF}).status_code == 403
    client.force_login(faculty)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("hf.csv", b"age,ejection_fraction,DEATH_EVENT,favourite_colour\n70,25,1,blue\n")
    response = client.post("/risk/train/", {"dataset": HF, "csv": upload})
    assert response.status_code == 400
    assert "unknown column(s) favourite_colour" in response.content.decode()
    assert not RegisteredModel.objects.exists()


def test_posts_need_csrf(faculty, hf_models):
    client = Client(enforce_csrf_checks=True)
    client.force_login(faculty)
    response = client.post(f"/risk/models/{hf_models['gbm'].pk}/status/", {"enabled": "0", "reason": "x"})
    assert response.status_code == 403 and RegisteredModel.objects.get(pk=hf_models["gbm"].pk).enabled


def test_pages_render_for_every_role_without_models(client, users):
    for user in users.values():
        client.force_login(user)
        for url in ("/risk/", "/risk/models/", "/risk/predict/", "/risk/exercises/estimate/",
                    "/risk/exercises/leakage/", "/risk/exercises/transport/", "/risk/exercises/threshold/"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert "For education, not patient care" in response.content.decode()
    client.force_login(users["faculty"])
    assert "Train models (faculty)" in client.get("/risk/").content.decode()
    client.force_login(users["student"])
    assert "Train models (faculty)" not in client.get("/risk/").content.decode()


def test_api_predicts_records_and_refuses_bad_input(client, student, faculty, hf_models):
    client.force_login(student)
    models = client.get("/api/v1/risk/models").json()
    assert {m["name"] for m in models} == {f"risk-{HF}-logreg", f"risk-{HF}-gbm", f"risk-{HF}-recommended"}
    values = {k: v for k, v in PATIENT.items() if k != "dataset"}
    response = client.post(f"/api/v1/risk/predict/{HF}", {"values": values}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model"] == f"risk-{HF}-recommended" and body["contributions"] and body["notice"]
    assert AuditRecord.objects.get(pk=body["audit_id"]).kind == AuditKind.DECISION
    bad = client.post(f"/api/v1/risk/predict/{HF}", {"values": {**values, "serum_sodium": 10, "shoe": 3}},
                      content_type="application/json")
    assert bad.status_code == 400 and "shoe" in bad.json()["errors"][0]
    bad = client.post(f"/api/v1/risk/predict/{HF}", {"values": {**values, "serum_sodium": 10}},
                      content_type="application/json")
    assert bad.status_code == 400 and "serum_sodium" in bad.json()["errors"][0]
    assert client.post("/api/v1/risk/predict/nope", {"values": {}}, content_type="application/json").status_code == 404
    model_id = hf_models["recommended"].pk
    assert client.post(f"/api/v1/risk/models/{model_id}/status", {"enabled": False, "reason": "x"},
                       content_type="application/json").status_code == 403
    client.force_login(faculty)
    assert client.post(f"/api/v1/risk/models/{model_id}/status", {"enabled": False, "reason": "drift"},
                       content_type="application/json").status_code == 200
    disabled = client.post(f"/api/v1/risk/predict/{HF}", {"values": values}, content_type="application/json")
    assert disabled.status_code == 409 and "disabled" in disabled.json()["detail"]
    assert AuditRecord.objects.filter(kind=AuditKind.DECISION).count() == 1
