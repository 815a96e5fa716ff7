"""The organiser console's schema editor: the draft edited by forms, or as raw JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, g, request, url_for

from .. import events, optionschema, schema_editor
from ..errors import NotFound, SchemaInvalid
from . import console
from .access import role_required
from .connection import get_db
from .rendering import is_htmx, render, see_other

bp = Blueprint("schema", __name__)
Doc = dict[str, Any]
SCHEMA = "/events/<slug>/schema"
SECTION = SCHEMA + "/sections/<sid>"


# --- the schema editor: event, budget, sections, rules -----------------------------------------


def _schema_context(doc: Doc) -> dict[str, Any]:
    return {"pickable": schema_editor.pickable(doc)}


@bp.get(SCHEMA)
@role_required("staff")
def editor(slug: str) -> Response:
    """The form-based editor of the draft."""
    doc = events.draft(g.event)
    return render("organiser/schema.html", **console.context(doc), **_schema_context(doc))


def _schema_edit(change: Callable[[Doc], Doc], partial: str, show_attempt: bool = True) -> Response:
    region = partial.removeprefix("organiser/_").removesuffix(".html")
    return console.edit(
        change,
        "organiser/schema.html",
        partial,
        region,
        url_for("schema.editor", slug=g.event["slug"]) + "#" + region,
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
    return console.edit(
        change,
        "organiser/section.html",
        partial,
        region,
        url_for("schema.section", slug=g.event["slug"], sid=sid) + "#" + region,
        _section_context(sid),
        show_attempt,
    )


@bp.get(SECTION)
@role_required("staff")
def section(slug: str, sid: str) -> Response:
    """One section: its settings and its options, sessions, rooms, formats or questions."""
    doc = events.draft(g.event)
    return render("organiser/section.html", **console.context(doc), **_section_context(sid)(doc))


@bp.get(SECTION + "/sessions")
@role_required("staff")
def sessions(slug: str, sid: str) -> Response:
    """The section's sessions, filtered and a page at a time."""
    doc = events.draft(g.event)
    return render(
        "organiser/section.html",
        "organiser/_sessions.html",
        **console.context(doc),
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
    return console.edit(change, page, partial, "item", back, context)


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
    return render("organiser/option.html", **console.context(doc), **_option_context(sid, oid)(doc))


@bp.post(SECTION + "/options/<oid>")
@role_required("organiser")
def edit_option(slug: str, sid: str, oid: str) -> Response:
    """Save an option."""
    return _item_edit(
        "organiser/option.html",
        url_for("schema.option", slug=slug, sid=sid, oid=oid),
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
        "organiser/session.html", **console.context(doc), **_session_context(sid, session_id)(doc)
    )


@bp.post(SECTION + "/sessions/<session_id>")
@role_required("organiser")
def edit_session(slug: str, sid: str, session_id: str) -> Response:
    """Save a session."""
    return _item_edit(
        "organiser/session.html",
        url_for("schema.session", slug=slug, sid=sid, session_id=session_id),
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
        page, back = "organiser/section.html", url_for("schema.section", slug=slug, sid=sid)
    else:
        page, back = (
            "organiser/option.html",
            url_for("schema.option", slug=slug, sid=sid, oid=oid),
        )

    def context(doc: Doc) -> dict[str, Any]:
        found = _section_context(sid)(doc) if oid is None else {}
        return {**found, **_fields_context(sid, oid)(doc)}

    return console.edit(
        change, page, "organiser/_fields.html", "fields", back + "#fields", context, False
    )


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
    return render(
        "organiser/field.html", **console.context(doc), **_field_context(sid, fid, oid)(doc)
    )


@bp.post(SECTION + "/fields/<fid>", defaults={"oid": None})
@bp.post(SECTION + "/options/<oid>/fields/<fid>")
@role_required("organiser")
def edit_field(slug: str, sid: str, fid: str, oid: str | None) -> Response:
    """Save a question."""
    back = url_for("schema.field", slug=slug, sid=sid, fid=fid, oid=oid)
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
        "organiser/raw.html",
        **console.context(doc, text=json.dumps(doc, indent=2, ensure_ascii=False)),
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
            **console.context(
                events.draft(g.event), text=text, problems=console.problems_of(exc), region="raw"
            ),
        )
    if not is_htmx():
        flash("The draft was saved.")
        return see_other(url_for("schema.raw", slug=slug))
    return render(
        "organiser/raw.html",
        "organiser/_raw.html",
        **console.context(
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
