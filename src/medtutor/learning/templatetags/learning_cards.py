"""`{% due_cards_count user as n %}`: the Cards badge in the nav (one indexed count)."""

from django import template

register = template.Library()


@register.simple_tag
def due_cards_count(user) -> int:
    from medtutor.learning.cards import due_count

    if not getattr(user, "is_authenticated", False):
        return 0
    return due_count(user)
