"""Text normalisation shared by indexing and querying, so both sides agree."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[\w][\w'\-/.]*", re.UNICODE)


def normalize(text: str) -> str:
    """Lower-case, accents removed, whitespace collapsed: 'Ménière's' matches 'meniere's'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def query_terms(query: str) -> list[str]:
    """Words of a search box query; quoted phrases stay together."""
    terms: list[str] = []
    for phrase, word in re.findall(r'"([^"]+)"|(\S+)', query):
        term = normalize(phrase or word).strip(".,;:!?()[]{}")
        if term:
            terms.append(term)
    return terms[:12]


def index_text(parts: Iterable[str]) -> str:
    return " \n".join(normalize(part) for part in parts if part)
