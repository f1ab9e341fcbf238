"""Subgroup attributes (accounts.SubgroupAttribute): read, set and import them.

They feed fairness audits and the cohort dashboard's subgroup filter. They are sensitive: pages show
them only as aggregates over at least 5 students (analytics/engine/cohort.py); administrators import
them (`medtutor subgroups import FILE`, or the upload page under governance); no page shows faculty a
student's own attributes. Each function takes user ids as a list/set or as a queryset of ids
(`.values("id")`), so callers can pass a cohort's members without loading them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, QuerySet

from medtutor.accounts.models import SubgroupAttribute, SubgroupSource
from medtutor.core import clock
from medtutor.core.errors import InvalidInput

ATTRIBUTE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_VALUE_LENGTH = 60
MAX_IMPORT_ROWS = 200_000
IMPORT_COLUMNS = ("username", "attribute", "value")

UserIds = Iterable[int] | QuerySet


def _rows(user_ids: UserIds) -> QuerySet[SubgroupAttribute]:
    return SubgroupAttribute.objects.filter(user_id__in=user_ids)


def attributes_by_user(user_ids: UserIds) -> dict[int, dict[str, str]]:
    """{user id: {attribute: value}} for the users that have any attribute."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for user_id, attribute, value in _rows(user_ids).values_list("user_id", "attribute", "value"):
        found[user_id][attribute] = value
    return dict(found)


def attribute_values(user_ids: UserIds) -> dict[str, list[str]]:
    """{attribute: sorted values} present among the users, attributes sorted."""
    found: dict[str, set[str]] = defaultdict(set)
    for attribute, value in _rows(user_ids).values_list("attribute", "value").distinct().order_by():
        found[attribute].add(value)
    return {a: sorted(v) for a, v in sorted(found.items())}


def values_of(user_ids: UserIds, attribute: str) -> dict[int, str]:
    """{user id: value} of one attribute (users without it are left out)."""
    return dict(_rows(user_ids).filter(attribute=attribute).values_list("user_id", "value"))


def value_counts(user_ids: UserIds, attribute: str) -> dict[str, int]:
    """{value: number of users} of one attribute among the users."""
    return dict(_rows(user_ids).filter(attribute=attribute).values_list("value")
                .annotate(n=Count("id")).order_by())


def user_ids_with(attribute: str, value: str) -> QuerySet:
    """A subquery of the ids of users whose `attribute` is `value`."""
    return SubgroupAttribute.objects.filter(attribute=attribute, value=value).values("user_id")


def user_ids_with_attribute(attribute: str) -> QuerySet:
    """A subquery of the ids of users that have any value of `attribute`."""
    return SubgroupAttribute.objects.filter(attribute=attribute).values("user_id")


def counts_by_attribute() -> dict[str, dict[str, int]]:
    """{attribute: {value: users}} over the whole instance (the administrators' overview)."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for attribute, value, n in (SubgroupAttribute.objects.values_list("attribute", "value")
                                .annotate(n=Count("id")).order_by("attribute", "value")):
        found[attribute][value] = n
    return dict(found)


def check_attribute(attribute: str) -> str | None:
    """An error message, or None when `attribute` is a valid name."""
    if not ATTRIBUTE_PATTERN.match(attribute or ""):
        return (f"attribute {attribute!r}: use 1-40 lower-case letters, digits, '_' or '-', "
                "starting with a letter or digit")
    return None


def check_value(value: str) -> str | None:
    if not value:
        return "value: empty"
    if len(value) > MAX_VALUE_LENGTH:
        return f"value: longer than {MAX_VALUE_LENGTH} characters"
    if value.startswith("(") or "\n" in value or "\r" in value:
        # "(not recorded)" is the dashboard's column for students without a value
        return f"value {value!r}: may not start with '(' or hold line breaks"
    return None


def set_attributes(user: Any, attributes: Mapping[str, str | None], source: str = SubgroupSource.IMPORTED) -> int:
    """Set the user's attributes (insert or update); a value of None or "" removes that attribute.
    All are checked before anything is written. Returns the number of attributes set or removed."""
    if source not in SubgroupSource.values:
        raise InvalidInput(f"source: one of {', '.join(SubgroupSource.values)}")
    errors = []
    for attribute, value in attributes.items():
        errors.append(check_attribute(attribute))
        if value:
            errors.append(check_value(value.strip()))
    errors = [e for e in errors if e]
    if errors:
        raise InvalidInput("; ".join(errors), details=errors)
    changed = 0
    with transaction.atomic():
        for attribute, value in attributes.items():
            if not value or not value.strip():
                changed += SubgroupAttribute.objects.filter(user=user, attribute=attribute).delete()[0]
                continue
            SubgroupAttribute.objects.update_or_create(
                user=user, attribute=attribute, defaults={"value": value.strip(), "source": source})
            changed += 1
    return changed


def clear_attributes(user: Any) -> int:
    return SubgroupAttribute.objects.filter(user=user).delete()[0]


# --- import ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    rows: int
    users: int
    created: int
    updated: int
    attributes: tuple[str, ...]

    def describe(self) -> str:
        return (f"{self.rows} row(s) for {self.users} user(s): {self.created} attribute(s) added, "
                f"{self.updated} updated ({', '.join(self.attributes) or 'none'})")


def parse_csv(text: str) -> list[tuple[int, str, str, str]]:
    """(line, username, attribute, value) per data row; InvalidInput lists every bad line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InvalidInput("file: empty; expected a header line username,attribute,value") from None
    columns = [c.strip().lower() for c in header]
    if sorted(columns) != sorted(IMPORT_COLUMNS):
        raise InvalidInput(f"line 1: the header must be exactly username,attribute,value (got {','.join(header)!r})")
    index = {name: columns.index(name) for name in IMPORT_COLUMNS}
    rows: list[tuple[int, str, str, str]] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise InvalidInput(f"file: more than {MAX_IMPORT_ROWS} rows; split it")
            if len(record) != len(IMPORT_COLUMNS):
                errors.append(f"line {line}: expected 3 columns, got {len(record)}")
                continue
            username, attribute, value = (record[index[c]].strip() for c in IMPORT_COLUMNS)
            attribute = attribute.lower()
            problems = [p for p in (None if username else "username: empty", check_attribute(attribute),
                                    check_value(value)) if p]
            if problems:
                errors.extend(f"line {line}: {p}" for p in problems)
                continue
            earlier = seen.get((username, attribute))
            if earlier and earlier[1] != value:
                errors.append(f"line {line}: {username} {attribute} is {earlier[1]!r} on line {earlier[0]}; "
                              "one value per attribute")
                continue
            seen[(username, attribute)] = (line, value)
            rows.append((line, username, attribute, value))
    except csv.Error as error:
        errors.append(f"line {reader.line_num}: {error}")
    if errors:
        raise InvalidInput(f"{len(errors)} error(s); nothing was imported", details=errors[:200])
    if not rows:
        raise InvalidInput("file: no data rows under the header")
    return rows


def import_csv(text: str, *, actor: Any = None) -> ImportResult:
    """Validate the whole file, then write every row in one transaction (source: imported); audited
    without any person's value (only counts and attribute names)."""
    from medtutor.core.audit import record_action

    rows = parse_csv(text)
    usernames = {username for _, username, _, _ in rows}
    user_ids = dict(get_user_model().objects.filter(username__in=usernames, is_active=True)
                    .values_list("username", "id"))
    errors = [f"line {line}: no active user {username!r}" for line, username, _, _ in rows if username not in user_ids]
    if errors:
        raise InvalidInput(f"{len(errors)} error(s); nothing was imported", details=errors[:200])
    created = updated = 0
    with transaction.atomic():
        existing = {(u, a): (pk, v) for pk, u, a, v in SubgroupAttribute.objects.filter(
            user_id__in=user_ids.values()).values_list("pk", "user_id", "attribute", "value")}
        new_rows, changed = [], []
        for _, username, attribute, value in rows:
            key = (user_ids[username], attribute)
            if key not in existing:
                new_rows.append(SubgroupAttribute(user_id=key[0], attribute=attribute, value=value,
                                                  source=SubgroupSource.IMPORTED))
                existing[key] = (None, value)
            elif existing[key][1] != value:
                changed.append((existing[key][0], value))
                existing[key] = (existing[key][0], value)
        SubgroupAttribute.objects.bulk_create(new_rows, batch_size=5000)
        for pk, value in changed:
            SubgroupAttribute.objects.filter(pk=pk).update(value=value, source=SubgroupSource.IMPORTED,
                                                           updated_at=clock.now())
        created, updated = len(new_rows), len(changed)
        attributes = tuple(sorted({a for _, _, a, _ in rows}))
        record_action(actor, "accounts.subgroups_imported",
                      data={"rows": len(rows), "users": len(user_ids), "created": created, "updated": updated,
                            "attributes": list(attributes)})
    return ImportResult(rows=len(rows), users=len(user_ids), created=created, updated=updated,
                        attributes=attributes)
