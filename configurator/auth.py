"""Sign in and out for organisers and staff."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, session, url_for

from . import accounts
from .access import public
from .db import get_db
from .errors import Forbidden
from .rendering import render

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("organiser.events")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response:
    """Show the sign-in form, or check it and start a server-side session."""
    target = request.args.get("next", "")
    if request.method == "GET":
        return render("auth/login.html", next=target, email="", error=None)
    email = request.form.get("email", "")
    try:
        account_id = accounts.authenticate(
            get_db(), email, request.form.get("password", ""), request.remote_addr or "?"
        )
    except Forbidden as exc:
        return render("auth/login.html", status=401, next=target, email=email, error=exc.message)
    old = session.pop("sid", None)
    if old:
        accounts.end_session(get_db(), old)
    session.clear()
    session["sid"] = accounts.start_session(get_db(), account_id=account_id)
    return redirect(_safe_next(target), code=303)  # type: ignore[return-value]


@bp.post("/logout")
@public
def logout() -> Response:
    """End the session on the server and forget the cookie."""
    sid = session.pop("sid", None)
    if sid:
        accounts.end_session(get_db(), sid)
    session.clear()
    return redirect(url_for("home.index"), code=303)  # type: ignore[return-value]
