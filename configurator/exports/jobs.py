"""Exports prepared in the background, so a browser can show how far along a long one is."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from .. import events, exports
from ..db import connect
from ..errors import NotFound

KEEP_SECONDS = 60 * 60  # a prepared file can be downloaded for an hour
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="export")
_lock = threading.Lock()
_jobs: dict[str, Job] = {}
_running: list[Future[None]] = []


@dataclass
class Job:
    """One export being written to a file: how far it is, and where the file will be."""

    id: str
    event_id: int
    fmt: str
    filename: str
    mimetype: str
    path: Path
    total: int = 0
    done: int = 0
    state: str = "running"  # running, ready, failed
    error: str = ""
    started: float = field(default_factory=time.time)

    @property
    def percent(self) -> int:
        """Whole percent done; 100 only once the file is complete."""
        if self.state == "ready":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


def start(
    db: sqlite_utils.Database,
    event: dict[str, Any],
    fmt: str,
    *,
    section: str | None = None,
    option: str | None = None,
) -> Job:
    """Check the request, then write the export to a file next to the database in the background."""
    db_path = db.path  # type: ignore[attr-defined]  # set by db.connect
    schema = events.compiled(db, event["id"])
    # Preparing checks the format and the scope at once, so a bad request fails here, not later.
    prepared = exports.download(db, event, schema, fmt, section=section, option=option)
    folder = Path(db_path).parent / "exports"
    folder.mkdir(exist_ok=True)
    _forget_old(folder)
    job_id = secrets.token_urlsafe(12)
    job = Job(
        job_id,
        event["id"],
        fmt,
        prepared.filename,
        prepared.mimetype,
        folder / f"{job_id}-{prepared.filename}",
        total=prepared.steps,
    )
    with _lock:
        _jobs[job_id] = job
        _running.append(_pool.submit(_write, db_path, event, job, section, option))
    return job


def _write(
    db_path: str | Path, event: dict[str, Any], job: Job, section: str | None, option: str | None
) -> None:
    def tick(steps: int) -> None:
        job.done += steps

    partial = job.path.with_name(job.path.name + ".partial")
    db = None
    try:
        db = connect(db_path)  # this worker thread's own connection, closed when the file is done
        schema = events.compiled(db, event["id"])
        prepared = exports.download(
            db, event, schema, job.fmt, section=section, option=option, progress=tick
        )
        with open(partial, "wb") as out:
            for chunk in prepared.chunks:
                out.write(chunk)
        partial.replace(job.path)
        job.state = "ready"
    except Exception as exc:  # the page must say it failed rather than spin for ever
        partial.unlink(missing_ok=True)
        job.state, job.error = "failed", f"The export could not be written ({exc})."
    finally:
        if db is not None:
            db.conn.close()


def get(job_id: str, event_id: int) -> Job:
    """A job of this event; NotFound for any other id, including another event's jobs."""
    job = _jobs.get(job_id)
    if job is None or job.event_id != event_id:
        raise NotFound("This export is no longer here (prepared files are kept for an hour).")
    return job


def finish_all() -> None:
    """Wait until every job started so far has ended (for tests and orderly shutdown)."""
    with _lock:
        running = list(_running)
        _running.clear()
    wait(running)


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    with _lock:
        for job_id in [j.id for j in _jobs.values() if j.started < cutoff and j.state != "running"]:
            _jobs.pop(job_id).path.unlink(missing_ok=True)
    for stale in folder.iterdir():
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)
