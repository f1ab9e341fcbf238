from __future__ import annotations

from datetime import timedelta

import pytest

from tests.assessment.factories import T0


class FakeClock:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at

    def advance(self, **delta):
        self.at = self.at + timedelta(**delta)
        return self.at


@pytest.fixture
def fake_clock(monkeypatch):
    clock = FakeClock(T0)
    monkeypatch.setattr("medtutor.core.clock.now", clock.now)
    return clock
