"""`configurator worker`: claim due jobs from the job table and run each kind's handler.

A handler takes the database and the job, does the work and returns what to record with it (or
None). It raises Retry when trying again later may succeed, and GiveUp when it never will. The
worker records every outcome as soon as it is known, one job at a time, so a crash loses at most
the outcome of the job in hand (see jobs.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import sqlite_utils

from . import jobs

log = logging.getLogger(__name__)
Handler = Callable[[sqlite_utils.Database, jobs.Job], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


class Retry(Exception):
    """The work failed in a way that trying again later may mend (a busy server, a timeout)."""


class GiveUp(Exception):
    """The work can never succeed as asked (no such address, a refused request)."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does one kind of job."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def worker_name() -> str:
    """A name that tells workers apart in the job table: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(db: sqlite_utils.Database, job: jobs.Job, worker: str) -> str:
    """Run one claimed job and record its outcome; the state it ended in."""
    work = HANDLERS.get(job.kind)
    if work is None:
        jobs.fail(db, job.id, worker, f"This worker does not know jobs of kind {job.kind!r}.")
        return "queued"
    try:
        result = work(db, job)
    except Retry as error:
        return jobs.fail(db, job.id, worker, str(error)) or "lost"
    except GiveUp as error:
        return jobs.fail(db, job.id, worker, str(error), retry=False) or "lost"
    except Exception as error:  # one bad job must not stop the queue; it is retried, then dead
        log.exception("Job %s (%s) failed", job.id, job.kind)
        return jobs.fail(db, job.id, worker, f"{type(error).__name__}: {error}") or "lost"
    return "done" if jobs.complete(db, job.id, worker, result) else "lost"


def drain(db: sqlite_utils.Database, worker: str | None = None, batch: int = 50) -> int:
    """Run every job that is due now, batch by batch, until none is left; how many ran."""
    name = worker or worker_name()
    ran = 0
    kinds = sorted(HANDLERS)
    while True:
        claimed = [j for kind in kinds for j in jobs.claim(db, name, kind, limit=batch)]
        if not claimed:
            return ran
        for job in claimed:
            run_job(db, job, name)
            ran += 1


def run(
    db: sqlite_utils.Database,
    stop: threading.Event,
    worker: str | None = None,
    batch: int = 50,
    poll: float = 1.0,
) -> None:
    """Drain due jobs, then wait poll seconds and look again, until stop is set."""
    while not stop.is_set():
        drain(db, worker, batch)
        stop.wait(poll)
