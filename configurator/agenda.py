"""Sessions in time: the day's timetable, an attendee's own agenda, and its calendar (RFC 5545)."""

from __future__ import annotations

import html
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from .compiler import CompiledSchema, Option, day_name

SLOT_SECONDS = 5 * 60  # one grid row: FOSDEM's lightning talks last five minutes
MAX_COLUMNS = 120  # app.css has grid classes up to these; wider days fall back to the list
MAX_ROWS = 300
Key = tuple[str, str]


@dataclass(frozen=True)
class Format:
    """One way to attend a session."""

    id: str
    title: str
    seated: bool


@dataclass(frozen=True)
class Slot:
    """A session as the timetable shows it, derived once per published version."""

    section_id: str
    option: Option
    room_id: str
    room: str
    track: str
    tags: tuple[str, ...]
    speakers: tuple[str, ...]
    formats: tuple[Format, ...]
    description: str
    time: str
    dom: str
    haystack: str
    meta: str
    people: str

    @property
    def id(self) -> str:
        """The session id."""
        return self.option.id

    @property
    def title(self) -> str:
        """The session title."""
        return self.option.title


@dataclass
class Timetable:
    """A sessions section arranged by day, with what the filters offer."""

    section: dict[str, Any]
    zone: tzinfo
    rooms: list[tuple[str, str]]
    days: list[date]
    by_day: dict[date, list[Slot]]
    by_id: dict[str, Slot]
    tracks: list[str]
    tags: list[str]
    formats: list[Format]
    _grids: dict[date, Grid] = field(default_factory=dict)

    def grid(self, day: date) -> Grid:
        """The unfiltered grid of a day, computed once."""
        if day not in self._grids:
            self._grids[day] = layout(self, self.by_day.get(day, []))
        return self._grids[day]


_timetables: weakref.WeakKeyDictionary[CompiledSchema, dict[str, Timetable]] = (
    weakref.WeakKeyDictionary()
)


def dom_id(prefix: str, *parts: str) -> str:
    """An HTML id built from domain ids (which never contain `--`)."""
    return prefix + "-" + "--".join(parts)


def timetable(schema: CompiledSchema, section_id: str) -> Timetable:
    """The timetable of a sessions section; built once per published version and kept."""
    cached = _timetables.setdefault(schema, {})
    if section_id not in cached:
        cached[section_id] = _build(schema, section_id)
    return cached[section_id]


def _build(schema: CompiledSchema, sid: str) -> Timetable:
    section = schema.sections[sid]
    rooms = [(r["id"], r["title"]) for r in section["rooms"]]
    room_titles = dict(rooms)
    formats = [Format(f["id"], f["title"], f["seated"]) for f in section["formats"]]
    by_format = {f.id: f for f in formats}
    slots = []
    for s in section["sessions"]:
        option = schema.options[(sid, s["id"])]
        room = room_titles.get(s.get("room", ""), "")
        speakers = tuple(s.get("speakers", []))
        track = s.get("track", "")
        slots.append(
            Slot(
                section_id=sid,
                option=option,
                room_id=s.get("room", ""),
                room=room,
                track=track,
                tags=tuple(s.get("tags", [])),
                speakers=speakers,
                formats=tuple(by_format[f] for f in s["formats"]),
                description=plain_text(s.get("description", "")),
                time=f"{schema.clock(option.start)}–{schema.clock(option.end)}",
                dom=dom_id("s", sid, s["id"]),
                haystack=" ".join([option.title, room, track, *speakers, *s.get("tags", [])])
                .casefold()
                .strip(),
                meta=" · ".join(
                    x
                    for x in (
                        f"{schema.clock(option.start)}–{schema.clock(option.end)}",
                        room,
                        track,
                    )
                    if x
                ),
                people=", ".join(speakers),
            )
        )
    order = {rid: i for i, (rid, _t) in enumerate(rooms)}
    slots.sort(key=lambda x: (x.option.start, order.get(x.room_id, len(order)), x.option.end))
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.option.day, []).append(slot)  # type: ignore[arg-type]
    return Timetable(
        section=section,
        zone=schema.zone,
        rooms=rooms,
        days=sorted(by_day),
        by_day=by_day,
        by_id={slot.id: slot for slot in slots},
        tracks=sorted({x.track for x in slots if x.track}, key=str.casefold),
        tags=sorted({t for x in slots for t in x.tags}, key=str.casefold),
        formats=formats,
    )


_TAG = re.compile(r"<[^>]{0,2000}>")


def plain_text(text: str) -> str:
    """Text with any HTML markup of an imported schedule removed."""
    if "<" not in text:
        return text.strip()
    text = re.sub(r"</p>|<br\s*/?>", "\n", text, flags=re.I)
    return html.unescape(_TAG.sub("", text)).strip()


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the attendee asked the timetable to show: a day, a track, a tag, a format, words."""

    day: date | None = None
    track: str = ""
    tag: str = ""
    format: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], days: list[date]) -> Filters:
        """Read filters from query arguments; an unknown day falls back to the first day."""
        day = None
        try:
            day = date.fromisoformat(args.get("day", ""))
        except ValueError:
            day = None
        if day not in days:
            day = days[0] if days else None
        return cls(
            day=day,
            track=args.get("track", "").strip()[:200],
            tag=args.get("tag", "").strip()[:200],
            format=args.get("format", "").strip()[:200],
            q=args.get("q", "").strip()[:200],
        )

    @property
    def active(self) -> bool:
        """True when anything narrows the day's sessions."""
        return bool(self.track or self.tag or self.format or self.q)

    def args(self, **changes: Any) -> dict[str, str]:
        """The filters as query arguments (empty ones left out), with some changed."""
        values = {
            "day": str(self.day) if self.day else "",
            "track": self.track,
            "tag": self.tag,
            "format": self.format,
            "q": self.q,
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}

    def keep(self, slot: Slot) -> bool:
        """Whether a session passes the track, tag, format and text filters."""
        if self.track and slot.track != self.track:
            return False
        if self.tag and self.tag not in slot.tags:
            return False
        if self.format and all(f.id != self.format for f in slot.formats):
            return False
        return not self.q or all(word in slot.haystack for word in self.q.casefold().split())


def shown(table: Timetable, filters: Filters) -> list[Slot]:
    """The sessions of the chosen day that pass the filters, in time order."""
    slots = table.by_day.get(filters.day, []) if filters.day else []
    if not filters.active:
        return slots
    return [slot for slot in slots if filters.keep(slot)]


# --- the grid: rooms as columns, five-minute rows --------------------------------------------


@dataclass(frozen=True)
class Placed:
    """Where a session sits in the grid (CSS classes gc-, gr- and gh- carry these numbers)."""

    slot: Slot
    column: int
    row: int
    span: int

    @property
    def classes(self) -> str:
        """The grid classes of app.css that put the session in its place."""
        return f"gc-{self.column} gr-{self.row} gh-{self.span}"


@dataclass
class Grid:
    """A day laid out with rooms as columns; `fits` is False when the grid would be too big."""

    columns: list[tuple[str, int, int]]
    times: list[tuple[str, int]]
    placed: list[Placed]
    fits: bool


def layout(table: Timetable, slots: list[Slot]) -> Grid:
    """Lay sessions out: a column per room (more where a room's sessions overlap), rows of 5 min."""
    if not slots:
        return Grid([], [], [], True)
    zone_start = min(s.option.start for s in slots)
    zone = table.zone
    local = datetime.fromtimestamp(zone_start, zone)
    first = zone_start - (local.minute % 30) * 60 - local.second

    def rows(slot: Slot) -> tuple[int, int]:
        start = int((slot.option.start - first) // SLOT_SECONDS)
        end = max(start + 1, int(-(-(slot.option.end - first) // SLOT_SECONDS)))
        return start, end

    order = {rid: i for i, (rid, _t) in enumerate(table.rooms)}
    titles = dict(table.rooms)
    lanes: dict[str, list[int]] = {}
    lane_of: dict[str, int] = {}
    for slot in slots:
        start, end = rows(slot)
        ends = lanes.setdefault(slot.room_id, [])
        for i, busy_until in enumerate(ends):
            if busy_until <= start:
                ends[i] = end
                lane_of[slot.id] = i
                break
        else:
            ends.append(end)
            lane_of[slot.id] = len(ends) - 1
    columns: list[tuple[str, int, int]] = []
    first_column: dict[str, int] = {}
    column = 2  # column 1 holds the times
    for rid in sorted(lanes, key=lambda r: order.get(r, len(order))):
        first_column[rid] = column
        columns.append((titles.get(rid, "") or "Other places", column, len(lanes[rid])))
        column += len(lanes[rid])
    placed = []
    last_row = 0
    for slot in slots:
        start, end = rows(slot)
        last_row = max(last_row, end)
        placed.append(
            Placed(slot, first_column[slot.room_id] + lane_of[slot.id], start + 2, end - start)
        )
    times = [
        (datetime.fromtimestamp(first + r * SLOT_SECONDS, zone).strftime("%H:%M"), r + 2)
        for r in range(0, last_row, 30 * 60 // SLOT_SECONDS)
    ]
    fits = column - 1 <= MAX_COLUMNS and last_row + 2 <= MAX_ROWS
    return Grid(columns, times, placed, fits)


# --- one session's card ----------------------------------------------------------------------


@dataclass
class Card:
    """One session as this attendee sees it: picked or not, seats, waitlist, overlaps, errors."""

    slot: Slot
    picked: bool
    format: str | None
    capacity: int | None
    seats_left: int | None
    holds_seat: bool
    position: int | None
    overlaps: list[str]
    problems: list[Any] = field(default_factory=list)
    attempt: tuple[bool, str | None] | None = None  # what a refused save asked for, shown again

    @property
    def checked(self) -> bool:
        """Whether the "Add to my agenda" box shows ticked."""
        return self.attempt[0] if self.attempt else self.picked

    @property
    def chosen_format(self) -> str | None:
        """The format the radio buttons show as chosen."""
        return self.attempt[1] if self.attempt else self.format

    @property
    def full(self) -> bool:
        """No seat left, and this attendee holds none."""
        return self.seats_left == 0 and not self.holds_seat

    @property
    def css(self) -> str:
        """The card's classes, saying picked, full, overlapping or in error."""
        return "session" + "".join(
            name
            for name, on in (
                (" picked", self.picked),
                (" full", self.full),
                (" clash", bool(self.overlaps)),
                (" has-error", bool(self.problems)),
            )
            if on
        )

    @property
    def seats(self) -> str:
        """Seats in words: left of how many, yours, or full."""
        if self.capacity is None:
            return ""
        if self.holds_seat:
            return f"You have a seat. {self.seats_left} of {self.capacity} left"
        if self.full:
            return "Full: join the waitlist"
        return f"{self.seats_left} of {self.capacity} seats left"

    @property
    def can_wait(self) -> bool:
        """Whether a waitlist is offered: full, seated formats exist, not already waiting."""
        return self.full and any(f.seated for f in self.slot.formats)


def card(
    schema: CompiledSchema,
    slot: Slot,
    picks: dict[str, Any],
    seats_taken: dict[Key, int],
    positions: dict[Key, int],
    picked_options: list[Option] | None = None,
) -> Card:
    """The state of one session card for an attendee whose picks in its section are `picks`."""
    key = (slot.section_id, slot.id)
    detail = picks.get(slot.id)
    fmt = detail.get("format") if isinstance(detail, dict) else None
    capacity = slot.option.capacity if slot.option.seated_formats else None
    holds = detail is not None and fmt in slot.option.seated_formats
    left = None if capacity is None else max(capacity - seats_taken.get(key, 0), 0)
    if picked_options is None:
        picked_options = picked_in(schema, slot.section_id, picks)
    option = slot.option
    clashes = [
        other.title
        for other in picked_options
        if other.id != option.id and other.start < option.end and option.start < other.end
    ]
    return Card(slot, detail is not None, fmt, capacity, left, holds, positions.get(key), clashes)


def picked_in(schema: CompiledSchema, section_id: str, picks: dict[str, Any]) -> list[Option]:
    """The options picked in a section, for overlap markers."""
    return [
        schema.options[(section_id, oid)] for oid in picks if (section_id, oid) in schema.options
    ]


# --- the attendee's own agenda and calendar --------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A picked session on the attendee's agenda."""

    slot: Slot
    format: Format | None

    @property
    def day(self) -> str:
        """The event day as people say it."""
        return day_name(self.slot.option.day)  # type: ignore[arg-type]


def entries(schema: CompiledSchema, document: dict[str, Any]) -> list[Entry]:
    """Every session picked in a design, in time order, with the format chosen."""
    found = []
    for sid, section in schema.sections.items():
        if section["kind"] != "sessions":
            continue
        table = timetable(schema, sid)
        for oid, detail in document.get(sid, {}).items():
            slot = table.by_id.get(oid)
            if slot is None:
                continue
            fmt = detail.get("format") if isinstance(detail, dict) else None
            found.append(Entry(slot, next((f for f in slot.formats if f.id == fmt), None)))
    found.sort(key=lambda e: (e.slot.option.start, e.slot.option.end, e.slot.title))
    return found


def calendar(
    schema: CompiledSchema,
    attendee_id: int,
    document: dict[str, Any],
    modified: datetime,
) -> bytes:
    """An iCalendar file of the attendee's agenda, with the event's VTIMEZONE and stable UIDs."""
    cal = _calendar_head(schema)
    zone = schema.zone
    for entry in entries(schema, document):
        cal.add_component(_vevent(entry, _uid(attendee_id, entry.slot), modified, zone))
    first = date.fromisoformat(schema.event["starts_on"]) - timedelta(days=366)
    last = date.fromisoformat(schema.event["ends_on"]) + timedelta(days=366)
    cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()


def _uid(attendee_id: int, slot: Slot) -> str:
    return f"{attendee_id}-{slot.section_id}-{slot.id}@configurator"


def _calendar_head(schema: CompiledSchema) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//configurator//attendee agenda//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # An X- property is written verbatim unless typed: a line break in the title would end the
    # content line (or make icalendar refuse the whole calendar).
    cal.add("x-wr-calname", icalendar.vText(f"{schema.event['title']}: my agenda"))
    cal.add("x-wr-timezone", schema.event["timezone"])
    return cal


def _vevent(entry: Entry, uid: str, modified: datetime, zone: tzinfo) -> icalendar.Event:
    slot, option = entry.slot, entry.slot.option
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", modified)
    event.add("dtstart", datetime.fromtimestamp(option.start, zone))
    event.add("dtend", datetime.fromtimestamp(option.end, zone))
    event.add("summary", slot.title)
    if slot.room:
        event.add("location", slot.room)
    lines = []
    if entry.format:
        lines.append(f"Format: {entry.format.title}")
    if slot.track:
        lines.append(f"Track: {slot.track}")
    if slot.speakers:
        lines.append("Speakers: " + ", ".join(slot.speakers))
    if slot.description:
        lines += ["", slot.description]
    if lines:
        event.add("description", "\n".join(lines))
    if slot.track:
        event.add("categories", [slot.track])
    return event


class Calendars:
    """calendar() for many attendees of one version, the same bytes made from parts made once.

    Attendees' VEVENTs of one session in one format differ only in their DTSTAMP and UID lines,
    which icalendar writes one after the other; so each (session, format) is serialised once by
    icalendar with stand-ins there, and the calendar's head (with its VTIMEZONE) too. Each
    attendee's two lines are still written by icalendar (escaped and folded as it does). Any
    part that does not come out in that shape is made by calendar() itself.
    """

    _STAMP = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))

    def __init__(self, schema: CompiledSchema) -> None:
        self.schema = schema
        self.events: dict[tuple[str, str, str | None], tuple[bytes, bytes] | None] = {}
        self.line_maker = icalendar.Event()
        self.uid_tails: dict[str, bytes] = {}
        head = _calendar_head(schema)
        probe = next(iter(self._any_entry()), None)
        self.head: bytes | None = None
        if probe is not None:
            head.add_component(_vevent(probe, "probe", self._STAMP, schema.zone))
            first = date.fromisoformat(schema.event["starts_on"]) - timedelta(days=366)
            last = date.fromisoformat(schema.event["ends_on"]) + timedelta(days=366)
            head.add_missing_timezones(first_date=first, last_date=last)
            text = head.to_ical()
            at = text.find(b"BEGIN:VEVENT\r\n")
            if at > 0 and text.endswith(b"END:VEVENT\r\nEND:VCALENDAR\r\n"):
                self.head = text[:at]

    def _any_entry(self) -> list[Entry]:
        for sid, section in self.schema.sections.items():
            if section["kind"] == "sessions" and section["sessions"]:
                first = section["sessions"][0]["id"]
                return entries(self.schema, {sid: {first: {}}})
        return []

    def _parts(self, entry: Entry) -> tuple[bytes, bytes] | None:
        key = (entry.slot.section_id, entry.slot.id, entry.format.id if entry.format else None)
        if key not in self.events:
            text = _vevent(entry, "\x00uid", self._STAMP, self.schema.zone).to_ical()
            stamp_line = self._line("dtstamp", self._STAMP)
            uid_line = self._line("uid", "\x00uid")
            middle = stamp_line + uid_line
            parts = text.split(middle)
            self.events[key] = (parts[0], parts[1]) if len(parts) == 2 else None
        return self.events[key]

    def _line(self, name: str, value: Any) -> bytes:
        """One content line as icalendar writes it, folded, with its line break."""
        prop = self.line_maker.types_factory.for_property(name)(value)
        if not prop.params:
            # icalendar folds a line from 75 octets on; a shorter one is name, colon, value.
            line = name.upper().encode() + b":" + prop.to_ical()
            if len(line) < 75:
                return line + b"\r\n"
        return self.line_maker.content_line(name.upper(), prop).to_ical() + b"\r\n"

    def _uid_line(self, attendee_id: int, slot: Slot) -> bytes:
        """The UID line: the attendee's id (digits, never escaped) before the session's part."""
        tail = self.uid_tails.get(slot.dom)
        if tail is None:
            tail = self.uid_tails[slot.dom] = icalendar.vText(_uid(0, slot)[1:]).to_ical()
        line = b"UID:" + str(attendee_id).encode() + tail
        if len(line) < 75:
            return line + b"\r\n"
        return self._line("uid", _uid(attendee_id, slot))

    def __call__(self, attendee_id: int, document: dict[str, Any], modified: datetime) -> bytes:
        """The attendee's calendar: the same bytes as calendar() gives."""
        found = entries(self.schema, document)
        if not found or self.head is None:
            return calendar(self.schema, attendee_id, document, modified)
        stamp_line = self._line("dtstamp", modified)
        out = [self.head]
        for entry in found:
            parts = self._parts(entry)
            if parts is None:
                return calendar(self.schema, attendee_id, document, modified)
            out += [parts[0], stamp_line, self._uid_line(attendee_id, entry.slot), parts[1]]
        out.append(b"END:VCALENDAR\r\n")
        return b"".join(out)
