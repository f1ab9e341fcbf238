"""Read Anki .apkg decks and write medtutor cards as .apkg. Pure: bytes in, dataclasses out.

An .apkg is a zip holding a SQLite collection (`collection.anki21` or `collection.anki2`), a `media`
map ("0" -> "heart.png") and the media files named "0", "1", ... Notes carry fields separated by
0x1f; note types (schema 11: JSON in `col.models`; schema 18: the `notetypes` and `fields` tables)
say which field goes on which side; `revlog` holds the review history (ease 1-4 = Again..Easy).

Hostile files are refused before anything is read into the caller's data: zip members with paths,
too many or too large members, compression ratios of a zip bomb, a database that is not SQLite or
lacks the tables, media that is not an image we can open. Decks exported by Anki 23.10+ without
"Support older Anki versions" (`collection.anki21b`, zstd) are refused with that advice.
"""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

MAX_APKG_BYTES = 200 * 1024**2          # the upload itself
MAX_UNCOMPRESSED_BYTES = 500 * 1024**2  # everything inside it
MAX_MEMBERS = 20_000
MAX_RATIO = 100                         # uncompressed/compressed per member above this looks like a bomb
MAX_MEDIA_BYTES = 5 * 1024**2           # one image
MAX_NOTES = 50_000
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}


class ApkgError(ValueError):
    """The file is not a deck we can import; the message says why. Nothing was imported."""


@dataclass(frozen=True, slots=True)
class AnkiReview:
    reviewed_at: datetime      # UTC, from the revlog id (milliseconds since the epoch)
    ease: int                  # 1 Again, 2 Hard, 3 Good, 4 Easy


@dataclass(frozen=True, slots=True)
class AnkiCard:
    note_guid: str
    ordinal: int               # which template (or cloze number - 1) of the note
    kind: str                  # "basic" or "cloze"
    front: str                 # plain text; cloze cards keep {{c1::...}} markup
    back: str
    tags: tuple[str, ...]
    images: tuple[str, ...]    # media file names the card shows
    reviews: tuple[AnkiReview, ...]


@dataclass
class AnkiDeck:
    cards: list[AnkiCard]
    media: dict[str, bytes]                      # file name -> bytes (images only)
    skipped: list[str] = field(default_factory=list)

    @property
    def review_count(self) -> int:
        return sum(len(c.reviews) for c in self.cards)


# --- HTML to text -------------------------------------------------------------------------------

_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|hr)[^>]*>", re.I)
_IMG = re.compile(r"""<\s*img\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
_TAGS = re.compile(r"<[^>]+>")
_SOUND = re.compile(r"\[sound:[^\]]*\]")


def html_to_text(value: str) -> tuple[str, tuple[str, ...]]:
    """Visible text of an Anki field (line breaks kept) and the image files it shows."""
    images = tuple(html.unescape(src) for src in _IMG.findall(value))
    text = _SOUND.sub("", value)
    text = re.sub(r"<\s*(script|style)\b.*?</\s*\1\s*>", "", text, flags=re.I | re.S)
    text = _BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub("", text)).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    collapsed = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return collapsed, images


# --- templates ----------------------------------------------------------------------------------

def render_template(template: str, fields: dict[str, str], front: str = "") -> str:
    """Anki's template language, enough for real decks: sections, filters, FrontSide."""
    def section(match: re.Match) -> str:
        inverted, name, body = match.group(1) == "^", match.group(2).strip(), match.group(3)
        present = bool(_TAGS.sub("", fields.get(name, "")).strip())
        return body if present != inverted else ""

    previous = None
    while previous != template:  # nested sections
        previous = template
        template = re.sub(r"{{\s*([#^])\s*([^}]+?)\s*}}(.*?){{\s*/\s*\2\s*}}", section, template, flags=re.S)

    def replace(match: re.Match) -> str:
        name = match.group(1).strip()
        if name == "FrontSide":
            return front
        if ":" in name:
            filters, _, name = name.rpartition(":")
            if "type" in filters.split(":"):
                return ""
        return fields.get(name.strip(), "")

    return re.sub(r"{{\s*([^}#^/][^}]*?)\s*}}", replace, template)


def _answer_only(rendered_back: str, rendered_front: str) -> str:
    parts = re.split(r"<hr[^>]*id\s*=\s*[\"']?answer[\"']?[^>]*>", rendered_back, maxsplit=1, flags=re.I)
    if len(parts) == 2:
        return parts[1]
    return rendered_back.replace(rendered_front, "", 1)


# --- reading ------------------------------------------------------------------------------------

def _safe_zip(data: bytes) -> zipfile.ZipFile:
    if len(data) > MAX_APKG_BYTES:
        raise ApkgError(f"the deck is larger than {MAX_APKG_BYTES // 1024**2} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ApkgError("not an .apkg file (it is not a zip archive)") from error
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ApkgError(f"the deck holds {len(members)} files; at most {MAX_MEMBERS} are accepted")
    total = 0
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "/" in member.filename or "\\" in member.filename:
            raise ApkgError(f"unsafe file name inside the deck: {member.filename!r}")
        total += member.file_size
        if member.file_size > 1024**2 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise ApkgError(f"{member.filename!r} expands {member.file_size // max(member.compress_size, 1)}-fold: "
                            "refused as a possible zip bomb")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ApkgError(f"the deck expands to {total // 1024**2} MB; at most {MAX_UNCOMPRESSED_BYTES // 1024**2} MB")
    return archive


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ApkgError(f"{name!r} is larger than its header says or than {limit} bytes")
    return data


def _note_types(db: sqlite3.Connection) -> dict[int, tuple[str, list[str], list[tuple[str, str]]]]:
    """Note type id -> (kind, field names, [(question template, answer template)])."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if {"notes", "cards", "col"} - tables:
        raise ApkgError("the deck's database lacks Anki's notes, cards or col table")
    raw = db.execute("SELECT models FROM col").fetchone()
    models = json.loads(raw[0]) if raw and raw[0] else {}
    types: dict[int, tuple[str, list[str], list[tuple[str, str]]]] = {}
    for key, model in models.items():
        fields = [f["name"] for f in sorted(model.get("flds", []), key=lambda f: f.get("ord", 0))]
        templates = [(t.get("qfmt", ""), t.get("afmt", "")) for t in sorted(model.get("tmpls", []),
                                                                           key=lambda t: t.get("ord", 0))]
        types[int(key)] = ("cloze" if model.get("type") == 1 else "basic", fields, templates)
    if not types and {"notetypes", "fields", "templates"} <= tables:  # schema 18
        for ntid, name in db.execute("SELECT id, name FROM notetypes"):
            fields = [r[0] for r in db.execute("SELECT name FROM fields WHERE ntid=? ORDER BY ord", (ntid,))]
            # Template texts are in a protobuf blob here; render the fields in order instead.
            templates = [("", "")] * max(1, db.execute("SELECT COUNT(*) FROM templates WHERE ntid=?",
                                                       (ntid,)).fetchone()[0])
            types[int(ntid)] = ("cloze" if "cloze" in name.lower() else "basic", fields, templates)
    return types


def read_apkg(data: bytes) -> AnkiDeck:
    """Everything importable from an .apkg, or ApkgError naming the problem."""
    archive = _safe_zip(data)
    names = set(archive.namelist())
    if "collection.anki21b" in names and not ({"collection.anki21", "collection.anki2"} & names):
        raise ApkgError("this deck uses Anki's newest format; in Anki, export again with "
                        "'Support older Anki versions' ticked")
    collection = next((n for n in ("collection.anki21", "collection.anki2") if n in names), None)
    if collection is None:
        raise ApkgError("no Anki collection inside (collection.anki21 or collection.anki2)")
    media_map: dict[str, str] = {}
    if "media" in names:
        try:
            media_map = json.loads(_read_member(archive, "media", 10 * 1024**2) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ApkgError("the deck's media list is not valid JSON") from error
    with tempfile.TemporaryDirectory(prefix="medtutor-apkg-") as scratch:
        path = Path(scratch) / "collection.sqlite"
        path.write_bytes(_read_member(archive, collection, MAX_UNCOMPRESSED_BYTES))
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                deck = _read_collection(db)
            finally:
                db.close()
        except sqlite3.DatabaseError as error:
            raise ApkgError(f"the deck's database cannot be read ({error})") from error
    wanted = {image for card in deck.cards for image in card.images}
    by_name = {name: number for number, name in media_map.items() if isinstance(name, str)}
    for name in sorted(wanted):
        number = by_name.get(name)
        suffix = PurePosixPath(name).suffix.lower()
        if number is None or number not in names:
            deck.skipped.append(f"image {name!r} is not in the deck")
        elif suffix not in IMAGE_TYPES or "/" in name or "\\" in name or name.startswith("."):
            deck.skipped.append(f"media {name!r} is not an image type we show (png, jpg, gif, webp)")
        elif archive.getinfo(number).file_size > MAX_MEDIA_BYTES:
            deck.skipped.append(f"image {name!r} is larger than {MAX_MEDIA_BYTES // 1024**2} MB")
        else:
            deck.media[name] = _read_member(archive, number, MAX_MEDIA_BYTES)
    return deck


def _read_collection(db: sqlite3.Connection) -> AnkiDeck:
    types = _note_types(db)
    deck = AnkiDeck(cards=[], media={})
    notes = db.execute("SELECT id, guid, mid, tags, flds FROM notes ORDER BY id").fetchall()
    if len(notes) > MAX_NOTES:
        raise ApkgError(f"the deck has {len(notes)} notes; at most {MAX_NOTES} are imported at once")
    history: dict[int, list[AnkiReview]] = {}
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "revlog" in tables:
        for rid, cid, ease, kind in db.execute("SELECT id, cid, ease, type FROM revlog ORDER BY id"):
            if ease in (1, 2, 3, 4) and kind in (0, 1, 2):  # 3 = cramming, 4 = manual reschedule: not memory evidence
                history.setdefault(int(cid), []).append(
                    AnkiReview(datetime.fromtimestamp(rid / 1000, UTC), int(ease)))
    cards_by_note: dict[int, list[tuple[int, int]]] = {}
    for cid, nid, ordinal in db.execute("SELECT id, nid, ord FROM cards ORDER BY nid, ord"):
        cards_by_note.setdefault(int(nid), []).append((int(cid), int(ordinal)))
    for nid, guid, mid, tags, flds in notes:
        note_type = types.get(int(mid))
        if note_type is None:
            deck.skipped.append(f"note {nid}: unknown note type {mid}")
            continue
        kind, names, templates = note_type
        values = (flds or "").split("\x1f")
        fields = {name: values[i] if i < len(values) else "" for i, name in enumerate(names)}
        tag_list = tuple(t for t in (tags or "").split() if t)
        note_cards = cards_by_note.get(int(nid), [(0, 0)])
        if kind == "cloze":
            # One medtutor cloze card per note: it hides every deletion; Anki's first card gives the history.
            source = fields.get(names[0], "") if names else ""
            front, images = html_to_text(source)
            extra, more = html_to_text(values[1]) if len(values) > 1 else ("", ())
            if not re.search(r"{{c\d+::", front):
                deck.skipped.append(f"note {nid}: a cloze note without any {{{{c1::...}}}} deletion")
                continue
            deck.cards.append(AnkiCard(str(guid), 0, "cloze", front, extra, tag_list, images + more,
                                       tuple(history.get(note_cards[0][0], ()))))
            continue
        for cid, ordinal in note_cards:
            qfmt, afmt = templates[ordinal] if ordinal < len(templates) else ("", "")
            if qfmt:
                front_html = render_template(qfmt, fields)
                back_html = _answer_only(render_template(afmt, fields, front_html), front_html)
            else:  # schema 18 without readable templates: first field on the front, the rest behind
                front_html, back_html = values[0] if values else "", "<br>".join(values[1:])
            front, front_images = html_to_text(front_html)
            back, back_images = html_to_text(back_html)
            if not front:
                deck.skipped.append(f"note {nid}, card {ordinal + 1}: the front is empty")
                continue
            deck.cards.append(AnkiCard(str(guid), ordinal, "basic", front, back, tag_list,
                                       front_images + back_images, tuple(history.get(cid, ()))))
    return deck


# --- writing ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ExportCard:
    key: str                   # stable id (medtutor's external id): the same card exports to the same note
    kind: str                  # "basic" or "cloze"
    front: str
    back: str
    tags: tuple[str, ...]


def _stable_id(text: str) -> int:
    import hashlib

    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) % (1 << 40) + (1 << 30)


def _field(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def write_apkg(deck_name: str, cards: list[ExportCard]) -> bytes:
    """An .apkg of plain basic and cloze notes (Anki imports it; so does medtutor)."""
    import genanki

    basic = genanki.Model(
        _stable_id("medtutor-basic"), "medtutor Basic", fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}])
    cloze = genanki.Model(
        _stable_id("medtutor-cloze"), "medtutor Cloze", fields=[{"name": "Text"}, {"name": "Back Extra"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}<br>{{Back Extra}}"}],
        model_type=genanki.Model.CLOZE)
    deck = genanki.Deck(_stable_id(f"deck:{deck_name}"), deck_name)
    for card in cards:
        model = cloze if card.kind == "cloze" else basic
        tags = [re.sub(r"\s+", "_", t) for t in card.tags if t.strip()]
        # Cloze markup must reach Anki unescaped; escape the rest.
        front = card.front if card.kind == "cloze" else _field(card.front)
        if card.kind == "cloze":
            front = "".join(part if re.fullmatch(r"{{c\d+::.*?}}", part, re.S) else _field(part)
                            for part in re.split(r"({{c\d+::.*?}})", card.front, flags=re.S))
        deck.add_note(genanki.Note(model=model, fields=[front, _field(card.back)], tags=tags,
                                   guid=genanki.guid_for(card.key)))
    with tempfile.TemporaryDirectory(prefix="medtutor-apkg-") as scratch:
        path = Path(scratch) / "deck.apkg"
        genanki.Package(deck).write_to_file(str(path))
        return path.read_bytes()
