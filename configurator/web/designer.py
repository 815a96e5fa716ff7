"""The designer: the timetable, choices and fields, and every save an attendee makes from it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    get_flashed_messages,
    make_response,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import MultiDict

from .. import agenda, designs
from ..compiler import CompiledSchema
from ..errors import BadRequest, Conflict, DesignInvalid, NotFound, Problem, SeatTaken, WindowClosed
from ..optionschema import pointer
from ..summary import filled
from .access import attendee_required
from .attendee_context import Problems, State, current_state, page_context
from .connection import get_db
from .design_forms import read_section
from .rendering import is_htmx, render, see_other

bp = Blueprint("designer", __name__)
SAVE_ERRORS = (DesignInvalid, SeatTaken, WindowClosed)


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
    context = page_context(state, filters=filters, days=_days(state.schema), **extra)
    context.update(
        views=_timetables(state, filters, focus),
        notices=designs.promotion_notices(db, state.attendee["id"]),
        messages=get_flashed_messages(),
    )
    return render("attendee/designer.html", "attendee/_timetables.html", status=status, **context)


@bp.get("/e/<slug>/design")
@attendee_required
def page(slug: str) -> Response:
    """The designer: the day's timetable, the choice and field sections, the live summary."""
    state = current_state()
    return _designer_page(state, _filters(request.args, state.schema))


# --- saving ----------------------------------------------------------------------------------


def _back(state: State, **changes: Any) -> agenda.Filters:
    """The filters the attendee was looking at, carried in the query string of a form's action."""
    args = MultiDict(request.args)
    for key, value in changes.items():
        args[key] = value
    return _filters(args, state.schema)


def _after_save(state: State, filters: agenda.Filters, anchor: str, announce: str) -> Response:
    """After a plain POST, go back to where the attendee was, saying what was saved."""
    flash(announce)
    target = url_for("designer.page", slug=state.event["slug"], **filters.args())
    return see_other(target + "#" + anchor)


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
        **page_context(state, card=card, others=others, filters=filters, announce=announce),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


@bp.post("/e/<slug>/design/pick")
@attendee_required
def pick(slug: str) -> Response:
    """Add a session to the agenda, change its format, or take it off."""
    state = current_state()
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
    fresh = current_state()
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
    state = current_state()
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
    fresh = current_state()
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
    state = current_state()
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
    fresh = current_state()
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
        **page_context(
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
    state = current_state()
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
    fresh = current_state()
    announce = "Your design is confirmed. You can find it under My agenda."
    if not is_htmx():
        return _after_save(fresh, _back(fresh), "summary", announce)
    return _summary_response(fresh, 200, Problems(), announce=announce)


def _summary_response(state: State, status: int, found: Problems, **extra: Any) -> Response:
    html = render_template(
        "attendee/_summary_response.html",
        **page_context(state, problems=found, filters=_back(state), **extra),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response
