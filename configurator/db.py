"""The database connection: one per thread, tuned pragmas, and the single door for writes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import sqlite_utils
from flask import Flask, current_app

from . import migrations

BUSY_TIMEOUT_MS = 10_000
_local = threading.local()


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


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block inside one BEGIN IMMEDIATE transaction (a savepoint when nested)."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def get_db() -> sqlite_utils.Database:
    """The calling thread's connection to the app's database, opened once per thread."""
    path = current_app.config["DATABASE"]
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


@click.command("init-db")
def init_db_command() -> None:
    """Create or migrate the database."""
    db = get_db()
    click.echo(
        f"Database ready at {current_app.config['DATABASE']} (step {migrations.current(db)})."
    )


def init_app(app: Flask) -> None:
    """Register the database commands with the app."""
    app.cli.add_command(init_db_command)
