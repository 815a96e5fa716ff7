"""Merging an imported schedule into a sessions section: upsert by source key, keep what organisers set."""

from __future__ import annotations

import copy
from datetime import datetime

from configurator.errors import ImportFailed, Problem
from configurator.optionschema import DEFAULT_FORMATS

from .common import (
    CAPACITY_MAX,
    ROOMS_MAX,
    SESSIONS_MAX,
    WHOLE_NUMBER_PATTERN,
    ImportedSchedule,
    ImportReport,
    failed,
    one_line,
    unique_id,
)
from .csv_format import csv_dialect, csv_records

KEPT_ON_UPDATE = ("capacity", "formats", "cost")


def parse_room_capacities(text: str) -> dict[str, int]:
    """Read a CSV of room,capacity lines into capacities by room title or id."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFailed("The room capacity file is empty.")
    records = csv_records(text, csv_dialect(text))
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
        room = one_line(cells[room_at]) if room_at < len(cells) else ""
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
        raise failed("The room capacity file", problems)
    if not capacities:
        raise ImportFailed("The room capacity file lists no rooms.")
    return capacities


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
        raise failed("The import", problems)

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
            incoming["id"] = unique_id(incoming["id"], taken_ids)
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
