"""`/healthz`: what a load balancer asks before it sends a server work."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import migrations
from ..errors import ConfiguratorError, SchemaBehind
from .access import public
from .connection import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> Response:
    """200 when the database answers and its schema is current; 503, saying what is wrong, if not."""
    try:
        db = get_db()
        step = migrations.current(db)
    except SchemaBehind as error:
        return _answer(503, "schema behind", error.message)
    except ConfiguratorError as error:
        return _answer(503, "database unreachable", error.message)
    expected = len(migrations.STEPS)
    if step < expected:
        return _answer(503, "schema behind", f"schema step {step} of {expected}: run `configurator init`")
    return _answer(200, "ok", f"{db.dialect}, schema step {step}")


def _answer(status: int, state: str, detail: str) -> Response:
    response = jsonify({"status": state, "detail": detail})
    response.status_code = status
    response.cache_control.no_store = True
    return response
