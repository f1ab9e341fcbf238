"""The dashboard's mastery and predicted score are AI outputs: audited when they change, not per page load."""

from __future__ import annotations

from medtutor.core.models import AuditRecord
from medtutor.learning.services import record_answer


def _decisions(student):
    return AuditRecord.objects.filter(action="dashboard.prediction", subject_id=str(student.pk))


def test_prediction_is_recorded_once_per_change(client, student, item):
    client.force_login(student)
    client.get("/")
    assert _decisions(student).count() == 0  # nothing practised: nothing predicted about the student
    record_answer(student, item.pk, None, item.current_version.key_index, client_token="t1")
    html = client.get("/").content.decode()
    client.get("/")
    decisions = list(_decisions(student))
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision.model_name == "bkt-mastery" and "knowledge tracing" in decision.explanation
    assert decision.output["predicted_score"]["score"] > 0
    assert f"record {decision.seq}" in html
    record_answer(student, item.pk, None, (item.current_version.key_index + 1) % 4, client_token="t2")
    client.get("/")
    assert _decisions(student).count() == 2
