"""Model registry: versioning, validation before writing, digest check on load, disable/enable."""

from __future__ import annotations

import pytest
from django.db import transaction

from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.models import AuditKind, AuditRecord
from medtutor.decision import registry
from medtutor.decision.models import RegisteredModel

DIGEST = "a" * 64


def _register(**overrides):
    fields = dict(name="risk-test-logreg", kind="risk", data_digest=DIGEST, params={"C": 1.0}, metrics={"auc": 0.8},
                  card="# Card\n\nEducation only.", artifact_bytes=registry.dump_object({"w": [1, 2]}))
    fields.update(overrides)
    return registry.register_model(**fields)


@pytest.mark.django_db
def test_versions_count_up_and_latest_is_newest_enabled(faculty):
    first = _register(trained_by=faculty)
    second = _register()
    assert (first.version, second.version) == ("1", "2")
    assert registry.latest("risk-test-logreg").pk == second.pk
    registry.set_enabled(second, False, actor=faculty, reason="miscalibrated at site B")
    assert registry.latest("risk-test-logreg").pk == first.pk
    assert registry.latest("risk-test-logreg", include_disabled=True).pk == second.pk
    assert registry.load_object(first) == {"w": [1, 2]}
    assert registry.get_model("risk-test-logreg", "1").pk == first.pk
    with pytest.raises(NotFound):
        registry.get_model("risk-test-logreg", "9")


@pytest.mark.django_db
def test_bad_fields_are_all_reported_and_nothing_is_written():
    with pytest.raises(InvalidInput) as caught:
        _register(name="Bad Name!", data_digest="xyz", params={"x": float("nan")}, artifact_bytes=b"", card=" ")
    text = " ".join(caught.value.details)
    for field in ("name:", "data_digest:", "params:", "artifact_bytes:", "card:"):
        assert field in text
    assert RegisteredModel.objects.count() == 0


@pytest.mark.django_db
def test_duplicate_version_is_refused_and_keeps_the_original():
    _register(version="1.0")
    with pytest.raises(InvalidInput, match="not registered"):
        _register(version="1.0", metrics={"auc": 0.99})
    assert RegisteredModel.objects.get().metrics == {"auc": 0.8}


@pytest.mark.django_db
def test_a_failure_inside_a_batch_leaves_no_partial_registration():
    with pytest.raises(InvalidInput), transaction.atomic():
        _register(name="risk-a-logreg")
        _register(name="risk-a-gbm")
        _register(name="risk-a-cal", artifact_bytes=b"")
    assert RegisteredModel.objects.count() == 0


@pytest.mark.django_db
def test_tampered_artifact_is_refused_on_load():
    model = _register()
    RegisteredModel.objects.filter(pk=model.pk).update(artifact=registry.dump_object({"w": [9]}))
    model.refresh_from_db()
    with pytest.raises(registry.ArtifactCorrupted):
        registry.load_artifact(model)


@pytest.mark.django_db
def test_disabled_model_serves_nothing_and_the_switch_is_logged(faculty, student):
    model = _register()
    with pytest.raises(InvalidInput, match="reason"):
        registry.set_enabled(model, False, actor=faculty, reason="  ")
    assert RegisteredModel.objects.get(pk=model.pk).enabled
    registry.set_enabled(model, False, actor=faculty, reason="drift found")
    assert not model.enabled
    with pytest.raises(registry.ModelDisabled):
        registry.load_artifact(model)
    with pytest.raises(registry.ModelDisabled):
        registry.record_prediction(model, actor=student, subject=None, inputs={}, output={}, explanation="x",
                                   confidence=0.5)
    action = AuditRecord.objects.get(action="decision.model.disable")
    assert action.actor_id == faculty.pk and action.output["reason"] == "drift found"
    registry.set_enabled(model, True, actor=faculty, reason="recalibrated")
    decision = registry.record_prediction(model, actor=student, subject=("decision.registeredmodel", model.pk),
                                          inputs={"age": 50}, output={"risk": 0.2}, explanation="why",
                                          confidence=0.9)
    assert decision.kind == AuditKind.DECISION and decision.model_version == model.version


@pytest.mark.django_db
def test_card_html_escapes_raw_html():
    model = _register(card="# Card\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    html = registry.render_card_html(model)
    assert "<script>" not in html and "<table>" in html
