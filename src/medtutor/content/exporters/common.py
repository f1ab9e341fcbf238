"""Helpers shared by exporters."""

from __future__ import annotations

from ..importers.records import ItemRecord


def question_text(item: ItemRecord) -> str:
    """Moodle and GIFT have no lead-in: it follows the stem after a blank line."""
    return f"{item.stem}\n\n{item.lead_in}" if item.lead_in else item.stem
