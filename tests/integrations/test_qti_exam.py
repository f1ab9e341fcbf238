"""An exam exported as QTI 2.1: an assessmentTest with the exam's items in order, for faculty only."""

from __future__ import annotations

import io
import re
import zipfile

from medtutor.content.importers import parse
from tests.assessment.factories import make_exam, make_items


def test_exam_exports_as_a_qti_test_in_order(client, faculty, student, outline):
    items = make_items(3, prefix="qx")
    exam = make_exam(list(reversed(items)), title="Cardio mock")
    client.force_login(faculty)
    response = client.get(f"/exams/{exam.pk}/qti.zip")
    assert response.status_code == 200 and 'filename="cardio-mock-qti21.zip"' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as package:
        test = package.read("test.xml").decode()
        assert 'title="Cardio mock"' in test and len(re.findall("assessmentItemRef", test)) == 3
    assert [i.external_id for i in parse(response.content, "qti").items] == ["qx-2", "qx-1", "qx-0"]
    assert "Export QTI 2.1" in client.get(f"/exams/{exam.pk}/").content.decode()
    client.force_login(student)
    assert client.get(f"/exams/{exam.pk}/qti.zip").status_code == 403


def test_missing_exam_is_404(client, faculty, db):
    client.force_login(faculty)
    assert client.get("/exams/999999/qti.zip").status_code == 404
