"""CSV schedules: a header row naming our columns, a row per session, every bad cell named by line."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from configurator.errors import ImportFailed, Problem

from .common import (
    CAPACITY_MAX,
    FORMATS_MAX,
    LANGUAGE_MAX,
    SHORT_MAX,
    SPEAKERS_MAX,
    TAGS_MAX,
    TEXT_MAX,
    TITLE_MAX,
    WHOLE_NUMBER_PATTERN,
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
CSV_DURATION_PATTERN = re.compile(r"([0-9]{1,6})(?::([0-9]{2}))?")


def csv_dialect(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "," not in header and ";" in header:
        return ";"
    if "," not in header and "\t" in header:
        return "\t"
    return ","


def csv_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
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
    return [one_line(part) for part in value.split(";") if part.strip()]


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
    elif not is_id(session_id):
        problem(
            "id",
            f'"{session_id}" is not a usable id: use up to 80 letters, digits,'
            " dots, dashes or underscores, starting with a letter or digit.",
        )
    elif session_id in seen_ids:
        problem("id", f'the id "{session_id}" is already used on line {seen_ids[session_id]}.')
    else:
        seen_ids[session_id] = line
    title = one_line(row.get("title"))
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
            start = checked_offset(parse_local_instant(start_text, zone), start_text)
        except Invalid as error:
            problem("start", f"{error}.")
    end_text = row.get("end", "").strip()
    duration_text = row.get("duration", "").strip()
    if end_text:
        try:
            end = checked_offset(parse_local_instant(end_text, zone), end_text)
        except Invalid as error:
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
            by_duration = end_after(start, duration, zone)
        except Invalid as error:
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
            if column == "formats" and not is_id(value):
                problem(column, f'"{value}" is not a format id.')
            elif len(value) > SHORT_MAX:
                problem(column, f'"{clip(value, 40)}" is longer than {SHORT_MAX} characters.')
        if column == "formats" and len(set(values)) != len(values):
            problem(column, "the same format is listed twice.")
        lists[column] = values
    track = one_line(row.get("track"))
    if len(track) > SHORT_MAX:
        problem("track", f"the track is longer than {SHORT_MAX} characters.")
    description = (row.get("description") or "").strip()
    if len(description) > TEXT_MAX:
        problem(
            "description",
            f"the description is {len(description)} characters long; at most {TEXT_MAX} fit.",
        )
    language = one_line(row.get("language"))
    if len(language) > LANGUAGE_MAX:
        problem("language", f'"{clip(language, 40)}" is longer than {LANGUAGE_MAX} characters.')
    room_title = one_line(row.get("room"))
    if len(room_title) > TITLE_MAX:
        problem("room", f"the room name is longer than {TITLE_MAX} characters.")
    if len(problems) > count or start is None or end is None:
        return None
    session: dict[str, Any] = {"id": session_id, "title": title}
    if description:
        session["description"] = description
    session["start"] = format_instant(start)
    session["end"] = format_instant(end)
    if room_title:
        if room_title.casefold() not in room_ids:
            room_id = unique_id(slug_of(room_title, "room"), {room["id"] for room in rooms})
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
    zone = zone_for(timezone)
    if timezone and zone is None:
        raise ImportFailed(
            f'"{timezone}" is not a time zone we know; use a name like Europe/Brussels.'
        )
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFailed("The CSV file is empty.")
    records = csv_records(text, csv_dialect(text))
    if not records:
        raise ImportFailed("The CSV file is empty.")
    header, problems = _csv_header(*records[0])
    if problems:
        raise failed("The CSV header", problems)
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
        raise failed("The CSV file", problems)
    days = sorted({session["start"][:10] for session in sessions})
    return ImportedSchedule(
        title=None,
        timezone=timezone or None,
        day_change=None,
        days=days,
        rooms=rooms,
        sessions=sessions,
    )
