from __future__ import annotations

from datetime import UTC, datetime

import pytest

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.fixture
def deck(outline):
    from medtutor.content.models import Card, Competency

    hf = Competency.objects.get(code="cardio.hf")
    asthma = Competency.objects.get(code="resp.asthma")
    return [
        Card.objects.create(external_id="c-basic", kind="basic", front="First-line drug for congestion?",
                            back="A loop diuretic (furosemide).", competency=hf),
        Card.objects.create(external_id="c-cloze", kind="cloze", competency=asthma,
                            front="The reliever in acute asthma is {{c1::salbutamol::a drug}}.", back="Inhaled."),
    ]
