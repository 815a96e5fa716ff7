"""The attendee's side of delivery: unsubscribe links, message preferences, feedback answers."""

from __future__ import annotations

from flask import Blueprint, Response, g, request, url_for
from flask_babel import gettext

from .. import attendees, events
from ..delivery import consent, feedback
from ..errors import BadRequest, NotFound
from .access import attendee_required, public
from .connection import get_db
from .rendering import render, see_other

bp = Blueprint("messages", __name__)
# Mail programs unsubscribe with a bare POST (RFC 8058, one click), so this blueprint is exempt
# from CSRF: the signed link in the address is the authority, and it can only opt out.
unsubscribe_bp = Blueprint("unsubscribe", __name__)


def _subscriber(signed: str) -> tuple[dict, dict, str]:
    db = get_db()
    value = consent.unsign(db, "unsubscribe", signed)
    try:
        attendee_id, category = int(value[0]), str(value[1])
    except (TypeError, ValueError, IndexError):
        raise NotFound(
            gettext("This link is not valid. Check that you copied all of it.")
        ) from None
    person = attendees.get_attendee(db, attendee_id)
    event = events.get_event_by_id(db, person["event_id"], with_draft=False)
    return person, event, category


@unsubscribe_bp.route("/u/<unsubscribe_token>", methods=["GET", "POST"])
@public
def unsubscribe(unsubscribe_token: str) -> Response:
    """Stop one kind of message (or all): one click from a mail program, or the form here."""
    person, event, category = _subscriber(unsubscribe_token)
    db = get_db()
    if request.method == "POST":
        if request.form.get("List-Unsubscribe") == "One-Click":
            consent.opt_out(db, person["id"], category)
            return render("messages/unsubscribed.html", event=event, category=category, all=False)
        what = request.form.get("what", category)
        consent.opt_out(db, person["id"], consent.EVERYTHING if what == "all" else category)
        return see_other(
            url_for("unsubscribe.unsubscribe", unsubscribe_token=unsubscribe_token, done=what)
        )
    out = consent.opted_out(db, person["id"])
    return render(
        "messages/unsubscribe.html",
        event=event,
        category=category,
        titles=consent.CATEGORY_TITLES,
        stopped=category in out or consent.EVERYTHING in out,
        stopped_all=consent.EVERYTHING in out,
        done=request.args.get("done"),
    )


@bp.route("/e/<slug>/messages", methods=["GET", "POST"])
@attendee_required
def preferences(slug: str) -> Response:
    """Which kinds of message the attendee wants."""
    db = get_db()
    if request.method == "POST":
        consent.set_choices(db, g.attendee["id"], set(request.form.getlist("want")))
        return see_other(url_for("messages.preferences", slug=slug, saved=1))
    out = consent.opted_out(db, g.attendee["id"])
    return render(
        "messages/preferences.html",
        event=g.event,
        titles=consent.CATEGORY_TITLES,
        wanted={
            c for c in consent.CATEGORY_TITLES if c not in out and consent.EVERYTHING not in out
        },
        saved=bool(request.args.get("saved")),
    )


@bp.route("/f/<feedback_token>", methods=["GET", "POST"])
@public
def give_feedback(feedback_token: str) -> Response:
    """The one-question feedback form a message after a session links to."""
    db = get_db()
    if request.method == "POST":
        try:
            feedback.answer(
                db, feedback_token, request.form.get("rating", ""), request.form.get("comment", "")
            )
        except BadRequest as error:
            return render(
                "messages/feedback.html",
                status=422,
                ask=feedback.ask(db, feedback_token),
                problems=error.problems,
                form=request.form,
            )
        return see_other(url_for("messages.give_feedback", feedback_token=feedback_token, thanks=1))
    ask = feedback.ask(db, feedback_token)
    rating = request.args.get("rating", "")
    return render(
        "messages/feedback.html",
        ask=ask,
        problems=[],
        form={"rating": rating or str(ask.rating or ""), "comment": ask.comment},
        thanks=bool(request.args.get("thanks")),
        schema=events.compiled(db, ask.event_id),
    )
