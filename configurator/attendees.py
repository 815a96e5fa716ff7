"""Attendees: invitations, personal links (stored as hashes), revocation, open registration."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import limits
from .clock import now, stamp
from .db import Database, write
from .delivery import outbox
from .errors import BadRequest, Forbidden, NotFound
from .tokens import new_token, token_hash

EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,200}\.[^@\s]{1,60}$")


@dataclass(frozen=True)
class Invitation:
    """A new attendee and the secrets only this moment knows in clear."""

    attendee: dict[str, Any]
    token: str
    feed_token: str


def clean_person(name: str, email: str) -> tuple[str, str]:
    """A trimmed name and email, or BadRequest naming what is wrong."""
    name, email = (name or "").strip(), (email or "").strip()
    problems = []
    if not name or len(name) > 200:
        problems.append("a name of 1 to 200 characters")
    if not EMAIL.match(email):
        problems.append("an email address such as ana@example.org")
    if problems:
        raise BadRequest("Please give " + " and ".join(problems) + ".")
    return name, email


def invite(
    db: Database, event_id: int, name: str, email: str, source: str = "invited"
) -> Invitation:
    """Add an attendee (or re-issue the link of an existing one) and return the new secrets."""
    name, email = clean_person(name, email)
    token, feed = new_token(), new_token()
    with write(db, [f"attendees:{event_id}"]):
        existing = db.execute(
            "SELECT id FROM attendees WHERE event_id = ? AND email = ? COLLATE NOCASE",
            [event_id, email],
        ).fetchone()
        if existing:
            db.execute(
                "UPDATE attendees SET token_hash = ?, feed_token_hash = ?, revoked_at = NULL,"
                " name = ? WHERE id = ?",
                [token_hash(token), token_hash(feed), name, existing["id"]],
            )
            attendee_id = existing["id"]
        else:
            attendee_id = db.execute(
                "INSERT INTO attendees (event_id, name, email, token_hash, feed_token_hash,"
                " source, invited_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [event_id, name, email, token_hash(token), token_hash(feed), source, stamp()],
            ).fetchone()[0]
    return Invitation(get_attendee(db, attendee_id), token, feed)


def get_attendee(db: Database, attendee_id: int) -> dict[str, Any]:
    """The attendee with this id; raise NotFound if there is none."""
    row = db.execute("SELECT * FROM attendees WHERE id = ?", [attendee_id]).fetchone()
    if row is None:
        raise NotFound("There is no such attendee.")
    return dict(row)


def by_token(db: Database, token: str) -> dict[str, Any]:
    """The attendee a personal link belongs to; NotFound if unknown, Forbidden if revoked."""
    row = db.execute(
        "SELECT * FROM attendees WHERE token_hash = ?", [token_hash(token or "")]
    ).fetchone()
    if row is None:
        raise NotFound("This personal link is not valid. Check that you copied all of it.")
    if row["revoked_at"]:
        raise Forbidden("This personal link has been revoked. Ask the organiser for a new one.")
    return dict(row)


def by_feed_token(db: Database, token: str) -> dict[str, Any]:
    """The attendee a private calendar feed belongs to."""
    row = db.execute(
        "SELECT * FROM attendees WHERE feed_token_hash = ? AND revoked_at IS NULL",
        [token_hash(token or "")],
    ).fetchone()
    if row is None:
        raise NotFound("This calendar feed does not exist.")
    return dict(row)


def mark_opened(db: Database, attendee_id: int) -> None:
    """Record the first time an attendee opened their link."""
    with write(db):
        db.execute(
            "UPDATE attendees SET opened_at = ? WHERE id = ? AND opened_at IS NULL",
            [stamp(), attendee_id],
        )


def revoke(db: Database, attendee_id: int) -> None:
    """Revoke an attendee's link and end every session it opened."""
    with write(db):
        get_attendee(db, attendee_id)
        db.execute("UPDATE attendees SET revoked_at = ? WHERE id = ?", [stamp(), attendee_id])
        db.execute("DELETE FROM web_sessions WHERE attendee_id = ?", [attendee_id])


def reissue_link(db: Database, attendee_id: int) -> str:
    """Issue a fresh personal link (the old one stops working; the calendar feed keeps going)."""
    return _replace_secret(db, attendee_id, "UPDATE attendees SET token_hash = ? WHERE id = ?")


def new_feed_token(db: Database, attendee_id: int) -> str:
    """Issue a fresh calendar-feed secret (the old feed URL stops working)."""
    return _replace_secret(db, attendee_id, "UPDATE attendees SET feed_token_hash = ? WHERE id = ?")


def _replace_secret(db: Database, attendee_id: int, update: str) -> str:
    secret = new_token()
    with write(db):
        db.execute(update, [token_hash(secret), attendee_id])
    return secret


# --- open registration -----------------------------------------------------------------------

REGISTRATIONS_PER_CLIENT = 10
REGISTRATION_WINDOW_SECONDS = 15 * 60
REISSUE_PAUSE_SECONDS = 15 * 60


def register(
    db: Database,
    event: dict[str, Any],
    name: str,
    email: str,
    link: Callable[[str], str],
    client: str = "?",
) -> str | None:
    """Register someone; return their new personal link, or None when the address was known.

    A known address never sees a link on the page (anyone could type it): the link is re-issued
    into the outbox only, with the name already on file, at most once per pause, and a revoked
    attendee stays revoked. Each client may register a few addresses per window.
    """
    name, email = clean_person(name, email)
    key = f"register|{client}"
    with write(db, [f"attendees:{event['id']}", f"limits:{key}"]):
        limits.check(
            db,
            key,
            REGISTRATIONS_PER_CLIENT,
            REGISTRATION_WINDOW_SECONDS,
            "Too many registrations from here. Wait 15 minutes and try again.",
        )
        limits.record(db, key)
        known = db.execute(
            "SELECT id, name, revoked_at FROM attendees WHERE event_id = ? AND email = ?"
            " COLLATE NOCASE",
            [event["id"], email],
        ).fetchone()
        if known:
            # Anyone can type an address: replacing a link again and again would lock its owner
            # out, so a known address gets a new link by mail at most once per pause.
            last = db.execute(
                "SELECT max(created_at) FROM outbox WHERE attendee_id = ? AND kind = 'link_reissued'",
                [known["id"]],
            ).fetchone()[0]
            paused = last and (now() - datetime.fromisoformat(last)).total_seconds() < (
                REISSUE_PAUSE_SECONDS
            )
            if known["revoked_at"] or paused:
                return None
            attendee_id, person = known["id"], known["name"]
            url = link(reissue_link(db, attendee_id))
        else:
            invitation = invite(db, event["id"], name, email, source="registered")
            attendee_id, person = invitation.attendee["id"], invitation.attendee["name"]
            url = link(invitation.token)
        outbox.queue(
            db,
            event["id"],
            [attendee_id],
            "link_reissued" if known else "registered",
            f"Your personal link for {event['title']}",
            f"Hello {person},\n\nhere is your personal link for {event['title']}:\n{url}\n\n"
            "Open it to design your experience. Keep it to yourself: anyone holding it can"
            " change your choices." + (" Your previous link no longer works." if known else ""),
        )
    return None if known else url
