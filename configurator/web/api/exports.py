"""Exports through the JSON API, for staff holding an API token."""

from __future__ import annotations

from flask import Blueprint, Response, g

from ..access import role_required
from ..staff import streamed

bp = Blueprint("api_exports", __name__, url_prefix="/api/v1")


@bp.get("/events/<slug>/exports/<fmt>")
@role_required("staff")
def export(slug: str, fmt: str) -> Response:
    """One export of the event, streamed; `?section=&option=` narrow rosters and channel lists."""
    return streamed(g.event, fmt)
