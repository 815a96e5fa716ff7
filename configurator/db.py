"""The database connection: tuned pragmas, one connection per thread, and the single door for writes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from . import migrations

BUSY_TIMEOUT_MS = 10_000
_local = threading.local()
_writers: dict[str, threading.RLock] = {}
_writers_lock = threading.Lock()


def connect(path: str | os.PathLike[str]) -> sqlite_utils.Database:
    """Open a database with WAL, foreign keys and a busy timeout, migrated to the latest step."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; every write goes through write().
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit that returned is on disk, so an acknowledged save survives power loss too.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db = sqlite_utils.Database(conn)
    db.path = str(path)  # type: ignore[attr-defined]  # caches of compiled schemas key on it
    migrations.apply(db)
    return db


def writer_lock(path: str) -> threading.RLock:
    """The lock this process's writers to the database at path take before BEGIN IMMEDIATE."""
    with _writers_lock:
        return _writers.setdefault(path, threading.RLock())


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block inside one BEGIN IMMEDIATE transaction (a savepoint when nested).

    Writers of one process queue on a lock first: SQLite's busy handler polls with growing
    sleeps, so under load the write lock would sit free while waiters sleep, and the waits, not
    the work, would set the slowest saves. Other processes still meet at BEGIN IMMEDIATE.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    lock = writer_lock(getattr(db, "path", ""))
    if not lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        lock.release()


def thread_connection(path: str) -> sqlite_utils.Database:
    """The calling thread's connection to the database at path, opened once per thread."""
    cache: dict[str, sqlite_utils.Database] = _local.__dict__.setdefault("dbs", {})
    db = cache.get(path)
    if db is None:
        db = cache[path] = connect(path)
    return db


def close_thread_connections() -> None:
    """Close this thread's cached connections (tests and the CLI call this when done)."""
    cache: dict[str, sqlite_utils.Database] = _local.__dict__.get("dbs", {})
    for db in cache.values():
        db.conn.close()
    cache.clear()
