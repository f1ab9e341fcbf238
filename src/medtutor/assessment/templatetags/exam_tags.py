"""Template filters for exam pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def navigator(items: list[dict[str, Any]], current: int) -> SafeString:
    """The question navigator's links (answered / flagged / current), built in Python: on the page every
    student reloads all exam long, twenty links through the template engine cost more than the rest."""
    def link(item: dict[str, Any]) -> tuple[Any, ...]:
        state = ("answered" if item["is_answered"] else "unanswered") + (", flagged" if item["is_flagged"] else "")
        classes = "nav-item" + (" is-answered" if item["is_answered"] else "") + (" is-flagged" if item["is_flagged"] else "")
        return (item["href"], item["position"], classes,
                mark_safe(' aria-current="step"') if item["position"] == current else "",  # noqa: S308 - a constant
                item["position"], state, item["position"])

    return format_html_join("", '<li><a href="{}" data-nav-position="{}" class="{}"{} aria-label="Question {}: {}">{}</a></li>',
                            (link(item) for item in items))


@register.filter
def duration(seconds: Any) -> str:
    """90 -> "1:30", 3700 -> "1:01:40"; "—" when unknown."""
    try:
        total = max(0, int(seconds))
    except (TypeError, ValueError):
        return "—"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
