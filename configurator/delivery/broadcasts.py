"""Broadcasts: a message from the organisers to an audience, previewed per channel, then sent.

An audience is everyone, a session's roster, a waitlist, the attendees of a delivery format, or
those who have not designed yet; revoked links are never in it. Sending twice from the same
preview (a double click, a reload) queues nothing the second time.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from ..errors import BadRequest, Problem
from . import consent, outbox, settings

KINDS = ("everyone", "session", "waitlist", "format", "not_designed")
PREVIEW_ROWS = 100
# Fixed query texts, one per kind of audience; revoked links are never in an audience.
_QUERIES = {
    "everyone": "SELECT a.id, a.name, a.email FROM attendees a"
    " WHERE a.event_id = ? AND a.revoked_at IS NULL ORDER BY a.name, a.id",
    "not_designed": "SELECT a.id, a.name, a.email FROM attendees a"
    " WHERE a.event_id = ? AND a.revoked_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM designs d WHERE d.attendee_id = a.id) ORDER BY a.name, a.id",
    "session": "SELECT a.id, a.name, a.email FROM attendees a"
    " WHERE a.event_id = ? AND a.revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM picks p WHERE p.attendee_id = a.id AND p.section_id = ?"
    " AND p.option_id = ?) ORDER BY a.name, a.id",
    "waitlist": "SELECT a.id, a.name, a.email FROM attendees a"
    " WHERE a.event_id = ? AND a.revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM waitlist w WHERE w.attendee_id = a.id AND w.section_id = ?"
    " AND w.option_id = ?) ORDER BY a.name, a.id",
    "format": "SELECT a.id, a.name, a.email FROM attendees a"
    " WHERE a.event_id = ? AND a.revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM picks p WHERE p.attendee_id = a.id AND p.section_id = ?"
    " AND p.format = ?) ORDER BY a.name, a.id",
}


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: a kind, and the session or format it names."""

    kind: str
    section: str = ""
    target: str = ""


@dataclass
class Preview:
    """Who would get the broadcast on which channel, before anything is sent."""

    audience: Audience
    subject: str
    body: str
    nonce: str
    total: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    channels: Counter[str] = field(default_factory=Counter)
    held: int = 0


def read(schema: CompiledSchema, form: dict[str, str]) -> tuple[Audience, str, str]:
    """The audience, subject and body of the compose form; BadRequest names each bad field."""
    problems = []
    kind = form.get("audience", "")
    audience = Audience(kind)
    if kind not in KINDS:
        problems.append(Problem("audience", "Audience", "Choose who gets the message."))
    elif kind in ("session", "waitlist"):
        section, _, option = form.get("session", "").partition("/")
        if (section, option) not in schema.options:
            problems.append(Problem("session", "Session", "Choose a session or option."))
        audience = Audience(kind, section, option)
    elif kind == "format":
        section, _, fmt = form.get("format", "").partition("/")
        if (section, fmt) not in schema.format_titles:
            problems.append(Problem("format", "Format", "Choose a delivery format."))
        audience = Audience(kind, section, fmt)
    subject, body = form.get("subject", "").strip(), form.get("body", "").strip()
    if not 1 <= len(subject) <= 200:
        problems.append(Problem("subject", "Subject", "Write a subject of 1 to 200 characters."))
    if not 1 <= len(body) <= 5000:
        problems.append(Problem("body", "Message", "Write a message of 1 to 5000 characters."))
    if problems:
        raise BadRequest("The message cannot be sent yet.", problems)
    return audience, subject, body


def members(db: Database, event_id: int, audience: Audience) -> list[dict[str, Any]]:
    """The attendees an audience names, by name."""
    params: list[Any] = [event_id]
    if audience.kind in ("session", "waitlist", "format"):
        params += [audience.section, audience.target]
    return [dict(r) for r in db.execute(_QUERIES[audience.kind], params)]


def preview(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    audience: Audience,
    subject: str,
    body: str,
) -> Preview:
    """Who gets the broadcast and on which channels (the first rows, and totals per channel)."""
    chosen = settings.get(db, event_id, schema)
    people = members(db, event_id, audience)
    found = Preview(audience, subject, body, secrets.token_urlsafe(12), len(people))
    for person in people:
        held = not consent.allows(db, person["id"], "broadcast")
        ways = []
        if held:
            found.held += 1
        else:
            for channel in outbox.channels_for(db, event_id, person["id"], "broadcast"):
                routed = channel.id == settings.EMAIL and channel.fallback
                delivered = bool(routed or chosen.route(channel.id).to)
                label = channel.id if delivered else f"{channel.id} (collected, not delivered)"
                found.channels[label] += 1
                ways.append(
                    {"channel": channel.id, "delivered": delivered, "fallback": channel.fallback}
                )
        if len(found.rows) < PREVIEW_ROWS:
            found.rows.append({**person, "channels": ways, "held": held})
    return found


def send(
    db: Database,
    event_id: int,
    audience: Audience,
    subject: str,
    body: str,
    nonce: str,
    base_url: str,
) -> int:
    """Queue the broadcast to everyone in the audience; how many messages were queued."""
    if not nonce or len(nonce) > 64:
        raise BadRequest("Preview the message before sending it.")
    ids = [p["id"] for p in members(db, event_id, audience)]
    made = outbox.queue(
        db,
        event_id,
        ids,
        "broadcast",
        subject,
        body,
        key=f"broadcast:{nonce}",
        payload={"base_url": base_url, "audience": audience.kind},
    )
    return len(made)


def recent(db: Database, event_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The latest broadcasts: subject, when, and how many attendees each went to."""
    rows = db.execute(
        "SELECT subject, min(created_at) AS sent_at, count(*) AS recipients FROM outbox"
        " WHERE event_id = ? AND kind = 'broadcast' GROUP BY subject, created_at"
        " ORDER BY min(created_at) DESC LIMIT ?",
        [event_id, limit],
    )
    return [dict(r) for r in rows]
