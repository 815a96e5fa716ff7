"""Attendee pages: open registration, the personal link, the designer, the agenda and calendar."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import MultiDict

from . import accounts, agenda, attendees, designs, events, proposals
from .access import attendee_required, public
from .clock import now
from .compiler import CompiledSchema, pattern_words
from .db import get_db
from .errors import (
    BadRequest,
    Conflict,
    DesignInvalid,
    Forbidden,
    NotFound,
    Problem,
    SeatTaken,
    TooManyAttempts,
    WindowClosed,
)
from .optionschema import parse_instant, pointer
from .rendering import is_htmx, render
from .summary import Summary, filled, summarise

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
    return _see_other(url_for("attendee.registered", slug=slug))


@bp.get("/e/<slug>/register/done")
@public
def registered(slug: str) -> Response:
    """Show a new personal link once, or say where a known address's link went."""
    _event, schema = _registration_event(slug)
    return _registered(slug, schema)


def _registered(slug: str, schema: CompiledSchema) -> Response:
    done = session.pop("registered", None)
    if not done or done.get("slug") != slug:
        return _see_other(url_for("attendee.registration", slug=slug))
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
    return _see_other(url_for("attendee.designer", slug=event["slug"]))


# --- what every attendee page knows -----------------------------------------------------------


@dataclass
class State:
    """The attendee's event, schema, stored design, window and the numbers the page shows."""

    event: dict[str, Any]
    schema: CompiledSchema
    attendee: dict[str, Any]
    design: dict[str, Any] | None
    window: events.Window
    seats: dict[tuple[str, str], int]
    positions: dict[tuple[str, str], int]

    @property
    def document(self) -> dict[str, Any]:
        """The stored design document ({} before the first save)."""
        return self.design["document"] if self.design else {}

    @property
    def confirmed(self) -> bool:
        """Whether the stored design is confirmed."""
        return bool(self.design and self.design["status"] == "confirmed")

    @property
    def locked_reason(self) -> str | None:
        """Why the design cannot change now, or None while it can."""
        if not self.window.open:
            return self.window.reason + " Your design can no longer change."
        if self.confirmed and not self.window.edit_after_confirm:
            return "Your design is confirmed, and this event does not allow changes after that."
        return None

    @property
    def editable(self) -> bool:
        """Whether inputs and buttons are offered."""
        return self.locked_reason is None

    def summary(self) -> Summary:
        """The live summary of the stored design."""
        return summarise(self.schema, self.document, self.seats, self.positions)


def seat_counts(db: sqlite_utils.Database, event_id: int) -> dict[tuple[str, str], int]:
    """Seats taken per option, counted again only when the database changed since last time.

    Counting scans every pick of the event (milliseconds at FOSDEM size, on every page view);
    SQLite's data_version moves when another connection commits, total_changes when this one
    does, so a count is reused only while nothing at all was written.
    """
    version = (db.execute("PRAGMA data_version").fetchone()[0], db.conn.total_changes)
    cache: dict[int, Any] = db.__dict__.setdefault("_attendee_seat_counts", {})
    found = cache.get(event_id)
    if found is None or found[0] != version:
        found = cache[event_id] = (version, designs.seats_taken(db, event_id))
    return found[1]


def _state() -> State:
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    return State(
        event=g.event,
        schema=schema,
        attendee=g.attendee,
        design=designs.get_design(db, g.attendee["id"]),
        window=events.window(g.event, schema),
        seats=seat_counts(db, g.event["id"]),
        positions=designs.waitlist_positions(db, g.attendee["id"]),
    )


def _notices(db: sqlite_utils.Database, attendee_id: int) -> list[dict[str, Any]]:
    """Seats won from a waitlist since the attendee last saved their design themselves."""
    rows = db.execute(
        "SELECT subject, body, created_at FROM outbox WHERE attendee_id = ?"
        " AND kind = 'waitlist_promoted' AND created_at > coalesce((SELECT max(saved_at)"
        " FROM design_history WHERE attendee_id = ? AND reason IN ('edit', 'confirm')), '')"
        " ORDER BY id",
        [attendee_id, attendee_id],
    )
    return [dict(r) for r in rows]


class Problems:
    """The problems of a failed save, looked up by the JSON pointer of the field they concern."""

    def __init__(self, problems: list[Problem] | None = None) -> None:
        self.all = list(problems or [])

    def at(self, ptr: str) -> list[Problem]:
        """Problems about exactly this place."""
        return [p for p in self.all if p.pointer == ptr]

    def rest(self, section_id: str, known: list[str], posted: bool) -> list[Problem]:
        """Problems of a section that no field of it shows (all unplaced ones if it was posted)."""
        prefix = pointer([section_id])
        return [
            p
            for p in self.all
            if p.pointer not in known
            and (posted or p.pointer == prefix or p.pointer.startswith(prefix + "/"))
        ]

    def __bool__(self) -> bool:
        return bool(self.all)


def _context(state: State, **extra: Any) -> dict[str, Any]:
    """What every designer template needs."""
    db = get_db()
    context: dict[str, Any] = {
        "state": state,
        "schema": state.schema,
        "event": state.event,
        "attendee": state.attendee,
        "summary": state.summary(),
        "problems": Problems(),
        "forms": {},
        "announce": None,
        "dom_id": agenda.dom_id,
        "pointer": pointer,
        "problem_href": lambda p: _problem_href(state, p),
        "section_form": section_form,
        "field_name": field_name,
        "pattern_hint": field_hint,
        "local_time": lambda text: _local_time(state.schema, text),
        "htmx_partial": is_htmx(),
        # Options that began as proposals: one query each for the whole page, not one per card.
        "asked_for": proposals.asked_for(db, state.attendee["id"]),
        "community": {
            item["key"]: item["proposal"]
            for item in proposals.community_options(db, state.event["id"])
        },
    }
    context.update(extra)
    return context


def _local_time(schema: CompiledSchema, text: str | None) -> str:
    """A stored UTC moment as the event's local day and time, such as Sat 13 Mar, 10:32."""
    if not text:
        return ""
    moment = parse_instant(text).astimezone(schema.zone)
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


def _problem_href(state: State, problem: Problem) -> str:
    """Where on the designer a problem can be fixed, as a link."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in problem.pointer.split("/")[1:]]
    if not parts or parts[0] not in state.schema.sections:
        return "#summary"
    section = state.schema.sections[parts[0]]
    if section["kind"] == "sessions":
        table = agenda.timetable(state.schema, parts[0])
        slot = table.by_id.get(parts[1]) if len(parts) > 1 else None
        if slot is None:
            return "#" + agenda.dom_id("sec", parts[0])
        day = str(slot.option.day)
        return url_for("attendee.designer", slug=state.event["slug"], day=day) + "#" + slot.dom
    if len(parts) == 1:
        return "#" + agenda.dom_id("sec", parts[0])
    return "#" + agenda.dom_id("f", *parts)


def _timetables(
    state: State, filters: agenda.Filters, focus: dict[str, agenda.Card] | None = None
) -> list[dict[str, Any]]:
    """Each sessions section's view for the chosen day and filters."""
    views = []
    for sid, section in state.schema.sections.items():
        if section["kind"] != "sessions":
            continue
        table = agenda.timetable(state.schema, sid)
        slots = agenda.shown(table, filters)
        grid = table.grid(filters.day) if not filters.active and filters.day else None
        grid = grid or agenda.layout(table, slots)
        picks = state.document.get(sid, {})
        picked = agenda.picked_in(state.schema, sid, picks)
        cards = {
            slot.id: (focus or {}).get(slot.id)
            or agenda.card(state.schema, slot, picks, state.seats, state.positions, picked)
            for slot in slots
        }
        views.append(
            {"section": section, "table": table, "grid": grid, "cards": cards, "count": len(slots)}
        )
    return views


def _days(schema: CompiledSchema) -> list[Any]:
    found = set()
    for sid, section in schema.sections.items():
        if section["kind"] == "sessions":
            found.update(agenda.timetable(schema, sid).days)
    return sorted(found)


def _filters(args: Mapping[str, str], schema: CompiledSchema) -> agenda.Filters:
    return agenda.Filters.from_args(args, _days(schema))


def _designer_page(
    state: State,
    filters: agenda.Filters,
    status: int = 200,
    focus: dict[str, agenda.Card] | None = None,
    **extra: Any,
) -> Response:
    """The whole designer page (or the timetable alone for an htmx filter request)."""
    db = get_db()
    context = _context(state, filters=filters, days=_days(state.schema), **extra)
    context.update(
        views=_timetables(state, filters, focus),
        notices=_notices(db, state.attendee["id"]),
        messages=get_flashed_messages(),
    )
    return render("attendee/designer.html", "attendee/_timetables.html", status=status, **context)


@bp.get("/e/<slug>/design")
@attendee_required
def designer(slug: str) -> Response:
    """The designer: the day's timetable, the choice and field sections, the live summary."""
    state = _state()
    return _designer_page(state, _filters(request.args, state.schema))


# --- saving ----------------------------------------------------------------------------------


def _see_other(location: str) -> Response:
    return redirect(location, code=303)  # type: ignore[return-value]


def _back(state: State, **changes: Any) -> agenda.Filters:
    """The filters the attendee was looking at, carried in the query string of a form's action."""
    args = MultiDict(request.args)
    for key, value in changes.items():
        args[key] = value
    return _filters(args, state.schema)


def _after_save(state: State, filters: agenda.Filters, anchor: str, announce: str) -> Response:
    """After a plain POST, go back to where the attendee was, saying what was saved."""
    flash(announce)
    target = url_for("attendee.designer", slug=state.event["slug"], **filters.args())
    return _see_other(target + "#" + anchor)


def _save(state: State, document: dict[str, Any], confirm: bool = False) -> designs.Saved:
    """Store the whole document: drop empty sections, then the domain checks and saves it."""
    cleaned = {k: v for k, v in document.items() if v}
    if confirm:
        report = state.schema.check(filled(state.schema, cleaned), complete=True)
        if report.errors:
            count = len(report.errors)
            raise DesignInvalid(
                f"Your design has {count} thing{'s' if count != 1 else ''} to finish first.",
                report.errors,
            )
    return designs.save_design(get_db(), state.attendee, cleaned, confirm=confirm)


def _slot(state: State, sid: str, oid: str) -> agenda.Slot:
    section = state.schema.sections.get(sid)
    if section is None or section["kind"] != "sessions":
        raise BadRequest("That form names a section of sessions that does not exist.")
    slot = agenda.timetable(state.schema, sid).by_id.get(oid)
    if slot is None:
        raise BadRequest("That form names a session that does not exist.")
    return slot


def _card_response(
    state: State,
    slot: agenda.Slot,
    status: int = 200,
    attempt: agenda.Card | None = None,
    announce: str | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    """The card of one session (htmx), or the whole page showing it (a failed plain POST)."""
    filters = _back(state, day=str(slot.option.day))
    picks = state.document.get(slot.section_id, {})
    card = attempt or agenda.card(state.schema, slot, picks, state.seats, state.positions)
    if problems:
        card.problems = problems
    if not is_htmx():
        return _designer_page(state, filters, status=status, focus={slot.id: card})
    others = []
    if status < 400:
        option = slot.option
        for other in agenda.shown(agenda.timetable(state.schema, slot.section_id), filters):
            o = other.option
            if other.id != slot.id and o.start < option.end and option.start < o.end:
                others.append(agenda.card(state.schema, other, picks, state.seats, state.positions))
    html = render_template(
        "attendee/_card_response.html",
        **_context(state, card=card, others=others, filters=filters, announce=announce),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


@bp.post("/e/<slug>/design/pick")
@attendee_required
def pick(slug: str) -> Response:
    """Add a session to the agenda, change its format, or take it off."""
    state = _state()
    slot = _slot(state, request.form.get("section", ""), request.form.get("session", ""))
    formats = [f.id for f in slot.formats]
    fmt = request.form.get("format") or (formats[0] if len(formats) == 1 else "")
    wanted = request.form.get("picked") == "yes"
    document = copy.deepcopy(state.document)
    picks = document.setdefault(slot.section_id, {})
    if wanted:
        picks[slot.id] = {"format": fmt} if fmt else {}
    else:
        picks.pop(slot.id, None)
    try:
        _save(state, document)
    except SAVE_ERRORS as error:
        stored = state.document.get(slot.section_id, {})
        attempt = agenda.card(state.schema, slot, stored, state.seats, state.positions)
        attempt.attempt = (wanted, fmt or None)
        attempt.overlaps = agenda.card(state.schema, slot, picks, state.seats, {}).overlaps
        problems = error.problems or [
            Problem(pointer([slot.section_id, slot.id]), "", error.message)
        ]
        return _card_response(state, slot, error.status, attempt, problems=problems)
    fresh = _state()
    fmt_title = next((f.title for f in slot.formats if f.id == fmt), "")
    if wanted:
        announce = (
            f"Added “{slot.title}” to your agenda"
            + (f" ({fmt_title.lower()})" if fmt_title else "")
            + "."
        )
    else:
        announce = f"Took “{slot.title}” off your agenda."
    if not is_htmx():
        return _after_save(fresh, _back(fresh, day=str(slot.option.day)), slot.dom, announce)
    return _card_response(fresh, slot, announce=announce + " " + _counts(fresh))


def _counts(state: State) -> str:
    summary = state.summary()
    parts = []
    for s in summary.sections:
        if s.kind == "sessions":
            parts.append(
                f"{s.title}: {s.used} picked" + (f", {s.left} left" if s.left is not None else "")
            )
    return " ".join(p + "." for p in parts)


@bp.post("/e/<slug>/design/waitlist")
@attendee_required
def waitlist(slug: str) -> Response:
    """Join or leave the waitlist of a full session or option."""
    state = _state()
    sid, oid = request.form.get("section", ""), request.form.get("option", "")
    key = (sid, oid)
    if key not in state.schema.options:
        raise BadRequest("That form names an option that does not exist.")
    title = state.schema.options[key].title
    db = get_db()
    try:
        if request.form.get("action") == "leave":
            designs.leave_waitlist(db, state.attendee, sid, oid)
            announce = f"You left the waitlist for “{title}”."
        else:
            position = designs.join_waitlist(
                db, state.attendee, sid, oid, request.form.get("format") or None
            )
            announce = f"You are #{position} on the waitlist for “{title}”."
    except (BadRequest, Conflict, WindowClosed) as error:
        problems = [Problem(pointer(list(key)), "", error.message)]
        if state.schema.sections[sid]["kind"] == "sessions":
            return _card_response(state, _slot(state, sid, oid), error.status, problems=problems)
        return _section_response(state, sid, error.status, problems=problems)
    fresh = _state()
    if state.schema.sections[sid]["kind"] == "sessions":
        slot = _slot(fresh, sid, oid)
        if not is_htmx():
            return _after_save(fresh, _back(fresh, day=str(slot.option.day)), slot.dom, announce)
        return _card_response(fresh, slot, announce=announce)
    if not is_htmx():
        return _after_save(fresh, _back(fresh), agenda.dom_id("sec", sid), announce)
    return _section_response(fresh, sid, announce=announce)


@bp.post("/e/<slug>/design/answers/<section_id>")
@attendee_required
def answers(slug: str, section_id: str) -> Response:
    """Save a choice or fields section: the options picked and the answers given."""
    state = _state()
    section = state.schema.sections.get(section_id)
    if section is None or section["kind"] == "sessions":
        raise NotFound("There is no such section of questions.")
    form = request.form
    document = copy.deepcopy(state.document)
    try:
        value = read_section(state.schema, section, form, state.document.get(section_id, {}))
        document[section_id] = value
        if not value and section["kind"] != "fields":
            document.pop(section_id)
        _save(state, document)
    except SAVE_ERRORS as error:
        problems = error.problems or [Problem(pointer([section_id]), "", error.message)]
        return _section_response(state, section_id, error.status, form=form, problems=problems)
    fresh = _state()
    announce = f"Saved your answers to “{section['title']}”."
    if not is_htmx():
        return _after_save(fresh, _back(fresh), agenda.dom_id("sec", section_id), announce)
    return _section_response(fresh, section_id, announce=announce)


def _section_response(
    state: State,
    section_id: str,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    problems: list[Problem] | None = None,
    announce: str | None = None,
) -> Response:
    """One section's partial with its errors (htmx), or the whole page (a failed plain POST)."""
    forms = {section_id: form} if form is not None else {}
    found = Problems(problems)
    if not is_htmx():
        return _designer_page(state, _back(state), status=status, problems=found, forms=forms)
    html = render_template(
        "attendee/_section_response.html",
        **_context(
            state,
            section=state.schema.sections[section_id],
            problems=found,
            forms=forms,
            announce=announce,
        ),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


@bp.post("/e/<slug>/design/confirm")
@attendee_required
def confirm(slug: str) -> Response:
    """Confirm the design as it stands; what still blocks it is listed with links to fix it."""
    state = _state()
    try:
        _save(state, state.document, confirm=True)
    except SAVE_ERRORS as error:
        found = Problems(error.problems)
        if not is_htmx():
            return _designer_page(
                state,
                _back(state),
                status=error.status,
                problems=found,
                confirm_error=error.message,
            )
        return _summary_response(state, error.status, found, confirm_error=error.message)
    fresh = _state()
    announce = "Your design is confirmed. You can find it under My agenda."
    if not is_htmx():
        return _after_save(fresh, _back(fresh), "summary", announce)
    return _summary_response(fresh, 200, Problems(), announce=announce)


def _summary_response(state: State, status: int, found: Problems, **extra: Any) -> Response:
    html = render_template(
        "attendee/_summary_response.html",
        **_context(state, problems=found, filters=_back(state), **extra),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


# --- turning form strings into a section's answers --------------------------------------------


def field_name(*parts: str) -> str:
    """The form name of an answer (domain ids never contain `/`)."""
    return "a/" + "/".join(parts)


def read_section(
    schema: CompiledSchema,
    section: dict[str, Any],
    form: Mapping[str, Any],
    stored: dict[str, Any],
) -> dict[str, Any]:
    """A section's value from its form: typed answers, follow-ups of picked options only.

    Fields the form did not show (listed in `seen`) keep their stored answer; an empty input
    means no answer. Unreadable numbers raise DesignInvalid naming the field.
    """
    seen = set(_getlist(form, "seen"))
    problems: list[Problem] = []
    sid = section["id"]
    value: dict[str, Any] = {}
    if section["kind"] == "fields":
        value = _read_fields(schema, (sid,), section["fields"], form, seen, stored, problems)
    else:
        known = {o["id"]: o for o in section["options"]}
        for oid in [o for o in _getlist(form, "pick") if o]:
            if oid not in known:
                raise BadRequest("That form names an option that does not exist.")
            value[oid] = _read_fields(
                schema,
                (sid, oid),
                known[oid]["follow_up"],
                form,
                seen,
                stored.get(oid, {}),
                problems,
            )
    if problems:
        raise DesignInvalid(
            f"{len(problems)} answer{'s' if len(problems) != 1 else ''} could not be read.",
            problems,
        )
    return value


def _getlist(form: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return form.getlist(name)
    value = form.get(name)
    return value if isinstance(value, list) else [] if value is None else [value]


def _read_fields(
    schema: CompiledSchema,
    prefix: tuple[str, ...],
    fields: list[dict[str, Any]],
    form: Mapping[str, Any],
    seen: set[str],
    stored: dict[str, Any],
    problems: list[Problem],
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for fld in fields:
        name = field_name(*prefix[1:], fld["id"]) if len(prefix) > 1 else field_name(fld["id"])
        if name not in seen:
            if fld["id"] in stored:
                answers[fld["id"]] = stored[fld["id"]]
            continue
        raw = form.get(name)
        if fld["type"] == "boolean":
            answers[fld["id"]] = raw in ("yes", "on", "true")
            continue
        text = (raw or "").strip()
        if not text:
            continue
        if fld["type"] == "number":
            number = parse_number(text, fld.get("integer", False))
            if number is None:
                parts = [*prefix, fld["id"]]
                kind = "a whole number" if fld.get("integer") else "a number"
                problems.append(
                    Problem(
                        pointer(list(parts)),
                        schema.title_path(list(parts)),
                        f"{fld['title']} must be {kind}, such as 2 (you wrote “{text[:40]}”)",
                    )
                )
                continue
            answers[fld["id"]] = number
        else:
            answers[fld["id"]] = text
    return answers


def parse_number(text: str, integer: bool) -> int | float | None:
    """A number typed by a person (a decimal comma is fine), or None if it is not one."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if integer or ("." not in cleaned and "e" not in cleaned.lower()):
        return int(number) if number.is_integer() else None
    return number


def field_hint(fld: dict[str, Any]) -> str:
    """What an answer should look like, when the organiser gave no help text."""
    if fld["type"] == "text" and ("format" in fld or "pattern" in fld):
        words = pattern_words(fld)
        return words[0].upper() + words[1:] + "."
    if fld["type"] == "number":
        kind = "A whole number" if fld.get("integer") else "A number"
        low, high = fld.get("min"), fld.get("max")
        if low is not None and high is not None:
            return f"{kind} from {low:g} to {high:g}."
        if low is not None:
            return f"{kind} of at least {low:g}."
        if high is not None:
            return f"{kind} of at most {high:g}."
        return f"{kind}."
    return ""


def section_form(section: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """A stored section value as the strings its form shows."""
    form: dict[str, Any] = {}
    if section["kind"] == "fields":
        for fld in section["fields"]:
            _field_form(form, field_name(fld["id"]), fld, value.get(fld["id"]))
        return form
    form["pick"] = list(value)
    for option in section["options"]:
        for fld in option["follow_up"]:
            answer = value.get(option["id"], {}).get(fld["id"])
            _field_form(form, field_name(option["id"], fld["id"]), fld, answer)
    return form


def _field_form(form: dict[str, Any], name: str, fld: dict[str, Any], answer: Any) -> None:
    if answer is None:
        return
    if fld["type"] == "boolean":
        if answer:
            form[name] = "yes"
    else:
        form[name] = str(answer)


# --- my agenda and the calendar --------------------------------------------------------------


@bp.get("/e/<slug>/agenda")
@attendee_required
def my_agenda(slug: str) -> Response:
    """The attendee's sessions in time order, the .ics download and the calendar feed."""
    state = _state()
    feed = session.pop("feed_url", None)
    entries = agenda.entries(state.schema, state.document)
    by_day = [(day, list(items)) for day, items in itertools.groupby(entries, lambda e: e.day)]
    return render(
        "attendee/agenda.html",
        **_context(state, entries=entries, by_day=by_day, feed_url=feed),
    )


@bp.get("/e/<slug>/agenda.ics")
@attendee_required
def agenda_ics(slug: str) -> Response:
    """Download the agenda as an iCalendar file."""
    state = _state()
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
        state = _state()
        return render(
            "attendee/agenda.html", "attendee/_feed.html", **_context(state, feed_url=url)
        )
    session["feed_url"] = url
    return _see_other(url_for("attendee.my_agenda", slug=slug) + "#feed")


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
