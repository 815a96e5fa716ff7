"""The JSON API, described by docs/openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from . import events
from .access import public
from .db import get_db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/events/<slug>/design-schema")
@public
def design_schema(slug: str) -> Response:
    """The compiled JSON Schema every complete design of the event's latest version satisfies."""
    db = get_db()
    event = events.get_event(db, slug)
    response = jsonify(events.compiled(db, event["id"]).json_schema(complete=True))
    response.mimetype = "application/schema+json"
    return response
