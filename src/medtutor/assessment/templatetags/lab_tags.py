"""`{% lab_values_panel %}`: the lab-values reference panel of the exam page.

The table never changes while the server runs, so it is rendered once per process: every exam page
shows it, and re-rendering some forty rows per page view would be wasted work under exam load.
"""

from __future__ import annotations

from functools import cache

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from medtutor.assessment.lab_values import LAB_GROUPS

register = template.Library()


@cache
def _rendered() -> SafeString:
    return mark_safe(render_to_string("assessment/_lab_values.html", {"lab_groups": LAB_GROUPS}))  # noqa: S308 - our template


@register.simple_tag
def lab_values_panel() -> SafeString:
    return _rendered()
