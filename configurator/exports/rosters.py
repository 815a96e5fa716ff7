"""Rosters: for each session and limited option, who is seated, who follows without a seat, the waitlist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from ..errors import BadRequest
from .batches import BATCH, Progress
from .exporter import ExportFormat
from .writers import csv_chunks


def roster_scope(
    schema: CompiledSchema, section: str | None, option: str | None
) -> list[tuple[str, str]]:
    """The sessions (and limited choice options) a roster covers, optionally one section/option."""
    keys = [
        key
        for key, o in schema.options.items()
        if schema.sections[key[0]]["kind"] == "sessions" or o.capacity is not None
    ]
    return narrow(schema, keys, section, option, "session or limited option")


def narrow(
    schema: CompiledSchema,
    keys: list[tuple[str, str]],
    section: str | None,
    option: str | None,
    noun: str,
) -> list[tuple[str, str]]:
    if section is not None:
        keys = [k for k in keys if k[0] == section]
        if not keys:
            raise BadRequest(f"There is no section {section!r} with a {noun} to export.")
    if option is not None:
        keys = [k for k in keys if k[1] == option]
        if not keys:
            raise BadRequest(
                f"There is no {noun} {option!r} to export"
                + (f" in section {section!r}." if section else ".")
            )
    return keys


ROSTER_COLUMNS = [
    "section",
    "session",
    "session_title",
    "attendee_id",
    "name",
    "email",
    "format",
    "seat",
    "waitlist_position",
]


@dataclass(frozen=True)
class RosterLine:
    """One person on a session's roster."""

    attendee_id: int
    name: str
    email: str
    format: str | None
    seat: str  # seated, no seat (online, recording...) or waitlist
    position: int | None


def roster_lines(
    db: Database, event_id: int, key: tuple[str, str]
) -> Iterator[tuple[int, str, str, str | None, str, int | None]]:
    """Who is on one option: seated and without a seat by name, then the waitlist in order.

    Each line is (attendee id, name, email, format, seat, waitlist position), straight from SQL.
    """
    # plain tuples, a batch at a time: this runs once per person on every roster
    for batch in db.batches(
        "SELECT a.id, a.name, a.email, p.format,"
        " CASE p.seated WHEN 1 THEN 'seated' ELSE 'no seat' END, NULL FROM picks p"
        " JOIN attendees a ON a.id = p.attendee_id"
        " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ?"
        " ORDER BY p.seated DESC, a.name COLLATE NOCASE, a.id",
        [event_id, *key],
        BATCH,
    ):
        yield from batch
    for batch in db.batches(
        "SELECT a.id, a.name, a.email, w.format, 'waitlist',"
        " row_number() OVER (ORDER BY w.position) FROM waitlist w"
        " JOIN attendees a ON a.id = w.attendee_id"
        " WHERE w.event_id = ? AND w.section_id = ? AND w.option_id = ?"
        " ORDER BY w.position",
        [event_id, *key],
        BATCH,
    ):
        yield from batch


def roster(db: Database, event_id: int, key: tuple[str, str]) -> list[RosterLine]:
    """One option's roster as lines a page can show."""
    return [RosterLine(*line) for line in roster_lines(db, event_id, key)]


def roster_rows(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    scope: list[tuple[str, str]],
    tick: Progress,
) -> Iterator[tuple[Any, ...]]:
    """A header, then everyone on each roster of the scope, session by session."""
    yield tuple(ROSTER_COLUMNS)
    for key in scope:
        prefix = (*key, schema.options[key].title)
        for line in roster_lines(db, event_id, key):
            yield prefix + line
        tick(1)


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    scope = roster_scope(schema, section, option)
    return csv_chunks(roster_rows(db, event_id, schema, scope, tick)), len(scope)


FORMAT = ExportFormat(
    "roster",
    "Rosters (CSV)",
    "For every session and limited option: who is seated, who follows without a seat,"
    " and the waitlist in order.",
    "text/csv",
    "csv",
    build,
)
