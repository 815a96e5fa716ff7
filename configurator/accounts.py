"""Organiser and staff accounts: argon2id passwords, server-side sessions, login rate limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import limits
from .attendees import EMAIL
from .clock import now, stamp
from .db import Database, write
from .errors import BadRequest, Forbidden, NotFound
from .tokens import new_token, token_hash

SESSION_LIFETIME = timedelta(days=14)
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def create_account(db: Database, email: str, name: str, password: str) -> int:
    """Create an account and return its id."""
    email, name = email.strip(), name.strip()
    if not EMAIL.match(email):
        raise BadRequest("Give an email address such as ana@example.org.")
    if not name:
        raise BadRequest("Give a name.")
    if len(password) < 10:
        raise BadRequest("Choose a password of at least 10 characters.")
    with write(db, [f"account-email:{email.lower()}"]):
        if db.execute("SELECT 1 FROM accounts WHERE email = ?", [email]).fetchone():
            raise BadRequest(f"An account for {email} already exists.")
        return db.execute(
            "INSERT INTO accounts (email, name, password_hash, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            [email, name, _hasher.hash(password), stamp()],
        ).fetchone()[0]


def get_account(db: Database, account_id: int) -> dict[str, Any]:
    """The account with this id."""
    row = db.execute(
        "SELECT id, email, name, created_at FROM accounts WHERE id = ?", [account_id]
    ).fetchone()
    if row is None:
        raise NotFound("There is no such account.")
    return dict(row)


def authenticate(db: Database, email: str, password: str, client: str) -> int:
    """The account id for a correct email and password; rate-limited per address and client."""
    key = f"{email.strip().lower()}|{client}"
    message = "Too many failed sign-ins. Wait 15 minutes and try again."
    limits.check(db, key, MAX_FAILURES, FAILURE_WINDOW_SECONDS, message)
    row = db.execute(
        "SELECT id, password_hash FROM accounts WHERE email = ?", [email.strip()]
    ).fetchone()
    try:
        if row is None:
            raise VerificationError()
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        with write(db):
            limits.record(db, key)
        raise Forbidden("That email and password do not match an account.") from None
    with write(db):
        limits.clear(db, key)
        if _hasher.check_needs_rehash(row["password_hash"]):
            db.execute(
                "UPDATE accounts SET password_hash = ? WHERE id = ?",
                [_hasher.hash(password), row["id"]],
            )
    return row["id"]


def start_session(
    db: Database, *, account_id: int | None = None, attendee_id: int | None = None
) -> str:
    """Open a server-side session and return its secret id (for the signed cookie)."""
    sid = new_token()
    with write(db):
        db.execute(
            "INSERT INTO web_sessions (id_hash, account_id, attendee_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [token_hash(sid), account_id, attendee_id, stamp(), stamp(now() + SESSION_LIFETIME)],
        )
    return sid


def session_principal(db: Database, sid: str) -> dict[str, Any] | None:
    """Who a live session belongs to ({account_id, attendee_id}), or None if it ended."""
    row = db.execute(
        "SELECT account_id, attendee_id FROM web_sessions WHERE id_hash = ? AND expires_at > ?",
        [token_hash(sid), stamp()],
    ).fetchone()
    return dict(row) if row else None


def end_session(db: Database, sid: str) -> None:
    """End a session on the server, so a copied cookie stops working too."""
    with write(db):
        db.execute("DELETE FROM web_sessions WHERE id_hash = ?", [token_hash(sid)])


def grant(db: Database, event_id: int, account_id: int, role: str) -> None:
    """Give an account a role on an event: organiser (everything) or staff (read-only)."""
    if role not in ("organiser", "staff"):
        raise BadRequest("A role is organiser or staff.")
    with write(db):
        db.execute(
            "INSERT INTO event_roles (event_id, account_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (event_id, account_id) DO UPDATE SET role = excluded.role",
            [event_id, account_id, role],
        )


def role_on(db: Database, event_id: int, account_id: int | None) -> str | None:
    """The account's role on the event, or None."""
    if account_id is None:
        return None
    row = db.execute(
        "SELECT role FROM event_roles WHERE event_id = ? AND account_id = ?",
        [event_id, account_id],
    ).fetchone()
    return row[0] if row else None
