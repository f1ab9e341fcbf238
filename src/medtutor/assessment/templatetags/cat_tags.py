"""Template helpers for standard setting: the pass/fail line on a score report."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("assessment/standards_pass_mark.html")
def pass_mark_line(attempt: Any) -> dict[str, Any]:
    from medtutor.assessment.cat_services import pass_status

    return {"pass_status": pass_status(attempt)}
