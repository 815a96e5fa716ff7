"""csv-wide: a row per attendee, a column per question of the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from .batches import ATTENDEE_COLUMNS, Progress, attendee_batches, attendee_cells, attendee_count
from .exporter import ExportFormat
from .writers import csv_chunks


@dataclass(frozen=True)
class Column:
    """One question's column in the wide export."""

    header: str
    kind: str  # session, option, follow_up or field
    path: tuple[str, ...]


def wide_columns(schema: CompiledSchema) -> list[Column]:
    """A column per question of the schema, in schema order."""
    columns = []
    for sid, section in schema.sections.items():
        if section["kind"] == "sessions":
            columns += [
                Column(f"{sid}/{s['id']}", "session", (sid, s["id"])) for s in section["sessions"]
            ]
        elif section["kind"] == "choice":
            for o in section["options"]:
                columns.append(Column(f"{sid}/{o['id']}", "option", (sid, o["id"])))
                columns += [
                    Column(f"{sid}/{o['id']}/{f['id']}", "follow_up", (sid, o["id"], f["id"]))
                    for f in o["follow_up"]
                ]
        else:
            columns += [
                Column(f"{sid}/{f['id']}", "field", (sid, f["id"])) for f in section["fields"]
            ]
    return columns


def wide_value(column: Column, design: dict[str, Any]) -> Any:
    section = design.get(column.path[0]) or {}
    if column.kind == "session":
        pick = section.get(column.path[1])
        return pick.get("format") if isinstance(pick, dict) else None
    if column.kind == "option":
        return "yes" if column.path[1] in section else None
    if column.kind == "follow_up":
        return (section.get(column.path[1]) or {}).get(column.path[2])
    return section.get(column.path[1])


def wide_rows(
    db: Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[list[Any]]:
    """A header, then a row per attendee with a column per question of the schema."""
    columns = wide_columns(schema)
    yield ATTENDEE_COLUMNS + [c.header for c in columns]
    for batch in attendee_batches(db, event_id, tick):
        for row in batch:
            design = json.loads(row.document) if row.document else {}
            yield attendee_cells(row) + [wide_value(c, design) for c in columns]


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    return csv_chunks(wide_rows(db, event_id, schema, tick)), attendee_count(db, event_id)


FORMAT = ExportFormat(
    "csv-wide",
    "Everything, one row per attendee (CSV)",
    "A column per question: sessions with the chosen format, choice options,"
    " follow-up answers and fields.",
    "text/csv",
    "csv",
    build,
)
