"""Attendee pages: the personal link, the designer, the agenda and calendar."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, session, url_for

from . import accounts, attendees, designs, events
from .access import attendee_required, public
from .db import get_db
from .rendering import render

bp = Blueprint("attendee", __name__)


@bp.get("/a/<token>")
@public
def open_link(token: str) -> Response:
    """Exchange a personal link for a session cookie, then drop the token from the address."""
    db = get_db()
    attendee = attendees.by_token(db, token)
    attendees.mark_opened(db, attendee["id"])
    old = session.pop("sid", None)
    if old:
        accounts.end_session(db, old)
    session.clear()
    session["sid"] = accounts.start_session(db, attendee_id=attendee["id"])
    event = events.get_event_by_id(db, attendee["event_id"])
    return redirect(url_for("attendee.designer", slug=event["slug"]), code=303)  # type: ignore[return-value]


@bp.get("/e/<slug>/design")
@attendee_required
def designer(slug: str) -> Response:
    """The designer page."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    design = designs.get_design(db, g.attendee["id"])
    return render(
        "attendee/designer.html", event=g.event, schema=schema, design=design, attendee=g.attendee
    )
