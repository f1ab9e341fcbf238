"""The one place the app reads the time, so tests can hand in a clock."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def require_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:
        raise ValueError(f"expected a UTC datetime, got {moment!r}")
    return moment
