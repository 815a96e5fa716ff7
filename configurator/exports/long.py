"""csv-long: a row per attendee and pick, follow-up answer or field answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from .batches import Progress, attendee_batches, design_count
from .exporter import ExportFormat
from .writers import csv_chunks

LONG_COLUMNS = ["attendee_id", "name", "email", "section", "option", "field", "value", "format"]


def long_rows(
    db: Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[tuple[Any, ...]]:
    """A header, then a row per attendee and pick, follow-up answer or field answer."""
    yield tuple(LONG_COLUMNS)
    kinds = {sid: section["kind"] for sid, section in schema.sections.items()}
    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        rows: list[tuple[Any, ...]] = []  # a batch at a time: far fewer generator resumes
        for row in batch:
            person = (row.id, row.name, row.email)
            design = json.loads(row.document)
            for sid in [s for s in kinds if s in design] + sorted(design.keys() - kinds.keys()):
                _long_section(rows, person, sid, design[sid], kinds.get(sid))
        yield from rows


def _long_section(
    rows: list[tuple[Any, ...]],
    person: tuple[Any, ...],
    sid: str,
    value: Any,
    kind: str | None,
) -> None:
    """Add the long rows of one section of a design (sections of older versions too)."""
    if kind == "fields" or (kind is None and not _all_dicts(value)):
        rows += [(*person, sid, None, fid, answer, None) for fid, answer in value.items()]
        return
    for oid, detail in value.items():
        rows.append(
            (*person, sid, oid, None, None, detail.get("format") if kind != "choice" else None)
        )
        for fid, answer in detail.items():
            if kind == "choice" or fid != "format":
                rows.append((*person, sid, oid, fid, answer, None))


def _all_dicts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    # The long form walks only attendees with a design, so its steps are those.
    return csv_chunks(long_rows(db, event_id, schema, tick)), design_count(db, event_id)


FORMAT = ExportFormat(
    "csv-long",
    "Everything, one row per answer (CSV)",
    "A row per attendee and pick or answer: section, option, field, value, format.",
    "text/csv",
    "csv",
    build,
)
