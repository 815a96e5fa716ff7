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
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import jobs
from .db import Database, connect, write
from .errors import Busy

log = logging.getLogger(__name__)
Handler = Callable[[Database, jobs.Job], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}
Periodic = Callable[[Database], None]
PERIODIC: dict[str, tuple[float, Periodic]] = {}
_last_ran: dict[tuple[str, str], float] = {}
# What a concurrent sender thread closes when it ends (its SMTP connections, say).
THREAD_CLEANUPS: list[Callable[[], None]] = []
# The modules whose handlers register themselves with @handler. They are loaded by name when the
# worker starts, because they import this module for its decorator and exceptions.
HANDLER_MODULES = (
    "configurator.delivery.sender",
    "configurator.delivery.planner",
    "configurator.exports.jobs",
)


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


def run_periodic(db: Database) -> None:
    """Call each periodic function that is due; one that fails is logged and tried next time."""
    at = time.monotonic()
    for name, (seconds, function) in sorted(PERIODIC.items()):
        key = (db.url, name)
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


@dataclass(frozen=True)
class Outcome:
    """What a handler's attempt at a job came to, before it is recorded."""

    state: str  # done, retry, give_up, postpone or cancel
    result: dict[str, Any] | None = None
    error: str = ""
    until: datetime | None = None


def attempt(db: Database, job: jobs.Job) -> Outcome:
    """Run a claimed job's handler; what came of it (nothing is recorded yet)."""
    work = HANDLERS.get(job.kind)
    if work is None:
        return Outcome("retry", error=f"This worker does not know jobs of kind {job.kind!r}.")
    try:
        return Outcome("done", work(db, job))
    except Retry as error:
        return Outcome("retry", error=str(error))
    except GiveUp as error:
        return Outcome("give_up", error=str(error))
    except Postpone as error:
        return Outcome("postpone", error=str(error), until=error.until)
    except Cancel as error:
        return Outcome("cancel", error=str(error))
    except Exception as error:  # one bad job must not stop the queue; it is retried, then dead
        log.exception("Job %s (%s) failed", job.id, job.kind)
        return Outcome("retry", error=f"{type(error).__name__}: {error}")


def record(db: Database, job: jobs.Job, worker: str, outcome: Outcome) -> str:
    """Record an outcome in the job table; the state the job is in now ("lost": not ours)."""
    if outcome.state == "done":
        return "done" if jobs.complete(db, job.id, worker, outcome.result) else "lost"
    if outcome.state == "postpone" and outcome.until is not None:
        moved = jobs.postpone(db, job.id, worker, outcome.until, outcome.error)
        return "queued" if moved else "lost"
    if outcome.state == "cancel":
        return "cancelled" if jobs.cancel(db, job.id, worker, outcome.error) else "lost"
    retry = outcome.state != "give_up"
    return jobs.fail(db, job.id, worker, outcome.error, retry=retry) or "lost"


def run_job(db: Database, job: jobs.Job, worker: str) -> str:
    """Run one claimed job and record its outcome; the state it ended in."""
    return record(db, job, worker, attempt(db, job))


class _Recorder:
    """Records the outcomes of concurrent senders: all those waiting go in one transaction.

    A sender waits until its outcome is committed before it takes another job, so at any moment
    at most one job per sender has been done and not recorded.
    """

    def __init__(self, db: Database, worker: str) -> None:
        self.db, self.worker = db, worker
        self.pending: list[list[Any]] = []
        self.lock = threading.Lock()
        self.committing = threading.Lock()

    def record(self, job: jobs.Job, outcome: Outcome) -> str:
        entry: list[Any] = [job, outcome, None]
        with self.lock:
            self.pending.append(entry)
        with self.committing:
            if entry[2] is not None:  # another sender committed it with its own
                return str(entry[2])
            with self.lock:
                batch, self.pending = self.pending, []
            try:
                with write(self.db):
                    for item in batch:
                        item[2] = record(self.db, item[0], self.worker, item[1])
            except Exception:  # one bad record must not lose the others: record them one by one
                log.exception("Recording %d outcomes together failed", len(batch))
                for item in batch:
                    item[2] = record(self.db, item[0], self.worker, item[1])
        return str(entry[2])


def drain(
    db: Database,
    worker: str | None = None,
    batch: int = 50,
    lease: timedelta = jobs.DEFAULT_LEASE,
    concurrency: int = 1,
) -> int:
    """Run every job that is due now, batch by batch, until none is left; how many ran.

    With concurrency above 1, that many senders work on each batch at once, each with its own
    connection (a crash may then repeat up to one job per sender).
    """
    name = worker or worker_name()
    ran = 0
    load_handlers()
    run_periodic(db)
    kinds = sorted(HANDLERS)

    def claim() -> list[jobs.Job]:
        return [j for kind in kinds for j in jobs.claim(db, name, kind, limit=batch, lease=lease)]

    claimed = claim()
    if concurrency > 1 and claimed:
        return _drain_concurrently(db, name, claimed, claim, concurrency)
    while claimed:
        for job in claimed:
            run_job(db, job, name)
            ran += 1
        claimed = claim()
    return ran


def _drain_concurrently(
    db: Database,
    name: str,
    claimed: list[jobs.Job],
    claim: Callable[[], list[jobs.Job]],
    concurrency: int,
) -> int:
    recorder = _Recorder(connect(db.url), name)
    work: queue.Queue[jobs.Job | None] = queue.Queue()

    def sender() -> None:
        own = connect(db.url)
        try:
            while (job := work.get()) is not None:
                try:
                    recorder.record(job, attempt(own, job))
                finally:
                    work.task_done()
        finally:
            own.close()
            for cleanup in THREAD_CLEANUPS:
                cleanup()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    ran = 0
    try:
        while claimed:
            for job in claimed:
                work.put(job)
            work.join()
            ran += len(claimed)
            claimed = claim()
    finally:
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
        recorder.db.close()
    return ran


def run(
    db: Database,
    stop: threading.Event,
    worker: str | None = None,
    batch: int = 50,
    poll: float = 1.0,
    lease: timedelta = jobs.DEFAULT_LEASE,
    concurrency: int = 1,
) -> None:
    """Drain due jobs, then wait poll seconds and look again, until stop is set."""
    try:
        while not stop.is_set():
            try:
                drain(db, worker, batch, lease, concurrency)
            except Busy as error:  # the database is away or busy: look again after the pause
                log.warning("Worker waits: %s", error)
            stop.wait(poll)
    finally:
        for cleanup in THREAD_CLEANUPS:  # this thread's own connections (SMTP, say)
            cleanup()
