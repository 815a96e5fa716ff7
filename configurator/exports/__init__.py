"""Staff exports: one module per format behind this registry; rows are one concern, bytes another.

Every exporter reads the database through one cursor in batches (batches.py), so exporting
100,000 designs streams in bounded memory. Text that a spreadsheet would run as a formula is
defused on the way into CSV and XLSX (as pretix does): a leading `=`, `+`, `-`, `@`, tab or
carriage return gets a `'` (writers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from ..errors import NotFound
from . import calendars, channels, designs_json, long, rosters, wide, xlsx
from .batches import ATTENDEE_COLUMNS, Progress, attendee_count
from .channels import channel_scope
from .exporter import ExportFormat
from .long import LONG_COLUMNS
from .rosters import ROSTER_COLUMNS, roster, roster_scope
from .wide import wide_columns
from .writers import defuse
from .xlsx import sheet_titles

__all__ = [
    "ATTENDEE_COLUMNS",
    "FORMATS",
    "LONG_COLUMNS",
    "ROSTER_COLUMNS",
    "Download",
    "ExportFormat",
    "attendee_count",
    "channel_scope",
    "defuse",
    "download",
    "export_format",
    "roster",
    "roster_scope",
    "sheet_titles",
    "wide_columns",
]

# In the order the exports page lists them.
FORMATS: dict[str, ExportFormat] = {
    m.FORMAT.id: m.FORMAT for m in (wide, long, xlsx, designs_json, rosters, channels, calendars)
}


@dataclass
class Download:
    """A streamed export: its file name, media type, byte chunks and how many steps it counts."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]
    steps: int


def export_format(fmt: str) -> ExportFormat:
    """The export format with this id; NotFound naming the ones there are."""
    if fmt not in FORMATS:
        raise NotFound(f"There is no export called {fmt!r}; there are {', '.join(FORMATS)}.")
    return FORMATS[fmt]


def download(
    db: Database,
    event: dict[str, Any],
    schema: CompiledSchema,
    fmt: str,
    *,
    section: str | None = None,
    option: str | None = None,
    progress: Progress | None = None,
) -> Download:
    """Prepare an export of the event; nothing is read until the chunks are iterated."""
    kind = export_format(fmt)
    tick = progress or (lambda _n: None)
    chunks, steps = kind.build(db, event["id"], schema, tick, section, option)
    suffix = "-".join(p for p in (section, option) if p)
    name = f"{event['slug']}-{fmt}{'-' + suffix if suffix else ''}.{kind.extension}"
    return Download(name, kind.mimetype, chunks, steps)
