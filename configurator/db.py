"""The database door: SQLite (the embedded default) or PostgreSQL, one connection per thread,
and the single door for writes.

The domain writes `?` SQL against a `Database`; SQLite runs it through sqlite-utils as it is,
PostgreSQL through psycopg (configurator/postgres.py) after the placeholders are translated.
`write(db, locks=[...])` is the one way to change data: `BEGIN IMMEDIATE` on SQLite (which
already serialises every writer, so lock keys are ignored); on PostgreSQL a transaction that first
takes an advisory lock per key, in sorted order, under a lock timeout.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from . import migrations
from .database import BUSY, POSTGRESQL, SAME_MOMENT, SQLITE, Database, MissingLocks
from .errors import Busy, Conflict

__all__ = ["POSTGRESQL", "SQLITE", "Database", "MissingLocks", "connect", "write"]
BUSY_TIMEOUT_MS = 10_000
_local = threading.local()
_writers: dict[str, threading.RLock] = {}
_writers_lock = threading.Lock()

class SqliteDatabase(sqlite_utils.Database):
    """sqlite-utils over one sqlite3 connection, exactly as before, plus the door's few names."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        super().__init__(conn)
        self.url = self.path = path

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> sqlite3.Cursor:
        """Run one statement; a unique clash is a Conflict, a write lock not won in time Busy."""
        try:
            return self.conn.execute(sql, () if parameters is None else parameters)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise Conflict(SAME_MOMENT) from exc
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise Busy(BUSY) from exc
            raise

    def batches(self, sql: str, parameters: Sequence[Any], size: int) -> Iterator[list[Any]]:
        """The rows of one query as plain tuples, size at a time, from one read snapshot."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            cursor.execute(sql, parameters)
            while batch := cursor.fetchmany(size):
                yield batch
        finally:
            cursor.close()

    def change_marker(self) -> tuple[int, int]:
        """data_version moves when another connection commits, total_changes when this one does."""
        return (self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def is_postgres(target: str | os.PathLike[str]) -> bool:
    """Whether a database setting names a PostgreSQL server rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def sqlite_path(target: str | os.PathLike[str]) -> str:
    """The file of a SQLite setting: a path, or a sqlite:/// URL."""
    text = str(target)
    return text[len("sqlite:///") :] if text.startswith("sqlite:///") else text


def connect(target: str | os.PathLike[str]) -> Database:
    """Open the database a setting names: a SQLite file (created and migrated) or a PostgreSQL URL.

    PostgreSQL is migrated only by `configurator init` (under an advisory lock); opening one
    whose schema is behind the code raises SchemaBehind, naming that command.
    """
    if is_postgres(target):
        from . import postgres

        return postgres.connect(str(target))
    return connect_sqlite(sqlite_path(target))


def connect_sqlite(path: str | os.PathLike[str]) -> SqliteDatabase:
    """Open a SQLite file with WAL, foreign keys and a busy timeout, migrated to the latest step."""
    db = _open_sqlite(path)
    migrations.apply(db)
    return db


def _open_sqlite(path: str | os.PathLike[str]) -> SqliteDatabase:
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
    return SqliteDatabase(conn, str(path))


def migrate(target: str | os.PathLike[str]) -> int:
    """Bring the schema up to date (once, under a lock, however many run this); steps applied."""
    if is_postgres(target):
        from . import postgres

        return postgres.migrate(str(target))
    db = _open_sqlite(sqlite_path(target))
    try:
        return migrations.apply(db)
    finally:
        db.close()


def writer_lock(path: str) -> threading.RLock:
    """The lock this process's writers to the database at path take before BEGIN IMMEDIATE."""
    with _writers_lock:
        return _writers.setdefault(path, threading.RLock())


@contextlib.contextmanager
def write(db: Database, locks: Iterable[str] = ()) -> Iterator[Database]:
    """Run a block inside one write transaction (a savepoint when nested).

    locks names what the block's checks depend on (an option's seats, an event's slug): on
    PostgreSQL each key is an advisory lock taken in sorted order before the block runs, so two
    writers that check the same thing never both pass; SQLite's BEGIN IMMEDIATE needs none.
    """
    if db.dialect == POSTGRESQL:
        with db.transaction(locks):  # type: ignore[attr-defined]
            yield db
        return
    with _sqlite_write(db):  # type: ignore[arg-type]
        yield db


@contextlib.contextmanager
def _sqlite_write(db: SqliteDatabase) -> Iterator[None]:
    """BEGIN IMMEDIATE, with this process's writers queued on a lock first.

    SQLite's busy handler polls with growing sleeps, so under load the write lock would sit free
    while waiters sleep, and the waits, not the work, would set the slowest saves. Other processes
    still meet at BEGIN IMMEDIATE.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    lock = writer_lock(db.path)
    if not lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise Busy(BUSY)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise Busy(BUSY) from exc
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        lock.release()


def seat_lock(event_id: int, key: tuple[str, str]) -> str:
    """The lock that guards the seats of one option of an event."""
    return f"seats:{event_id}:{key[0]}/{key[1]}"


def require_locks(db: Database, locks: Iterable[str]) -> None:
    """Inside write(): make sure the transaction holds these locks (see MissingLocks)."""
    if db.dialect == POSTGRESQL:
        db.require_locks(locks)  # type: ignore[attr-defined]


def thread_connection(target: str) -> Database:
    """The calling thread's connection to the database target names, opened once per thread."""
    cache: dict[str, Database] = _local.__dict__.setdefault("dbs", {})
    db = cache.get(target)
    if db is None:
        db = cache[target] = connect(target)
    return db


def release_thread_connections() -> None:
    """Give this thread's PostgreSQL connections back to their pool (at the end of a request)."""
    for db in _local.__dict__.get("dbs", {}).values():
        if db.dialect == POSTGRESQL:
            db.release()  # type: ignore[attr-defined]


def close_thread_connections() -> None:
    """Close this thread's cached connections (tests and the CLI call this when done)."""
    cache: dict[str, Database] = _local.__dict__.get("dbs", {})
    for db in cache.values():
        db.close()
    cache.clear()
