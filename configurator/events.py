"""Events, their draft option schema, and the immutable versions publishing freezes."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import optionschema, tallies
from .clock import now, stamp
from .compiler import CompiledSchema
from .db import Database, write
from .errors import Conflict, NotFound, SchemaInvalid

# Published versions never change, so a compiled one is kept, keyed on the database (its file or
# URL) and the version's row; the least recently used go first past COMPILED_KEPT.
COMPILED_KEPT = 256
_compiled: OrderedDict[tuple[str, int], CompiledSchema] = OrderedDict()
_compiled_lock = threading.Lock()


@dataclass(frozen=True)
class Window:
    """Whether attendees may design now, and why."""

    open: bool
    reason: str
    edit_after_confirm: bool


def create_event(
    db: Database, document: dict[str, Any], owner_id: int | None = None
) -> dict[str, Any]:
    """Create an event from a valid option schema, which becomes its first draft."""
    optionschema.check(document)
    slug = document["event"]["slug"]
    with write(db, [f"event-slug:{slug}"]):
        if db.execute("SELECT 1 FROM events WHERE slug = ?", [slug]).fetchone():
            raise Conflict(f"An event with the slug {slug!r} already exists.")
        event_id = db.execute(
            "INSERT INTO events (slug, title, owner_id, draft, draft_updated_at, created_at)"
            " VALUES (?, ?, ?, '', ?, ?) RETURNING id",
            [slug, document["event"]["title"], owner_id, stamp(), stamp()],
        ).fetchone()[0]
        db.execute(
            "INSERT INTO event_drafts (event_id, draft) VALUES (?, ?)",
            [event_id, json.dumps(document)],
        )
        if owner_id is not None:
            db.execute(
                "INSERT INTO event_roles (event_id, account_id, role) VALUES (?, ?, 'organiser')",
                [event_id, owner_id],
            )
    return get_event(db, slug)


# The draft of a big event is megabytes of JSON in a table of its own (migration EVENT_DRAFTS):
# hot paths that never edit it leave it out. Four fixed query texts made from one; nothing from
# outside is ever put into SQL.
_BY_SLUG = (
    "SELECT e.id, e.slug, e.title, e.owner_id, e.draft_updated_at, e.window_override,"
    " e.registration_open, e.created_at FROM events e WHERE e.slug = ?"
)
_WITH_DRAFT = (" FROM events e", ", d.draft FROM events e JOIN event_drafts d ON d.event_id = e.id")
_QUERIES = {
    ("slug", False): _BY_SLUG,
    ("slug", True): _BY_SLUG.replace(*_WITH_DRAFT),
    ("id", False): _BY_SLUG.replace("e.slug = ?", "e.id = ?"),
    ("id", True): _BY_SLUG.replace(*_WITH_DRAFT).replace("e.slug = ?", "e.id = ?"),
}


def get_event(db: Database, slug: str, *, with_draft: bool = True) -> dict[str, Any]:
    """The event with this slug; raise NotFound if there is none."""
    row = db.execute(_QUERIES["slug", with_draft], [slug]).fetchone()
    if row is None:
        raise NotFound(f"There is no event called {slug!r}.")
    return dict(row)


def get_event_by_id(
    db: Database, event_id: int, *, with_draft: bool = True
) -> dict[str, Any]:
    """The event with this id; raise NotFound if there is none."""
    row = db.execute(_QUERIES["id", with_draft], [event_id]).fetchone()
    if row is None:
        raise NotFound("There is no such event.")
    return dict(row)


def draft(event: dict[str, Any]) -> dict[str, Any]:
    """The event's current draft option schema."""
    return json.loads(event["draft"])


def save_draft(db: Database, slug: str, document: dict[str, Any]) -> dict[str, Any]:
    """Replace the event's draft with a valid option schema (published versions stay as they are)."""
    optionschema.check(document)
    if document["event"]["slug"] != slug:
        raise SchemaInvalid(
            "The slug cannot change once the event exists.",
            [optionschema.Problem("/event/slug", "event", f"slug must stay {slug!r}")],
        )
    with write(db):
        event_id = get_event(db, slug, with_draft=False)["id"]
        db.execute(
            "UPDATE events SET title = ?, draft_updated_at = ? WHERE id = ?",
            [document["event"]["title"], stamp(), event_id],
        )
        db.execute(
            "UPDATE event_drafts SET draft = ? WHERE event_id = ?", [json.dumps(document), event_id]
        )
    return get_event(db, slug)


def publish(db: Database, slug: str, account_id: int | None = None) -> int:
    """Freeze the draft as the next immutable version and return its number."""
    with write(db, [f"event-versions:{slug}"]):
        event = get_event(db, slug)
        document = optionschema.check(draft(event))
        latest = db.execute(
            "SELECT number, document FROM schema_versions WHERE event_id = ?"
            " ORDER BY number DESC LIMIT 1",
            [event["id"]],
        ).fetchone()
        if latest and json.loads(latest["document"]) == document:
            return latest["number"]
        number = (latest["number"] if latest else 0) + 1
        db.execute(
            "INSERT INTO schema_versions (event_id, number, document, published_at, published_by)"
            " VALUES (?, ?, ?, ?, ?)",
            [event["id"], number, json.dumps(document), stamp(), account_id],
        )
        # The dashboard's counts of the new version, in the same transaction (see tallies.py).
        tallies.carry(db, event["id"], compiled(db, event["id"], number))
    return number


def version_numbers(db: Database, event_id: int) -> list[int]:
    """The numbers of the event's published versions, oldest first."""
    rows = db.execute(
        "SELECT number FROM schema_versions WHERE event_id = ? ORDER BY number", [event_id]
    )
    return [r[0] for r in rows]


def latest_number(db: Database, event_id: int) -> int | None:
    """The number of the newest published version, or None before the first publish."""
    row = db.execute(
        "SELECT max(number) FROM schema_versions WHERE event_id = ?", [event_id]
    ).fetchone()
    return row[0]


def compiled(db: Database, event_id: int, number: int | None = None) -> CompiledSchema:
    """A published version, compiled once per process and reused (versions never change)."""
    if number is None:
        number = latest_number(db, event_id)
        if number is None:
            raise NotFound("This event has not been published yet.")
    row = db.execute(
        "SELECT id FROM schema_versions WHERE event_id = ? AND number = ?", [event_id, number]
    ).fetchone()
    if row is None:
        raise NotFound(f"Version {number} of this event does not exist.")
    key = (db.url, row["id"])
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
    if found is None:
        text = db.execute("SELECT document FROM schema_versions WHERE id = ?", [row["id"]])
        found = CompiledSchema(json.loads(text.fetchone()[0]), number)
        with _compiled_lock:
            _compiled[key] = found
            while len(_compiled) > COMPILED_KEPT:
                _compiled.popitem(last=False)
    return found


def window(event: dict[str, Any], schema: CompiledSchema, moment: datetime | None = None) -> Window:
    """Whether the design window is open now: the organiser's switch first, then the dates."""
    settings = schema.event["window"]
    edit = settings["edit_after_confirm"]
    if event.get("window_override") == "closed":
        return Window(False, "The organiser has closed the design window.", edit)
    if event.get("window_override") == "open":
        return Window(True, "The organiser has opened the design window.", edit)
    moment = moment or now()
    if "opens" in settings and moment < optionschema.parse_instant(settings["opens"]):
        return Window(
            False, f"Designing opens on {settings['opens'][:16].replace('T', ' at ')}.", edit
        )
    if "closes" in settings and moment >= optionschema.parse_instant(settings["closes"]):
        return Window(
            False, f"Designing closed on {settings['closes'][:16].replace('T', ' at ')}.", edit
        )
    return Window(True, "Designing is open.", edit)


def set_window(db: Database, slug: str, state: str | None) -> None:
    """Open or close the design window by hand, or return it to the schema's dates (None)."""
    if state not in ("open", "closed", None):
        raise Conflict(f"The window can be open, closed or follow the dates, not {state!r}.")
    with write(db):
        get_event(db, slug)
        db.execute("UPDATE events SET window_override = ? WHERE slug = ?", [state, slug])
