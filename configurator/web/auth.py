"""Sign in and out for organisers and staff, and the account page with its API tokens."""

from __future__ import annotations

from flask import Blueprint, Response, g, request, session, url_for

from .. import accounts, api_tokens
from ..errors import Forbidden, TooManyAttempts
from .access import account_required, public
from .connection import get_db
from .rendering import is_htmx, render, see_other

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
    except TooManyAttempts as exc:
        response = render(
            "auth/login.html", status=429, next=target, email=email, error=exc.message
        )
        response.headers["Retry-After"] = str(accounts.FAILURE_WINDOW_SECONDS)
        return response
    old = session.pop("sid", None)
    if old:
        accounts.end_session(get_db(), old)
    session.clear()
    session["sid"] = accounts.start_session(get_db(), account_id=account_id)
    return see_other(_safe_next(target))


@bp.post("/logout")
@public
def logout() -> Response:
    """End the session on the server and forget the cookie."""
    sid = session.pop("sid", None)
    if sid:
        accounts.end_session(get_db(), sid)
    session.clear()
    return see_other(url_for("home.index"))


def _account_context(**extra: object) -> dict[str, object]:
    db = get_db()
    return {
        "account": accounts.get_account(db, g.account_id),
        "tokens": api_tokens.of_account(db, g.account_id),
        "new_token": None,
        "error": None,
        "label": "",
        **extra,
    }


@bp.get("/account")
@account_required
def account() -> Response:
    """Your account: who you are, and your API tokens."""
    return render("auth/account.html", **_account_context())


@bp.post("/account/tokens")
@account_required
def create_token() -> Response:
    """Issue an API token; it is shown once, in this response, and stored only as a hash."""
    label = request.form.get("label", "").strip()
    if not label:
        return render(
            "auth/account.html",
            "auth/_tokens.html",
            status=422,
            **_account_context(error="Give the token a label, such as “export script”."),
        )
    token = api_tokens.issue(get_db(), g.account_id, label)
    return render("auth/account.html", "auth/_tokens.html", **_account_context(new_token=token))


@bp.post("/account/tokens/<int:token_id>/revoke")
@account_required
def revoke_token(token_id: int) -> Response:
    """Revoke an API token: requests carrying it are refused from now on."""
    api_tokens.revoke(get_db(), g.account_id, token_id)
    if is_htmx():
        return render("auth/account.html", "auth/_tokens.html", **_account_context())
    return see_other(url_for("auth.account"))
