"""Small template filters for the web shell."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def index(sequence: Any, position: Any) -> Any:
    """`letters|index:forloop.counter0` -> the element at that position, or "" when out of range."""
    try:
        return sequence[int(position)]
    except (TypeError, ValueError, IndexError, KeyError):
        return ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`counts|get_item:"items"` -> mapping[key], or "" when missing."""
    try:
        return mapping[key]
    except (TypeError, KeyError, IndexError):
        return ""


@register.filter
def entries(mapping: Any) -> list[tuple[Any, Any]]:
    """`counts|entries` -> (key, value) pairs. `counts.items` would look up the key "items" first."""
    try:
        return list(mapping.items())
    except AttributeError:
        return []
