"""Adaptive-exam fixtures: practice answers simulated from known item parameters, and a calibrated pool."""

from __future__ import annotations

import numpy as np

from medtutor.accounts.models import Role, User
from medtutor.assessment.engine import irt
from medtutor.content.models import Item
from tests.assessment.factories import T0


def simulate_practice(items: list[Item], *, learners: int, seed: int = 0,
                      true_b: list[float] | None = None) -> list[float]:
    """Bulk-create `learners` students who each answered every item once (2PL, a = 1.5); returns the true b's."""
    from medtutor.learning.models import ItemResponse

    rng = np.random.default_rng(seed)
    b = true_b if true_b is not None else list(np.linspace(-1.5, 1.5, len(items)))
    params = [irt.ItemParams(1.5, float(bi)) for bi in b]
    thetas = rng.normal(size=learners)
    answers = irt.simulate_responses(thetas, params, rng)
    users = User.objects.bulk_create([User(username=f"sim-{seed}-{i}", role=Role.STUDENT, password="!")
                                      for i in range(learners)])
    rows = []
    for user, row in zip(users, answers, strict=True):
        for item, correct in zip(items, row, strict=True):
            version = item.current_version
            chosen = version.key_index if correct else (version.key_index + 1) % len(version.options)
            rows.append(ItemResponse(learner=user, item_version=version, chosen_index=chosen, is_correct=bool(correct),
                                     client_token=f"{item.pk}", answered_at=T0))
    ItemResponse.objects.bulk_create(rows)
    return [float(x) for x in b]
