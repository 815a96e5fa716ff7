"""Messages that time brings: a reminder before each chosen session, feedback after it ends.

The worker calls `plan()` every minute. A reminder carries how the attendee follows the session:
the room for a seated format, the stream link for online, the recording link once it has ended.
Each message has a key per attendee and session, so planning again never queues it twice; a
worker that was down catches up on what is still useful (a reminder only before the start,
feedback and recordings for a day after the end).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from .. import events, worker
from ..clock import now
from ..compiler import CompiledSchema, day_name
from ..db import Database, write
from . import config, consent, outbox, settings

CATCH_UP = timedelta(days=1)
LINK = re.compile(r"https?://\S*?/a/[A-Za-z0-9_-]{16,}")
PLAN_EVERY_SECONDS = 60.0


def delivery_of(fmt: dict[str, Any]) -> str:
    """How a format reaches the attendee: `room`, `stream` or `recording`."""
    if fmt.get("delivery"):
        return str(fmt["delivery"])
    if fmt.get("seated"):
        return "room"
    words = f"{fmt['id']} {fmt['title']}".lower()
    return "recording" if "record" in words else "stream"


@worker.periodic("delivery-plan", PLAN_EVERY_SECONDS)
def plan_all(db: Database) -> None:
    """Plan reminders and feedback requests for every published event; forget delivered links."""
    plan(db)
    forget_links(db)


def forget_links(db: Database) -> int:
    """Blank the personal links of messages delivered on every channel; how many were blanked.

    Links are stored only as fingerprints; a message carries one in clear only until it is sent.
    A message still queued, or failed and waiting for "retry now", keeps its link.
    """
    rows = db.execute(
        "SELECT o.id, o.body FROM outbox o WHERE o.kind IN ('invitation', 'registered',"
        " 'link_reissued') AND o.body LIKE '%/a/%' AND NOT EXISTS (SELECT 1 FROM jobs j"
        " WHERE j.kind = ? AND j.ref_id = o.id AND j.state IN ('queued', 'running', 'dead'))"
        " AND EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ? AND j.ref_id = o.id)",
        [outbox.KIND, outbox.KIND],
    ).fetchall()
    with write(db):
        for message_id, body in rows:
            db.execute(
                "UPDATE outbox SET body = ? WHERE id = ?",
                [LINK.sub("(the personal link, removed once sent)", body), message_id],
            )
    return len(rows)


def plan(db: Database, moment: datetime | None = None) -> int:
    """Queue the reminders and feedback requests due at moment; how many messages were queued."""
    at = moment or now()
    made = 0
    for (event_id,) in db.execute("SELECT DISTINCT event_id FROM schema_versions").fetchall():
        schema = events.compiled(db, event_id)
        chosen = settings.get(db, event_id, schema)
        with write(db):
            made += _plan_event(db, event_id, schema, chosen, at)
    return made


def _plan_event(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    chosen: settings.Settings,
    at: datetime,
) -> int:
    moment = at.timestamp()
    lead = chosen.reminder_minutes * 60
    made = 0
    for sid, section in schema.sections.items():
        if section["kind"] != "sessions":
            continue
        formats = {f["id"]: f for f in section["formats"]}
        rooms = {r["id"]: r["title"] for r in section["rooms"]}
        for session in section["sessions"]:
            option = schema.options[(sid, session["id"])]
            before = lead and option.start - lead <= moment < option.start
            after = option.end <= moment < option.end + CATCH_UP.total_seconds()
            if not before and not after:
                continue
            for attendee_id, fmt in _takers(db, event_id, sid, session["id"]):
                how = delivery_of(formats.get(fmt or "", {"id": fmt or "", "title": ""}))
                if before and how != "recording":
                    made += _remind(db, event_id, schema, session, option, how, rooms, attendee_id)
                if after and how == "recording" and session.get("recording_url"):
                    made += _recording(db, event_id, session, attendee_id)
                if after and how != "recording" and chosen.feedback:
                    made += _ask_feedback(db, event_id, sid, session, attendee_id)
    return made


def _takers(
    db: Database, event_id: int, sid: str, oid: str
) -> list[tuple[int, str | None]]:
    rows = db.execute(
        "SELECT p.attendee_id, p.format FROM picks p JOIN attendees a ON a.id = p.attendee_id"
        " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ? AND a.revoked_at IS NULL"
        " ORDER BY p.attendee_id",
        [event_id, sid, oid],
    )
    return [(r[0], r[1]) for r in rows]


def _remind(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    session: dict[str, Any],
    option: Any,
    how: str,
    rooms: dict[str, str],
    attendee_id: int,
) -> int:
    when = f"{day_name(option.day)} at {schema.clock(option.start)}" if option.day else ""
    title = session["title"]
    if how == "room":
        room = rooms.get(session.get("room", ""))
        where = f"in {room}" if room else "in person"
    elif session.get("stream_url"):
        where = f"online: {session['stream_url']}"
    else:
        where = "online (the organisers will share the stream link)"
    body = f"“{title}” starts {when}, {where}.\n\nEnjoy the session!"
    return len(
        outbox.queue(
            db,
            event_id,
            [attendee_id],
            "reminder",
            f"Soon: {title}",
            body,
            key=f"reminder:{option.section_id}/{option.id}",
        )
    )


def _recording(
    db: Database, event_id: int, session: dict[str, Any], attendee_id: int
) -> int:
    title = session["title"]
    return len(
        outbox.queue(
            db,
            event_id,
            [attendee_id],
            "reminder",
            f"The recording of {title} is ready",
            f"You chose to watch “{title}” as a recording. Here it is:\n{session['recording_url']}",
            key=f"recording:{session['id']}",
        )
    )


def _ask_feedback(
    db: Database, event_id: int, sid: str, session: dict[str, Any], attendee_id: int
) -> int:
    token = consent.sign(db, "feedback", [attendee_id, sid, session["id"]])
    link = f"{config.current().public_url}/f/{token}"
    title = session["title"]
    return len(
        outbox.queue(
            db,
            event_id,
            [attendee_id],
            "feedback",
            f"How was {title}?",
            f"How was “{title}”? One question: rate it from 1 (poor) to 5 (excellent), with a"
            f" comment if you like:\n{link}\n\nThe organisers read every answer.",
            key=f"feedback:{sid}/{session['id']}",
        )
    )
