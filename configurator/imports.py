"""Schedule imports: frab XML, CSV and JSON read into sessions, then upserted into a section."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as fixed_offset
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException

from configurator.errors import ImportFailed, Problem
from configurator.optionschema import DEFAULT_FORMATS

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
KEPT_ON_UPDATE = ("capacity", "formats", "cost")
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
CSV_COLUMNS = (
    "id",
    "title",
    "start",
    "end",
    "duration",
    "room",
    "track",
    "tags",
    "speakers",
    "capacity",
    "description",
    "language",
    "formats",
)
CSV_REQUIRED = ("id", "title", "start")
ACCEPTED_FORMATS = "frab XML (.xml), CSV (.csv) or JSON (.json)"
DTD_PATTERN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
INSTANT_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
    r"\s*(Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.IGNORECASE,
)
FRAB_DURATION_PATTERN = re.compile(r"[0-9]{1,4}(:[0-9]{1,2}){1,2}")
CSV_DURATION_PATTERN = re.compile(r"([0-9]{1,6})(?::([0-9]{2}))?")
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


class _Invalid(ValueError):
    """A value that cannot be used, with a sentence saying why."""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _fail(what: str, problems: list[Problem]) -> ImportFailed:
    return ImportFailed(f"{what} has {_count(len(problems), 'problem')}.", problems)


def _is_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _slug(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")
    return slug or fallback


def _unique(candidate: str, taken: set[str]) -> str:
    unique = candidate
    number = 2
    while unique in taken:
        suffix = f"-{number}"
        unique = candidate[: 80 - len(suffix)] + suffix
        number += 1
    taken.add(unique)
    return unique


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _format_instant(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='seconds')}{sign}{hours:02}:{rest:02}"


def _parse_instant(text: str, zone: ZoneInfo | None) -> datetime:
    """An aware datetime from ISO 8601 with an offset, or local time read in the given zone."""
    value = text.strip()
    match = INSTANT_PATTERN.fullmatch(value)
    if match is None:
        raise _Invalid(
            f'"{value}" is not a date and time; write it like 2025-02-01T09:00+01:00'
            " or 2025-02-01 09:00"
        )
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise _Invalid(f'"{value}" is not a real date and time') from None
    offset = match.group(7)
    if offset is not None:
        if offset.upper() == "Z":
            return naive.replace(tzinfo=UTC)
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise _Invalid(f'"{value}" has an impossible UTC offset')
        delta = timedelta(hours=hours, minutes=minutes)
        return naive.replace(tzinfo=fixed_offset(-delta if offset[0] == "-" else delta))
    if zone is None:
        raise _Invalid(
            f'"{value}" has no UTC offset; add one (like +01:00) or name the time zone of the event'
        )
    moment = naive.replace(tzinfo=zone)
    try:
        exists = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    except OverflowError:
        raise _Invalid(f'"{value}" is too far in the past or future') from None
    if not exists:
        raise _Invalid(f'"{value}" does not exist in {zone.key}: the clocks skip that hour')
    return moment


def _checked_offset(moment: datetime, value: str) -> datetime:
    offset = moment.utcoffset() or timedelta(0)
    if offset.total_seconds() % 60:
        raise _Invalid(f'"{value}" has a UTC offset that is not a whole number of minutes')
    return moment


def _later(start: datetime, duration: timedelta, zone: ZoneInfo | None) -> datetime:
    """Start plus an elapsed duration, shown in the event's zone when the start is too."""
    try:
        instant = start.astimezone(UTC) + duration
        if zone is not None and start.utcoffset() == zone.utcoffset(start.replace(tzinfo=None)):
            return instant.astimezone(zone)
        return instant.astimezone(start.tzinfo)
    except OverflowError:
        raise _Invalid("the session would end too far in the future") from None


def _frab_duration(text: str) -> timedelta:
    """A frab duration: HH:MM, HH:MM:SS, or pretalx's D:HH:MM for sessions of a day or more."""
    value = text.strip()
    if FRAB_DURATION_PATTERN.fullmatch(value) is None:
        raise _Invalid(f'the duration "{value}" is not written as HH:MM')
    parts = value.split(":")
    numbers = [int(part) for part in parts]
    # pretalx writes days unpadded ("1:02:00"); zero-padded three-part values are HH:MM:SS.
    if len(parts) == 3 and len(parts[0]) == 1 and numbers[1] < 24:
        days, hours, minutes, seconds = numbers[0], numbers[1], numbers[2], 0
    elif len(parts) == 3:
        days, (hours, minutes, seconds) = 0, numbers
    else:
        days, (hours, minutes), seconds = 0, numbers, 0
    if minutes > 59 or seconds > 59:
        raise _Invalid(f'the duration "{value}" is not written as HH:MM')
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _read_xml(data: bytes) -> ET.Element:
    if not data.strip():
        raise ImportFailed("The file is empty.")
    scanned = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        scanned = data.decode("utf-16", errors="replace").encode("utf-8")
    if DTD_PATTERN.search(scanned):
        raise ImportFailed(
            "The XML file declares a document type or entities, which are refused for safety.",
            [
                Problem(
                    "",
                    "<!DOCTYPE>",
                    "remove the <!DOCTYPE …> and <!ENTITY …> declarations;"
                    " a frab schedule needs neither",
                )
            ],
        )
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Whitespace before the XML declaration is invalid XML but common in hand-edited files.
        data = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    try:
        # defusedxml as a second wall: it refuses DTDs and entities even if the scan above missed one.
        return defused.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ImportFailed(
            "The XML file declares a document type or entities, which are refused for safety."
        ) from None
    except ET.ParseError as error:
        line, column = error.position
        reason = re.sub(r": line \d+, column \d+$", "", str(error))
        raise ImportFailed(
            "The file is not well-formed XML.",
            [
                Problem(
                    "",
                    f"line {line}, column {column + 1}",
                    f"the XML is not well-formed here: {reason}.",
                )
            ],
        ) from None
    except (ValueError, LookupError) as error:
        raise ImportFailed(
            "The file is not well-formed XML.", [Problem("", "", f"it cannot be read: {error}.")]
        ) from None


def _frab_event(
    event: ET.Element,
    room_id: str,
    zone: ZoneInfo | None,
    taken_ids: set[str],
    problems: list[Problem],
) -> dict | None:
    """One frab <event> as a session, or None after recording why it cannot be one."""
    event_id = (event.get("id") or "").strip()
    guid = (event.get("guid") or "").strip()
    title = _one_line(event.findtext("title"))
    where = f"event {event_id or guid or '(no id)'}" + (f' "{_clip(title, 60)}"' if title else "")
    count = len(problems)
    key = guid or event_id
    if not key:
        problems.append(Problem("", where, "the event has neither an id nor a guid."))
    elif len(key) > KEY_MAX:
        problems.append(Problem("", where, f"the guid is longer than {KEY_MAX} characters."))
    if not title:
        problems.append(Problem("", where, "the event has no title."))
    start = end = None
    date_text = (event.findtext("date") or "").strip()
    if not date_text:
        problems.append(Problem("", where, "the event has no <date>."))
    else:
        try:
            start = _checked_offset(_parse_instant(date_text, zone), date_text)
        except _Invalid as error:
            problems.append(Problem("", where, f"<date>: {error}."))
    try:
        duration = _frab_duration(event.findtext("duration") or "")
    except _Invalid as error:
        problems.append(Problem("", where, f"{error}."))
        duration = None
    if start is not None and duration is not None:
        try:
            # A zero-length session cannot be stored (end must follow start); five minutes stand in.
            end = _later(start, duration or ZERO_DURATION_END, zone)
        except _Invalid as error:
            problems.append(Problem("", where, f"{error}."))
    if len(problems) > count or start is None or end is None:
        return None
    session_id = event_id if _is_id(event_id) else _slug(guid, "session")
    session: dict[str, Any] = {
        "id": _unique(session_id, taken_ids),
        "title": _clip(title, TITLE_MAX),
    }
    subtitle = _one_line(event.findtext("subtitle"))
    if subtitle:
        session["subtitle"] = _clip(subtitle, SHORT_MAX)
    abstract = (event.findtext("abstract") or "").strip()
    description = (event.findtext("description") or "").strip()
    text = "\n\n".join(part for part in dict.fromkeys([abstract, description]) if part)
    if text:
        session["description"] = _clip(text, TEXT_MAX)
    session["start"] = _format_instant(start)
    session["end"] = _format_instant(end)
    session["room"] = room_id
    track = _one_line(event.findtext("track"))
    if track:
        session["track"] = _clip(track, SHORT_MAX)
    kind = _one_line(event.findtext("type"))
    if kind:
        session["tags"] = [_clip(kind, SHORT_MAX)]
    speakers = [_clip(_one_line(person.text), SHORT_MAX) for person in event.iter("person")]
    speakers = [speaker for speaker in speakers if speaker][:SPEAKERS_MAX]
    if speakers:
        session["speakers"] = speakers
    language = _one_line(event.findtext("language"))
    if language:
        session["language"] = language[:LANGUAGE_MAX]
    session["source"] = {"system": "frab", "key": key}
    return session


def parse_frab(data: bytes, timezone: str | None = None) -> ImportedSchedule:
    """Read a frab XML schedule (pretalx, frab, FOSDEM) into sessions and rooms."""
    root = _read_xml(data)
    if root.tag != "schedule":
        raise ImportFailed(
            f"The XML file is not a frab schedule: its root element is <{root.tag}>,"
            " not <schedule>."
        )
    conference = root.find("conference")
    title = (
        _clip(_one_line(conference.findtext("title")), TITLE_MAX) if conference is not None else ""
    )
    zone_name = _one_line(conference.findtext("time_zone_name")) if conference is not None else ""
    named_zone = _zone(zone_name)
    zone = named_zone or _zone(timezone)
    problems: list[Problem] = []
    days: list[str] = []
    rooms: list[dict] = []
    room_ids: dict[str, str] = {}
    taken_room_ids: set[str] = set()
    taken_ids: set[str] = set()
    sessions: list[dict] = []
    day_change: str | None = None
    for number, day in enumerate(root.iter("day"), start=1):
        day_text = (day.get("date") or "").strip()
        try:
            day_date = date.fromisoformat(day_text)
        except ValueError:
            problems.append(
                Problem("", f"day {number}", f'the date "{day_text}" is not YYYY-MM-DD.')
            )
            continue
        if day_text not in days:
            days.append(day_text)
        day_sessions: list[dict] = []
        for room in day.findall("room"):
            name = _clip(_one_line(room.get("name")), TITLE_MAX)
            if not name:
                problems.append(Problem("", f"day {day_text}", "a <room> has no name."))
                continue
            if name not in room_ids:
                room_ids[name] = _unique(_slug(name, "room"), taken_room_ids)
                rooms.append({"id": room_ids[name], "title": name})
            for event in room.findall("event"):
                session = _frab_event(event, room_ids[name], zone, taken_ids, problems)
                if session is not None:
                    day_sessions.append(session)
        sessions.extend(day_sessions)
        day_change = day_change or _frab_day_change(day.get("end"), day_date, day_sessions)
    if problems:
        raise _fail("The frab schedule", problems)
    if not sessions:
        raise ImportFailed("The frab schedule contains no events.")
    return ImportedSchedule(
        title=title or None,
        timezone=zone_name if named_zone else None,
        day_change=day_change,
        days=days,
        rooms=rooms,
        sessions=sessions,
    )


def _frab_day_change(end_text: str | None, day_date: date, sessions: list[dict]) -> str | None:
    """The day's end time when the day runs past midnight and sessions really start after it."""
    try:
        end = datetime.fromisoformat((end_text or "").strip())
    except ValueError:
        return None
    if end.date() <= day_date:
        return None
    if not any(session["start"][:10] > day_date.isoformat() for session in sessions):
        return None
    return f"{end:%H:%M}"


def _csv_dialect(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "," not in header and ";" in header:
        return ";"
    if "," not in header and "\t" in header:
        return "\t"
    return ","


def _csv_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as error:
        raise ImportFailed(
            "The CSV file cannot be read.",
            [Problem("", f"line {reader.line_num or line}", f"this is not readable CSV: {error}.")],
        ) from None
    return records


def _split_list(value: str) -> list[str]:
    return [_one_line(part) for part in value.split(";") if part.strip()]


def _csv_header(line: int, cells: list[str]) -> tuple[list[str], list[Problem]]:
    header = [cell.strip().lower() for cell in cells]
    problems: list[Problem] = []
    where = (f"/{line}", f"line {line}")
    for name in header:
        if name and name not in CSV_COLUMNS:
            problems.append(
                Problem(
                    *where,
                    f'the column "{name}" is not one we read;'
                    f" the columns are {', '.join(CSV_COLUMNS)}.",
                )
            )
    for name in sorted({name for name in header if name and header.count(name) > 1}):
        problems.append(Problem(*where, f'the column "{name}" appears more than once.'))
    for name in CSV_REQUIRED:
        if name not in header:
            problems.append(
                Problem(
                    *where,
                    f'the column "{name}" is missing;'
                    " the file needs id, title, start, and end or duration.",
                )
            )
    if "end" not in header and "duration" not in header:
        problems.append(Problem(*where, 'the file needs an "end" or a "duration" column.'))
    return header, problems


def _csv_session(
    line: int,
    row: dict[str, str],
    zone: ZoneInfo | None,
    seen_ids: dict[str, int],
    room_ids: dict[str, str],
    rooms: list[dict],
    problems: list[Problem],
) -> dict | None:
    """One CSV row as a session, or None after recording its problems."""
    count = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(Problem(f"/{line}/{column}", f'line {line}, column "{column}"', message))

    session_id = row.get("id", "").strip()
    if not session_id:
        problem("id", "the id is empty.")
    elif not _is_id(session_id):
        problem(
            "id",
            f'"{session_id}" is not a usable id: use up to 80 letters, digits,'
            " dots, dashes or underscores, starting with a letter or digit.",
        )
    elif session_id in seen_ids:
        problem("id", f'the id "{session_id}" is already used on line {seen_ids[session_id]}.')
    else:
        seen_ids[session_id] = line
    title = _one_line(row.get("title"))
    if not title:
        problem("title", "the title is empty.")
    elif len(title) > TITLE_MAX:
        problem("title", f"the title is {len(title)} characters long; at most {TITLE_MAX} fit.")
    start = end = None
    start_text = row.get("start", "").strip()
    if not start_text:
        problem("start", "the start is empty.")
    else:
        try:
            start = _checked_offset(_parse_instant(start_text, zone), start_text)
        except _Invalid as error:
            problem("start", f"{error}.")
    end_text = row.get("end", "").strip()
    duration_text = row.get("duration", "").strip()
    if end_text:
        try:
            end = _checked_offset(_parse_instant(end_text, zone), end_text)
        except _Invalid as error:
            problem("end", f"{error}.")
    duration = None
    if duration_text:
        match = CSV_DURATION_PATTERN.fullmatch(duration_text)
        if match is None or (match.group(2) is not None and int(match.group(2)) > 59):
            problem(
                "duration",
                f'"{duration_text}" is not a duration; write minutes (45)'
                " or hours and minutes (1:30).",
            )
        else:
            hours_or_minutes, minutes = match.groups()
            duration = (
                timedelta(minutes=int(hours_or_minutes))
                if minutes is None
                else timedelta(hours=int(hours_or_minutes), minutes=int(minutes))
            )
            if not duration:
                problem("duration", "the duration is zero; a session needs some time.")
    if not end_text and not duration_text:
        problem("end", "the session has neither an end nor a duration.")
    by_duration = None
    if start is not None and duration:
        try:
            by_duration = _later(start, duration, zone)
        except _Invalid as error:
            problem("duration", f"{error}.")
    if by_duration is not None and not end_text:
        end = by_duration
    elif by_duration is not None and end is not None and end != by_duration:
        problem(
            "duration",
            f"the end ({end_text}) and the duration ({duration_text}) disagree; give one of them.",
        )
    if start is not None and end is not None and end <= start:
        problem(
            "end",
            f"the session ends ({end_text}) "
            + ("before it starts" if end < start else "when it starts")
            + f" ({start_text}).",
        )
    capacity = None
    capacity_text = row.get("capacity", "").strip()
    if capacity_text:
        if (
            WHOLE_NUMBER_PATTERN.fullmatch(capacity_text)
            and 1 <= int(capacity_text) <= CAPACITY_MAX
        ):
            capacity = int(capacity_text)
        else:
            problem(
                "capacity",
                f'"{capacity_text}" is not a capacity; write a whole number'
                f" from 1 to {CAPACITY_MAX}.",
            )
    lists: dict[str, list[str]] = {}
    for column, limit in (("tags", TAGS_MAX), ("speakers", SPEAKERS_MAX), ("formats", FORMATS_MAX)):
        values = _split_list(row.get(column, ""))
        if len(values) > limit:
            problem(column, f"{len(values)} {column} are listed; at most {limit} fit.")
        for value in values:
            if column == "formats" and not _is_id(value):
                problem(column, f'"{value}" is not a format id.')
            elif len(value) > SHORT_MAX:
                problem(column, f'"{_clip(value, 40)}" is longer than {SHORT_MAX} characters.')
        if column == "formats" and len(set(values)) != len(values):
            problem(column, "the same format is listed twice.")
        lists[column] = values
    track = _one_line(row.get("track"))
    if len(track) > SHORT_MAX:
        problem("track", f"the track is longer than {SHORT_MAX} characters.")
    description = (row.get("description") or "").strip()
    if len(description) > TEXT_MAX:
        problem(
            "description",
            f"the description is {len(description)} characters long; at most {TEXT_MAX} fit.",
        )
    language = _one_line(row.get("language"))
    if len(language) > LANGUAGE_MAX:
        problem("language", f'"{_clip(language, 40)}" is longer than {LANGUAGE_MAX} characters.')
    room_title = _one_line(row.get("room"))
    if len(room_title) > TITLE_MAX:
        problem("room", f"the room name is longer than {TITLE_MAX} characters.")
    if len(problems) > count or start is None or end is None:
        return None
    session: dict[str, Any] = {"id": session_id, "title": title}
    if description:
        session["description"] = description
    session["start"] = _format_instant(start)
    session["end"] = _format_instant(end)
    if room_title:
        if room_title.casefold() not in room_ids:
            room_id = _unique(_slug(room_title, "room"), {room["id"] for room in rooms})
            room_ids[room_title.casefold()] = room_id
            rooms.append({"id": room_id, "title": room_title})
        session["room"] = room_ids[room_title.casefold()]
    if track:
        session["track"] = track
    for column in ("tags", "speakers"):
        if lists[column]:
            session[column] = lists[column]
    if language:
        session["language"] = language
    if capacity is not None:
        session["capacity"] = capacity
    if lists["formats"]:
        session["formats"] = lists["formats"]
    session["source"] = {"system": "csv", "key": session_id}
    return session


def parse_csv(text: str, timezone: str | None = None) -> ImportedSchedule:
    """Read a CSV of sessions, one row each with columns named in its header."""
    zone = _zone(timezone)
    if timezone and zone is None:
        raise ImportFailed(
            f'"{timezone}" is not a time zone we know; use a name like Europe/Brussels.'
        )
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFailed("The CSV file is empty.")
    records = _csv_records(text, _csv_dialect(text))
    if not records:
        raise ImportFailed("The CSV file is empty.")
    header, problems = _csv_header(*records[0])
    if problems:
        raise _fail("The CSV header", problems)
    if len(records) == 1:
        raise ImportFailed("The CSV file has a header but no sessions.")
    seen_ids: dict[str, int] = {}
    room_ids: dict[str, str] = {}
    rooms: list[dict] = []
    sessions: list[dict] = []
    for line, cells in records[1:]:
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            problems.append(
                Problem(
                    f"/{line}",
                    f"line {line}",
                    f"the row has {len(cells)} values but the header names {len(header)} columns.",
                )
            )
            continue
        row = {name: cell for name, cell in zip(header, cells, strict=False) if name}
        session = _csv_session(line, row, zone, seen_ids, room_ids, rooms, problems)
        if session is not None:
            sessions.append(session)
    if problems:
        raise _fail("The CSV file", problems)
    days = sorted({session["start"][:10] for session in sessions})
    return ImportedSchedule(
        title=None,
        timezone=timezone or None,
        day_change=None,
        days=days,
        rooms=rooms,
        sessions=sessions,
    )


def _json_string(
    value: object, pointer: str, path: str, problems: list[Problem], limit: int, minimum: int = 0
) -> None:
    if not isinstance(value, str):
        problems.append(Problem(pointer, path, "must be text."))
    elif len(value) < minimum:
        problems.append(Problem(pointer, path, "must not be empty."))
    elif len(value) > limit:
        problems.append(
            Problem(pointer, path, f"is {len(value)} characters long; at most {limit} fit.")
        )


def _json_integer(
    value: object, pointer: str, path: str, problems: list[Problem], low: int, high: int
) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(Problem(pointer, path, f"must be a whole number from {low} to {high}."))


def _json_list(
    value: object, pointer: str, path: str, problems: list[Problem], limit: int, ids: bool = False
) -> None:
    if not isinstance(value, list):
        problems.append(Problem(pointer, path, "must be a list."))
        return
    if len(value) > limit:
        problems.append(Problem(pointer, path, f"has {len(value)} entries; at most {limit} fit."))
    for index, item in enumerate(value):
        if ids and not _is_id(item):
            problems.append(Problem(f"{pointer}/{index}", f"{path}[{index}]", "must be an id."))
        elif not ids:
            _json_string(item, f"{pointer}/{index}", f"{path}[{index}]", problems, SHORT_MAX)
    if ids and not value:
        problems.append(Problem(pointer, path, "must name at least one format."))
    if ids and len({str(item) for item in value}) != len(value):
        problems.append(Problem(pointer, path, "lists the same format twice."))


def _json_source(value: object, pointer: str, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(pointer, path, "must be an object."))
        return
    for key in value:
        if key not in ("system", "key", "proposal_id"):
            problems.append(Problem(f"{pointer}/{key}", f"{path}.{key}", "is not a source field."))
    if "system" in value and value["system"] not in SOURCE_SYSTEMS:
        problems.append(
            Problem(
                f"{pointer}/system",
                f"{path}.system",
                f"must be one of {', '.join(SOURCE_SYSTEMS)}.",
            )
        )
    if "key" in value:
        _json_string(value["key"], f"{pointer}/key", f"{path}.key", problems, KEY_MAX)
    if "proposal_id" in value:
        _json_integer(
            value["proposal_id"],
            f"{pointer}/proposal_id",
            f"{path}.proposal_id",
            problems,
            1,
            2**63 - 1,
        )


def _json_instant(
    value: object, pointer: str, path: str, problems: list[Problem]
) -> datetime | None:
    if isinstance(value, str) and DATETIME_PATTERN.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    problems.append(
        Problem(
            pointer,
            path,
            "must be a date and time with a UTC offset, like 2025-02-01T09:00:00+01:00.",
        )
    )
    return None


def _json_session(value: object, pointer: str, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(pointer, path, "must be an object."))
        return
    for key in value:
        if key not in SESSION_FIELDS:
            problems.append(Problem(f"{pointer}/{key}", f"{path}.{key}", "is not a session field."))
    for key in ("id", "title", "start", "end"):
        if key not in value:
            problems.append(Problem(f"{pointer}/{key}", f"{path}.{key}", "is missing."))
    where = {key: (f"{pointer}/{key}", f"{path}.{key}", problems) for key in SESSION_FIELDS}
    if "id" in value and not _is_id(value["id"]):
        problems.append(
            Problem(
                *where["id"][:2],
                "must be an id: up to 80 letters, digits, dots,"
                " dashes or underscores, starting with a letter or digit.",
            )
        )
    if "room" in value and not _is_id(value["room"]):
        problems.append(Problem(*where["room"][:2], "must be a room id."))
    if "title" in value:
        _json_string(value["title"], *where["title"], TITLE_MAX, minimum=1)
    for key in ("subtitle", "track"):
        if key in value:
            _json_string(value[key], *where[key], SHORT_MAX)
    if "description" in value:
        _json_string(value["description"], *where["description"], TEXT_MAX)
    if "language" in value:
        _json_string(value["language"], *where["language"], LANGUAGE_MAX)
    if "tags" in value:
        _json_list(value["tags"], *where["tags"], TAGS_MAX)
    if "speakers" in value:
        _json_list(value["speakers"], *where["speakers"], SPEAKERS_MAX)
    if "formats" in value:
        _json_list(value["formats"], *where["formats"], FORMATS_MAX, ids=True)
    if "capacity" in value:
        _json_integer(value["capacity"], *where["capacity"], 1, CAPACITY_MAX)
    if "cost" in value:
        _json_integer(value["cost"], *where["cost"], 0, COST_MAX)
    if "source" in value:
        _json_source(value["source"], *where["source"])
    start = _json_instant(value["start"], *where["start"]) if "start" in value else None
    end = _json_instant(value["end"], *where["end"]) if "end" in value else None
    if start is not None and end is not None and end <= start:
        problems.append(Problem(*where["end"][:2], "must be later than the start."))


def _json_room(value: object, pointer: str, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(pointer, path, "must be an object."))
        return
    for key in value:
        if key not in ("id", "title", "capacity"):
            problems.append(Problem(f"{pointer}/{key}", f"{path}.{key}", "is not a room field."))
    if not _is_id(value.get("id")):
        problems.append(Problem(f"{pointer}/id", f"{path}.id", "must be a room id."))
    _json_string(value.get("title"), f"{pointer}/title", f"{path}.title", problems, TITLE_MAX, 1)
    if "capacity" in value:
        _json_integer(
            value["capacity"], f"{pointer}/capacity", f"{path}.capacity", problems, 1, CAPACITY_MAX
        )


def _json_days(event: object, sessions: list[dict]) -> list[str]:
    if isinstance(event, dict):
        try:
            first = date.fromisoformat(str(event.get("starts_on")))
            last = date.fromisoformat(str(event.get("ends_on")))
        except ValueError:
            pass
        else:
            if 0 <= (last - first).days <= 366:
                return [
                    (first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
                ]
    return sorted({session["start"][:10] for session in sessions})


def parse_json(data: bytes | str) -> ImportedSchedule:
    """Read our JSON: a list of sessions, an object with sessions and rooms, or an option schema."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportFailed(
                "The JSON file is not UTF-8 text.",
                [Problem("", f"byte {error.start + 1}", "this byte is not UTF-8.")],
            ) from None
    text = data.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFailed("The JSON file is empty.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFailed(
            "The file is not valid JSON.",
            [Problem("", f"line {error.lineno}, column {error.colno}", f"{error.msg}.")],
        ) from None
    except RecursionError:
        raise ImportFailed("The JSON file is nested too deeply to read.") from None
    title = timezone = day_change = None
    event: object = None
    base = ""
    if isinstance(document, list):
        sessions_value, rooms_value, base = document, None, None
    elif isinstance(document, dict) and "sections" in document:
        sections = document["sections"]
        found = None
        if isinstance(sections, list):
            found = next(
                (
                    index
                    for index, section in enumerate(sections)
                    if isinstance(section, dict) and section.get("kind") == "sessions"
                ),
                None,
            )
        if found is None:
            raise ImportFailed("The option schema has no sessions section to import.")
        section = sections[found]
        base = f"/sections/{found}"
        sessions_value, rooms_value = section.get("sessions", []), section.get("rooms")
        event = document.get("event")
        if isinstance(event, dict):
            title = event.get("title") if isinstance(event.get("title"), str) else None
            timezone = event.get("timezone") if isinstance(event.get("timezone"), str) else None
            day_change = (
                event.get("day_change") if isinstance(event.get("day_change"), str) else None
            )
    elif isinstance(document, dict) and "sessions" in document:
        sessions_value, rooms_value = document["sessions"], document.get("rooms")
    else:
        raise ImportFailed(
            "The JSON file holds neither a list of sessions, an object with"
            ' "sessions", nor an option schema.'
        )
    prefix = "" if base is None else f"{base}/sessions"
    problems: list[Problem] = []
    if not isinstance(sessions_value, list):
        raise ImportFailed(
            "The JSON file cannot be imported.",
            [Problem(prefix, "sessions", "must be a list of sessions.")],
        )
    for index, session in enumerate(sessions_value):
        _json_session(session, f"{prefix}/{index}", f"sessions[{index}]", problems)
    ids = Counter(
        session.get("id")
        for session in sessions_value
        if isinstance(session, dict) and isinstance(session.get("id"), str)
    )
    for duplicate in sorted(i for i, times in ids.items() if times > 1):
        problems.append(
            Problem(prefix, "sessions", f'the id "{duplicate}" is used more than once.')
        )
    rooms_pointer = f"{base or ''}/rooms"
    if rooms_value is not None and not isinstance(rooms_value, list):
        problems.append(Problem(rooms_pointer, "rooms", "must be a list of rooms."))
    elif rooms_value:
        for index, room in enumerate(rooms_value):
            _json_room(room, f"{rooms_pointer}/{index}", f"rooms[{index}]", problems)
        room_ids = Counter(
            room.get("id")
            for room in rooms_value
            if isinstance(room, dict) and isinstance(room.get("id"), str)
        )
        for duplicate in sorted(i for i, times in room_ids.items() if times > 1):
            problems.append(
                Problem(
                    rooms_pointer, "rooms", f'the room id "{duplicate}" is used more than once.'
                )
            )
    if problems:
        raise _fail("The JSON file", problems)
    if not sessions_value:
        raise ImportFailed("The JSON file contains no sessions.")
    return ImportedSchedule(
        title=title,
        timezone=timezone,
        day_change=day_change,
        days=_json_days(event, sessions_value),
        rooms=list(rooms_value or []),
        sessions=sessions_value,
    )


def parse_room_capacities(text: str) -> dict[str, int]:
    """Read a CSV of room,capacity lines into capacities by room title or id."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFailed("The room capacity file is empty.")
    records = _csv_records(text, _csv_dialect(text))
    if not records:
        raise ImportFailed("The room capacity file is empty.")
    header = [cell.strip().lower() for cell in records[0][1]]
    if "room" not in header or "capacity" not in header:
        raise ImportFailed(
            "The room capacity file cannot be read.",
            [
                Problem(
                    f"/{records[0][0]}",
                    f"line {records[0][0]}",
                    'the first line must name the columns "room" and "capacity".',
                )
            ],
        )
    room_at, capacity_at = header.index("room"), header.index("capacity")
    capacities: dict[str, int] = {}
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    for line, cells in records[1:]:
        room = _one_line(cells[room_at]) if room_at < len(cells) else ""
        value = cells[capacity_at].strip() if capacity_at < len(cells) else ""
        if not room:
            problems.append(
                Problem(f"/{line}/room", f'line {line}, column "room"', "the room is empty.")
            )
        elif room.casefold() in lines:
            problems.append(
                Problem(
                    f"/{line}/room",
                    f'line {line}, column "room"',
                    f'the room "{room}" is already listed on line {lines[room.casefold()]}.',
                )
            )
        if not (WHOLE_NUMBER_PATTERN.fullmatch(value) and 1 <= int(value) <= CAPACITY_MAX):
            problems.append(
                Problem(
                    f"/{line}/capacity",
                    f'line {line}, column "capacity"',
                    f'"{value}" is not a capacity; write a whole number from 1 to {CAPACITY_MAX}.',
                )
            )
        elif room and room.casefold() not in lines:
            capacities[room] = int(value)
        if room:
            lines.setdefault(room.casefold(), line)
    if problems:
        raise _fail("The room capacity file", problems)
    if not capacities:
        raise ImportFailed("The room capacity file lists no rooms.")
    return capacities


def _decoded(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed(
            f"The {what} is not UTF-8 text.",
            [
                Problem(
                    "",
                    f"byte {error.start + 1}",
                    "this byte is not UTF-8; save the file as “CSV UTF-8” and try again.",
                )
            ],
        ) from None


def parse_schedule(filename: str, data: bytes, timezone: str | None = None) -> ImportedSchedule:
    """Read a schedule file of any accepted format, chosen by its extension or its first byte."""
    if not data.strip():
        raise ImportFailed(f'"{filename}" is empty.')
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xml":
        return parse_frab(data, timezone)
    if suffix == "csv":
        return parse_csv(_decoded(data, "CSV file"), timezone)
    if suffix == "json":
        return parse_json(data)
    head = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = data[:64].decode("utf-16", errors="ignore").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if head == b"<":
        return parse_frab(data, timezone)
    if head in (b"{", b"["):
        return parse_json(data)
    raise ImportFailed(f'"{filename}" is not a schedule we can read: send {ACCEPTED_FORMATS}.')


def _source_key(session: dict) -> tuple[str, str] | None:
    source = session.get("source")
    if isinstance(source, dict) and source.get("key"):
        return (str(source.get("system", "")), str(source["key"]))
    return None


def _start_instant(session: dict) -> datetime:
    return datetime.fromisoformat(session["start"])


def merge_into_section(
    section: dict, imported: ImportedSchedule, room_capacities: dict[str, int] | None = None
) -> ImportReport:
    """Upsert imported rooms and sessions into a sessions section in place; say what changed."""
    rooms: list[dict] = section.get("rooms") or []
    sessions: list[dict] = section.get("sessions") or []
    by_id: dict[str, dict] = {room.get("id", ""): room for room in rooms}
    by_title: dict[str, dict] = {}
    for room in rooms:
        by_title.setdefault(str(room.get("title", "")).casefold(), room)
    room_map: dict[str, str] = {}
    new_rooms: list[dict] = []
    for room in imported.rooms:
        match = (
            by_id.get(room["id"])
            or by_title.get(room["title"].casefold())
            or by_id.get(room["title"])
        )
        if match is None:
            match = {
                key: copy.deepcopy(room[key]) for key in ("id", "title", "capacity") if key in room
            }
            new_rooms.append(match)
            by_id[match["id"]] = match
            by_title.setdefault(match["title"].casefold(), match)
        room_map[room["id"]] = match["id"]
    problems: list[Problem] = []
    capacity_changes: list[tuple[dict, int]] = []
    for name, capacity in (room_capacities or {}).items():
        target = by_id.get(name) or by_title.get(name.casefold())
        if target is None:
            titles = sorted({str(room.get("title", "")) for room in by_id.values()})
            known = ", ".join(f'"{title}"' for title in titles) or "none"
            problems.append(
                Problem(
                    "",
                    f'room "{name}"',
                    f'there is no room "{name}" in the section'
                    f" or the schedule; the rooms are {known}.",
                )
            )
        else:
            capacity_changes.append((target, capacity))
    format_ids = {fmt.get("id") for fmt in section.get("formats") or DEFAULT_FORMATS}
    for session in imported.sessions:
        where = f'session "{session["id"]}"'
        room = session.get("room")
        if room is not None and room_map.get(room, room) not in by_id:
            problems.append(
                Problem(
                    "",
                    where,
                    f'the room "{room}" is neither in the file nor in'
                    " the section; add it to the rooms first.",
                )
            )
        for fmt in session.get("formats") or []:
            if fmt not in format_ids:
                known = ", ".join(sorted(f for f in format_ids if f)) or "none"
                problems.append(
                    Problem(
                        "",
                        where,
                        f'the format "{fmt}" is not one of the section\'s formats ({known}).',
                    )
                )
    if len(rooms) + len(new_rooms) > ROOMS_MAX:
        problems.append(
            Problem(
                "",
                "rooms",
                f"the section would have {len(rooms) + len(new_rooms)}"
                f" rooms; at most {ROOMS_MAX} fit.",
            )
        )
    if problems:
        raise _fail("The import", problems)

    by_key = {key: index for index, s in enumerate(sessions) if (key := _source_key(s))}
    by_session_id = {s.get("id"): index for index, s in enumerate(sessions)}
    taken_ids = set(by_session_id)
    matched: set[int] = set()
    updates: dict[int, dict] = {}
    additions: list[dict] = []
    unchanged = 0
    for session in imported.sessions:
        incoming = copy.deepcopy(session)
        if "room" in incoming:
            incoming["room"] = room_map.get(incoming["room"], incoming["room"])
        key = _source_key(incoming)
        position = by_key.get(key) if key else None
        if position is None:
            position = by_session_id.get(incoming["id"])
            existing_key = _source_key(sessions[position]) if position is not None else None
            if key and existing_key and key[0] == existing_key[0] and key != existing_key:
                position = None
        if position is None or position in matched:
            incoming["id"] = _unique(incoming["id"], taken_ids)
            additions.append(incoming)
            continue
        matched.add(position)
        existing = sessions[position]
        incoming["id"] = existing.get("id", incoming["id"])
        for kept in KEPT_ON_UPDATE:
            if kept not in incoming and kept in existing:
                incoming[kept] = existing[kept]
        if incoming == existing:
            unchanged += 1
        else:
            updates[position] = incoming
    if len(sessions) + len(additions) > SESSIONS_MAX:
        raise ImportFailed(
            "The import cannot be merged.",
            [
                Problem(
                    "",
                    "sessions",
                    f"the section would have {len(sessions) + len(additions)} sessions;"
                    f" at most {SESSIONS_MAX} fit.",
                )
            ],
        )

    if new_rooms:
        section.setdefault("rooms", []).extend(new_rooms)
    for room, capacity in capacity_changes:
        room["capacity"] = capacity
    for position, replacement in updates.items():
        sessions[position] = replacement
    if additions:
        additions.sort(key=lambda s: (_start_instant(s), s.get("room", ""), s["id"]))
        section.setdefault("sessions", []).extend(additions)
    return ImportReport(
        added=len(additions), updated=len(updates), unchanged=unchanged, rooms_added=len(new_rooms)
    )


def widen_event_days(doc: dict, imported: ImportedSchedule) -> None:
    """Stretch the event's days to cover the schedule's, and adopt its day change if unset."""
    event = doc["event"]
    days = sorted(imported.days)
    if days:
        if not event.get("starts_on") or days[0] < event["starts_on"]:
            event["starts_on"] = days[0]
        if not event.get("ends_on") or days[-1] > event["ends_on"]:
            event["ends_on"] = days[-1]
    # A schedule running past midnight only fits an event whose days change after midnight too.
    if imported.day_change and event.get("day_change", "00:00") == "00:00":
        event["day_change"] = imported.day_change
