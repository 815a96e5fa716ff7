"""JSON schedules: a list of sessions, or an object with rooms and sessions, checked by pointer."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta

from configurator.errors import ImportFailed, Problem

from .common import (
    CAPACITY_MAX,
    COST_MAX,
    DATETIME_PATTERN,
    FORMATS_MAX,
    KEY_MAX,
    LANGUAGE_MAX,
    SESSION_FIELDS,
    SHORT_MAX,
    SOURCE_SYSTEMS,
    SPEAKERS_MAX,
    TAGS_MAX,
    TEXT_MAX,
    TITLE_MAX,
    ImportedSchedule,
    failed,
    is_id,
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
        if ids and not is_id(item):
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
    if "id" in value and not is_id(value["id"]):
        problems.append(
            Problem(
                *where["id"][:2],
                "must be an id: up to 80 letters, digits, dots,"
                " dashes or underscores, starting with a letter or digit.",
            )
        )
    if "room" in value and not is_id(value["room"]):
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
    if not is_id(value.get("id")):
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
        raise failed("The JSON file", problems)
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
