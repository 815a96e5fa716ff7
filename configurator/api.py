"""The JSON API, described by docs/openapi.json."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import sqlite_utils
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from . import attendees, designs, events
from .access import public
from .compiler import CompiledSchema
from .db import get_db
from .errors import (
    BadRequest,
    ConfiguratorError,
    DesignInvalid,
    NotFound,
    Problem,
    SeatTaken,
)
from .optionschema import pointer
from .web import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUT_KEYS = {"design", "confirm"}
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadTooLarge(ConfiguratorError):
    """The request body is over the size limit."""

    status = 413


class UnsupportedMediaType(ConfiguratorError):
    """The request body is not JSON."""

    status = 415


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
    return jsonify(design_state(db, attendee, schema, warnings))


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
        saved = designs.save_design(db, attendee, document, confirm=confirm)
    except SeatTaken as error:
        return error_response(
            error.status,
            "SeatTaken",
            error.message,
            error.problems,
            waitlist=_waitlist_offers(schema, token, document, error.problems),
        )
    return jsonify(design_state(db, attendee, schema, saved.warnings))


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
        w for w in waitlists(db, attendee["id"]) if (w["section"], w["option"]) == (section, option)
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


# --- reading bodies --------------------------------------------------------------------------


def read_json() -> tuple[Any, list[tuple[list[str | int], str]]]:
    """The request's JSON body and the keys it repeats (each as the path of its object and key)."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            "Send the body as JSON, with the header Content-Type: application/json."
        )
    limit = current_app.config["MAX_DESIGN_BYTES"]
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit} bytes.")
    # Read one byte past the limit: a body without a Content-Length is measured as it arrives.
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return parse_json(body)


def parse_json(body: bytes) -> tuple[Any, list[tuple[list[str | int], str]]]:
    """Parse strict JSON (UTF-8, finite numbers), noting every repeated key instead of keeping one."""
    repeated: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made: dict[str, Any] = {}
        for key, value in items:
            if key in made:
                repeated.append((made, key))
            made[key] = value
        return made

    try:
        value = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=pairs,
            parse_float=_finite,
            parse_constant=_no_constant,
        )
        # A lone surrogate (\ud800) parses but is not text: nothing could store or show it.
        # Only a \uD800-\uDFFF escape can make one, so most bodies skip the re-encoding.
        if SURROGATE_ESCAPE.search(body):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as error:
        raise BadRequest(f"The body is not valid JSON: {_reason(error)}") from None
    return value, [(_path_to(value, obj), key) for obj, key in repeated]


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is too large")
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON value")


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}."
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text."
    if isinstance(error, UnicodeEncodeError):
        return "it holds a \\u escape that is half of a character (an unpaired surrogate)."
    if isinstance(error, RecursionError):
        return "it is nested too deeply."
    return f"{error}."


def _path_to(node: Any, target: dict[str, Any]) -> list[str | int]:
    """The path from the parsed body to one of its objects (found by identity)."""
    stack: list[tuple[Any, list[str | int]]] = [(node, [])]
    while stack:
        current, path = stack.pop()
        if current is target:
            return path
        if isinstance(current, dict):
            stack.extend((v, [*path, k]) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(current))
    return []


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


# --- answers -----------------------------------------------------------------------------------


def design_state(
    db: sqlite_utils.Database,
    attendee: dict[str, Any],
    schema: CompiledSchema,
    warnings: list[Problem],
) -> dict[str, Any]:
    """The attendee's design as the API shows it (see DesignState in docs/openapi.json)."""
    event = events.get_event_by_id(db, attendee["event_id"], with_draft=False)
    stored = designs.get_design(db, attendee["id"])
    window = events.window(event, schema)
    return {
        "event": event["slug"],
        "version": stored["version"] if stored else schema.version,
        "status": stored["status"] if stored else "none",
        "design": stored["document"] if stored else {},
        "updated_at": stored["updated_at"] if stored else None,
        "needs_attention": stored["needs_attention"] if stored else None,
        "seats": seats_held(db, attendee["id"]),
        "waitlists": waitlists(db, attendee["id"]),
        "window": {
            "open": window.open,
            "reason": window.reason,
            "edit_after_confirm": window.edit_after_confirm,
        },
        "warnings": [{"path": w.pointer, "where": w.path, "message": w.message} for w in warnings],
    }


def seats_held(db: sqlite_utils.Database, attendee_id: int) -> list[dict[str, Any]]:
    """The seats the attendee holds, as section, option and format."""
    rows = db.execute(
        "SELECT section_id, option_id, format FROM picks WHERE attendee_id = ? AND seated = 1"
        " ORDER BY section_id, option_id",
        [attendee_id],
    )
    return [{"section": r[0], "option": r[1], "format": r[2]} for r in rows]


def waitlists(db: sqlite_utils.Database, attendee_id: int) -> list[dict[str, Any]]:
    """The waitlists the attendee is on, with their position (1 = next in line)."""
    rows = db.execute(
        "SELECT w.section_id, w.option_id, w.format, (SELECT count(*) FROM waitlist o"
        " WHERE o.event_id = w.event_id AND o.section_id = w.section_id"
        " AND o.option_id = w.option_id AND o.position <= w.position)"
        " FROM waitlist w WHERE w.attendee_id = ? ORDER BY w.position",
        [attendee_id],
    )
    return [{"section": r[0], "option": r[1], "format": r[2], "position": r[3]} for r in rows]


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
