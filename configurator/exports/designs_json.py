"""The JSON export: every saved design with its attendee, status, schema version and deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..compiler import CompiledSchema
from ..db import Database
from ..delivery import log as delivery_log
from .batches import Progress, attendee_batches, design_count
from .exporter import ExportFormat


def json_chunks(db: Database, event_id: int, tick: Progress) -> Iterator[bytes]:
    """A JSON array of every saved design with its attendee, status and schema version."""
    yield b"[\n"
    first = True
    parts: list[str] = []
    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        sent = delivery_log.for_attendees(db, event_id, batch[0].id, batch[-1].id)
        for row in batch:
            head = json.dumps(
                {
                    "attendee": {"id": row.id, "name": row.name, "email": row.email},
                    "status": row.status,
                    "schema_version": row.version,
                    "updated_at": row.updated_at,
                    "confirmed_at": row.confirmed_at,
                },
                ensure_ascii=False,
            )
            # The stored document is already compact JSON: splice it in without re-parsing.
            deliveries = json.dumps(sent.get(row.id, []), ensure_ascii=False)
            parts.append(
                ("" if first else ",\n")
                + head[:-1]
                + ', "design": '
                + row.document
                + ', "deliveries": '
                + deliveries
                + "}"
            )
            first = False
        yield "".join(parts).encode("utf-8")
        parts.clear()
    yield b"\n]\n"


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    return json_chunks(db, event_id, tick), design_count(db, event_id)


FORMAT = ExportFormat(
    "json",
    "Complete designs (JSON)",
    "A JSON array: every saved design with its attendee, status, schema version and the"
    " delivery log of the messages sent to them.",
    "application/json",
    "json",
    build,
)
