"""Option order per attempt: a seeded permutation, stored with the attempt so it never changes.

`order[d]` is the authored (original) index of the option shown at position `d`. Answers are stored
as original indices, so scoring always compares against the authored key.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from medtutor.core.errors import InvalidInput

__all__ = ["attempt_seed", "displayed_index", "option_order", "original_index"]


def attempt_seed(*parts: object) -> int:
    """A 63-bit seed from stable inputs (exam id, student id, attempt number), so a form can be replayed."""
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def option_order(n_options: int, *, seed: int, item_id: int, shuffle: bool = True) -> list[int]:
    if n_options < 0:
        raise InvalidInput("an item cannot have a negative number of options")
    order = list(range(n_options))
    if shuffle:
        random.Random(f"{seed}:{item_id}").shuffle(order)
    return order


def original_index(order: Sequence[int], displayed: int) -> int:
    if not 0 <= displayed < len(order):
        raise InvalidInput(f"choose one of the {len(order)} options")
    return order[displayed]


def displayed_index(order: Sequence[int], original: int | None) -> int | None:
    if original is None:
        return None
    try:
        return list(order).index(original)
    except ValueError:
        return None
