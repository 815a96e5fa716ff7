"""An event's team: who organises it and who staffs it, and adding or removing staff."""

from __future__ import annotations

from typing import Any

from . import accounts
from .db import Database, write
from .errors import BadRequest, Conflict, NotFound


def members(db: Database, event_id: int) -> list[dict[str, Any]]:
    """The accounts holding a role on the event: organisers first, then staff, by name."""
    rows = db.execute(
        "SELECT a.id, a.name, a.email, r.role FROM event_roles r JOIN accounts a"
        " ON a.id = r.account_id WHERE r.event_id = ?"
        " ORDER BY r.role = 'staff', a.name COLLATE NOCASE",
        [event_id],
    )
    return [dict(r) for r in rows]


def events_of(db: Database, account_id: int) -> list[dict[str, Any]]:
    """The events an account holds a role on, newest first, with version and attendee count."""
    rows = db.execute(
        "SELECT e.slug, e.title, r.role,"
        " (SELECT max(number) FROM schema_versions v WHERE v.event_id = e.id) AS version,"
        " (SELECT count(*) FROM attendees a WHERE a.event_id = e.id AND a.revoked_at IS NULL)"
        " AS attendees FROM events e JOIN event_roles r ON r.event_id = e.id"
        " WHERE r.account_id = ? ORDER BY e.created_at DESC, e.id DESC",
        [account_id],
    )
    return [dict(r) for r in rows]


def add_staff(
    db: Database, event_id: int, email: str, name: str = "", password: str = ""
) -> dict[str, Any]:
    """Give an existing account the staff role, or create a staff account with this password."""
    email = email.strip()
    row = db.execute("SELECT id FROM accounts WHERE email = ?", [email]).fetchone()
    if row is None:
        if not name.strip() or not password:
            raise BadRequest(
                f"There is no account for {email or 'that address'} yet: give a name and a"
                " password to create one."
            )
        # Hashing the password takes a moment: do it outside any write transaction.
        account_id = accounts.create_account(db, email, name, password)
    else:
        account_id = row["id"]
        if accounts.role_on(db, event_id, account_id) == "organiser":
            raise Conflict(f"{email} already organises this event.")
    accounts.grant(db, event_id, account_id, "staff")
    return accounts.get_account(db, account_id)


def remove_staff(db: Database, event_id: int, account_id: int) -> None:
    """Take the staff role away (the account stays; organisers cannot be removed here)."""
    with write(db):
        if accounts.role_on(db, event_id, account_id) != "staff":
            raise NotFound("That account does not staff this event.")
        db.execute(
            "DELETE FROM event_roles WHERE event_id = ? AND account_id = ? AND role = 'staff'",
            [event_id, account_id],
        )
        # A staff member's open sessions stay, but role_required checks the role on every request.
