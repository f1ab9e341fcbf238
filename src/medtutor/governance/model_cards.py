"""Model cards: Markdown files in docs/model-cards/, one per model, rendered on the transparency page.

A card's first heading is its title; a line `model: NAME` and `version: X` (anywhere, e.g. in a
metadata list) names the model the audit log records, so a decision can link to its card.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# html=False: a card's raw HTML is shown as text, so a card can never inject script into the page.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def cards_dir() -> Path:
    configured = os.environ.get("MEDTUTOR_MODEL_CARDS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "docs" / "model-cards"


@dataclass(frozen=True)
class ModelCard:
    slug: str
    title: str
    model_name: str
    model_version: str
    markdown: str

    def html(self) -> str:
        return _MARKDOWN.render(self.markdown)


def _field(text: str, name: str) -> str:
    """The value after `name` in a list item or table row: the first `code` span, else the first word."""
    for match in re.finditer(rf"(?im)^[\s*\-|]*\**{name}\**\s*[:|](.*)$", text):
        rest = match.group(1)
        code = re.search(r"`([^`]+)`", rest)
        word = re.search(r"[\w.\-]+", rest)
        if code or word:
            return (code or word).group(1 if code else 0).strip()
    return ""


def _version(text: str) -> str:
    explicit = _field(text, "version")
    if explicit:
        return explicit
    inline = re.search(r"(?i)\bversion\s*`?([\w.\-]+)`?", text)
    return inline.group(1) if inline else ""


def _read(path: Path) -> ModelCard:
    text = path.read_text(encoding="utf-8")
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    return ModelCard(slug=path.stem, title=title, model_name=_field(text, "model"),
                     model_version=_version(text), markdown=text)


def all_cards() -> list[ModelCard]:
    folder = cards_dir()
    if not folder.is_dir():
        return []
    return [_read(path) for path in sorted(folder.glob("*.md")) if _SLUG.match(path.stem)]


def card(slug: str) -> ModelCard | None:
    if not _SLUG.match(slug):
        return None
    path = cards_dir() / f"{slug}.md"
    return _read(path) if path.is_file() else None
