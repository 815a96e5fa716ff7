"""The organiser console: events, importing sessions, preview and publishing, invitations, the team."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, request, url_for

from .. import changes, designs, events, imports, invitations, optionschema, schema_editor, team
from ..compiler import CompiledSchema
from ..db import write
from ..errors import BadRequest, ConfiguratorError, Conflict, ImportFailed, SchemaInvalid
from . import console
from .access import account_required, role_required
from .connection import get_db
from .rendering import is_htmx, render, see_other

bp = Blueprint("organiser", __name__)
Doc = dict[str, Any]


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
            status=console.form_error(exc),
            problems=console.problems_of(exc, "/event/slug", "event > slug"),
            form=request.form,
        )
    flash(f"Created “{created['title']}”. Its schema is a draft until you publish it.")
    return see_other(url_for("organiser.overview", slug=created["slug"]))


def _overview_context(db: Any) -> dict[str, Any]:
    event = g.event
    latest = changes.latest_document(db, event["id"])
    number = events.latest_number(db, event["id"])
    window = None
    if number is not None:
        window = events.window(event, events.compiled(db, event["id"], number))
    rows = invitations.attendee_rows(db, event["id"])
    return console.context(
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
    return see_other(url_for("organiser.overview", slug=slug))


# --- importing sessions --------------------------------------------------------------------------


def _import_context(doc: Doc, **extra: Any) -> dict[str, Any]:
    targets = [s for s in doc["sections"] if s["kind"] == "sessions"]
    choices = [(s["id"], s["title"]) for s in targets] + [("__new__", "a new sessions section")]
    return console.context(doc, targets=targets, choices=choices, **extra)


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
        schedule = imports.read(
            upload.read(),
            filename=upload.filename,
            timezone=request.form.get("timezone") or events.draft(g.event)["event"]["timezone"],
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
            **_import_context(
                events.draft(g.event), problems=console.problems_of(exc), form=request.form
            ),
        )
    summary = (
        f"Imported {upload.filename} into “{target['title']}”: {report.added} added,"
        f" {report.updated} updated, {report.unchanged} unchanged, {report.rooms_added} room(s)"
        " added."
    )
    if not is_htmx():
        flash(summary)
        return see_other(url_for("organiser.import_page", slug=slug))
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
    return render("organiser/preview.html", **console.context(doc, schema=CompiledSchema(doc)))


def _publish_context() -> dict[str, Any]:
    db = get_db()
    doc = events.draft(g.event)
    latest = changes.latest_document(db, g.event["id"])
    # Each schema compiled once for the page: the published one is kept per process anyway.
    published = events.compiled(db, g.event["id"]) if latest else None
    draft = CompiledSchema(doc)
    return console.context(
        doc,
        version=events.latest_number(db, g.event["id"]),
        unchanged=latest == doc,
        changes=changes.schema_changes(published, draft, designs.seats_taken(db, g.event["id"])),
        affected=changes.affected_designs(db, g.event["id"], draft, published) if latest else [],
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
    return see_other(url_for("organiser.overview", slug=slug))


# --- attendees -----------------------------------------------------------------------------------


def _attendees_context(**extra: Any) -> dict[str, Any]:
    rows = invitations.attendee_rows(get_db(), g.event["id"])
    return console.context(
        events.draft(g.event),
        rows=rows,
        progress=invitations.progress(rows),
        base_url=console.base_url(),
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
            invitations.links_csv(issued, console.base_url()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{g.event["slug"]}-links.csv"'},
        )
    # Only hashes are stored, so this response is the one chance to see the links: no redirect.
    return render(
        "organiser/attendees.html",
        "organiser/_attendees.html",
        **_attendees_context(
            issued=issued,
            links_csv=invitations.links_csv(issued, console.base_url()),
            region=region,
        ),
    )


@bp.post("/events/<slug>/attendees")
@role_required("organiser")
def invite(slug: str) -> Response:
    """Invite the people of a pasted or uploaded CSV (name, email) and hand out their links."""
    try:
        people = invitations.read_people_csv(_people_text())
        issued = invitations.invite_people(get_db(), g.event["id"], people)
    except ConfiguratorError as exc:
        return render(
            "organiser/attendees.html",
            "organiser/_attendees.html",
            status=console.form_error(exc),
            **_attendees_context(
                problems=console.problems_of(exc),
                message=exc.message,
                form=request.form,
                region="invite",
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
            **_attendees_context(
                problems=console.problems_of(exc), message=exc.message, region="reissue"
            ),
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
    return see_other(url_for("organiser.attendees_page", slug=slug))


# --- the team ------------------------------------------------------------------------------------


def _team_context(**extra: Any) -> dict[str, Any]:
    return console.context(
        events.draft(g.event), members=team.members(get_db(), g.event["id"]), **extra
    )


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
            status=console.form_error(exc),
            **_team_context(
                problems=console.problems_of(exc, "/email", "email"), form=form, region="team"
            ),
        )
    notice = f"{added['name']} ({added['email']}) is now staff of this event."
    if is_htmx():
        return render(
            "organiser/team.html",
            "organiser/_team.html",
            **_team_context(region="team", saved=True, notice=notice),
        )
    flash(notice)
    return see_other(url_for("organiser.team_page", slug=slug))


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
    return see_other(url_for("organiser.team_page", slug=slug))
