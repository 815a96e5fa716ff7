"""Exports prepared in the background, so a browser can show how far along a long one is.

Preparing checks the request at once, then queues a job of kind "export" in the job table.
`configurator worker` writes the file into the shared files folder (files.py) and counts its
progress in the job's row, so the page that polls and the download may each be served by any
server. A prepared file is kept for an hour.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import events, exports, files, jobs
from ..db import Database
from ..errors import Conflict, NotFound
from ..worker import GiveUp, handler

KIND = "export"
KEEP_SECONDS = 60 * 60  # a prepared file can be downloaded for an hour
PROGRESS_EVERY = 0.5  # seconds between progress writes: a bar needs no more
GONE = "This export is no longer here (prepared files are kept for an hour)."
_STATES = {"queued": "running", "running": "running", "done": "ready"}


@dataclass(frozen=True)
class ExportJob:
    """One export being written to a file: how far it is, and where the file will be."""

    id: int
    event_id: int
    fmt: str
    filename: str
    mimetype: str
    path: Path
    total: int
    done: int
    state: str  # running, ready, failed
    error: str

    @property
    def percent(self) -> int:
        """Whole percent done; 100 only once the file is complete."""
        if self.state == "ready":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


def start(
    db: Database,
    event: dict[str, Any],
    fmt: str,
    *,
    section: str | None = None,
    option: str | None = None,
) -> ExportJob:
    """Check the request, then queue the export for the worker; the job as the page shows it."""
    schema = events.compiled(db, event["id"])
    # Preparing checks the format and the scope at once, so a bad request fails here, not later.
    prepared = exports.download(db, event, schema, fmt, section=section, option=option)
    name = f"{secrets.token_urlsafe(12)}-{prepared.filename}"
    job_id = jobs.enqueue(
        db,
        KIND,
        key=f"export:{name}",
        event_id=event["id"],
        payload={
            "fmt": fmt,
            "section": section,
            "option": option,
            "filename": prepared.filename,
            "mimetype": prepared.mimetype,
            "file": name,
        },
        total_steps=prepared.steps,
        max_attempts=3,
    )
    if job_id is None:  # the key is new each time, so this cannot happen twice
        raise Conflict("This export is already being prepared.")
    return get(db, job_id, event["id"])


def get(db: Database, job_id: int | str, event_id: int) -> ExportJob:
    """An export job of this event; NotFound for any other id, another event's jobs included."""
    try:
        job = jobs.get(db, int(job_id), event_id)
    except (NotFound, ValueError):
        raise NotFound(GONE) from None
    if job.kind != KIND:
        raise NotFound(GONE)
    path = files.folder("exports") / job.payload["file"]
    state = _STATES.get(job.state, "failed")
    if state == "ready" and not path.exists():
        raise NotFound(GONE)
    error = ""
    if state == "failed":
        error = f"The export could not be written ({job.last_error or 'it was cancelled'})."
    return ExportJob(
        job.id,
        event_id,
        job.payload["fmt"],
        job.payload["filename"],
        job.payload["mimetype"],
        path,
        job.total_steps,
        job.done_steps,
        state,
        error,
    )


@handler(KIND)
def run(db: Database, job: jobs.Job) -> dict[str, Any]:
    """The worker's handler: write the export to its file, counting progress as it goes."""
    folder = files.folder("exports")
    _forget_old(folder)
    target = folder / job.payload["file"]
    partial = target.with_name(target.name + ".partial")
    done, last = 0, 0.0

    def tick(steps: int) -> None:
        nonlocal done, last
        done += steps
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            jobs.progress(db, job.id, done)

    try:
        event = events.get_event_by_id(db, job.event_id or 0, with_draft=False)
        schema = events.compiled(db, event["id"])
        prepared = exports.download(
            db,
            event,
            schema,
            job.payload["fmt"],
            section=job.payload["section"],
            option=job.payload["option"],
            progress=tick,
        )
        with open(partial, "wb") as out:
            for chunk in prepared.chunks:
                out.write(chunk)
        partial.replace(target)
    except NotFound as exc:  # the event or its version went away: trying again cannot help
        partial.unlink(missing_ok=True)
        raise GiveUp(exc.message) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return {"file": target.name, "bytes": target.stat().st_size}


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for stale in folder.iterdir():
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)

