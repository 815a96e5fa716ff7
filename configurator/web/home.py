"""The front page."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, url_for

from .access import public
from .rendering import render

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index() -> Response:
    """Signed-in accounts go to their events; everyone else sees what this is."""
    if g.account_id:
        return redirect(url_for("organiser.events"))  # type: ignore[return-value]
    return render("home/index.html")
