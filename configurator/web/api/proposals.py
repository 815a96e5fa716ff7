"""Proposals, supports and answers through the JSON API."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from ... import proposals as domain
from ..access import role_required
from ..connection import get_db

bp = Blueprint("cocreation_api", __name__, url_prefix="/api/v1")


@bp.get("/events/<slug>/proposals")
@role_required("staff")
def proposals(slug: str) -> Response:
    """Every visible proposal with its answer, support count and supporters (staff, API token)."""
    return jsonify(domain.export_document(get_db(), g.event))
