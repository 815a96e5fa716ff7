"""Reading an event's attendees and designs for an export: one cursor, one snapshot, a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from ..db import Database

BATCH = 1000
Progress = Callable[[int], None]
Cell = str | int | float | None
ATTENDEE_COLUMNS = ["attendee_id", "name", "email", "status", "schema_version", "confirmed_at"]


def attendee_count(db: Database, event_id: int) -> int:
    """How many attendees the event has."""
    return db.execute("SELECT count(*) FROM attendees WHERE event_id = ?", [event_id]).fetchone()[0]


def design_count(db: Database, event_id: int) -> int:
    """How many attendees of the event have saved a design."""
    return db.execute("SELECT count(*) FROM designs WHERE event_id = ?", [event_id]).fetchone()[0]


class AttendeeRow(NamedTuple):
    """An attendee with their design's row (all design columns None before a first save)."""

    id: int
    name: str
    email: str
    opened_at: str | None
    status: str | None
    version: int | None
    document: str | None
    updated_at: str | None
    confirmed_at: str | None


def attendee_batches(
    db: Database, event_id: int, tick: Progress, with_design_only: bool = False
) -> Iterator[list[AttendeeRow]]:
    """Every attendee of the event with their design row, in id order, a batch at a time.

    One cursor reads the whole export, so it sees one consistent snapshot of the database.
    """
    for batch in db.batches(BATCH_QUERIES[with_design_only], [event_id], BATCH):
        yield [AttendeeRow._make(values) for values in batch]
        tick(len(batch))


# `+a.event_id` keeps SQLite on the rowid order instead of sorting every row in memory.
SELECT_ATTENDEES = (
    "SELECT a.id, a.name, a.email, a.opened_at, d.status, d.version, d.document,"
    " d.updated_at, d.confirmed_at FROM attendees a"
)
BATCH_QUERIES = {
    False: SELECT_ATTENDEES + " LEFT JOIN designs d ON d.attendee_id = a.id"
    " WHERE +a.event_id = ? ORDER BY a.id",
    True: SELECT_ATTENDEES
    + " JOIN designs d ON d.attendee_id = a.id WHERE +a.event_id = ? ORDER BY a.id",
}


def status_of(row: AttendeeRow) -> str:
    """An attendee's progress: confirmed, draft, opened (their link) or invited."""
    return row.status or ("opened" if row.opened_at else "invited")


def attendee_cells(row: AttendeeRow) -> list[Cell]:
    return [
        row.id,
        row.name,
        row.email,
        status_of(row),
        row.version,
        row.confirmed_at,
    ]
