"""Drawing an exam form from a blueprint: so many items per competency and difficulty band.

`assemble` picks distinct items so that every blueprint row gets exactly its count. An item can fit
several rows (a row for "cardio" also matches a "cardio.hf" item), so the draw is a bipartite
matching: each row's candidates are shuffled with the caller's rng, then each slot takes a free
candidate or frees one by moving its holder to another candidate (augmenting paths). When no
assignment exists, `BlueprintShortfall` names the rows that cannot be filled.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from medtutor.core.errors import InvalidInput

__all__ = ["BlueprintRow", "BlueprintShortfall", "PoolItem", "assemble", "matches"]


@dataclass(frozen=True, slots=True)
class BlueprintRow:
    competency_code: str
    difficulty: str | None  # None: any difficulty
    count: int

    def label(self) -> str:
        return f"{self.competency_code} ({self.difficulty or 'any difficulty'})"


@dataclass(frozen=True, slots=True)
class PoolItem:
    item_id: int
    competency_code: str | None
    difficulty: str | None


class BlueprintShortfall(InvalidInput):
    """The bank does not hold enough distinct items for these rows."""


def matches(row: BlueprintRow, item: PoolItem) -> bool:
    code = item.competency_code or ""
    in_competency = code == row.competency_code or code.startswith(row.competency_code + ".")
    return in_competency and (row.difficulty is None or (item.difficulty or None) == row.difficulty)


def assemble(rows: Sequence[BlueprintRow], pool: Sequence[PoolItem], *, rng: random.Random) -> list[int]:
    """Item ids, one per slot, rows in order and shuffled within the form; distinct; exact counts."""
    problems = [f"row {n}: the count must be at least 1" for n, row in enumerate(rows, 1) if row.count < 1]
    if problems:
        raise InvalidInput("the blueprint is not valid", details=problems)
    unique_pool = list({p.item_id: p for p in sorted(pool, key=lambda p: p.item_id)}.values())
    candidates: list[list[int]] = []
    for row in rows:
        ids = [p.item_id for p in unique_pool if matches(row, p)]
        rng.shuffle(ids)
        candidates.append(ids)
    slots = [r for r, row in enumerate(rows) for _ in range(row.count)]
    holder: dict[int, int] = {}  # item id -> slot index
    unfilled: set[int] = set()
    for slot in range(len(slots)):
        if not _augment(slot, slots, candidates, holder):
            unfilled.add(slots[slot])
    if unfilled:
        details = []
        for r in sorted(unfilled):
            details.append(f"{rows[r].label()}: asks for {rows[r].count}, the bank has {len(candidates[r])} "
                           "matching items not needed by other rows")
        raise BlueprintShortfall("the item bank cannot fill this blueprint", details=details)
    chosen = [0] * len(slots)
    for item_id, slot in holder.items():
        chosen[slot] = item_id
    rng.shuffle(chosen)
    return chosen


def _augment(start: int, slots: list[int], candidates: list[list[int]], holder: dict[int, int]) -> bool:
    """Find an augmenting path from `start` (iterative DFS); apply it and return True if found."""
    visited: set[int] = set()
    # Stack of (slot, next candidate position); `path` records the item each stacked slot would take.
    stack: list[list[int]] = [[start, 0]]
    path: list[int] = []
    while stack:
        frame = stack[-1]
        slot, position = frame
        options = candidates[slots[slot]]
        advanced = False
        while position < len(options):
            item_id = options[position]
            position += 1
            if item_id in visited:
                continue
            visited.add(item_id)
            frame[1] = position
            owner = holder.get(item_id)
            if owner is None:
                path.append(item_id)
                for (s, _), taken in zip(stack, path, strict=True):
                    holder[taken] = s
                return True
            path.append(item_id)
            stack.append([owner, 0])
            advanced = True
            break
        if not advanced:
            frame[1] = position
            stack.pop()
            if path:
                path.pop()
    return False
