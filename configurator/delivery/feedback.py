"""Feedback after a session: one question, 1 to 5 and an optional comment, from a signed link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import events
from ..clock import stamp
from ..db import Database, write
from ..errors import BadRequest, NotFound, Problem
from . import consent

MAX_COMMENT = 2000


@dataclass(frozen=True)
class Ask:
    """What a feedback link asks about: whose answer, on which session."""

    attendee_id: int
    event_id: int
    section_id: str
    option_id: str
    title: str
    event_title: str
    rating: int | None
    comment: str


def ask(db: Database, token: str) -> Ask:
    """The question a feedback link asks, with the answer already given (if any)."""
    value = consent.unsign(db, "feedback", token)
    try:
        attendee_id, sid, oid = int(value[0]), str(value[1]), str(value[2])
    except (TypeError, ValueError, IndexError):
        raise NotFound("This link is not valid. Check that you copied all of it.") from None
    row = db.execute(
        "SELECT event_id, revoked_at FROM attendees WHERE id = ?", [attendee_id]
    ).fetchone()
    if row is None or row["revoked_at"]:
        raise NotFound("This feedback link no longer works.")
    schema = events.compiled(db, row["event_id"])
    option = schema.options.get((sid, oid))
    if option is None:
        raise NotFound("This session is no longer in the programme.")
    given = db.execute(
        "SELECT rating, comment FROM feedback WHERE attendee_id = ? AND section_id = ?"
        " AND option_id = ?",
        [attendee_id, sid, oid],
    ).fetchone()
    return Ask(
        attendee_id,
        row["event_id"],
        sid,
        oid,
        option.title,
        schema.event["title"],
        given["rating"] if given else None,
        given["comment"] if given else "",
    )


def answer(db: Database, token: str, rating: str, comment: str) -> Ask:
    """Store (or change) the answer a feedback link gives; BadRequest names what is wrong."""
    question = ask(db, token)
    comment = (comment or "").strip()
    problems = []
    if rating not in ("1", "2", "3", "4", "5"):
        problems.append(Problem("rating", "Rating", "Choose a rating from 1 to 5."))
    if len(comment) > MAX_COMMENT:
        problems.append(
            Problem("comment", "Comment", f"Keep the comment under {MAX_COMMENT} characters.")
        )
    if problems:
        raise BadRequest("Your answer could not be saved.", problems)
    moment = stamp()
    with write(db):
        db.execute(
            "INSERT INTO feedback (event_id, attendee_id, section_id, option_id, rating, comment,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (attendee_id, section_id, option_id) DO UPDATE SET"
            " rating = excluded.rating, comment = excluded.comment,"
            " updated_at = excluded.updated_at",
            [
                question.event_id,
                question.attendee_id,
                question.section_id,
                question.option_id,
                int(rating),
                comment,
                moment,
                moment,
            ],
        )
    return ask(db, token)


def ratings(db: Database, event_id: int) -> dict[tuple[str, str], list[int]]:
    """Every rating given per session."""
    found: dict[tuple[str, str], list[int]] = {}
    for sid, oid, rating in db.execute(
        "SELECT section_id, option_id, rating FROM feedback WHERE event_id = ?", [event_id]
    ):
        found.setdefault((sid, oid), []).append(rating)
    return found


def comments(db: Database, event_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The latest comments, newest first, with the session they are about."""
    rows = db.execute(
        "SELECT section_id, option_id, rating, comment, updated_at FROM feedback"
        " WHERE event_id = ? AND comment != '' ORDER BY updated_at DESC LIMIT ?",
        [event_id, limit],
    )
    return [dict(r) for r in rows]
