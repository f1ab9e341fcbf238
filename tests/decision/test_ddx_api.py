"""POST /api/v1/ddx/predict: the engine's differential and next question, bad input refused by field."""

from __future__ import annotations

import pytest

from medtutor.core.models import AuditKind, AuditRecord
from medtutor.decision import ddx_services as ddx
from tests.decision.test_ddx_views import ddx_lab  # noqa: F401  (the session-wide fitted model)

URL = "/api/v1/ddx/predict"


@pytest.fixture(autouse=True)
def _use_lab(ddx_lab, monkeypatch):  # noqa: F811
    monkeypatch.setattr(ddx, "_lab", ddx_lab)


def _post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_predict_returns_a_posterior_and_a_new_question(client, student):
    assert _post(client, {"age": 30, "sex": "F", "initial_evidence": "E_91"}).status_code == 401
    client.force_login(student)
    response = _post(client, {"age": 30, "sex": "F", "initial_evidence": "E_91",
                              "answers": [{"code": "E_53", "answer": "yes"}, {"code": "E_55", "answer": ["V_20"]},
                                          {"code": "E_56", "answer": "7"}, {"code": "E_201", "answer": False}]})
    assert response.status_code == 200, response.content
    data = response.json()
    total = sum(d["probability"] for d in data["differential"])
    assert 0.0 < total <= 1.0 + 1e-9 and data["differential"][0]["probability"] >= data["differential"][1]["probability"]
    assert [s["answer"] for s in data["steps"]] == ["1", "V_20", "7", "0"]
    asked = {"E_91", "E_53", "E_55", "E_56", "E_201"}
    assert data["next_question"] is None or data["next_question"]["code"] not in asked
    assert data["model"] == "ddx-naive-bayes" and "not patient care" in data["for_education_only"]
    record = AuditRecord.objects.get(pk=data["decision_id"])
    assert record.kind == AuditKind.DECISION and record.model_version == data["version"]


@pytest.mark.parametrize("body,field", [
    ({"age": 400, "sex": "F", "initial_evidence": "E_91"}, "age"),
    ({"age": 30, "sex": "X", "initial_evidence": "E_91"}, "sex"),
    ({"age": 30, "sex": "F", "initial_evidence": "E_9999"}, "initial_evidence"),
    ({"age": 30, "sex": "F", "initial_evidence": "E_91", "answers": [{"code": "E_91", "answer": "yes"}]}, "answers[0]"),
    ({"age": 30, "sex": "F", "initial_evidence": "E_91", "answers": [{"code": "E_53", "answer": "maybe"}]}, "answers[0]"),
    ({"age": 30, "sex": "F", "initial_evidence": "E_91", "answers": [{"code": "E_55", "answer": ["V_20"]}]}, "answers[0]"),
    ({"age": 30, "sex": "F", "initial_evidence": "E_91",
      "answers": [{"code": "E_53", "answer": "yes"}, {"code": "E_56", "answer": "11"}]}, "answers[1]"),
])
def test_bad_input_names_the_field(client, student, body, field):
    client.force_login(student)
    before = AuditRecord.objects.count()
    response = _post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(field + ":")
    assert AuditRecord.objects.count() == before
