"""Attempts counted per key within a time window: failed sign-ins, registrations per client."""

from __future__ import annotations

import time

from .db import Database
from .errors import TooManyAttempts


def check(db: Database, key: str, limit: int, window: float, message: str) -> None:
    """Raise TooManyAttempts when the key already has `limit` attempts in the last `window` s."""
    since = time.time() - window
    count = db.execute(
        "SELECT count(*) FROM login_attempts WHERE key = ? AND attempted_at > ?", [key, since]
    ).fetchone()[0]
    if count >= limit:
        raise TooManyAttempts(message)


def record(db: Database, key: str) -> None:
    """Count one attempt for the key, now."""
    db.execute("INSERT INTO login_attempts (key, attempted_at) VALUES (?, ?)", [key, time.time()])


def clear(db: Database, key: str) -> None:
    """Forget the key's attempts (a successful sign-in)."""
    db.execute("DELETE FROM login_attempts WHERE key = ?", [key])
