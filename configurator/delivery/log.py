"""The delivery log staff read: every message on every channel, with where it stands and why."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .. import jobs
from ..compiler import CompiledSchema
from ..db import Database
from ..errors import NotFound
from . import settings
from .outbox import KIND
from .sender import COLLECTED

_BY_ATTENDEES = (
    "SELECT j.id, j.ref_id, j.topic, j.state, j.attempts, j.max_attempts, j.last_error, j.result,"
    " j.run_after, j.updated_at, j.finished_at, o.kind, o.subject, o.created_at,"
    " a.id AS attendee_id, a.name, a.email FROM jobs j"
    " JOIN outbox o ON o.id = j.ref_id JOIN attendees a ON a.id = j.attendee_id"
    " WHERE j.attendee_id BETWEEN ? AND ? AND j.kind = ? AND j.event_id = ? ORDER BY j.id"
)
# What staff read for each state of a delivery job.
STATUSES = ("queued", "waiting", "retrying", "sending", "sent", "failed", "collected", "not sent")
_ROWS = (
    "SELECT j.id, j.ref_id, j.topic, j.state, j.attempts, j.max_attempts, j.last_error, j.result,"
    " j.run_after, j.updated_at, j.finished_at, o.kind, o.subject, o.created_at,"
    " a.id AS attendee_id, a.name, a.email FROM jobs j"
    " JOIN outbox o ON o.id = j.ref_id JOIN attendees a ON a.id = j.attendee_id"
    " WHERE j.event_id = ? AND j.kind = ?"
)


@dataclass(frozen=True)
class Delivery:
    """One message on one channel, as the delivery page and the exports show it."""

    id: int
    message_id: int
    kind: str
    subject: str
    attendee_id: int
    name: str
    email: str
    channel: str
    status: str
    reason: str
    to: str
    attempts: int
    queued_at: str
    next_try: str | None
    finished_at: str | None

    @property
    def can_retry(self) -> bool:
        """Whether "retry now" applies: it failed, or was collected and may be delivered now."""
        return self.status in ("failed", "collected", "retrying", "waiting")

    def as_dict(self) -> dict[str, Any]:
        """The delivery as plain JSON-ready values."""
        return asdict(self)


def status_of(state: str, last_error: str | None) -> str:
    """The word staff read for a job's state."""
    if state == "queued":
        if not last_error:
            return "queued"
        return "waiting" if last_error.startswith("Waiting") else "retrying"
    if state == "cancelled":
        return "collected" if (last_error or "").startswith(COLLECTED) else "not sent"
    return {"running": "sending", "done": "sent", "dead": "failed"}.get(state, state)


def _delivery(row: Any) -> Delivery:
    result = json.loads(row["result"]) if row["result"] else {}
    status = status_of(row["state"], row["last_error"])
    return Delivery(
        row["id"],
        row["ref_id"],
        row["kind"],
        row["subject"],
        row["attendee_id"],
        row["name"],
        row["email"],
        row["topic"] or settings.EMAIL,
        status,
        row["last_error"] or "",
        str(result.get("to", "")),
        row["attempts"],
        row["created_at"],
        row["run_after"] if row["state"] == "queued" else None,
        row["finished_at"],
    )


_LATEST = (
    "SELECT j.id, j.ref_id, j.topic, j.state, j.attempts, j.max_attempts, j.last_error, j.result,"
    " j.run_after, j.updated_at, j.finished_at, o.kind, o.subject, o.created_at,"
    " a.id AS attendee_id, a.name, a.email FROM jobs j"
    " JOIN outbox o ON o.id = j.ref_id JOIN attendees a ON a.id = j.attendee_id"
    " WHERE j.event_id = ? AND j.kind = ? AND (CAST(? AS TEXT) IS NULL OR (CASE"
    " WHEN j.state = 'queued' AND j.last_error LIKE 'Waiting%' THEN 'waiting'"
    " WHEN j.state = 'queued' AND j.last_error IS NOT NULL THEN 'retrying'"
    " WHEN j.state = 'queued' THEN 'queued' WHEN j.state = 'running' THEN 'sending'"
    " WHEN j.state = 'done' THEN 'sent' WHEN j.state = 'dead' THEN 'failed'"
    " WHEN j.last_error LIKE ? THEN 'collected' ELSE 'not sent' END) = ?)"
    " ORDER BY j.id DESC LIMIT ?"
)


def deliveries(
    db: Database, event_id: int, status: str | None = None, limit: int = 200
) -> list[Delivery]:
    """The event's latest deliveries (of one status), newest first."""
    rows = db.execute(_LATEST, [event_id, KIND, status, COLLECTED + "%", status, limit])
    return [_delivery(row) for row in rows]


def for_attendees(
    db: Database, event_id: int, first: int, last: int
) -> dict[int, list[dict[str, Any]]]:
    """The deliveries of the attendees with ids first..last, oldest first, for the JSON export."""
    found: dict[int, list[dict[str, Any]]] = {}
    for row in db.execute(_BY_ATTENDEES, [first, last, KIND, event_id]):
        d = _delivery(row)
        found.setdefault(d.attendee_id, []).append(
            {
                "message": d.message_id,
                "kind": d.kind,
                "subject": d.subject,
                "channel": d.channel,
                "status": d.status,
                "reason": d.reason,
                "attempts": d.attempts,
                "queued_at": d.queued_at,
                "finished_at": d.finished_at,
            }
        )
    return found


_COUNTS = (
    "SELECT CASE WHEN state = 'queued' AND last_error LIKE 'Waiting%' THEN 'waiting'"
    " WHEN state = 'queued' AND last_error IS NOT NULL THEN 'retrying'"
    " WHEN state = 'queued' THEN 'queued' WHEN state = 'running' THEN 'sending'"
    " WHEN state = 'done' THEN 'sent' WHEN state = 'dead' THEN 'failed'"
    " WHEN last_error LIKE ? THEN 'collected' ELSE 'not sent' END, count(*)"
    " FROM jobs WHERE event_id = ? AND kind = ? GROUP BY 1"
)


def counts(db: Database, event_id: int) -> dict[str, int]:
    """How many of the event's deliveries are in each status (every status, zeros included)."""
    found = dict.fromkeys(STATUSES, 0)
    for status, n in db.execute(_COUNTS, [COLLECTED + "%", event_id, KIND]):
        found[status] = n
    return found


def channels(
    db: Database, event_id: int, schema: CompiledSchema
) -> list[dict[str, Any]]:
    """Each channel option: where it is delivered (or not), and how many attendees chose it."""
    chosen = settings.get(db, event_id, schema)
    sid = chosen.channels_section
    picked = dict(
        db.execute(
            "SELECT option_id, count(*) FROM picks WHERE event_id = ? AND section_id = ?"
            " GROUP BY option_id",
            [event_id, sid or ""],
        ).fetchall()
    )
    return [
        {
            "id": option["id"],
            "title": option["title"],
            "to": chosen.route(option["id"]).to,
            "per_minute": chosen.route(option["id"]).per_minute,
            "chosen": picked.get(option["id"], 0),
        }
        for option in settings.channel_options(schema, chosen)
    ]


def retry(db: Database, event_id: int, delivery_id: int) -> jobs.Job:
    """Queue a delivery of this event to be tried again at once (NotFound for anything else)."""
    job = jobs.get(db, delivery_id, event_id)
    if job.kind != KIND:
        raise NotFound("There is no such delivery here.")
    return jobs.retry_now(db, delivery_id, event_id)
