"""What every schedule reader shares: the imported shape, limits, and checked text and time helpers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_offset
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from configurator.errors import ImportFailed, Problem

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
DATETIME_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
TITLE_MAX = 300
SHORT_MAX = 300
TEXT_MAX = 20000
LANGUAGE_MAX = 20
KEY_MAX = 200
TAGS_MAX = 20
SPEAKERS_MAX = 50
FORMATS_MAX = 10
CAPACITY_MAX = 1_000_000
COST_MAX = 100_000
ROOMS_MAX = 500
SESSIONS_MAX = 5000
ZERO_DURATION_END = timedelta(minutes=5)
SOURCE_SYSTEMS = ("frab", "csv", "json", "proposal")
SESSION_FIELDS = (
    "id",
    "title",
    "subtitle",
    "description",
    "start",
    "end",
    "room",
    "track",
    "tags",
    "speakers",
    "language",
    "capacity",
    "formats",
    "cost",
    "source",
)
INSTANT_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
    r"\s*(Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.IGNORECASE,
)
WHOLE_NUMBER_PATTERN = re.compile(r"[0-9]{1,9}")


@dataclass
class ImportedSchedule:
    """Sessions and rooms read from a file, in our section's shape, not yet merged."""

    title: str | None
    timezone: str | None
    day_change: str | None
    days: list[str] = field(default_factory=list)
    rooms: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)


@dataclass
class ImportReport:
    """What a merge did: sessions added, updated or left as they were, and rooms added."""

    added: int
    updated: int
    unchanged: int
    rooms_added: int


class Invalid(ValueError):
    """A value that cannot be used, with a sentence saying why."""


def count_of(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def failed(what: str, problems: list[Problem]) -> ImportFailed:
    return ImportFailed(f"{what} has {count_of(len(problems), 'problem')}.", problems)


def is_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def slug_of(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")
    return slug or fallback


def unique_id(candidate: str, taken: set[str]) -> str:
    unique = candidate
    number = 2
    while unique in taken:
        suffix = f"-{number}"
        unique = candidate[: 80 - len(suffix)] + suffix
        number += 1
    taken.add(unique)
    return unique


def zone_for(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_instant(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='seconds')}{sign}{hours:02}:{rest:02}"


def parse_local_instant(text: str, zone: ZoneInfo | None) -> datetime:
    """An aware datetime from ISO 8601 with an offset, or local time read in the given zone."""
    value = text.strip()
    match = INSTANT_PATTERN.fullmatch(value)
    if match is None:
        raise Invalid(
            f'"{value}" is not a date and time; write it like 2025-02-01T09:00+01:00'
            " or 2025-02-01 09:00"
        )
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise Invalid(f'"{value}" is not a real date and time') from None
    offset = match.group(7)
    if offset is not None:
        if offset.upper() == "Z":
            return naive.replace(tzinfo=UTC)
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise Invalid(f'"{value}" has an impossible UTC offset')
        delta = timedelta(hours=hours, minutes=minutes)
        return naive.replace(tzinfo=fixed_offset(-delta if offset[0] == "-" else delta))
    if zone is None:
        raise Invalid(
            f'"{value}" has no UTC offset; add one (like +01:00) or name the time zone of the event'
        )
    moment = naive.replace(tzinfo=zone)
    try:
        exists = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    except OverflowError:
        raise Invalid(f'"{value}" is too far in the past or future') from None
    if not exists:
        raise Invalid(f'"{value}" does not exist in {zone.key}: the clocks skip that hour')
    return moment


def checked_offset(moment: datetime, value: str) -> datetime:
    offset = moment.utcoffset() or timedelta(0)
    if offset.total_seconds() % 60:
        raise Invalid(f'"{value}" has a UTC offset that is not a whole number of minutes')
    return moment


def end_after(start: datetime, duration: timedelta, zone: ZoneInfo | None) -> datetime:
    """Start plus an elapsed duration, shown in the event's zone when the start is too."""
    try:
        instant = start.astimezone(UTC) + duration
        if zone is not None and start.utcoffset() == zone.utcoffset(start.replace(tzinfo=None)):
            return instant.astimezone(zone)
        return instant.astimezone(start.tzinfo)
    except OverflowError:
        raise Invalid("the session would end too far in the future") from None
