"""The PostgreSQL dialect of the database door: psycopg 3 with a connection pool per process.

The domain's SQL is written for both engines with `?` placeholders; here each text becomes
psycopg's `%s` once (cached), rows answer by index and by name like sqlite3.Row, Python's
booleans are stored as the integers SQLite stores, and integer sums come back as int. A write
transaction takes its advisory locks first, in sorted order, under a lock timeout, so a writer
waits its turn instead of overselling, and never hangs: a lock not won in time is Busy (503).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import psycopg
import psycopg.adapt
import psycopg.errors
import psycopg.rows
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from . import migrations
from .database import BUSY, POSTGRESQL, SAME_MOMENT, MissingLocks
from .errors import Busy, Conflict, SchemaBehind

UNREACHABLE = "The database cannot be reached just now; try again in a few seconds."
# A test sets this to False to show that without the locks seats are oversold (never in use).
TAKE_LOCKS = True
_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def lock_timeout() -> float:
    """Seconds a write waits for a lock before it gives up with Busy (CONFIGURATOR_LOCK_TIMEOUT)."""
    return float(os.environ.get("CONFIGURATOR_LOCK_TIMEOUT", "5"))


def pool_size() -> int:
    """Connections one process may hold at once (CONFIGURATOR_POOL_SIZE)."""
    return int(os.environ.get("CONFIGURATOR_POOL_SIZE", "12"))


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """A `?` text as psycopg's: `%` doubled, each `?` a `%s` (no text of ours has a literal `?`)."""
    return sql.replace("%", "%%").replace("?", "%s")


def lock_number(key: str) -> int:
    """The signed 64-bit advisory lock number of a lock key (a clash only serialises more)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Row(tuple):
    """A result row read by position or by column name, like sqlite3.Row; dict(row) works."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if key.__class__ is str:
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index: dict[str, int] = {}
    for n, name in enumerate(names):
        index.setdefault(name, n)
    return type("Row", (Row,), {"__slots__": (), "_index": index})


def row_factory(cursor: Any) -> Any:
    """psycopg's row factory: each row a Row whose names are the cursor's columns."""
    if cursor.description is None:
        return tuple
    return _row_class(tuple(c.name for c in cursor.description))


class _BoolAsInteger(psycopg.adapt.Dumper):
    """True and False go in as 1 and 0, as SQLite stores them (the columns are integers)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _WholeNumeric(psycopg.adapt.Loader):
    """numeric (what sum() of integers is) comes back as int when whole, like SQLite, else float."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_loader("numeric", _WholeNumeric)


def open_connection(url: str) -> psycopg.Connection:
    """One connection outside any pool, configured like the pool's (migrations, copy-to, tests)."""
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=row_factory)
    except psycopg.OperationalError as exc:
        raise Busy(f"{UNREACHABLE} ({str(exc).strip().splitlines()[0]})") from exc
    _configure(conn)
    return conn


def pool(url: str) -> ConnectionPool:
    """This process's pool for url, opened (and its schema checked) on first use."""
    with _pools_lock:
        found = _pools.get(url)
        if found is None:
            check_schema(url)
            found = ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size(),
                kwargs={"autocommit": True, "row_factory": row_factory},
                configure=_configure,
                check=ConnectionPool.check_connection,
                name="configurator",
                open=True,
            )
            _pools[url] = found
    return found


def close_pool(url: str) -> None:
    """Close this process's pool for url, if it has one (tests drop their database after)."""
    with _pools_lock:
        found = _pools.pop(url, None)
    if found is not None:
        found.close()


def check_schema(url: str) -> None:
    """Raise SchemaBehind unless every migration step has been applied to the database."""
    conn = open_connection(url)
    try:
        db = PostgresDatabase(url, None, conn)
        done = migrations.current(db)
    finally:
        conn.close()
    if done < len(migrations.STEPS):
        raise SchemaBehind(
            f"The database is at schema step {done} of {len(migrations.STEPS)}:"
            " run `configurator init` (with the same CONFIGURATOR_DATABASE_URL) first."
        )


def migrate(url: str) -> int:
    """Apply the missing migration steps under the migrations lock; how many ran."""
    conn = open_connection(url)
    try:
        return migrations.apply(PostgresDatabase(url, None, conn))
    finally:
        conn.close()


def connect(url: str) -> PostgresDatabase:
    """A database object on this process's pool for url (a connection is taken on first use)."""
    return PostgresDatabase(url, pool(url))


class PostgresDatabase:
    """The door's PostgreSQL side: one pooled connection at a time, `?` SQL, advisory locks."""

    dialect = POSTGRESQL

    def __init__(
        self, url: str, source: ConnectionPool | None, conn: psycopg.Connection | None = None
    ) -> None:
        # path too: code that keys a per-database cache on db.path finds the URL there
        self.url = self.path = url
        self._pool = source
        self._conn = conn
        self._held: set[str] | None = None

    @property
    def conn(self) -> psycopg.Connection:
        """The connection in use, taken from the pool when there is none."""
        if self._conn is None:
            if self._pool is None:
                raise Busy(UNREACHABLE)
            try:
                self._conn = self._pool.getconn()
            except PoolTimeout as exc:
                raise Busy(BUSY) from exc
        return self._conn

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        """Run one `?` statement; unique clashes are Conflict, lost lock races and outages Busy."""
        conn = self.conn
        try:
            return conn.execute(translate(sql), () if parameters is None else parameters)  # type: ignore[arg-type]
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(SAME_MOMENT) from exc
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as exc:
            raise Busy(BUSY) from exc
        except psycopg.OperationalError as exc:
            if conn.broken:
                self._drop()
                raise Busy(UNREACHABLE) from exc
            raise

    @contextlib.contextmanager
    def transaction(
        self, locks: Iterable[str] = (), timeout: float | None = None
    ) -> Iterator[None]:
        """One transaction (a savepoint when nested) holding an advisory lock per key first."""
        keys = set(locks)
        top = self._held is None
        if top:
            self._held = set()
        try:
            with self.conn.transaction():
                if keys and TAKE_LOCKS:
                    self._lock(keys, lock_timeout() if timeout is None else timeout)
                yield
        except psycopg.OperationalError as exc:  # at COMMIT: the connection went away
            if self._conn is not None and self._conn.broken:
                self._drop()
                raise Busy(UNREACHABLE) from exc
            raise
        finally:
            if top:
                self._held = None

    def _lock(self, keys: set[str], timeout: float) -> None:
        numbers = sorted({lock_number(k) for k in keys})
        self.execute("SELECT set_config('lock_timeout', ?, true)", [f"{int(timeout * 1000)}ms"])
        for number in numbers:
            self.execute("SELECT pg_advisory_xact_lock(?)", [number])
        self._held = (self._held or set()) | keys

    def require_locks(self, locks: Iterable[str]) -> None:
        """Raise MissingLocks unless the open transaction holds every one of these locks."""
        missing = set(locks) - (self._held or set())
        if missing and TAKE_LOCKS:
            raise MissingLocks(missing)

    def batches(self, sql: str, parameters: Sequence[Any], size: int) -> Iterator[list[Any]]:
        """The rows of one query as tuples, size at a time, through a server-side cursor."""
        source = self._pool
        if source is None:
            raise Busy(UNREACHABLE)
        with source.connection() as conn, conn.transaction():
            cursor = conn.cursor(name="batches", row_factory=psycopg.rows.tuple_row)
            with cursor:
                cursor.itersize = size
                cursor.execute(translate(sql), parameters)  # type: ignore[arg-type]
                while batch := cursor.fetchmany(size):
                    yield batch

    def table_names(self) -> list[str]:
        """The tables of the database's current schema."""
        rows = self.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        return [r[0] for r in rows]

    def change_marker(self) -> None:
        """PostgreSQL has no cheap marker of another server's commit: caches must not rely on one."""
        return None

    def release(self) -> None:
        """Give the connection back to the pool between requests (an open transaction ends)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        if self._pool is None:
            conn.close()
        else:
            self._pool.putconn(conn)

    def close(self) -> None:
        """Give the connection back (or close it when it came from no pool)."""
        self.release()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pool is not None:
            self._pool.putconn(conn)  # the pool discards a broken connection
