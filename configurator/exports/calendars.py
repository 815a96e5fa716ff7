"""Calendars: a zip of one .ics file per attendee with a design."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

from ..agenda import Calendars
from ..compiler import CompiledSchema
from ..db import Database
from .batches import Progress, attendee_batches, design_count
from .exporter import ExportFormat
from .writers import zip_chunks


def calendar_files(
    db: Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[tuple[str, bytes]]:
    """(file name, iCalendar bytes) for every attendee with a design."""
    calendar = Calendars(schema)  # each session's VEVENT serialised once, not per attendee
    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        for row in batch:
            modified = datetime.fromisoformat(row.updated_at)
            ics = calendar(row.id, json.loads(row.document), modified)
            yield f"{row.id:07d}-{_file_word(row.name)}.ics", ics


def _file_word(name: str) -> str:
    word = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40]
    return word or "attendee"


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    return zip_chunks(calendar_files(db, event_id, schema, tick)), design_count(db, event_id)


FORMAT = ExportFormat(
    "ics-zip",
    "Calendars (zip of .ics files)",
    "One iCalendar file per attendee with a design, with the sessions they picked.",
    "application/zip",
    "zip",
    build,
)
