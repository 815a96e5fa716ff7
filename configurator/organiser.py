"""The organiser console: events, schema editing, imports, publishing, invitations."""

from __future__ import annotations

from flask import Blueprint, Response, g

from .access import account_required
from .db import get_db
from .rendering import render

bp = Blueprint("organiser", __name__)


@bp.get("/events")
@account_required
def events() -> Response:
    """The events this account organises or staffs."""
    rows = (
        get_db()
        .execute(
            "SELECT e.slug, e.title, r.role FROM events e JOIN event_roles r ON r.event_id = e.id"
            " WHERE r.account_id = ? ORDER BY e.created_at DESC",
            [g.account_id],
        )
        .fetchall()
    )
    return render("organiser/events.html", events=rows)
