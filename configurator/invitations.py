"""Inviting attendees in bulk, re-issuing their links, and the links as a CSV for a mail merge."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import attendees
from .attendees import Invitation
from .db import Database, write
from .errors import BadRequest, NotFound, Problem
from .exports.writers import defuse

LINK_COLUMNS = ["name", "email", "link"]


def read_people_csv(text: str) -> list[tuple[str, str]]:
    """(name, email) pairs from a CSV with name and email columns; every bad row is named."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"name", "email"} <= columns:
        raise BadRequest("The CSV needs a header row with name and email columns.")
    people, problems = [], []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
        try:
            people.append(attendees.clean_person(row["name"], row["email"]))
        except BadRequest as exc:
            problems.append(Problem("", f"line {line}", exc.message))
    if problems:
        raise BadRequest(f"{len(problems)} row(s) of the CSV cannot be used.", problems)
    if not people:
        raise BadRequest("The CSV has no rows.")
    return people


def invite_people(
    db: Database, event_id: int, people: list[tuple[str, str]]
) -> list[Invitation]:
    """Invite everyone in one transaction (all or none) and return the new links' secrets."""
    with write(db):
        return [attendees.invite(db, event_id, name, email) for name, email in people]


def reissue(db: Database, event_id: int, attendee_ids: list[int]) -> list[Invitation]:
    """New personal links for these attendees: old links and the sessions they opened stop working."""
    if not attendee_ids:
        raise BadRequest("Tick the attendees whose links should be issued again.")
    with write(db):
        issued = []
        for attendee_id in attendee_ids:
            attendee = attendees.get_attendee(db, attendee_id)
            if attendee["event_id"] != event_id:
                raise BadRequest("One of the ticked attendees is not invited to this event.")
            issued.append(attendees.invite(db, event_id, attendee["name"], attendee["email"]))
            db.execute("DELETE FROM web_sessions WHERE attendee_id = ?", [attendee_id])
    return issued


def revoke(db: Database, event_id: int, attendee_id: int) -> dict[str, Any]:
    """Revoke an attendee of this event (NotFound for anyone else's) and return them."""
    attendee = attendees.get_attendee(db, attendee_id)
    if attendee["event_id"] != event_id:
        raise NotFound("There is no such attendee at this event.")
    attendees.revoke(db, attendee_id)
    return attendee


def personal_link(base_url: str, token: str) -> str:
    """The address an attendee opens to design their experience."""
    return f"{base_url.rstrip('/')}/a/{token}"


def links_csv(invitations: list[Invitation], base_url: str) -> str:
    """name,email,link rows for a mail merge."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LINK_COLUMNS)
    for inv in invitations:
        writer.writerow(
            [
                defuse(inv.attendee["name"]),
                defuse(inv.attendee["email"]),
                personal_link(base_url, inv.token),
            ]
        )
    return out.getvalue()


def attendee_rows(db: Database, event_id: int) -> list[dict[str, Any]]:
    """Every invited attendee with how far they got: opened, started, confirmed."""
    rows = db.execute(
        "SELECT a.id, a.name, a.email, a.source, a.invited_at, a.opened_at, a.revoked_at,"
        " d.status, d.started_at, d.confirmed_at, d.needs_attention"
        " FROM attendees a LEFT JOIN designs d ON d.attendee_id = a.id"
        " WHERE a.event_id = ? ORDER BY a.name COLLATE NOCASE, a.id",
        [event_id],
    )
    return [dict(r) for r in rows]


def progress(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many attendees were invited, opened their link, started and confirmed."""
    live = [r for r in rows if not r["revoked_at"]]
    return {
        "invited": len(live),
        "opened": sum(1 for r in live if r["opened_at"]),
        "started": sum(1 for r in live if r["status"]),
        "confirmed": sum(1 for r in live if r["status"] == "confirmed"),
        "attention": sum(1 for r in live if r["needs_attention"]),
        "revoked": len(rows) - len(live),
    }
