"""The job table: work for `configurator worker`, claimed under a lease, retried with backoff.

Deliveries, prepared exports and webhooks are all rows here. A worker claims due rows in one
write transaction and holds them under a lease. It records each outcome: done, or failed and
queued again after a longer wait, or dead once its attempts are spent. When a worker dies, its
lease runs out and another worker takes the job. So a job runs at least once. A crash between
doing the work and recording it can repeat that one job, never more (docs/deploy.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .clock import now, stamp
from .db import POSTGRESQL, SQLITE, Database, write
from .errors import NotFound

STATES = ("queued", "running", "done", "dead", "cancelled")
FINISHED = ("done", "dead", "cancelled")
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_ATTEMPTS = 6


@dataclass(frozen=True)
class Job:
    """One row of the job table, its JSON columns parsed."""

    id: int
    kind: str
    key: str | None
    event_id: int | None
    attendee_id: int | None
    ref_id: int | None
    topic: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    run_after: str
    lease_until: str | None
    worker: str | None
    last_error: str | None
    result: dict[str, Any] | None
    done_steps: int
    total_steps: int
    created_at: str
    updated_at: str
    finished_at: str | None

    @property
    def percent(self) -> int:
        """Whole percent done; 100 only once the job is done."""
        if self.state == "done":
            return 100
        if not self.total_steps:
            return 0
        return min(99, self.done_steps * 100 // self.total_steps)


# Fixed query texts made from constants; nothing from outside is ever put into SQL. The claim is
# one statement inside the write transaction, so two workers never take the same row: SQLite lets
# one writer in at a time; on PostgreSQL each worker locks the rows it takes and skips the rows
# another worker has locked (FOR UPDATE SKIP LOCKED), so workers neither wait nor share a job.
_CLAIM = (
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?, lease_until = ?,"
    " updated_at = ? WHERE id IN (SELECT id FROM jobs WHERE"
    " ((state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?))"
    " ORDER BY run_after, id LIMIT ?) RETURNING *"
)
_CLAIM_ANY = {
    SQLITE: _CLAIM,
    POSTGRESQL: _CLAIM.replace("LIMIT ?)", "LIMIT ? FOR UPDATE SKIP LOCKED)"),
}
_CLAIM_KIND = {
    dialect: text.replace("FROM jobs WHERE", "FROM jobs WHERE kind = ? AND")
    for dialect, text in _CLAIM_ANY.items()
}
_GET = "SELECT * FROM jobs WHERE id = ?"


_FIELDS = tuple(Job.__dataclass_fields__)


def _job(row: Any) -> Job:
    values = {name: row[name] for name in _FIELDS}
    values["payload"] = json.loads(values["payload"])
    values["result"] = json.loads(values["result"]) if values["result"] else None
    return Job(**values)


def enqueue(
    db: Database,
    kind: str,
    *,
    key: str | None = None,
    event_id: int | None = None,
    attendee_id: int | None = None,
    ref_id: int | None = None,
    topic: str | None = None,
    payload: dict[str, Any] | None = None,
    run_after: datetime | None = None,
    max_attempts: int = DEFAULT_ATTEMPTS,
    total_steps: int = 0,
) -> int | None:
    """Queue a job; with a key already queued (the same work asked twice) nothing is added: None."""
    moment = stamp()
    with write(db):
        row = db.execute(
            "INSERT INTO jobs (kind, key, event_id, attendee_id, ref_id, topic, payload, state,"
            " attempts, max_attempts, run_after, done_steps, total_steps, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, 0, ?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING RETURNING id",
            [
                kind,
                key,
                event_id,
                attendee_id,
                ref_id,
                topic,
                json.dumps(payload or {}, ensure_ascii=False, separators=(",", ":")),
                max_attempts,
                stamp(run_after) if run_after else moment,
                total_steps,
                moment,
                moment,
            ],
        ).fetchone()
    return row[0] if row else None


def claim(
    db: Database,
    worker: str,
    kind: str | None = None,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    moment: datetime | None = None,
) -> list[Job]:
    """Take up to limit due jobs (of one kind, or any) and jobs whose lease ran out, for worker."""
    at = moment or now()
    due = [stamp(at), stamp(at), limit]
    with write(db):
        if kind is None:
            rows = db.execute(_CLAIM_ANY[db.dialect], [worker, stamp(at + lease), stamp(at), *due])
        else:
            rows = db.execute(
                _CLAIM_KIND[db.dialect], [worker, stamp(at + lease), stamp(at), kind, *due]
            )
        claimed = [_job(r) for r in rows.fetchall()]
    return sorted(claimed, key=lambda j: (j.run_after, j.id))


def complete(
    db: Database, job_id: int, worker: str, result: dict[str, Any] | None = None
) -> bool:
    """Record a job as done; False when this worker no longer holds it (its lease was taken)."""
    moment = stamp()
    with write(db):
        cursor = db.execute(
            "UPDATE jobs SET state = 'done', result = ?, lease_until = NULL, last_error = NULL,"
            " done_steps = total_steps, updated_at = ?, finished_at = ?"
            " WHERE id = ? AND worker = ? AND state = 'running'",
            [_dumps(result), moment, moment, job_id, worker],
        )
    return cursor.rowcount == 1


def fail(
    db: Database,
    job_id: int,
    worker: str,
    error: str,
    *,
    retry: bool = True,
    result: dict[str, Any] | None = None,
) -> str | None:
    """Record a failed attempt: queued again after a backoff, or dead; the new state, or None."""
    at = now()
    with write(db):
        row = db.execute(
            "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND worker = ?"
            " AND state = 'running'",
            [job_id, worker],
        ).fetchone()
        if row is None:
            return None
        attempts, most = row
        state = "queued" if retry and attempts < most else "dead"
        db.execute(
            "UPDATE jobs SET state = ?, last_error = ?, result = ?, run_after = ?,"
            " lease_until = NULL, updated_at = ?, finished_at = ? WHERE id = ?",
            [
                state,
                error[:2000],
                _dumps(result),
                stamp(at + backoff(attempts)) if state == "queued" else stamp(at),
                stamp(at),
                stamp(at) if state == "dead" else None,
                job_id,
            ],
        )
    return state


def postpone(
    db: Database, job_id: int, worker: str, until: datetime, reason: str
) -> bool:
    """Queue a running job again for later without spending an attempt (quiet hours, a rate)."""
    with write(db):
        cursor = db.execute(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_after = ?,"
            " last_error = ?, lease_until = NULL, updated_at = ?"
            " WHERE id = ? AND worker = ? AND state = 'running'",
            [stamp(until), reason[:2000], stamp(), job_id, worker],
        )
    return cursor.rowcount == 1


def cancel(
    db: Database,
    job_id: int,
    worker: str,
    reason: str,
    result: dict[str, Any] | None = None,
) -> bool:
    """Record that a running job was rightly not done (nobody to send it to, say), with why."""
    moment = stamp()
    with write(db):
        cursor = db.execute(
            "UPDATE jobs SET state = 'cancelled', last_error = ?, result = ?, lease_until = NULL,"
            " updated_at = ?, finished_at = ? WHERE id = ? AND worker = ? AND state = 'running'",
            [reason[:2000], _dumps(result), moment, moment, job_id, worker],
        )
    return cursor.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """The wait before attempt n + 1: 30 s, 1 min, 2 min, ... doubling, at most 6 hours."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def progress(db: Database, job_id: int, done: int, total: int | None = None) -> None:
    """Record how far a running job is (a progress bar polls this)."""
    with write(db):
        db.execute(
            "UPDATE jobs SET done_steps = ?, total_steps = coalesce(?, total_steps),"
            " updated_at = ? WHERE id = ?",
            [done, total, stamp(), job_id],
        )


def get(db: Database, job_id: int, event_id: int | None = None) -> Job:
    """One job; NotFound when there is none, or when it belongs to another event."""
    row = db.execute(_GET, [job_id]).fetchone()
    if row is None or (event_id is not None and row["event_id"] != event_id):
        raise NotFound("There is no such job here.")
    return _job(row)


def retry_now(db: Database, job_id: int, event_id: int) -> Job:
    """Queue a failed or dead job of the event to run at once, with its attempts renewed."""
    with write(db):
        job = get(db, job_id, event_id)
        if job.state in ("queued", "running", "done"):
            return job
        db.execute(
            "UPDATE jobs SET state = 'queued', run_after = ?, attempts = 0, finished_at = NULL,"
            " updated_at = ? WHERE id = ?",
            [stamp(), stamp(), job_id],
        )
    return get(db, job_id, event_id)


def counts(db: Database, event_id: int, kind: str) -> dict[str, int]:
    """How many of the event's jobs of a kind are in each state (every state, zeros included)."""
    found = dict.fromkeys(STATES, 0)
    for state, n in db.execute(
        "SELECT state, count(*) FROM jobs WHERE event_id = ? AND kind = ? GROUP BY state",
        [event_id, kind],
    ):
        found[state] = n
    return found


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
