"""Imaging lab services and pages: training into the registry, predictions recorded in the audit log,
the threshold and imbalance lessons, roles, bad input, and a disabled model serving nothing."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from medtutor.core.models import AuditKind, AuditRecord
from medtutor.decision import imaging_services as services
from medtutor.decision import registry
from tests.conftest import shared_data

LAB = "/decision/imaging/"


@pytest.fixture
def lab_data(settings):
    settings.MEDTUTOR_IMAGING_DATA = str(shared_data("imaging", "pneumoniamnist", "pneumoniamnist_trainval.npz"))
    return settings.MEDTUTOR_IMAGING_DATA


@pytest.fixture
def baseline(db, lab_data, faculty):
    (row,) = services.train_and_register(["logreg"], actor=faculty, train_limit=600, seed=0)
    return row


def test_training_registers_a_versioned_model_with_card_and_lessons(baseline, faculty):
    assert baseline.name == "imaging-pneumonia-logreg" and baseline.kind == "imaging" and baseline.version == "1"
    assert baseline.trained_by == faculty and len(baseline.data_digest) == 64
    assert 0.85 < baseline.metrics["auc"] <= 1.0 and baseline.metrics["n_train"] <= 620
    assert len(baseline.metrics["validation"]["probabilities"]) == baseline.metrics["n_heldout"] == 524
    lesson = baseline.metrics["class_weighting"]
    assert lesson["train_normal"] + lesson["train_pneumonia"] == baseline.metrics["n_train"]
    assert set(lesson["rows"]) == {"unweighted", "balanced"}
    assert "For education, not patient care" in baseline.card and "Limitations" in baseline.card
    classifier = registry.load_object(baseline)
    assert classifier.predict_proba(np.zeros((2, 28, 28), np.uint8)).shape == (2,)
    again = services.train_and_register(["logreg"], train_limit=600, seed=0)[0]
    assert again.version == "2"


def test_lab_without_a_model_tells_students_to_wait_and_faculty_how_to_train(client, lab_data, student, faculty):
    client.force_login(student)
    page = client.get(LAB)
    assert page.status_code == 200
    text = page.content.decode()
    assert "For education, not patient care" in text and "not trained or enabled" in text
    assert 'action="/decision/imaging/train/"' not in text
    client.force_login(faculty)
    text = client.get(LAB).content.decode()
    assert "medtutor decision train-imaging" in text and 'action="/decision/imaging/train/"' in text


def test_student_sees_prediction_heat_map_and_it_is_recorded(client, baseline, student):
    client.force_login(student)
    before = AuditRecord.objects.filter(kind=AuditKind.DECISION).count()
    page = client.get(LAB, {"image": 7, "threshold": "0.4"})
    assert page.status_code == 200
    prediction = page.context["prediction"]
    assert 0.0 <= prediction.probability <= 1.0 and prediction.occlusion.drop.shape == (28, 28)
    text = page.content.decode()
    assert "data:image/png;base64," in text and "Occlusion map" in text and "For education, not patient care" in text
    assert "style=" not in text and "onclick" not in text
    record = AuditRecord.objects.filter(kind=AuditKind.DECISION).order_by("-seq").first()
    assert AuditRecord.objects.filter(kind=AuditKind.DECISION).count() == before + 1
    assert record.model_name == baseline.name and record.model_version == baseline.version
    assert record.actor_id == student.pk and record.subject_id == "val:7"
    assert record.output["threshold"] == 0.4 and record.explanation.startswith("P(pneumonia)")
    assert len(record.inputs_digest) == 64 and record.confidence is not None


def test_threshold_form_changes_the_confusion_matrix(client, baseline, student):
    client.force_login(student)
    low = client.get(LAB, {"threshold": "0.1"}).context["lesson"].chosen
    high = client.get(LAB, {"threshold": "0.9"}).context["lesson"].chosen
    assert low.total == high.total == 524
    assert low.sensitivity >= high.sensitivity and low.specificity <= high.specificity
    assert low.false_negative <= high.false_negative


@pytest.mark.parametrize("params,fragment", [({"threshold": "2"}, "threshold: 2 is out of range"),
                                             ({"threshold": "abc"}, "threshold: &#x27;abc&#x27; is not a number"),
                                             ({"image": "99999"}, "image: 99999 is not a gallery image"),
                                             ({"image": "x"}, "image: &#x27;x&#x27; is not a whole number")])
def test_bad_lab_input_gets_a_400_naming_the_field(client, baseline, student, params, fragment):
    client.force_login(student)
    before = AuditRecord.objects.count()
    page = client.get(LAB, params)
    assert page.status_code == 400 and fragment in page.content.decode()
    assert AuditRecord.objects.count() == before


def test_imbalance_lesson_is_shown(client, baseline, student):
    client.force_login(student)
    page = client.get(LAB)
    assert page.context["imbalance"]["rows"]["balanced"]["specificity"] is not None
    assert "class-imbalance lesson" in page.content.decode()


def test_students_cannot_train_or_switch_models(client, baseline, student):
    client.force_login(student)
    assert client.post(reverse("imaging_train"), {"models": "logreg"}).status_code == 403
    assert client.post(reverse("imaging_set_enabled"), {"model": baseline.pk, "enabled": "0",
                                                       "reason": "x"}).status_code == 403
    baseline.refresh_from_db()
    assert baseline.enabled


def test_faculty_disables_a_model_with_a_reason_and_it_serves_nothing(client, baseline, faculty, student):
    client.force_login(faculty)
    refused = client.post(reverse("imaging_set_enabled"), {"model": baseline.pk, "enabled": "0", "reason": " "},
                          follow=True)
    assert "a reason is required" in refused.content.decode()
    baseline.refresh_from_db()
    assert baseline.enabled
    client.post(reverse("imaging_set_enabled"), {"model": baseline.pk, "enabled": "0", "reason": "shortcut found"})
    baseline.refresh_from_db()
    assert not baseline.enabled
    client.force_login(student)
    before = AuditRecord.objects.filter(kind=AuditKind.DECISION).count()
    page = client.get(LAB, {"image": 3, "model": baseline.pk})
    assert page.status_code == 409 and "disabled" in page.content.decode()
    assert page.context["model"] is None and "prediction" not in page.context
    assert AuditRecord.objects.filter(kind=AuditKind.DECISION).count() == before
    with pytest.raises(registry.ModelDisabled):
        services.predict_image(baseline, 3, actor=student)


def test_training_refuses_unknown_models_and_missing_data(db, settings, tmp_path, faculty):
    from medtutor.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="models: choose from"):
        services.start_training(["resnet"], actor=faculty)
    settings.MEDTUTOR_IMAGING_DATA = str(tmp_path / "missing.npz")
    with pytest.raises(InvalidInput, match="not found"):
        services.train_and_register(["logreg"])


def test_training_refuses_a_wrong_shaped_npz_and_registers_nothing(db, settings, tmp_path):
    from medtutor.core.errors import InvalidInput
    from medtutor.decision.models import RegisteredModel

    bad = tmp_path / "bad.npz"
    np.savez(bad, train_images=np.zeros((50, 32, 32), np.uint8), train_labels=np.zeros(50),
             val_images=np.zeros((50, 32, 32), np.uint8), val_labels=np.zeros(50))
    settings.MEDTUTOR_IMAGING_DATA = str(bad)
    with pytest.raises(InvalidInput, match=r"train_images: shape \(50, 32, 32\); expected \(n, 28, 28\)"):
        services.train_and_register(["logreg"])
    assert not RegisteredModel.objects.filter(kind="imaging").exists()


@pytest.mark.django_db(transaction=True)
def test_faculty_starts_background_training_and_the_page_shows_progress(client, lab_data, faculty, settings,
                                                                         tmp_path):
    settings.VAR_DIR = tmp_path
    client.force_login(faculty)
    response = client.post(reverse("imaging_train"), {"models": ["logreg"]}, follow=True)
    assert response.status_code == 200 and "Training started" in response.content.decode()
    thread = services._training_thread
    assert thread is not None
    thread.join(timeout=120)
    status = services.training_status()
    assert status is not None and not status.running and status.message == "finished", status
    assert registry.latest("imaging-pneumonia-logreg") is not None


def test_a_second_training_run_is_refused_and_a_dead_one_is_reported(db, lab_data, settings, tmp_path, faculty):
    from datetime import timedelta

    from medtutor.core import clock
    from medtutor.core.errors import InvalidInput

    settings.VAR_DIR = tmp_path
    services._write_status(running=True, message="training", started_at=clock.now().isoformat())
    with pytest.raises(InvalidInput, match="already in progress"):
        services.start_training(["logreg"], actor=faculty)
    services._write_status(running=True, message="training",
                           started_at=(clock.now() - timedelta(hours=2)).isoformat())
    status = services.training_status()
    assert not status.running and "without finishing" in status.error


def test_student_read_is_recorded_as_an_override_of_their_own_prediction(client, baseline, student, other_student):
    client.force_login(student)
    decision_id = client.get(LAB, {"image": 11}).context["prediction"].decision_id
    response = client.post(reverse("imaging_read"), {"decision": decision_id, "read": "normal", "image": 11,
                                                     "reason": "clear lung fields"}, follow=True)
    assert response.status_code == 200 and "Your read (normal) is saved" in response.content.decode()
    override = AuditRecord.objects.filter(kind=AuditKind.OVERRIDE).get()
    assert override.overrides_id == decision_id and override.actor_id == student.pk
    assert override.output == {"read": "normal", "image": "val:11"} and override.explanation == "clear lung fields"
    # Another student cannot attach a read to someone else's prediction; bad input changes nothing.
    client.force_login(other_student)
    for data, fragment in (({"decision": decision_id, "read": "normal", "reason": "x"}, "not found among yours"),
                           ({"decision": decision_id, "read": "maybe", "reason": "x"}, "read: choose normal"),
                           ({"decision": decision_id, "read": "normal", "reason": " "}, "reason: say what")):
        page = client.post(reverse("imaging_read"), data, follow=True)
        assert fragment in page.content.decode()
    assert AuditRecord.objects.filter(kind=AuditKind.OVERRIDE).count() == 1
