"""Writing content: items with versions, the outline, cards, and all-or-nothing imports.

Views, the API, the CLI and the demo loader all come through here, so an item is validated,
versioned, indexed and audited the same way whichever door it came in by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction

from medtutor.content.importers import records as rec
from medtutor.content.importers import validate_item
from medtutor.content.models import (Card, Competency, Discipline, Item, ItemVersion, LearningObjective, Tag)
from medtutor.content.search import index_text
from medtutor.core import audit
from medtutor.core.errors import InvalidInput

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class ImportSummary:
    filename: str = ""
    fmt: str = ""
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    audit_seq: int | None = None

    def bump(self, bucket: str, kind: str, n: int = 1) -> None:
        counts = getattr(self, bucket)
        counts[kind] = counts.get(kind, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "format": self.fmt, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "notes": list(self.notes)}

    def describe(self) -> str:
        def part(label: str, counts: dict[str, int]) -> str:
            return f"{label} " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
        parts = [part(label, counts) for label, counts in
                 (("created", self.created), ("updated", self.updated), ("unchanged", self.unchanged)) if any(counts.values())]
        return "; ".join(parts) or "nothing to import"


def slug_tags(tags: Iterable[str]) -> list[str]:
    from django.utils.text import slugify

    seen: list[str] = []
    for tag in tags:
        slug = slugify(tag)[:60]
        if slug and slug not in seen:
            seen.append(slug)
    return seen


def _tag_objects(slugs: Iterable[str], cache: dict[str, Tag]) -> list[Tag]:
    missing = [s for s in slugs if s not in cache]
    if missing:
        Tag.objects.bulk_create([Tag(slug=s) for s in missing], ignore_conflicts=True)
        for tag in Tag.objects.filter(slug__in=missing):
            cache[tag.slug] = tag
    return [cache[s] for s in slugs]


def _version_content(record: rec.ItemRecord, objective: LearningObjective | None) -> dict[str, Any]:
    return {
        "stem": record.stem,
        "lead_in": record.lead_in,
        "options": [{"text": o.text, "explanation": o.explanation} for o in record.options],
        "key_index": record.key,
        "answers": [{"text": a.text, "score": a.score, "feedback": a.feedback} for a in record.answers],
        "explanation": record.explanation,
        "objective_id": objective.pk if objective else None,
    }


def _search_text(item: Item, version: ItemVersion, tag_slugs: Iterable[str], objective_text: str = "") -> str:
    parts = [item.external_id, version.stem, version.lead_in, version.explanation, objective_text, *tag_slugs]
    for option in version.options:
        parts += [option.get("text", ""), option.get("explanation", "")]
    for answer in version.answers:
        parts += [answer.get("text", ""), answer.get("feedback", "")]
    return index_text(parts)


class _Resolver:
    """Looks up outline references, from the database and from what this import creates."""

    def __init__(self) -> None:
        self.competencies = {c.code: c for c in Competency.objects.all()}
        self.disciplines = {d.code: d for d in Discipline.objects.all()}
        self.objectives = {o.code: o for o in LearningObjective.objects.select_related("competency")}
        self.tags: dict[str, Tag] = {t.slug: t for t in Tag.objects.all()}

    def issues_for_item(self, record: rec.ItemRecord, outline_codes: set[str], objective_codes: dict[str, str],
                        discipline_codes: set[str]) -> list[rec.ImportIssue]:
        issues: list[rec.ImportIssue] = []
        where = {"line": record.line, "record": f"item '{record.external_id}'"}
        if record.competency and record.competency not in outline_codes and record.competency not in self.competencies:
            issues.append(rec.ImportIssue(f"unknown competency '{record.competency}'", field="competency", **where))
        if record.discipline and record.discipline not in discipline_codes and record.discipline not in self.disciplines:
            issues.append(rec.ImportIssue(f"unknown discipline '{record.discipline}'", field="discipline", **where))
        if record.objective:
            owner = objective_codes.get(record.objective)
            if owner is None and record.objective in self.objectives:
                owner = self.objectives[record.objective].competency.code
            if owner is None:
                issues.append(rec.ImportIssue(f"unknown learning objective '{record.objective}'", field="objective", **where))
            elif record.competency and owner != record.competency:
                issues.append(rec.ImportIssue(
                    f"learning objective '{record.objective}' belongs to '{owner}', not to '{record.competency}'",
                    field="objective", **where))
        return issues


def check_references(bundle: rec.ImportBundle, resolver: _Resolver | None = None) -> list[rec.ImportIssue]:
    """References the parser cannot check alone: codes that must exist in the file or the database."""
    resolver = resolver or _Resolver()
    outline_codes = {c.code for c in bundle.competencies}
    objective_codes = {o.code: c.code for c in bundle.competencies for o in c.objectives}
    discipline_codes = {d.code for d in bundle.disciplines}
    issues: list[rec.ImportIssue] = []
    for comp in bundle.competencies:
        if comp.parent and comp.parent not in outline_codes and comp.parent not in resolver.competencies:
            issues.append(rec.ImportIssue(f"unknown parent competency '{comp.parent}'", record=f"competency '{comp.code}'", field="parent", line=comp.line))
        for objective in comp.objectives:
            known = resolver.objectives.get(objective.code)
            if known is not None and known.competency.code != comp.code:
                issues.append(rec.ImportIssue(
                    f"objective '{objective.code}' already belongs to '{known.competency.code}'",
                    record=f"competency '{comp.code}'", field="objectives", line=comp.line))
    for item in bundle.items:
        issues += resolver.issues_for_item(item, outline_codes, objective_codes, discipline_codes)
    item_ids = {i.external_id for i in bundle.items}
    unknown_card_items = {c.item for c in bundle.cards if c.item and c.item not in item_ids}
    known = set(Item.objects.filter(external_id__in=unknown_card_items).values_list("external_id", flat=True))
    for card in bundle.cards:
        where = {"line": card.line, "record": f"card '{card.external_id}'"}
        if card.competency and card.competency not in outline_codes and card.competency not in resolver.competencies:
            issues.append(rec.ImportIssue(f"unknown competency '{card.competency}'", field="competency", **where))
        if card.item and card.item not in item_ids and card.item not in known:
            issues.append(rec.ImportIssue(f"unknown item '{card.item}'", field="item", **where))
    return issues


def import_bundle(bundle: rec.ImportBundle, *, actor: Any, filename: str = "", fmt: str = "",
                  progress: Progress | None = None) -> ImportSummary:
    """Write a parsed file in one transaction, or nothing at all (raises InvalidInput with every issue)."""
    resolver = _Resolver()
    issues = check_references(bundle, resolver)
    if issues:
        raise InvalidInput(f"{len(issues)} problem(s) in {filename or 'the file'}; nothing was imported",
                           details=[str(i) for i in issues[:200]])
    summary = ImportSummary(filename=filename, fmt=fmt, notes=tuple(getattr(bundle, "notes", ()) or ()))
    total = len(bundle.disciplines) + len(bundle.competencies) + len(bundle.items) + len(bundle.cards)
    done = 0
    with transaction.atomic():
        for record in bundle.disciplines:
            _upsert_discipline(record, resolver, summary)
        done += len(bundle.disciplines)
        # Parents before children: codes are prefixes, so shorter depth first.
        for record in sorted(bundle.competencies, key=lambda c: c.code.count(".")):
            _upsert_competency(record, resolver, summary)
        done += len(bundle.competencies)
        if progress:
            progress(done, total)
        for start in range(0, len(bundle.items), 500):
            chunk = bundle.items[start:start + 500]
            _upsert_items(chunk, resolver, summary, actor)
            done += len(chunk)
            if progress:
                progress(done, total)
        _upsert_cards(bundle.cards, resolver, summary, actor)
        done += len(bundle.cards)
        if progress:
            progress(done, total)
        entry = audit.record_action(actor, "content.import", subject=("content.import", filename or "upload"),
                                    data=summary.as_dict())
        summary.audit_seq = entry.seq
    return summary


def _apply(instance: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ on the instance (unsaved); True when any did."""
    changed = {k: v for k, v in values.items() if getattr(instance, k) != v}
    for k, v in changed.items():
        setattr(instance, k, v)
    return bool(changed)


def _upsert_discipline(record: rec.DisciplineRecord, resolver: _Resolver, summary: ImportSummary) -> None:
    existing = resolver.disciplines.get(record.code)
    if existing is None:
        resolver.disciplines[record.code] = Discipline.objects.create(code=record.code, name=record.name)
        summary.bump("created", "disciplines")
    elif _apply(existing, {"name": record.name}):
        existing.save(update_fields=["name"])
        summary.bump("updated", "disciplines")
    else:
        summary.bump("unchanged", "disciplines")


def _upsert_competency(record: rec.CompetencyRecord, resolver: _Resolver, summary: ImportSummary) -> None:
    parent = resolver.competencies.get(record.parent) if record.parent else None
    values = {"name": record.name, "parent": parent, "kind": record.kind, "weight": record.weight}
    if record.staff_only is not None:  # not stated: a new node is for everyone, an existing one keeps its flag
        values["staff_only"] = record.staff_only
    existing = resolver.competencies.get(record.code)
    if existing is None:
        existing = Competency.objects.create(code=record.code, **values)
        resolver.competencies[record.code] = existing
        summary.bump("created", "competencies")
    elif _apply(existing, values):
        existing.save()
        summary.bump("updated", "competencies")
    else:
        summary.bump("unchanged", "competencies")
    for objective in record.objectives:
        known = resolver.objectives.get(objective.code)
        if known is None:
            resolver.objectives[objective.code] = LearningObjective.objects.create(
                code=objective.code, competency=existing, text=objective.text)
            summary.bump("created", "objectives")
        elif known.text != objective.text:
            known.text = objective.text
            known.save(update_fields=["text"])
            summary.bump("updated", "objectives")


def _item_metadata(record: rec.ItemRecord, resolver: _Resolver) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "competency": resolver.competencies.get(record.competency) if record.competency else None,
        "discipline": resolver.disciplines.get(record.discipline) if record.discipline else None,
        "difficulty": record.difficulty or "",
        "source": record.source,
        "licence": record.licence,
    }


def _upsert_items(records: list[rec.ItemRecord], resolver: _Resolver, summary: ImportSummary, actor: Any) -> None:
    author = actor if getattr(actor, "is_authenticated", False) else None
    existing = {i.external_id: i for i in Item.objects.filter(external_id__in=[r.external_id for r in records])
                .select_related("current_version")}
    new_items: list[tuple[rec.ItemRecord, Item]] = []
    for record in records:
        item = existing.get(record.external_id)
        if item is None:
            new_items.append((record, Item(external_id=record.external_id, created_by=author,
                                           **_item_metadata(record, resolver))))
        else:
            changed = save_item(item, record, actor=actor, resolver=resolver, audit_change=False)
            summary.bump("updated" if changed else "unchanged", "items")
    if not new_items:
        return
    Item.objects.bulk_create([item for _, item in new_items])
    if not all(item.pk for _, item in new_items):  # backends that do not return ids on bulk insert
        ids = dict(Item.objects.filter(external_id__in=[i.external_id for _, i in new_items]).values_list("external_id", "pk"))
        for _, item in new_items:
            item.pk = item.id = ids[item.external_id]
    versions = []
    for record, item in new_items:
        objective = resolver.objectives.get(record.objective) if record.objective else None
        content = _version_content(record, objective)
        versions.append(ItemVersion(item=item, number=1, created_by=author, **content))
    ItemVersion.objects.bulk_create(versions)
    if not all(v.pk for v in versions):
        ids = dict(ItemVersion.objects.filter(item__in=[i for _, i in new_items], number=1).values_list("item_id", "pk"))
        for version in versions:
            version.pk = version.id = ids[version.item_id]
    through = []
    for (record, item), version in zip(new_items, versions, strict=True):
        slugs = slug_tags(record.tags)
        objective = resolver.objectives.get(record.objective) if record.objective else None
        item.current_version = version
        item.search_text = _search_text(item, version, slugs, objective.text if objective else "")
        through += [Item.tags.through(item_id=item.pk, tag_id=tag.pk) for tag in _tag_objects(slugs, resolver.tags)]
    Item.objects.bulk_update([item for _, item in new_items], ["current_version", "search_text"])
    Item.tags.through.objects.bulk_create(through, ignore_conflicts=True)
    summary.bump("created", "items", len(new_items))


def save_item(item: Item | None, record: rec.ItemRecord, *, actor: Any, resolver: _Resolver | None = None,
              change_note: str = "", audit_change: bool = True, image: Any = None,
              remove_image: bool = False) -> bool:
    """Create or edit one item. A change of its words adds a version; answers keep pointing at theirs.

    Returns True when anything changed. Raises InvalidInput when the record is not valid.
    """
    problems = validate_item(record)
    resolver = resolver or _Resolver()
    if item is None and Item.objects.filter(external_id=record.external_id).exists():
        problems = [*problems, rec.ImportIssue(f"an item with id '{record.external_id}' already exists",
                                               record=f"item '{record.external_id}'", field="id")]
    problems = [*problems, *resolver.issues_for_item(record, set(), {}, set())]
    if problems:
        raise InvalidInput("the question is not valid", details=[str(p) for p in problems])
    author = actor if getattr(actor, "is_authenticated", False) else None
    objective = resolver.objectives.get(record.objective) if record.objective else None
    content = _version_content(record, objective)
    metadata = _item_metadata(record, resolver)
    slugs = slug_tags(record.tags)
    with transaction.atomic():
        created = item is None
        if created:
            item = Item.objects.create(external_id=record.external_id, created_by=author, **metadata)
            meta_changed = True
        else:
            meta_changed = _apply(item, metadata)
        current = item.current_version
        old_image = current.image.name if current is not None and current.image else ""
        image_changed = image is not None or (remove_image and bool(old_image))
        words_changed = current is None or current.content() != content or image_changed
        if words_changed:
            number = (item.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            # A new version keeps the previous image unless it is replaced or removed; the old
            # version keeps its own file, so answers given on it still show what was seen.
            kept = "" if remove_image else old_image
            # A short-answer item's rubric (edited on its own page) carries over to the new version.
            grading = {"rubric": current.rubric, "max_points": current.max_points} if current is not None else {}
            current = ItemVersion.objects.create(item=item, number=number, created_by=author,
                                                 change_note=change_note[:300], image=image or kept or None,
                                                 **content, **grading)
            item.current_version = current
        old_tags = sorted(item.tags.values_list("slug", flat=True)) if not created else []
        tags_changed = old_tags != sorted(slugs)
        changed = created or words_changed or meta_changed or tags_changed
        if not changed:
            return False
        item.search_text = _search_text(item, current, slugs, objective.text if objective else "")
        item.save()
        if tags_changed:
            item.tags.set(_tag_objects(slugs, resolver.tags))
        if audit_change:
            audit.record_action(actor, "item.created" if created else "item.edited", subject=item,
                                data={"version": current.number, "new_version": words_changed,
                                      "note": change_note[:300]})
    return True


def _upsert_cards(records: tuple[rec.CardRecord, ...] | list[rec.CardRecord], resolver: _Resolver,
                  summary: ImportSummary, actor: Any) -> None:
    if not records:
        return
    author = actor if getattr(actor, "is_authenticated", False) else None
    existing = {c.external_id: c for c in Card.objects.filter(external_id__in=[r.external_id for r in records])}
    item_ids = dict(Item.objects.filter(external_id__in=[r.item for r in records if r.item])
                    .values_list("external_id", "pk"))
    for record in records:
        values = {"kind": record.kind, "front": record.front, "back": record.back,
                  "competency": resolver.competencies.get(record.competency) if record.competency else None,
                  "item_id": item_ids.get(record.item) if record.item else None}
        slugs = slug_tags(record.tags)
        card = existing.get(record.external_id)
        if card is None:
            card = Card.objects.create(external_id=record.external_id, created_by=author, **values)
            summary.bump("created", "cards")
        elif _apply(card, values) | (sorted(card.tags.values_list("slug", flat=True)) != sorted(slugs)):
            card.save()
            summary.bump("updated", "cards")
        else:
            summary.bump("unchanged", "cards")
            continue
        card.tags.set(_tag_objects(slugs, resolver.tags))


# --- export -------------------------------------------------------------------------------------

def item_record(item: Item) -> rec.ItemRecord:
    version = item.current_version
    return rec.ItemRecord(
        external_id=item.external_id,
        stem=version.stem,
        lead_in=version.lead_in,
        options=tuple(rec.OptionRecord(o["text"], o.get("explanation", "")) for o in version.options),
        key=version.key_index,
        kind=item.kind,
        answers=tuple(rec.ShortAnswerRecord(a["text"], float(a.get("score", 1.0)), a.get("feedback", ""))
                      for a in version.answers),
        explanation=version.explanation,
        competency=item.competency.code if item.competency else None,
        discipline=item.discipline.code if item.discipline else None,
        objective=version.objective.code if version.objective else None,
        tags=tuple(sorted(t.slug for t in item.tags.all())),
        difficulty=item.difficulty or None,
        source=item.source,
        licence=item.licence,
    )


def export_bundle(items: Iterable[Item] | None = None, *, include_outline: bool = True,
                  include_cards: bool = True) -> rec.ImportBundle:
    """The bank (or the given items) as records, ready for any exporter."""
    if items is None:
        items = Item.objects.active()
    items = (Item.objects.filter(pk__in=[i.pk for i in items]) if not hasattr(items, "select_related") else items)
    items = items.select_related("competency", "discipline", "current_version__objective").prefetch_related("tags")
    item_records = tuple(item_record(i) for i in items if i.current_version_id)
    disciplines: tuple[rec.DisciplineRecord, ...] = ()
    competencies: tuple[rec.CompetencyRecord, ...] = ()
    if include_outline:
        disciplines = tuple(rec.DisciplineRecord(d.code, d.name) for d in Discipline.objects.all())
        competencies = tuple(
            rec.CompetencyRecord(
                code=c.code, name=c.name, parent=c.parent.code if c.parent else None, kind=c.kind, weight=c.weight,
                objectives=tuple(rec.ObjectiveRecord(o.code, o.text) for o in c.objectives.all()),
                staff_only=True if c.staff_only else None)
            for c in Competency.objects.select_related("parent").prefetch_related("objectives"))
    cards: tuple[rec.CardRecord, ...] = ()
    if include_cards:
        cards = tuple(
            rec.CardRecord(external_id=c.external_id, kind=c.kind, front=c.front, back=c.back,
                           competency=c.competency.code if c.competency else None,
                           tags=tuple(sorted(t.slug for t in c.tags.all())),
                           item=c.item.external_id if c.item else None)
            for c in Card.objects.shared().select_related("competency", "item").prefetch_related("tags"))
    return rec.ImportBundle(disciplines=disciplines, competencies=competencies, items=item_records, cards=cards)


def without_lines(bundle: rec.ImportBundle) -> rec.ImportBundle:
    """The bundle with source line numbers dropped, for comparing round trips."""
    return replace(bundle, items=tuple(replace(i, line=None) for i in bundle.items),
                   cards=tuple(replace(c, line=None) for c in bundle.cards))
