"""frab XML (pretalx, frab, FOSDEM): conference days, rooms and events read into sessions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException

from configurator.errors import ImportFailed, Problem

from .common import (
    KEY_MAX,
    LANGUAGE_MAX,
    SHORT_MAX,
    SPEAKERS_MAX,
    TEXT_MAX,
    TITLE_MAX,
    ZERO_DURATION_END,
    ImportedSchedule,
    Invalid,
    checked_offset,
    clip,
    end_after,
    failed,
    format_instant,
    is_id,
    one_line,
    parse_local_instant,
    slug_of,
    unique_id,
    zone_for,
)

DTD_PATTERN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
FRAB_DURATION_PATTERN = re.compile(r"[0-9]{1,4}(:[0-9]{1,2}){1,2}")


def _frab_duration(text: str) -> timedelta:
    """A frab duration: HH:MM, HH:MM:SS, or pretalx's D:HH:MM for sessions of a day or more."""
    value = text.strip()
    if FRAB_DURATION_PATTERN.fullmatch(value) is None:
        raise Invalid(f'the duration "{value}" is not written as HH:MM')
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
        raise Invalid(f'the duration "{value}" is not written as HH:MM')
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
    title = one_line(event.findtext("title"))
    where = f"event {event_id or guid or '(no id)'}" + (f' "{clip(title, 60)}"' if title else "")
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
            start = checked_offset(parse_local_instant(date_text, zone), date_text)
        except Invalid as error:
            problems.append(Problem("", where, f"<date>: {error}."))
    try:
        duration = _frab_duration(event.findtext("duration") or "")
    except Invalid as error:
        problems.append(Problem("", where, f"{error}."))
        duration = None
    if start is not None and duration is not None:
        try:
            # A zero-length session cannot be stored (end must follow start); five minutes stand in.
            end = end_after(start, duration or ZERO_DURATION_END, zone)
        except Invalid as error:
            problems.append(Problem("", where, f"{error}."))
    if len(problems) > count or start is None or end is None:
        return None
    session_id = event_id if is_id(event_id) else slug_of(guid, "session")
    session: dict[str, Any] = {
        "id": unique_id(session_id, taken_ids),
        "title": clip(title, TITLE_MAX),
    }
    subtitle = one_line(event.findtext("subtitle"))
    if subtitle:
        session["subtitle"] = clip(subtitle, SHORT_MAX)
    abstract = (event.findtext("abstract") or "").strip()
    description = (event.findtext("description") or "").strip()
    text = "\n\n".join(part for part in dict.fromkeys([abstract, description]) if part)
    if text:
        session["description"] = clip(text, TEXT_MAX)
    session["start"] = format_instant(start)
    session["end"] = format_instant(end)
    session["room"] = room_id
    track = one_line(event.findtext("track"))
    if track:
        session["track"] = clip(track, SHORT_MAX)
    kind = one_line(event.findtext("type"))
    if kind:
        session["tags"] = [clip(kind, SHORT_MAX)]
    speakers = [clip(one_line(person.text), SHORT_MAX) for person in event.iter("person")]
    speakers = [speaker for speaker in speakers if speaker][:SPEAKERS_MAX]
    if speakers:
        session["speakers"] = speakers
    language = one_line(event.findtext("language"))
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
        clip(one_line(conference.findtext("title")), TITLE_MAX) if conference is not None else ""
    )
    zone_name = one_line(conference.findtext("time_zone_name")) if conference is not None else ""
    named_zone = zone_for(zone_name)
    zone = named_zone or zone_for(timezone)
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
            name = clip(one_line(room.get("name")), TITLE_MAX)
            if not name:
                problems.append(Problem("", f"day {day_text}", "a <room> has no name."))
                continue
            if name not in room_ids:
                room_ids[name] = unique_id(slug_of(name, "room"), taken_room_ids)
                rooms.append({"id": room_ids[name], "title": name})
            for event in room.findall("event"):
                session = _frab_event(event, room_ids[name], zone, taken_ids, problems)
                if session is not None:
                    day_sessions.append(session)
        sessions.extend(day_sessions)
        day_change = day_change or _frab_day_change(day.get("end"), day_date, day_sessions)
    if problems:
        raise failed("The frab schedule", problems)
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
