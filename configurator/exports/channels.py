"""Channel lists: for each choice option, everyone who chose it with their follow-up answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..compiler import CompiledSchema
from ..db import POSTGRESQL, SQLITE, Database
from .batches import Progress
from .exporter import ExportFormat
from .rosters import narrow
from .writers import csv_chunks

# The follow-up answers of one pick, as JSON text: the one query whose JSON path each engine says
# its own way (SQLite's json_extract with a path text, PostgreSQL's #> with a text array).
_FOLLOW_UPS = {
    SQLITE: "SELECT a.id, a.name, a.email, json_extract(d.document, ?) FROM picks p"
    " JOIN attendees a ON a.id = p.attendee_id LEFT JOIN designs d ON d.attendee_id = p.attendee_id"
    " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ?"
    " ORDER BY a.name COLLATE NOCASE, a.id",
    POSTGRESQL: "SELECT a.id, a.name, a.email, (d.document::jsonb #> ?)::text FROM picks p"
    " JOIN attendees a ON a.id = p.attendee_id LEFT JOIN designs d ON d.attendee_id = p.attendee_id"
    " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ?"
    " ORDER BY a.name COLLATE NOCASE, a.id",
}


def channel_scope(
    schema: CompiledSchema, section: str | None, option: str | None
) -> list[tuple[str, str]]:
    """The choice options a channel list covers, optionally one section/option."""
    keys = [key for key in schema.options if schema.sections[key[0]]["kind"] == "choice"]
    return narrow(schema, keys, section, option, "choice option")


def channel_rows(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    scope: list[tuple[str, str]],
    tick: Progress,
) -> Iterator[list[Any]]:
    """A header, then everyone who chose each option of the scope, with follow-up answers."""
    follow_ups = [
        (key, f["id"])
        for key in scope
        for o in schema.sections[key[0]]["options"]
        if o["id"] == key[1]
        for f in o["follow_up"]
    ]
    yield ["section", "option", "option_title", "attendee_id", "name", "email"] + [
        f"{key[1]}/{fid}" for key, fid in follow_ups
    ]
    for key in scope:
        mine = [i for i, (k, _f) in enumerate(follow_ups) if k == key]
        path = f'$."{key[0]}"."{key[1]}"' if db.dialect == SQLITE else list(key)
        rows = db.execute(_FOLLOW_UPS[db.dialect], [path, event_id, *key])
        title = schema.options[key].title
        for attendee_id, name, email, answers_text in rows:
            answers = json.loads(answers_text) if answers_text else {}
            answer_cells: list[Any] = [None] * len(follow_ups)
            for i in mine:
                answer_cells[i] = answers.get(follow_ups[i][1])
            yield [*key, title, attendee_id, name, email, *answer_cells]
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
    scope = channel_scope(schema, section, option)
    return csv_chunks(channel_rows(db, event_id, schema, scope, tick)), len(scope)


FORMAT = ExportFormat(
    "channels",
    "Channel lists (CSV)",
    "For every choice option, everyone who chose it with their follow-up answers"
    " (for example everyone who chose SMS, with their numbers).",
    "text/csv",
    "csv",
    build,
)
