"""The JSON API, described by docs/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from ... import attendees, designs, events
from ...compiler import CompiledSchema
from ...errors import (
    BadRequest,
    ConfiguratorError,
    DesignInvalid,
    NotFound,
    Problem,
    SeatTaken,
)
from ...optionschema import pointer
from ..access import public
from ..connection import get_db
from ..error_handlers import error_response
from .bodies import read_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUT_KEYS = {"design", "confirm"}


@bp.after_request
def _no_store(response: Response) -> Response:
    # A design is personal data reached through a secret: no cache may keep it.
    if request.endpoint != "api.design_schema":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events/<slug>/design-schema")
@public
def design_schema(slug: str) -> Response:
    """The compiled JSON Schema every complete design of the event's latest version satisfies."""
    db = get_db()
    event = events.get_event(db, slug, with_draft=False)
    response = jsonify(events.compiled(db, event["id"]).json_schema(complete=True))
    response.mimetype = "application/schema+json"
    return response


@bp.get("/designs/<token>")
@public
def get_design(token: str) -> Response:
    """The attendee's design, its status, seats and waitlists."""
    db = get_db()
    attendee = attendees.by_token(db, token)
    schema = events.compiled(db, attendee["event_id"])
    stored = designs.get_design(db, attendee["id"])
    warnings = schema.check(stored["document"]).warnings if stored else []
    return jsonify(designs.design_state(db, attendee, schema, warnings))


@bp.put("/designs/<token>")
@public
def put_design(token: str) -> Response:
    """Save the attendee's whole design (and confirm it when asked)."""
    db = get_db()
    attendee = attendees.by_token(db, token)
    schema = events.compiled(db, attendee["event_id"])
    body, duplicates = read_json()
    if duplicates:
        raise _duplicate_error(schema, duplicates)
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object such as {"design": {}, "confirm": false}.')
    unknown = sorted(set(body) - PUT_KEYS)
    if unknown:
        raise BadRequest(
            "The body may only hold design and confirm, not " + ", ".join(map(repr, unknown)) + "."
        )
    if "design" not in body:
        raise BadRequest('The body needs the design itself: {"design": {...}}.')
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise BadRequest("confirm must be true or false.")
    document = body["design"]
    try:
        saved = designs.save_design(db, attendee, document, confirm=confirm, schema=schema)
    except SeatTaken as error:
        return error_response(
            error.status,
            "SeatTaken",
            error.message,
            error.problems,
            waitlist=_waitlist_offers(schema, token, document, error.problems),
        )
    return jsonify(designs.saved_state(saved))


@bp.post("/designs/<token>/waitlist")
@public
def join_waitlist(token: str) -> tuple[Response, int]:
    """Join the waitlist of a full session or option; 201 when newly joined, 200 if already on it."""
    db = get_db()
    attendee = attendees.by_token(db, token)
    body, duplicates = read_json()
    if duplicates:
        raise BadRequest(f"The key {duplicates[0][1]!r} appears twice in the body.")
    if not isinstance(body, dict):
        raise BadRequest(
            'The body must be a JSON object such as {"section": "...", "option": "..."}.'
        )
    section, option, fmt = body.get("section"), body.get("option"), body.get("format")
    unknown = sorted(set(body) - {"section", "option", "format"})
    if unknown:
        raise BadRequest(
            "The body may only hold section, option and format, not "
            + ", ".join(map(repr, unknown))
            + "."
        )
    if not isinstance(section, str) or not isinstance(option, str):
        raise BadRequest("Name the section and the option, as text.")
    if fmt is not None and not isinstance(fmt, str):
        raise BadRequest("format must be text, such as in_person.")
    already = (section, option) in designs.waitlist_positions(db, attendee["id"])
    designs.join_waitlist(db, attendee, section, option, fmt)
    entry = next(
        w
        for w in designs.waitlists(db, attendee["id"])
        if (w["section"], w["option"]) == (section, option)
    )
    return jsonify(entry), 200 if already else 201


@bp.delete("/designs/<token>/waitlist")
@public
def leave_waitlist(token: str) -> tuple[str, int]:
    """Leave a waitlist (named by the section and option query arguments)."""
    db = get_db()
    attendee = attendees.by_token(db, token)
    section, option = request.args.get("section"), request.args.get("option")
    if not section or not option:
        raise BadRequest("Name the waitlist to leave: ?section=...&option=...")
    schema = events.compiled(db, attendee["event_id"])
    if (section, option) not in schema.options:
        raise NotFound(f"There is no option {option!r} in a section {section!r}.")
    designs.leave_waitlist(db, attendee, section, option)
    return "", 204


def _duplicate_error(
    schema: CompiledSchema, duplicates: list[tuple[list[str | int], str]]
) -> ConfiguratorError:
    """A repeated key in the design is a 422 naming it; one in the envelope is a 400."""
    problems = []
    for path, key in duplicates:
        if not path or path[0] != "design":
            return BadRequest(f"The key {key!r} appears twice in the body.")
        parts = [*path[1:], key]
        where = schema.title_path(parts)
        name = where.split(" > ")[-1] if where else key
        picked = len(parts) == 2 and schema.sections.get(str(parts[0]), {}).get("kind") in (
            "sessions",
            "choice",
        )
        message = (
            f"“{name}” is picked twice: send each pick once"
            if picked
            else f"“{name}” is given twice: send each answer once"
        )
        problems.append(Problem(pointer(parts), where, message))
    count = len(problems)
    return DesignInvalid(
        f"The design repeats {count} key{'s' if count != 1 else ''}; nothing was saved.", problems
    )


def _waitlist_offers(
    schema: CompiledSchema, token: str, document: dict[str, Any], problems: list[Problem]
) -> list[dict[str, Any]]:
    """For each seat that was gone, how to join its waitlist."""
    offers = []
    for problem in problems:
        sid, oid = (p.replace("~1", "/").replace("~0", "~") for p in problem.pointer.split("/")[1:])
        detail = document.get(sid, {}).get(oid)
        fmt = detail.get("format") if isinstance(detail, dict) else None
        offers.append(
            {
                "section": sid,
                "option": oid,
                "title": schema.options[(sid, oid)].title,
                "format": fmt,
                "join": url_for("api.join_waitlist", token=token),
            }
        )
    return offers
