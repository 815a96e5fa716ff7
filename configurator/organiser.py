"""The organiser console: events, schema editing, imports, publishing, invitations, the team."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)

from . import (
    changes,
    designs,
    events,
    imports,
    invitations,
    optionschema,
    schema_editor,
    team,
)
from .access import account_required, role_required
from .cli import read_people_csv
from .compiler import CompiledSchema, day_name
from .db import get_db, write
from .errors import (
    BadRequest,
    ConfiguratorError,
    Conflict,
    ImportFailed,
    NotFound,
    Problem,
    SchemaInvalid,
)
from .rendering import is_htmx, render

bp = Blueprint("organiser", __name__)
Doc = dict[str, Any]
SCHEMA = "/events/<slug>/schema"
SECTION = SCHEMA + "/sections/<sid>"


# --- helpers the templates use -----------------------------------------------------------------


@bp.app_template_global()
def is_published(event: dict[str, Any]) -> bool:
    """Whether the event has a published version (the staff pages need one)."""
    return events.latest_number(get_db(), event["id"]) is not None


@bp.app_template_global()
def problems_at(problems: list[Problem] | None, ptr: str) -> list[str]:
    """The messages of the problems found exactly at a JSON pointer."""
    return [p.message for p in problems or [] if p.pointer == ptr]


@bp.app_template_global()
def err_id(ptr: str) -> str:
    """A DOM id for the error shown beside the control at a JSON pointer."""
    return "err" + re.sub(r"[^A-Za-z0-9_-]", "_", ptr.replace("/", "-"))


@bp.app_template_global()
def room_choices(section: dict[str, Any]) -> list[tuple[str, str]]:
    """A sessions section's rooms as (id, title) choices, after 'No room'."""
    return [("", "No room")] + [(r["id"], r["title"]) for r in section.get("rooms", [])]


bp.add_app_template_global(schema_editor.local_input, "local_input")
bp.add_app_template_global(schema_editor.choices_text, "choices_text")
bp.add_app_template_global(day_name, "day_name")
bp.add_app_template_global(schema_editor.section_formats, "section_formats")


def _context(doc: Doc, **extra: Any) -> dict[str, Any]:
    """What every console page needs: the event, its draft, and whether this user may edit."""
    context = {
        "event": g.event,
        "doc": doc,
        "zone": doc["event"].get("timezone", ""),
        "can_edit": g.role == "organiser",
        "problems": [],
        "form": {},
        "region": None,
        "saved": False,
    }
    context.update(extra)
    return context


def _edit(
    change: Callable[[Doc], Doc],
    page: str,
    partial: str,
    region: str,
    back: str,
    context: Callable[[Doc], dict[str, Any]] = lambda doc: {},
    show_attempt: bool = True,
) -> Response:
    """Save an edit of the draft; on problems answer 422 with each beside what it concerns.

    A failed edit shows what was typed (show_attempt); a failed addition shows the stored draft
    with the add form still filled in, so nothing half-made appears in the lists.
    """
    db, slug = get_db(), g.event["slug"]
    stored = attempt = events.draft(g.event)
    try:
        # Read, change and save in one transaction, so two organisers' edits never undo each other.
        with write(db):
            stored = attempt = events.draft(events.get_event(db, slug))
            attempt = change(stored)
            g.event = events.save_draft(db, slug, attempt)
    except SchemaInvalid as exc:
        shown = attempt if show_attempt else stored
        return render(
            page,
            partial,
            status=422,
            **_context(shown, problems=exc.problems, form=request.form, region=region),
            **context(shown),
        )
    if not is_htmx():
        return redirect(back, code=303)  # type: ignore[return-value]
    return render(page, partial, **_context(attempt, region=region, saved=True), **context(attempt))


def _form_error(exc: ConfiguratorError) -> int:
    """The status a form re-shown with its problems gets: htmx swaps 422 and 409."""
    return 409 if exc.status == 409 else 422


def _problems(exc: ConfiguratorError, pointer: str = "", path: str = "") -> list[Problem]:
    return exc.problems or [Problem(pointer, path, exc.message)]


def _base_url() -> str:
    return current_app.config.get("PUBLIC_URL") or request.host_url


# --- events ------------------------------------------------------------------------------------


@bp.get("/events", endpoint="events")
@account_required
def events_list() -> Response:
    """The events this account organises or staffs."""
    return render("organiser/events.html", events=team.events_of(get_db(), g.account_id))


@bp.route("/events/new", methods=["GET", "POST"])
@account_required
def new_event() -> Response:
    """Create an event from a few settings, or from an uploaded option-schema file."""
    if request.method == "GET":
        return render("organiser/new_event.html", problems=[], form={})
    upload = request.files.get("schema_file")
    try:
        if upload and upload.filename:
            doc = optionschema.parse(upload.read(), upload.filename)
        else:
            doc = schema_editor.new_event(request.form)
        settings = doc.get("event")
        if isinstance(settings, dict) and settings.get("slug") == "new":
            raise Conflict("The slug 'new' belongs to this page; choose another.")
        created = events.create_event(get_db(), doc, owner_id=g.account_id)
    except (SchemaInvalid, Conflict) as exc:
        return render(
            "organiser/new_event.html",
            status=_form_error(exc),
            problems=_problems(exc, "/event/slug", "event > slug"),
            form=request.form,
        )
    flash(f"Created “{created['title']}”. Its schema is a draft until you publish it.")
    return redirect(url_for("organiser.overview", slug=created["slug"]), code=303)  # type: ignore[return-value]


def _overview_context(db: Any) -> dict[str, Any]:
    event = g.event
    latest = changes.latest_document(db, event["id"])
    number = events.latest_number(db, event["id"])
    window = None
    if number is not None:
        window = events.window(event, events.compiled(db, event["id"], number))
    rows = invitations.attendee_rows(db, event["id"])
    return _context(
        events.draft(event),
        version=number,
        draft_differs=latest != events.draft(event),
        window=window,
        progress=invitations.progress(rows),
    )


@bp.get("/events/<slug>")
@role_required("staff")
def overview(slug: str) -> Response:
    """An event at a glance: versions, the design window, how far attendees got."""
    return render("organiser/overview.html", **_overview_context(get_db()))


@bp.post("/events/<slug>/window")
@role_required("organiser")
def window(slug: str) -> Response:
    """Open or close the design window by hand, or let the schema's dates decide."""
    state = request.form.get("state", "")
    events.set_window(get_db(), slug, None if state == "dates" else state)
    g.event = events.get_event(get_db(), slug)
    if is_htmx():
        return render(
            "organiser/overview.html", "organiser/_window.html", **_overview_context(get_db())
        )
    return redirect(url_for("organiser.overview", slug=slug), code=303)  # type: ignore[return-value]


# --- the schema editor: event, budget, sections, rules -----------------------------------------


def _schema_context(doc: Doc) -> dict[str, Any]:
    return {"pickable": schema_editor.pickable(doc)}


@bp.get(SCHEMA)
@role_required("staff")
def schema(slug: str) -> Response:
    """The form-based editor of the draft."""
    doc = events.draft(g.event)
    return render("organiser/schema.html", **_context(doc), **_schema_context(doc))


def _schema_edit(change: Callable[[Doc], Doc], partial: str, show_attempt: bool = True) -> Response:
    region = partial.removeprefix("organiser/_").removesuffix(".html")
    return _edit(
        change,
        "organiser/schema.html",
        partial,
        region,
        url_for("organiser.schema", slug=g.event["slug"]) + "#" + region,
        _schema_context,
        show_attempt,
    )


@bp.post(SCHEMA + "/event")
@role_required("organiser")
def edit_event(slug: str) -> Response:
    """Save the event settings."""
    return _schema_edit(
        lambda d: schema_editor.edit_event(d, request.form), "organiser/_settings.html"
    )


@bp.post(SCHEMA + "/budget")
@role_required("organiser")
def edit_budget(slug: str) -> Response:
    """Save the points budget."""
    return _schema_edit(
        lambda d: schema_editor.edit_budget(d, request.form), "organiser/_budget.html"
    )


@bp.post(SCHEMA + "/sections")
@role_required("organiser")
def add_section(slug: str) -> Response:
    """Add a section."""
    return _schema_edit(
        lambda d: schema_editor.add_section(d, request.form), "organiser/_sections.html", False
    )


@bp.post(SECTION + "/move")
@role_required("organiser")
def move_section(slug: str, sid: str) -> Response:
    """Move a section up or down."""
    direction = request.form.get("direction", "")
    return _schema_edit(
        lambda d: schema_editor.move_section(d, sid, direction), "organiser/_sections.html", False
    )


@bp.post(SECTION + "/delete")
@role_required("organiser")
def remove_section(slug: str, sid: str) -> Response:
    """Remove a section and the rules naming it."""
    return _schema_edit(
        lambda d: schema_editor.remove_section(d, sid), "organiser/_sections.html", False
    )


@bp.post(SCHEMA + "/rules")
@role_required("organiser")
def add_rule(slug: str) -> Response:
    """Add a rule."""
    return _schema_edit(
        lambda d: schema_editor.add_rule(d, request.form), "organiser/_rules.html", False
    )


@bp.post(SCHEMA + "/rules/<int:index>/delete")
@role_required("organiser")
def remove_rule(slug: str, index: int) -> Response:
    """Remove a rule."""
    return _schema_edit(
        lambda d: schema_editor.remove_rule(d, index), "organiser/_rules.html", False
    )


# --- the schema editor: one section and what it holds -------------------------------------------


def _section_context(sid: str) -> Callable[[Doc], dict[str, Any]]:
    def context(doc: Doc) -> dict[str, Any]:
        s = schema_editor.section_index(doc, sid)
        section = doc["sections"][s]
        found: dict[str, Any] = {"section": section, "s": s, "ptr": f"/sections/{s}"}
        if section["kind"] == "sessions":
            query = request.args.get("q", "")
            page = request.args.get("page", "1")
            found["query"] = query
            found["listing"] = schema_editor.session_page(
                section, query, int(page) if page.isdigit() else 1
            )
        return found

    return context


def _section_edit(
    sid: str, change: Callable[[Doc], Doc], partial: str, show_attempt: bool = True
) -> Response:
    region = partial.removeprefix("organiser/_").removesuffix(".html")
    return _edit(
        change,
        "organiser/section.html",
        partial,
        region,
        url_for("organiser.section", slug=g.event["slug"], sid=sid) + "#" + region,
        _section_context(sid),
        show_attempt,
    )


@bp.get(SECTION)
@role_required("staff")
def section(slug: str, sid: str) -> Response:
    """One section: its settings and its options, sessions, rooms, formats or questions."""
    doc = events.draft(g.event)
    return render("organiser/section.html", **_context(doc), **_section_context(sid)(doc))


@bp.get(SECTION + "/sessions")
@role_required("staff")
def sessions(slug: str, sid: str) -> Response:
    """The section's sessions, filtered and a page at a time."""
    doc = events.draft(g.event)
    return render(
        "organiser/section.html",
        "organiser/_sessions.html",
        **_context(doc),
        **_section_context(sid)(doc),
    )


@bp.post(SECTION)
@role_required("organiser")
def edit_section(slug: str, sid: str) -> Response:
    """Save a section's settings."""
    return _section_edit(
        sid,
        lambda d: schema_editor.edit_section(d, sid, request.form),
        "organiser/_section_settings.html",
    )


@bp.post(SECTION + "/options")
@role_required("organiser")
def add_option(slug: str, sid: str) -> Response:
    """Add an option to a choice section."""
    return _section_edit(
        sid,
        lambda d: schema_editor.add_option(d, sid, request.form),
        "organiser/_options.html",
        False,
    )


@bp.post(SECTION + "/options/<oid>/delete")
@role_required("organiser")
def remove_option(slug: str, sid: str, oid: str) -> Response:
    """Remove an option."""
    return _section_edit(
        sid, lambda d: schema_editor.remove_option(d, sid, oid), "organiser/_options.html", False
    )


@bp.post(SECTION + "/sessions")
@role_required("organiser")
def add_session(slug: str, sid: str) -> Response:
    """Add a session."""
    return _section_edit(
        sid,
        lambda d: schema_editor.add_session(d, sid, request.form),
        "organiser/_sessions.html",
        False,
    )


@bp.post(SECTION + "/sessions/<session_id>/delete")
@role_required("organiser")
def remove_session(slug: str, sid: str, session_id: str) -> Response:
    """Remove a session."""
    return _section_edit(
        sid,
        lambda d: schema_editor.remove_session(d, sid, session_id),
        "organiser/_sessions.html",
        False,
    )


@bp.post(SECTION + "/rooms")
@role_required("organiser")
def add_room(slug: str, sid: str) -> Response:
    """Add a room."""
    return _section_edit(
        sid, lambda d: schema_editor.add_room(d, sid, request.form), "organiser/_rooms.html", False
    )


@bp.post(SECTION + "/rooms/<rid>")
@role_required("organiser")
def edit_room(slug: str, sid: str, rid: str) -> Response:
    """Save a room's title and capacity."""
    return _section_edit(
        sid, lambda d: schema_editor.edit_room(d, sid, rid, request.form), "organiser/_rooms.html"
    )


@bp.post(SECTION + "/rooms/<rid>/delete")
@role_required("organiser")
def remove_room(slug: str, sid: str, rid: str) -> Response:
    """Remove a room no session uses."""
    return _section_edit(
        sid, lambda d: schema_editor.remove_room(d, sid, rid), "organiser/_rooms.html", False
    )


@bp.post(SECTION + "/formats")
@role_required("organiser")
def add_format(slug: str, sid: str) -> Response:
    """Add a way of attending."""
    return _section_edit(
        sid,
        lambda d: schema_editor.add_format(d, sid, request.form),
        "organiser/_formats.html",
        False,
    )


@bp.post(SECTION + "/formats/<fid>")
@role_required("organiser")
def edit_format(slug: str, sid: str, fid: str) -> Response:
    """Save a format."""
    return _section_edit(
        sid,
        lambda d: schema_editor.edit_format(d, sid, fid, request.form),
        "organiser/_formats.html",
    )


@bp.post(SECTION + "/formats/<fid>/delete")
@role_required("organiser")
def remove_format(slug: str, sid: str, fid: str) -> Response:
    """Remove a format no session names."""
    return _section_edit(
        sid, lambda d: schema_editor.remove_format(d, sid, fid), "organiser/_formats.html", False
    )


# --- single items: an option, a session, a field ------------------------------------------------


def _item_edit(
    page: str, back: str, change: Callable[[Doc], Doc], context: Callable[[Doc], dict[str, Any]]
) -> Response:
    partial = page.replace("organiser/", "organiser/_")
    return _edit(change, page, partial, "item", back, context)


def _option_context(sid: str, oid: str) -> Callable[[Doc], dict[str, Any]]:
    def context(doc: Doc) -> dict[str, Any]:
        s = schema_editor.section_index(doc, sid)
        section = doc["sections"][s]
        if section["kind"] != "choice":
            raise NotFound(f"Section {sid!r} has no options.")
        o = schema_editor.item_index(section["options"], oid, "option")
        return {
            "section": section,
            "option": section["options"][o],
            "ptr": f"/sections/{s}/options/{o}",
        }

    return context


@bp.get(SECTION + "/options/<oid>")
@role_required("staff")
def option(slug: str, sid: str, oid: str) -> Response:
    """One choice option and its follow-up questions."""
    doc = events.draft(g.event)
    return render("organiser/option.html", **_context(doc), **_option_context(sid, oid)(doc))


@bp.post(SECTION + "/options/<oid>")
@role_required("organiser")
def edit_option(slug: str, sid: str, oid: str) -> Response:
    """Save an option."""
    return _item_edit(
        "organiser/option.html",
        url_for("organiser.option", slug=slug, sid=sid, oid=oid),
        lambda d: schema_editor.edit_option(d, sid, oid, request.form),
        _option_context(sid, oid),
    )


def _session_context(sid: str, session_id: str) -> Callable[[Doc], dict[str, Any]]:
    def context(doc: Doc) -> dict[str, Any]:
        s = schema_editor.section_index(doc, sid)
        section = doc["sections"][s]
        if section["kind"] != "sessions":
            raise NotFound(f"Section {sid!r} has no sessions.")
        i = schema_editor.item_index(section.get("sessions", []), session_id, "session")
        return {
            "section": section,
            "session": section["sessions"][i],
            "ptr": f"/sections/{s}/sessions/{i}",
        }

    return context


@bp.get(SECTION + "/sessions/<session_id>")
@role_required("staff")
def session(slug: str, sid: str, session_id: str) -> Response:
    """One session: title, time, room, capacity, formats."""
    doc = events.draft(g.event)
    return render(
        "organiser/session.html", **_context(doc), **_session_context(sid, session_id)(doc)
    )


@bp.post(SECTION + "/sessions/<session_id>")
@role_required("organiser")
def edit_session(slug: str, sid: str, session_id: str) -> Response:
    """Save a session."""
    return _item_edit(
        "organiser/session.html",
        url_for("organiser.session", slug=slug, sid=sid, session_id=session_id),
        lambda d: schema_editor.edit_session(d, sid, session_id, request.form),
        _session_context(sid, session_id),
    )


def _fields_context(sid: str, oid: str | None) -> Callable[[Doc], dict[str, Any]]:
    def context(doc: Doc) -> dict[str, Any]:
        s = schema_editor.section_index(doc, sid)
        section = doc["sections"][s]
        found: dict[str, Any] = {"section": section, "s": s, "oid": oid}
        found["fields_ptr"] = schema_editor.fields_pointer(doc, sid, oid)
        if oid is None:
            if section["kind"] != "fields":
                raise NotFound(f"Section {sid!r} has no questions of its own.")
            found["fields"] = section["fields"]
        else:
            found.update(_option_context(sid, oid)(doc))
            found["fields"] = found["option"].get("follow_up", [])
        return found

    return context


def _fields_edit(sid: str, oid: str | None, change: Callable[[Doc], Doc]) -> Response:
    """Add or remove a question: of a fields section (its page), or of an option (the option's)."""
    slug = g.event["slug"]
    if oid is None:
        page, back = "organiser/section.html", url_for("organiser.section", slug=slug, sid=sid)
    else:
        page, back = (
            "organiser/option.html",
            url_for("organiser.option", slug=slug, sid=sid, oid=oid),
        )

    def context(doc: Doc) -> dict[str, Any]:
        found = _section_context(sid)(doc) if oid is None else {}
        return {**found, **_fields_context(sid, oid)(doc)}

    return _edit(change, page, "organiser/_fields.html", "fields", back + "#fields", context, False)


@bp.post(SECTION + "/fields", defaults={"oid": None})
@bp.post(SECTION + "/options/<oid>/fields")
@role_required("organiser")
def add_field(slug: str, sid: str, oid: str | None) -> Response:
    """Add a question to a fields section, or a follow-up question to an option."""
    return _fields_edit(sid, oid, lambda d: schema_editor.add_field(d, sid, request.form, oid))


@bp.post(SECTION + "/fields/<fid>/delete", defaults={"oid": None})
@bp.post(SECTION + "/options/<oid>/fields/<fid>/delete")
@role_required("organiser")
def remove_field(slug: str, sid: str, fid: str, oid: str | None) -> Response:
    """Remove a question."""
    return _fields_edit(sid, oid, lambda d: schema_editor.remove_field(d, sid, fid, oid))


def _field_context(sid: str, fid: str, oid: str | None) -> Callable[[Doc], dict[str, Any]]:
    def context(doc: Doc) -> dict[str, Any]:
        found = _fields_context(sid, oid)(doc)
        i = schema_editor.item_index(found["fields"], fid, "question")
        found["field"] = found["fields"][i]
        found["ptr"] = f"{found['fields_ptr']}/{i}"
        return found

    return context


@bp.get(SECTION + "/fields/<fid>", defaults={"oid": None})
@bp.get(SECTION + "/options/<oid>/fields/<fid>")
@role_required("staff")
def field(slug: str, sid: str, fid: str, oid: str | None) -> Response:
    """One question: its title, type and the settings of its type."""
    doc = events.draft(g.event)
    return render("organiser/field.html", **_context(doc), **_field_context(sid, fid, oid)(doc))


@bp.post(SECTION + "/fields/<fid>", defaults={"oid": None})
@bp.post(SECTION + "/options/<oid>/fields/<fid>")
@role_required("organiser")
def edit_field(slug: str, sid: str, fid: str, oid: str | None) -> Response:
    """Save a question."""
    back = url_for("organiser.field", slug=slug, sid=sid, fid=fid, oid=oid)
    return _item_edit(
        "organiser/field.html",
        back,
        lambda d: schema_editor.edit_field(d, sid, fid, request.form, oid),
        _field_context(sid, fid, oid),
    )


# --- the raw JSON, for power users --------------------------------------------------------------


@bp.get(SCHEMA + "/raw")
@role_required("staff")
def raw(slug: str) -> Response:
    """The draft as JSON in a text box."""
    doc = events.draft(g.event)
    return render(
        "organiser/raw.html", **_context(doc, text=json.dumps(doc, indent=2, ensure_ascii=False))
    )


@bp.post(SCHEMA + "/raw")
@role_required("organiser")
def save_raw(slug: str) -> Response:
    """Replace the draft with the JSON typed; every problem is listed with where it is."""
    text = request.form.get("document", "")
    try:
        doc = optionschema.parse(text)
        g.event = events.save_draft(get_db(), slug, doc)
    except SchemaInvalid as exc:
        return render(
            "organiser/raw.html",
            "organiser/_raw.html",
            status=422,
            **_context(events.draft(g.event), text=text, problems=_problems(exc), region="raw"),
        )
    if not is_htmx():
        flash("The draft was saved.")
        return redirect(url_for("organiser.raw", slug=slug), code=303)  # type: ignore[return-value]
    return render(
        "organiser/raw.html",
        "organiser/_raw.html",
        **_context(
            doc, text=json.dumps(doc, indent=2, ensure_ascii=False), region="raw", saved=True
        ),
    )


@bp.get("/events/<slug>/schema.json")
@role_required("staff")
def download_schema(slug: str) -> Response:
    """The draft as a JSON file."""
    body = json.dumps(events.draft(g.event), indent=2, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{slug}-draft.json"'},
    )


# --- importing sessions --------------------------------------------------------------------------


def _import_context(doc: Doc, **extra: Any) -> dict[str, Any]:
    targets = [s for s in doc["sections"] if s["kind"] == "sessions"]
    choices = [(s["id"], s["title"]) for s in targets] + [("__new__", "a new sessions section")]
    return _context(doc, targets=targets, choices=choices, **extra)


@bp.get("/events/<slug>/import")
@role_required("staff")
def import_page(slug: str) -> Response:
    """The form to import sessions from frab XML, CSV or JSON."""
    return render("organiser/import.html", **_import_context(events.draft(g.event)))


@bp.post("/events/<slug>/import")
@role_required("organiser")
def import_sessions(slug: str) -> Response:
    """Import a schedule into a sessions section of the draft, and say what changed."""
    db = get_db()
    upload = request.files.get("schedule")
    try:
        if not upload or not upload.filename:
            raise ImportFailed("Choose a schedule file to import.")
        schedule = imports.parse_schedule(
            upload.filename,
            upload.read(),
            request.form.get("timezone") or events.draft(g.event)["event"]["timezone"],
        )
        capacities = _capacities_text()
        rooms = imports.parse_room_capacities(capacities) if capacities.strip() else None
        with write(db):
            doc = events.draft(events.get_event(db, slug))
            target = _import_target(doc, request.form.get("section", ""))
            report = imports.merge_into_section(target, schedule, rooms)
            imports.widen_event_days(doc, schedule)
            g.event = events.save_draft(db, slug, doc)
    except (ImportFailed, SchemaInvalid) as exc:
        return render(
            "organiser/import.html",
            "organiser/_import.html",
            status=422,
            **_import_context(events.draft(g.event), problems=_problems(exc), form=request.form),
        )
    summary = (
        f"Imported {upload.filename} into “{target['title']}”: {report.added} added,"
        f" {report.updated} updated, {report.unchanged} unchanged, {report.rooms_added} room(s)"
        " added."
    )
    if not is_htmx():
        flash(summary)
        return redirect(url_for("organiser.import_page", slug=slug), code=303)  # type: ignore[return-value]
    return render(
        "organiser/import.html",
        "organiser/_import.html",
        **_import_context(doc, report=report, summary=summary),
    )


def _import_target(doc: Doc, sid: str) -> dict[str, Any]:
    """The sessions section to import into; a new one when asked, or when there is none."""
    targets = [s for s in doc["sections"] if s["kind"] == "sessions"]
    if sid and sid != "__new__":
        for section in targets:
            if section["id"] == sid:
                return section
        raise ImportFailed(f"The draft has no sessions section {sid!r}.")
    if targets and sid != "__new__":
        return targets[0]
    taken = {s["id"] for s in doc["sections"]}
    new = {
        "id": schema_editor.new_id("", "sessions", taken, "sessions"),
        "kind": "sessions",
        "title": "Sessions",
    }
    doc["sections"].append(new)
    return new


def _capacities_text() -> str:
    upload = request.files.get("capacities_file")
    if upload and upload.filename:
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed("The room capacity file is not UTF-8 text.") from None
    return request.form.get("capacities", "")


# --- preview and publishing ----------------------------------------------------------------------


@bp.get("/events/<slug>/preview")
@role_required("staff")
def preview(slug: str) -> Response:
    """What attendees would see if the draft were published now (nothing is saved)."""
    doc = events.draft(g.event)
    return render("organiser/preview.html", **_context(doc, schema=CompiledSchema(doc)))


def _publish_context() -> dict[str, Any]:
    db = get_db()
    doc = events.draft(g.event)
    latest = changes.latest_document(db, g.event["id"])
    return _context(
        doc,
        version=events.latest_number(db, g.event["id"]),
        unchanged=latest == doc,
        changes=changes.schema_changes(latest, doc, designs.seats_taken(db, g.event["id"])),
        affected=changes.affected_designs(db, g.event["id"], doc) if latest else [],
    )


@bp.get("/events/<slug>/publish")
@role_required("staff")
def publish_page(slug: str) -> Response:
    """The differences between the published version and the draft, and the designs they touch."""
    return render("organiser/publish.html", **_publish_context())


@bp.post("/events/<slug>/publish")
@role_required("organiser")
def publish(slug: str) -> Response:
    """Publish the draft; mark the designs it breaks as needing their attendee's attention."""
    if request.form.get("draft_updated_at") != g.event["draft_updated_at"]:
        raise Conflict(
            "The draft changed since these differences were shown. Look at them again, then"
            " publish."
        )
    done = changes.publish(get_db(), slug, g.account_id)
    if not done.changed:
        flash(f"Nothing to publish: the draft is the same as version {done.number}.")
    else:
        flash(
            f"Published version {done.number}."
            + (
                f" {len(done.affected)} design(s) are marked as needing their attendee's attention."
                if done.affected
                else ""
            )
        )
    return redirect(url_for("organiser.overview", slug=slug), code=303)  # type: ignore[return-value]


# --- attendees -----------------------------------------------------------------------------------


def _attendees_context(**extra: Any) -> dict[str, Any]:
    rows = invitations.attendee_rows(get_db(), g.event["id"])
    return _context(
        events.draft(g.event),
        rows=rows,
        progress=invitations.progress(rows),
        base_url=_base_url(),
        **{"issued": [], **extra},
    )


@bp.get("/events/<slug>/attendees")
@role_required("staff")
def attendees_page(slug: str) -> Response:
    """Who is invited, who opened their link, started and confirmed."""
    return render("organiser/attendees.html", **_attendees_context())


def _people_text() -> str:
    upload = request.files.get("people_file")
    if upload and upload.filename:
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("The file is not UTF-8 text; save it as CSV UTF-8.") from None
    return request.form.get("people", "")


def _issued(issued: list[Any], region: str) -> Response:
    """The links just issued: as a CSV download, or shown once on the page."""
    if request.form.get("then") == "csv":
        return Response(
            invitations.links_csv(issued, _base_url()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{g.event["slug"]}-links.csv"'},
        )
    # Only hashes are stored, so this response is the one chance to see the links: no redirect.
    return render(
        "organiser/attendees.html",
        "organiser/_attendees.html",
        **_attendees_context(
            issued=issued, links_csv=invitations.links_csv(issued, _base_url()), region=region
        ),
    )


@bp.post("/events/<slug>/attendees")
@role_required("organiser")
def invite(slug: str) -> Response:
    """Invite the people of a pasted or uploaded CSV (name, email) and hand out their links."""
    try:
        people = read_people_csv(_people_text())
        issued = invitations.invite_people(get_db(), g.event["id"], people)
    except ConfiguratorError as exc:
        return render(
            "organiser/attendees.html",
            "organiser/_attendees.html",
            status=_form_error(exc),
            **_attendees_context(
                problems=_problems(exc), message=exc.message, form=request.form, region="invite"
            ),
        )
    return _issued(issued, "invite")


@bp.post("/events/<slug>/attendees/links")
@role_required("organiser")
def reissue(slug: str) -> Response:
    """New links for the ticked attendees (their old links stop working)."""
    ids = [int(v) for v in request.form.getlist("attendee") if v.isdigit()]
    try:
        issued = invitations.reissue(get_db(), g.event["id"], ids)
    except BadRequest as exc:
        return render(
            "organiser/attendees.html",
            "organiser/_attendees.html",
            status=422,
            **_attendees_context(problems=_problems(exc), message=exc.message, region="reissue"),
        )
    return _issued(issued, "reissue")


@bp.post("/events/<slug>/attendees/<int:attendee_id>/revoke")
@role_required("organiser")
def revoke(slug: str, attendee_id: int) -> Response:
    """Revoke an attendee's link; their design stays for the record."""
    revoked = invitations.revoke(get_db(), g.event["id"], attendee_id)
    notice = f"{revoked['name']}'s link is revoked."
    if is_htmx():
        return render(
            "organiser/attendees.html",
            "organiser/_attendees.html",
            **_attendees_context(region="list", saved=True, notice=notice),
        )
    flash(notice)
    return redirect(url_for("organiser.attendees_page", slug=slug), code=303)  # type: ignore[return-value]


# --- the team ------------------------------------------------------------------------------------


def _team_context(**extra: Any) -> dict[str, Any]:
    return _context(events.draft(g.event), members=team.members(get_db(), g.event["id"]), **extra)


@bp.get("/events/<slug>/team")
@role_required("staff")
def team_page(slug: str) -> Response:
    """Who organises and who staffs the event."""
    return render("organiser/team.html", **_team_context())


@bp.post("/events/<slug>/team")
@role_required("organiser")
def add_staff(slug: str) -> Response:
    """Give an account the staff role, creating it with a password if it does not exist."""
    form = request.form
    try:
        added = team.add_staff(
            get_db(),
            g.event["id"],
            form.get("email", ""),
            form.get("name", ""),
            form.get("password", ""),
        )
    except (BadRequest, Conflict) as exc:
        return render(
            "organiser/team.html",
            "organiser/_team.html",
            status=_form_error(exc),
            **_team_context(problems=_problems(exc, "/email", "email"), form=form, region="team"),
        )
    notice = f"{added['name']} ({added['email']}) is now staff of this event."
    if is_htmx():
        return render(
            "organiser/team.html",
            "organiser/_team.html",
            **_team_context(region="team", saved=True, notice=notice),
        )
    flash(notice)
    return redirect(url_for("organiser.team_page", slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/events/<slug>/team/<int:account_id>/remove")
@role_required("organiser")
def remove_staff(slug: str, account_id: int) -> Response:
    """Take the staff role away from an account."""
    team.remove_staff(get_db(), g.event["id"], account_id)
    if is_htmx():
        return render(
            "organiser/team.html",
            "organiser/_team.html",
            **_team_context(region="team", saved=True),
        )
    return redirect(url_for("organiser.team_page", slug=slug), code=303)  # type: ignore[return-value]
