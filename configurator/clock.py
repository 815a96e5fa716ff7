"""The current time, in one place, so tests and the domain agree on it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    """A moment as the ISO 8601 text stored in the database."""
    return (moment or now()).astimezone(UTC).isoformat(timespec="microseconds")
