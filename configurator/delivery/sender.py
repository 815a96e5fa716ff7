"""The `delivery` job: send one outbox message on one channel, or record why it was not sent.

Before sending it checks, in order: the attendee's link is not revoked, they have not opted out
of this kind of message, the channel has a service (else: collected, not delivered), they still
chose the channel, it is not the event's quiet hours, and the channel's rate allows one more.
A send can repeat only when the worker dies between the server's acceptance and the record
(see docs/staff.md, "Delivery"): the repeat carries the same Message-ID or Idempotency-Key.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from typing import Any

from .. import events, jobs, worker
from ..clock import now, stamp
from ..db import Database
from . import config, consent, mail, outbox, push, settings

worker.THREAD_CLEANUPS.append(mail.close)  # a concurrent sender closes its SMTP connections
COLLECTED = "Collected, not delivered"
DIRECT = (consent.ALWAYS, "invitations")
RATE_WINDOW = timedelta(minutes=1)


@worker.handler(outbox.KIND)
def deliver(db: Database, job: jobs.Job) -> dict[str, Any]:
    """Send the job's message on its channel; Retry, GiveUp, Postpone or Cancel otherwise."""
    message = outbox.get_message(db, job.ref_id or 0)
    if message is None:
        raise worker.Cancel("The message is no longer in the outbox.")
    attendee = db.execute(
        "SELECT id, name, email, revoked_at FROM attendees WHERE id = ?", [message["attendee_id"]]
    ).fetchone()
    if attendee is None:
        raise worker.Cancel("The attendee is no longer invited.")
    if attendee["revoked_at"]:
        raise worker.Cancel("Not sent: the attendee's link was revoked.")
    kind = message["kind"]
    if not consent.allows(db, attendee["id"], kind):
        raise worker.Cancel(
            f"Not sent: the attendee opted out of {consent.category(kind)} messages."
        )
    event = events.get_event_by_id(db, message["event_id"], with_draft=False)
    schema = events.compiled(db, event["id"]) if events.latest_number(db, event["id"]) else None
    chosen = settings.get(db, event["id"], schema) if schema else settings.Settings(event["title"])
    channel = job.topic or settings.EMAIL
    # Links and invitations go by email, and so does email standing in for undelivered channels.
    by_email = channel == settings.EMAIL and (
        schema is None or job.payload.get("fallback") or consent.category(kind) in DIRECT
    )
    route = settings.EMAIL if by_email else chosen.route(channel).to
    if not route:
        raise worker.Cancel(f"{COLLECTED}: no service is set up for the {channel} channel.")
    answers: dict[str, Any] = {}
    if not by_email:
        found = _answers(db, attendee["id"], chosen.channels_section, channel)
        if found is None:
            raise worker.Cancel(f"Not sent: the attendee no longer chose {channel}.")
        answers = found
    at = now()
    if consent.category(kind) != consent.ALWAYS and schema is not None:
        until = consent.quiet_until(at, schema.zone, chosen.quiet())
        if until is not None:
            raise worker.Postpone(
                until, f"Waiting for the quiet hours to end ({chosen.quiet_until})."
            )
    rate = chosen.route(channel).per_minute
    if rate:
        _check_rate(db, event["id"], channel, rate, at)
    base = message["payload"].get("base_url") or config.current().public_url
    unsubscribe = None
    if consent.category(kind) != consent.ALWAYS:
        token = consent.unsubscribe_token(db, attendee["id"], kind)
        unsubscribe = f"{base.rstrip('/')}/u/{token}"
    key = outbox.delivery_key(message["id"], channel)
    if route == settings.EMAIL:
        return _email(event, chosen, attendee, message, key, unsubscribe)
    return _push(schema, chosen, channel, route, attendee, answers, message, key, unsubscribe)


def _answers(
    db: Database, attendee_id: int, section: str | None, channel: str
) -> dict[str, Any] | None:
    """The attendee's follow-up answers for a channel they chose, or None when they did not."""
    row = db.execute("SELECT document FROM designs WHERE attendee_id = ?", [attendee_id]).fetchone()
    if row is None or section is None:
        return None
    picked = json.loads(row[0]).get(section) or {}
    value = picked.get(channel) if isinstance(picked, dict) else None
    return value if isinstance(value, dict) else None


def _check_rate(
    db: Database, event_id: int, channel: str, per_minute: int, at: datetime
) -> None:
    """Postpone the send when the channel already sent its allowance in the last minute."""
    since = at - RATE_WINDOW
    rows = db.execute(
        "SELECT finished_at FROM jobs WHERE event_id = ? AND kind = ? AND topic = ?"
        " AND finished_at > ? AND state = 'done' ORDER BY finished_at LIMIT ?",
        [event_id, outbox.KIND, channel, stamp(since), per_minute],
    ).fetchall()
    if len(rows) >= per_minute:
        oldest = datetime.fromisoformat(rows[0][0])
        raise worker.Postpone(
            oldest + RATE_WINDOW, f"Waiting: {channel} sends at most {per_minute} a minute."
        )


def _email(
    event: dict[str, Any],
    chosen: settings.Settings,
    attendee: Any,
    message: dict[str, Any],
    key: str,
    unsubscribe: str | None,
) -> dict[str, Any]:
    server = config.current().mail
    if server is None:
        raise worker.Cancel(f"{COLLECTED}: no mail server is set (CONFIGURATOR_MAIL_URL).")
    sender = config.current().sender
    domain = sender.rsplit("@", 1)[1]
    footer = f"You get this as a participant of {event['title']}." + (
        f" Stop these messages: {unsubscribe}" if unsubscribe else ""
    )
    built = mail.build(
        mail.Mail(
            chosen.sender_name or event["title"],
            sender,
            attendee["name"],
            attendee["email"],
            message["subject"],
            message["body"],
            f"<{key.replace(':', '.')}.{event['slug']}@{domain}>",
            unsubscribe,
            footer,
        )
    )
    try:
        answer = mail.send(server, sender, attendee["email"], built)
    except mail.MailFailed as exc:
        if exc.final:
            raise worker.GiveUp(str(exc)) from None
        raise worker.Retry(str(exc)) from None
    return {"to": attendee["email"], "answer": answer, "id": built["Message-ID"], "by": _host()}


def _push(
    schema: Any,
    chosen: settings.Settings,
    channel: str,
    route: str,
    attendee: Any,
    answers: dict[str, Any],
    message: dict[str, Any],
    key: str,
    unsubscribe: str | None,
) -> dict[str, Any]:
    option = next((o for o in settings.channel_options(schema, chosen) if o["id"] == channel), None)
    if option is None:
        raise worker.Cancel(f"{COLLECTED}: the {channel} channel is no longer in the schema.")
    secrets = config.current().secrets
    try:
        url = settings.fill(route, option, {**answers, "email": attendee["email"]}, secrets)
    except KeyError as exc:
        raise worker.GiveUp(
            f"Cannot address the {option['title']} message: {exc.args[0]}"
        ) from None
    body = message["body"] + (f"\n\nStop these messages: {unsubscribe}" if unsubscribe else "")
    try:
        answer = push.send(url, message["subject"], body, key, secrets)
    except push.PushFailed as exc:
        raise worker.Retry(f"{option['title']}: {exc}") from None
    shown = next(
        (str(answers[f["id"]]) for f in option.get("follow_up", []) if f["id"] in answers), ""
    )
    return {"to": shown or attendee["email"], "answer": answer, "id": key, "by": _host()}


def _host() -> str:
    return socket.gethostname()
