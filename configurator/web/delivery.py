"""Staff and organisers deliver: the delivery page, its settings, broadcasts, sending invitations."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, flash, g, request, url_for
from flask_babel import gettext, ngettext

from .. import events
from ..delivery import broadcasts, config, figures, links, log, settings
from ..errors import BadRequest, ConfiguratorError, SchemaInvalid
from ..exports.writers import defuse
from .access import role_required
from .connection import get_db
from .console import base_url
from .rendering import is_htmx, render, see_other

bp = Blueprint("delivery", __name__)


def _schema() -> Any:
    return events.compiled(get_db(), g.event["id"])


@bp.app_template_global()
def delivery_figures(event: dict[str, Any]) -> figures.Figures:
    """The dashboard's delivery strip: deliveries per status, satisfaction, co-creation KPIs."""
    db = get_db()
    return figures.figures(db, event["id"], events.compiled(db, event["id"]))


@bp.get("/events/<slug>/delivery")
@role_required("staff")
def page(slug: str) -> Response:
    """Every delivery of the event: how many in each status, the latest, retry for failures."""
    db = get_db()
    status = request.args.get("status") or None
    if status not in (None, *log.STATUSES):
        raise BadRequest(gettext("There is no delivery status %(status)s.", status=status))
    server = config.current().mail
    return render(
        "delivery/page.html",
        "delivery/_log.html",
        event=g.event,
        counts=log.counts(db, g.event["id"]),
        channels=log.channels(db, g.event["id"], _schema()),
        rows=log.deliveries(db, g.event["id"], status),
        status=status,
        statuses=log.STATUSES,
        mail=server.shown() if server else None,
        can_edit=g.role == "organiser",
    )


@bp.post("/events/<slug>/delivery/<int:delivery_id>/retry")
@role_required("organiser")
def retry(slug: str, delivery_id: int) -> Response:
    """Try a failed (or collected) delivery again at once; the worker takes it on its next look."""
    log.retry(get_db(), g.event["id"], delivery_id)
    flash(gettext("Delivery %(id)s is queued again.", id=delivery_id))
    return see_other(url_for("delivery.page", slug=slug, status=request.form.get("status") or None))


@bp.get("/events/<slug>/delivery/log.csv")
@role_required("staff")
def log_csv(slug: str) -> Response:
    """The whole delivery log as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    fields = [
        "id",
        "message_id",
        "kind",
        "subject",
        "name",
        "email",
        "channel",
        "status",
        "reason",
        "to",
        "attempts",
        "queued_at",
        "finished_at",
    ]
    writer.writerow(fields)
    for row in log.deliveries(get_db(), g.event["id"], limit=10**9):
        values = row.as_dict()
        writer.writerow(
            [defuse(values[f]) if isinstance(values[f], str) else values[f] for f in fields]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}-deliveries.csv"'},
    )


# --- settings ------------------------------------------------------------------------------------


def _settings_page(status: int = 200, **extra: Any) -> Response:
    db = get_db()
    schema = _schema()
    chosen = extra.pop("chosen", None) or settings.get(db, g.event["id"], schema)
    server = config.current()
    return render(
        "delivery/settings.html",
        status=status,
        event=g.event,
        schema=schema,
        chosen=chosen,
        options=settings.channel_options(schema, chosen),
        sections=[s for s in schema.document["sections"] if s["kind"] == "choice"],
        mail=server.mail.shown() if server.mail else None,
        sender=server.sender,
        secret_names=sorted(server.secrets),
        secrets_file=server.secrets_file,
        can_edit=g.role == "organiser",
        **{"problems": [], "form": None, "saved": False, **extra},
    )


@bp.get("/events/<slug>/delivery/settings")
@role_required("staff")
def settings_page(slug: str) -> Response:
    """How the event delivers: sender name, each channel's service, quiet hours, reminders."""
    return _settings_page(saved=bool(request.args.get("saved")))


@bp.post("/events/<slug>/delivery/settings")
@role_required("organiser")
def save_settings(slug: str) -> Response:
    """Check and store the delivery settings; a bad field is shown beside itself."""
    try:
        settings.save(get_db(), g.event["id"], _schema(), request.form.to_dict())
    except SchemaInvalid as exc:
        return _settings_page(422, problems=exc.problems, form=request.form, message=exc.message)
    return see_other(url_for("delivery.settings_page", slug=slug, saved=1))


# --- broadcasts ----------------------------------------------------------------------------------


def _compose(status: int = 200, **extra: Any) -> Response:
    schema = _schema()
    return render(
        "delivery/broadcasts.html",
        status=status,
        event=g.event,
        schema=schema,
        sessions=[(f"{k[0]}/{k[1]}", o.title) for k, o in schema.options.items()],
        formats=[(f"{k[0]}/{k[1]}", title) for k, title in schema.format_titles.items()],
        recent=broadcasts.recent(get_db(), g.event["id"]),
        can_edit=g.role == "organiser",
        **{"problems": [], "form": {}, **extra},
    )


@bp.get("/events/<slug>/broadcasts")
@role_required("staff")
def broadcasts_page(slug: str) -> Response:
    """Compose a message to an audience."""
    return _compose()


@bp.post("/events/<slug>/broadcasts/preview")
@role_required("organiser")
def preview_broadcast(slug: str) -> Response:
    """Who would get the message on which channel; nothing is sent yet."""
    schema = _schema()
    try:
        audience, subject, body = broadcasts.read(schema, request.form.to_dict())
    except BadRequest as exc:
        return _compose(422, problems=exc.problems, form=request.form, message=exc.message)
    shown = broadcasts.preview(get_db(), g.event["id"], schema, audience, subject, body)
    return render(
        "delivery/broadcast_preview.html", event=g.event, preview=shown, form=request.form
    )


@bp.post("/events/<slug>/broadcasts")
@role_required("organiser")
def send_broadcast(slug: str) -> Response:
    """Queue the previewed message to its audience (once, however often the form is sent)."""
    schema = _schema()
    try:
        audience, subject, body = broadcasts.read(schema, request.form.to_dict())
        made = broadcasts.send(
            get_db(),
            g.event["id"],
            audience,
            subject,
            body,
            request.form.get("nonce", ""),
            base_url(),
        )
    except BadRequest as exc:
        return _compose(422, problems=exc.problems, form=request.form, message=exc.message)
    flash(ngettext("%(num)d message queued.", "%(num)d messages queued.", made))
    return see_other(url_for("delivery.page", slug=slug))


# --- invitations ---------------------------------------------------------------------------------


def _ticked() -> list[int]:
    return [int(v) for v in request.form.getlist("attendee") if v.isdigit()]


def _attendees_back(message: str) -> Response:
    flash(message)
    return see_other(url_for("organiser.attendees_page", slug=g.event["slug"]))


@bp.post("/events/<slug>/attendees/invitations/preview")
@role_required("organiser")
def preview_invitations(slug: str) -> Response:
    """Who would get an invitation email with a new link, and its words."""
    try:
        shown = links.preview(get_db(), g.event, _ticked(), base_url())
    except ConfiguratorError as exc:
        return _attendees_back(exc.message)
    return render("delivery/invitations_preview.html", event=g.event, preview=shown)


@bp.post("/events/<slug>/attendees/invitations")
@role_required("organiser")
def send_invitations(slug: str) -> Response:
    """Issue the ticked attendees new links and queue them by email."""
    try:
        made = links.send_invitations(get_db(), g.event, _ticked(), base_url())
    except ConfiguratorError as exc:
        if is_htmx():
            return render(
                "errors/_error.html", status=422, title="", message=exc.message, problems=[]
            )
        return _attendees_back(exc.message)
    return _attendees_back(
        ngettext("%(num)d invitation queued.", "%(num)d invitations queued.", len(made))
    )
