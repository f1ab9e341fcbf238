"""Cloze text: `{{c1::answer}}` or `{{c1::answer::hint}}` split into plain and deleted segments.

Templates render the segments (auto-escaped): the front shows "[...]" or "[hint]" for each deletion,
the back shows the answer, marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Segment", "back_text", "front_text", "segments"]

_CLOZE = re.compile(r"\{\{c(\d+)::(.+?)(?:::(.*?))?\}\}", re.S)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str                 # plain text, or the deleted answer
    is_deletion: bool = False
    hint: str = ""

    @property
    def placeholder(self) -> str:
        return f"[{self.hint}]" if self.hint else "[...]"


def segments(text: str) -> tuple[Segment, ...]:
    parts: list[Segment] = []
    position = 0
    for match in _CLOZE.finditer(text):
        if match.start() > position:
            parts.append(Segment(text[position:match.start()]))
        parts.append(Segment(match.group(2), True, (match.group(3) or "").strip()))
        position = match.end()
    if position < len(text):
        parts.append(Segment(text[position:]))
    return tuple(parts)


def front_text(text: str) -> str:
    return "".join(s.placeholder if s.is_deletion else s.text for s in segments(text))


def back_text(text: str) -> str:
    return "".join(s.text for s in segments(text))
