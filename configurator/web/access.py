"""Who may use a route: every view declares it with one of these decorators."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for

from .. import accounts, api_tokens, attendees, events
from ..errors import Forbidden, NotFound
from .connection import get_db

F = TypeVar("F", bound=Callable[..., Any])
ROLES = ("staff", "organiser")  # in rising order of power


def _declare(view: Callable[..., Any], who: str) -> None:
    view.access = who  # type: ignore[attr-defined]  # the authorisation test reads this


def public(view: F) -> F:
    """Anyone may use this route."""
    _declare(view, "public")
    return view


def load_principal() -> None:
    """Set g.account_id and g.attendee_id from the server-side session the cookie names."""
    g.account_id = g.attendee_id = None
    g.via_token = False
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer ") and request.path.startswith("/api/"):
        g.account_id = api_tokens.account_for(get_db(), bearer.removeprefix("Bearer "))
        g.via_token = g.account_id is not None
        if not g.via_token:
            raise Forbidden("This API token is not valid.")
        return
    sid = session.get("sid")
    if not sid:
        return
    principal = accounts.session_principal(get_db(), sid)
    if principal is None:
        session.pop("sid", None)
        return
    g.account_id = principal["account_id"]
    g.attendee_id = principal["attendee_id"]


def account_required(view: F) -> F:
    """Signed-in organisers and staff only; others go to the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.account_id is None:
            if request.path.startswith("/api/"):
                raise Forbidden("Sign in or send an API token.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    _declare(wrapped, "account")
    return wrapped  # type: ignore[return-value]


def role_required(role: str) -> Callable[[F], F]:
    """Accounts holding at least this role on the event named by the `slug` argument."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.account_id is None:
                if request.path.startswith("/api/"):
                    raise Forbidden("Sign in or send an API token.")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            db = get_db()
            event = events.get_event(db, kwargs["slug"])
            held = accounts.role_on(db, event["id"], g.account_id)
            if held is None:
                # Another organiser's event looks exactly like no event at all.
                raise NotFound(f"There is no event called {kwargs['slug']!r}.")
            if ROLES.index(held) < ROLES.index(role):
                raise Forbidden("Your role on this event is read-only.")
            g.event, g.role = event, held
            return view(*args, **kwargs)

        _declare(wrapped, role)
        return wrapped  # type: ignore[return-value]

    return decorator


def attendee_required(view: F) -> F:
    """The attendee whose session cookie names the event in the `slug` argument."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.attendee_id is None:
            raise Forbidden("Open your personal link to design your experience.")
        db = get_db()
        attendee = attendees.get_attendee(db, g.attendee_id)
        event = events.get_event(db, kwargs["slug"], with_draft=False)
        if attendee["event_id"] != event["id"]:
            raise NotFound(f"There is no event called {kwargs['slug']!r} for you.")
        if attendee["revoked_at"]:
            raise Forbidden("This personal link has been revoked. Ask the organiser for a new one.")
        g.attendee, g.event = attendee, event
        return view(*args, **kwargs)

    _declare(wrapped, "attendee")
    return wrapped  # type: ignore[return-value]
