"""`configurator worker`: claim due jobs from the job table and run each kind's handler.

A handler takes the database and the job, does the work and returns what to record with it (or
None). It raises Retry when trying again later may succeed, and GiveUp when it never will. The
worker records every outcome as soon as it is known, one job at a time, so a crash loses at most
the outcome of the job in hand (see jobs.py).
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from . import jobs

log = logging.getLogger(__name__)
Handler = Callable[[sqlite_utils.Database, jobs.Job], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}
Periodic = Callable[[sqlite_utils.Database], None]
PERIODIC: dict[str, tuple[float, Periodic]] = {}
_last_ran: dict[tuple[str, str], float] = {}
# The modules whose handlers register themselves with @handler. They are loaded by name when the
# worker starts, because they import this module for its decorator and exceptions.
HANDLER_MODULES = ("configurator.delivery.sender", "configurator.delivery.planner")


class Retry(Exception):
    """The work failed in a way that trying again later may mend (a busy server, a timeout)."""


class GiveUp(Exception):
    """The work can never succeed as asked (no such address, a refused request)."""


class Postpone(Exception):
    """The work may not happen yet (quiet hours, a rate limit): queue it again, attempt unspent."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until


class Cancel(Exception):
    """The work is rightly not done (no one to send it to): record why, and do not retry."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does one kind of job."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def periodic(name: str, seconds: float) -> Callable[[Periodic], Periodic]:
    """Register a function the worker calls at most every `seconds` (planning reminders, say)."""

    def register(function: Periodic) -> Periodic:
        PERIODIC[name] = (seconds, function)
        return function

    return register


def load_handlers() -> None:
    """Import every module that registers handlers, so this worker knows every kind."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def run_periodic(db: sqlite_utils.Database) -> None:
    """Call each periodic function that is due; one that fails is logged and tried next time."""
    at = time.monotonic()
    for name, (seconds, function) in sorted(PERIODIC.items()):
        key = (str(getattr(db, "path", "")), name)
        if key in _last_ran and at - _last_ran[key] < seconds:
            continue
        _last_ran[key] = at
        try:
            function(db)
        except Exception:  # planning must not stop the queue; it runs again next time
            log.exception("Periodic task %s failed", name)


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
    except Postpone as error:
        return "queued" if jobs.postpone(db, job.id, worker, error.until, str(error)) else "lost"
    except Cancel as error:
        return "cancelled" if jobs.cancel(db, job.id, worker, str(error)) else "lost"
    except Exception as error:  # one bad job must not stop the queue; it is retried, then dead
        log.exception("Job %s (%s) failed", job.id, job.kind)
        return jobs.fail(db, job.id, worker, f"{type(error).__name__}: {error}") or "lost"
    return "done" if jobs.complete(db, job.id, worker, result) else "lost"


def drain(
    db: sqlite_utils.Database,
    worker: str | None = None,
    batch: int = 50,
    lease: timedelta = jobs.DEFAULT_LEASE,
) -> int:
    """Run every job that is due now, batch by batch, until none is left; how many ran."""
    name = worker or worker_name()
    ran = 0
    load_handlers()
    run_periodic(db)
    kinds = sorted(HANDLERS)
    while True:
        claimed = [
            j for kind in kinds for j in jobs.claim(db, name, kind, limit=batch, lease=lease)
        ]
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
    lease: timedelta = jobs.DEFAULT_LEASE,
) -> None:
    """Drain due jobs, then wait poll seconds and look again, until stop is set."""
    while not stop.is_set():
        drain(db, worker, batch, lease)
        stop.wait(poll)
