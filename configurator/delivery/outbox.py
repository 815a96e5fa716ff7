"""The outbox: what was said to whom, and one delivery job per channel that carries it.

`queue()` is the one way a message enters: inside the caller's transaction it writes the outbox
row and, for each channel the attendee chose, a `delivery` job (kind "delivery", ref_id = the
message, topic = the channel) whose key, `delivery:<message>:<channel>`, is also the message's
idempotency key on the wire (the email's Message-ID, a webhook's Idempotency-Key header).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import events, jobs
from ..clock import stamp
from ..db import Database, write
from . import consent, settings

KIND = "delivery"
ATTEMPTS = 6


@dataclass(frozen=True)
class Channel:
    """One way a message reaches an attendee: the channel option, and whether it stands in."""

    id: str
    fallback: bool = False


def delivery_key(message_id: int, channel: str) -> str:
    """The job's key and the message's idempotency key on that channel."""
    return f"delivery:{message_id}:{channel}"


def chosen_channels(db: Database, event_id: int, attendee_id: int) -> list[str]:
    """The channel options the attendee picked in their design (none before they design)."""
    schema = _schema(db, event_id)
    if schema is None:
        return []
    sid = settings.get(db, event_id, schema).channels_section
    row = db.execute("SELECT document FROM designs WHERE attendee_id = ?", [attendee_id]).fetchone()
    if sid is None or row is None:
        return []
    picked = json.loads(row[0]).get(sid) or {}
    return list(picked) if isinstance(picked, dict) else []


def channels_for(
    db: Database, event_id: int, attendee_id: int, kind: str
) -> list[Channel]:
    """The channels a message goes out on: links by email; the rest as the attendee chose.

    A channel without a route still gets its delivery (staff see it collected, not delivered);
    when none of the chosen channels is delivered, email stands in so the message still arrives.
    """
    if consent.category(kind) in (consent.ALWAYS, "invitations"):
        return [Channel(settings.EMAIL)]
    schema = _schema(db, event_id)
    chosen = chosen_channels(db, event_id, attendee_id)
    if schema is None or not chosen:
        return [Channel(settings.EMAIL, fallback=bool(schema))]
    routes = settings.get(db, event_id, schema)
    found = [Channel(oid) for oid in chosen]
    if not any(routes.route(c.id).to for c in found):
        found.append(Channel(settings.EMAIL, fallback=True))
    return found


def _schema(db: Database, event_id: int) -> Any:
    if events.latest_number(db, event_id) is None:
        return None
    return events.compiled(db, event_id)


def queue(
    db: Database,
    event_id: int,
    attendee_ids: list[int],
    kind: str,
    subject: str,
    body: str,
    *,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    run_after: datetime | None = None,
) -> list[int]:
    """Record a message for each attendee and queue its deliveries; the new message ids.

    With a key, a message already queued for an attendee under it is not queued again (planned
    reminders, a broadcast sent twice by a double click).
    """
    created, text = stamp(), json.dumps(payload or {}, ensure_ascii=False)
    made: list[int] = []
    with write(db):
        for attendee_id in attendee_ids:
            row = db.execute(
                "INSERT INTO outbox (event_id, attendee_id, kind, subject, body, created_at, key,"
                " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
                " RETURNING id",
                [
                    event_id,
                    attendee_id,
                    kind,
                    subject[:300],
                    body,
                    created,
                    f"{key}:{attendee_id}" if key else None,
                    text,
                ],
            ).fetchone()
            if row is None:
                continue
            made.append(row[0])
            for channel in channels_for(db, event_id, attendee_id, kind):
                jobs.enqueue(
                    db,
                    KIND,
                    key=delivery_key(row[0], channel.id),
                    event_id=event_id,
                    attendee_id=attendee_id,
                    ref_id=row[0],
                    topic=channel.id,
                    payload={"fallback": True} if channel.fallback else None,
                    run_after=run_after,
                    max_attempts=ATTEMPTS,
                )
    return made


def get_message(db: Database, message_id: int) -> dict[str, Any] | None:
    """One outbox message with its payload parsed, or None."""
    row = db.execute("SELECT * FROM outbox WHERE id = ?", [message_id]).fetchone()
    if row is None:
        return None
    message = dict(row)
    message["payload"] = json.loads(message["payload"] or "{}")
    return message
