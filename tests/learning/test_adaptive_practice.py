"""Adaptive practice: the selector's choice is explained, audited, and mastery moves with answers."""

import random

from medtutor.content.models import Item
from medtutor.content.services import save_item
from medtutor.core.models import AuditRecord
from medtutor.learning import practice
from medtutor.learning.services import record_answer
from tests.conftest import make_record


def _bank(faculty):
    for i in range(3):
        save_item(None, make_record(f"hf-{i}"), actor=faculty)
        save_item(None, make_record(f"as-{i}", competency="resp.asthma", objective="resp.asthma.1"), actor=faculty)


def test_weak_topic_is_chosen_and_the_choice_is_audited(student, outline, faculty):
    _bank(faculty)
    for i, correct_choice in enumerate((0, 0, 0)):
        record_answer(student, Item.objects.get(external_id=f"as-{i}").pk, None, correct_choice, f"t-{i}")
    for i in range(2):
        record_answer(student, Item.objects.get(external_id=f"hf-{i}").pk, None, 1, f"w-{i}")
    item, choice, record = practice.choose_question(student, rng=random.Random(3))
    assert item.competency.code == "cardio.hf" and item.external_id == "hf-2"  # the unanswered weak one
    assert record.model_name == practice.SELECTOR_NAME and record.explanation == choice.reason
    assert record.confidence == round(choice.predicted_success, 4)
    assert AuditRecord.objects.filter(action="practice.next_question", actor=student).count() == 1


def test_mastery_stays_in_range_and_correct_answers_raise_it(student, item):
    values = []
    for i, choice in enumerate([1, 0, 0, 1, 0, 0, 0]):
        record_answer(student, item.pk, None, choice, f"m-{i}")
        values.append(practice.topic_mastery(student)["cardio.hf"].mastery)
    assert all(0 <= v <= 1 for v in values)
    assert values[1] > values[0] and values[2] > values[1]  # correct answers raise it
    assert values[3] < values[2]                            # a wrong one lowers it


def test_practice_page_shows_why_and_feedback_shows_mastery(client, student, item):
    client.force_login(student)
    response = client.get("/practice/", follow=True)
    html = response.content.decode()
    assert "Why this question" in html and "audit log" in html
    answered = client.post(f"/practice/{item.pk}/", {"choice": "0", "client_token": "why-1"})
    assert b"Your mastery of Heart failure" in answered.content and b"first answer in this topic" in answered.content


def test_empty_bank_shows_the_empty_page(client, student, outline):
    client.force_login(student)
    response = client.get("/practice/")
    assert response.status_code == 200 and response.templates[0].name == "learning/practice_empty.html"


def test_the_student_can_contest_the_choice_from_the_question_page(client, student, item):
    client.force_login(student)
    html = client.get("/practice/", follow=True).content.decode()
    decision = AuditRecord.objects.get(action="practice.next_question", actor=student)
    assert f"/contests/new/?decision={decision.pk}" in html
    form = client.get(f"/contests/new/?decision={decision.pk}")
    assert form.status_code == 200
