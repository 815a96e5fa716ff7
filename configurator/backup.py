"""Consistent online backups of the database, and restoring one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from . import migrations
from .db import BUSY_TIMEOUT_MS, connect
from .errors import ConfiguratorError


class BackupFailed(ConfiguratorError):
    """A backup could not be made, or a file is not a usable backup."""

    status = 400


def backup(db_path: str | Path, target: str | Path) -> dict[str, int]:
    """Copy the live database to `target` in one read transaction (writers keep going)."""
    target = Path(target)
    if target.exists():
        raise BackupFailed(f"{target} already exists; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    db = connect(db_path)
    try:
        # VACUUM INTO reads one snapshot, so the copy is consistent while writes go on in WAL.
        db.conn.execute("VACUUM INTO ?", [str(target)])
    finally:
        db.conn.close()
    return verify(target)


def verify(path: str | Path) -> dict[str, int]:
    """Check a backup's integrity and that it is a configurator database; return row counts."""
    path = Path(path)
    if not path.is_file():
        raise BackupFailed(f"{path} does not exist.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupFailed(f"{path} is damaged: {result}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "migrations" not in tables or "designs" not in tables:
                raise BackupFailed(f"{path} is not a configurator database.")
            # The table names are this function's constants, never input.
            return {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 # nosec B608
                for t in ("events", "attendees", "designs", "picks")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupFailed(f"{path} is not a SQLite database ({exc}).") from None


def restore(backup_path: str | Path, db_path: str | Path) -> dict[str, int]:
    """Replace the database's contents with a verified backup, in one transaction."""
    counts = verify(backup_path)
    source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    target = sqlite3.connect(str(db_path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    migrations.apply(connect(db_path))
    return counts
