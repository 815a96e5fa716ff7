"""Attendee pages around the designer: open registration, the personal link, the agenda, calendars."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    request,
    session,
    url_for,
)

from .. import accounts, agenda, attendees, designs, events
from ..clock import now
from ..compiler import CompiledSchema
from ..errors import (
    BadRequest,
    DesignInvalid,
    Forbidden,
    SeatTaken,
    TooManyAttempts,
    WindowClosed,
)
from ..optionschema import parse_instant
from .access import attendee_required, public
from .attendee_context import current_state, page_context
from .connection import get_db
from .rendering import is_htmx, render, see_other

bp = Blueprint("attendee", __name__)
SAVE_ERRORS = (DesignInvalid, SeatTaken, WindowClosed)


# --- open registration -----------------------------------------------------------------------


def personal_url(token: str) -> str:
    """The absolute address of a personal link."""
    path = url_for("attendee.open_link", token=token)
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return base + path if base else url_for("attendee.open_link", token=token, _external=True)


def _registration_event(slug: str) -> tuple[dict[str, Any], CompiledSchema]:
    db = get_db()
    event = events.get_event(db, slug, with_draft=False)
    schema = events.compiled(db, event["id"])
    if not schema.event["open_registration"]:
        raise Forbidden(
            f"{schema.event['title']} does not take registrations here. Ask the organiser for"
            " an invitation."
        )
    return event, schema


@bp.route("/e/<slug>/register", methods=["GET", "POST"])
@public
def registration(slug: str) -> Response:
    """The open-registration form: name and email give a personal link."""
    event, schema = _registration_event(slug)
    form = {"name": request.form.get("name", ""), "email": request.form.get("email", "")}
    if request.method == "GET":
        return render("attendee/register.html", "attendee/_register.html", schema=schema, form=form)
    try:
        url = attendees.register(
            get_db(), event, form["name"], form["email"], personal_url, request.remote_addr or "?"
        )
    except (BadRequest, TooManyAttempts) as error:
        return render(
            "attendee/register.html",
            "attendee/_register.html",
            status=429 if isinstance(error, TooManyAttempts) else 422,
            schema=schema,
            form=form,
            error=error.message,
        )
    session["registered"] = {"slug": slug, "url": url, "email": form["email"].strip()}
    if is_htmx():
        return _registered(slug, schema)
    return see_other(url_for("attendee.registered", slug=slug))


@bp.get("/e/<slug>/register/done")
@public
def registered(slug: str) -> Response:
    """Show a new personal link once, or say where a known address's link went."""
    _event, schema = _registration_event(slug)
    return _registered(slug, schema)


def _registered(slug: str, schema: CompiledSchema) -> Response:
    done = session.pop("registered", None)
    if not done or done.get("slug") != slug:
        return see_other(url_for("attendee.registration", slug=slug))
    response = render(
        "attendee/register.html", "attendee/_register.html", schema=schema, done=done, form={}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the personal link -----------------------------------------------------------------------


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
    event = events.get_event_by_id(db, attendee["event_id"], with_draft=False)
    return see_other(url_for("designer.page", slug=event["slug"]))


# --- my agenda and the calendar --------------------------------------------------------------


@bp.get("/e/<slug>/agenda")
@attendee_required
def my_agenda(slug: str) -> Response:
    """The attendee's sessions in time order, the .ics download and the calendar feed."""
    state = current_state()
    feed = session.pop("feed_url", None)
    entries = agenda.entries(state.schema, state.document)
    by_day = [(day, list(items)) for day, items in itertools.groupby(entries, lambda e: e.day)]
    return render(
        "attendee/agenda.html",
        **page_context(state, entries=entries, by_day=by_day, feed_url=feed),
    )


@bp.get("/e/<slug>/agenda.ics")
@attendee_required
def agenda_ics(slug: str) -> Response:
    """Download the agenda as an iCalendar file."""
    state = current_state()
    return _ics(state.schema, state.attendee, state.design, f"{slug}-agenda.ics")


@bp.post("/e/<slug>/agenda/feed")
@attendee_required
def new_feed(slug: str) -> Response:
    """Make a new private calendar-feed address (the previous one stops working)."""
    feed = attendees.new_feed_token(get_db(), g.attendee["id"])
    url = url_for("attendee.feed", feed_token=feed, _external=True)
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    if base:
        url = base + url_for("attendee.feed", feed_token=feed)
    if is_htmx():
        state = current_state()
        return render(
            "attendee/agenda.html", "attendee/_feed.html", **page_context(state, feed_url=url)
        )
    session["feed_url"] = url
    return see_other(url_for("attendee.my_agenda", slug=slug) + "#feed")


@bp.get("/feed/<feed_token>.ics")
@public
def feed(feed_token: str) -> Response:
    """The private calendar feed: the agenda for calendar apps, with no cookie needed."""
    db = get_db()
    attendee = attendees.by_feed_token(db, feed_token)
    schema = events.compiled(db, attendee["event_id"])
    design = designs.get_design(db, attendee["id"])
    response = _ics(schema, attendee, design, None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ics(
    schema: CompiledSchema,
    attendee: dict[str, Any],
    design: dict[str, Any] | None,
    filename: str | None,
) -> Response:
    modified: datetime = parse_instant(design["updated_at"]) if design else now()
    body = agenda.calendar(schema, attendee["id"], design["document"] if design else {}, modified)
    response = make_response(body)
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
