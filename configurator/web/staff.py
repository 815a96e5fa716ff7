"""Staff pages: the demand dashboard, the exports and the printable rosters (all read-only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    g,
    request,
    send_file,
    stream_with_context,
    url_for,
)

from .. import charts, designs, events, exports, proposals, stats
from ..compiler import CompiledSchema
from ..errors import NotFound
from ..exports import jobs as export_jobs
from .access import role_required
from .connection import get_db
from .rendering import is_htmx, render, see_other

bp = Blueprint("staff", __name__)
DEMAND_CHART_ROWS = 25


@bp.get("/events/<slug>/dashboard")
@role_required("staff")
def dashboard(slug: str) -> Response:
    """The demand dashboard: funnels, demand against capacity, combinations, answers, time."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    figures = stats.dashboard(db, g.event["id"], schema)
    taking_proposals = proposals.settings_from(schema.document).enabled
    return render(
        "staff/dashboard.html",
        "staff/_dashboard.html",
        event=g.event,
        schema=schema,
        d=figures,
        charts=dashboard_charts(schema, figures),
        over_time=[
            ("picks-per-day", "Picks per day", figures.picks_per_day),
            ("confirmations-per-day", "Confirmations per day", figures.confirmations_per_day),
        ],
        as_of=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        percent=_percent,
        pair_sessions=stats.PAIR_SESSIONS,
        proposal_funnel=proposals.funnel(db, g.event["id"]) if taking_proposals else None,
    )


def dashboard_charts(schema: CompiledSchema, d: stats.Dashboard) -> dict[str, Any]:
    """The chart geometry for every figure of the dashboard."""
    limited = [row for row in d.demand if row.capacity is not None][:DEMAND_CHART_ROWS]
    return {
        "funnel": charts.bar_chart(
            "chart-funnel",
            "Participation funnel: attendees at each step",
            [(name, [count], None) for name, count in d.funnel.steps()],
            ["Attendees"],
        ),
        "demand": charts.bar_chart(
            "chart-demand",
            f"Seats wanted against capacity, the {len(limited)} most over-asked options",
            [(row.title, [row.seated, row.waiting], row.capacity) for row in limited],
            ["Seated", "Waiting"],
            marker_name="Capacity",
            value_text=[f"{row.wants_seat:,} / {row.capacity:,}" for row in limited],
        ),
        "pairs": charts.bar_chart(
            "chart-pairs",
            "Pairs of sessions most often picked together",
            [(f"{p.first_title} + {p.second_title}", [p.count], None) for p in d.pairs],
            ["Attendees"],
        ),
        "choices": {
            sid: charts.bar_chart(
                f"chart-choice-{sid}",
                f"{schema.sections[sid]['title']}: how many picked each option",
                [(o.title, [o.picked], o.capacity) for o in options],
                ["Picked"],
                marker_name="Capacity" if any(o.capacity for o in options) else None,
            )
            for sid, options in d.channels
        },
        "answers": {
            (dist.section_id, dist.question_id): charts.bar_chart(
                f"chart-answers-{dist.section_id}-{dist.question_id}",
                f"Answers to {dist.title}",
                [(label, [count], None) for label, count in dist.bars],
                ["Attendees"],
            )
            for dist in d.distributions
        },
        "picks-per-day": charts.column_chart(
            "chart-picks-per-day", "Picks per day (UTC)", d.picks_per_day
        ),
        "confirmations-per-day": charts.column_chart(
            "chart-confirmations-per-day", "Confirmations per day (UTC)", d.confirmations_per_day
        ),
    }


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


@bp.get("/events/<slug>/exports")
@role_required("staff")
def exports_page(slug: str) -> Response:
    """Every export with its download link, and the channel lists per option."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    return render(
        "staff/exports.html",
        event=g.event,
        schema=schema,
        formats=list(exports.FORMATS.values()),
        channels=exports.channel_scope(schema, None, None),
        attendees=exports.attendee_count(db, g.event["id"]),
    )


@bp.get("/events/<slug>/exports/<fmt>")
@role_required("staff")
def export_download(slug: str, fmt: str) -> Response:
    """One export, streamed as it is written (its length is not known in advance)."""
    return streamed(g.event, fmt)


def streamed(event: dict[str, Any], fmt: str) -> Response:
    """Stream an export of the event as a download; `section` and `option` narrow lists."""
    db = get_db()
    schema = events.compiled(db, event["id"])
    prepared = exports.download(
        db,
        event,
        schema,
        fmt,
        section=request.args.get("section") or None,
        option=request.args.get("option") or None,
    )
    response = Response(stream_with_context(prepared.chunks), mimetype=prepared.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{prepared.filename}"'
    return response


@bp.post("/events/<slug>/exports/<fmt>/prepare")
@role_required("staff")
def export_prepare(slug: str, fmt: str) -> Response:
    """Start writing an export in the background and show its progress (it changes no data)."""
    job = export_jobs.start(
        get_db(),
        g.event,
        fmt,
        section=request.form.get("section") or None,
        option=request.form.get("option") or None,
    )
    if is_htmx():
        return _job_response(job)
    return see_other(url_for("staff.export_job", slug=slug, job_id=job.id))


@bp.get("/events/<slug>/exports/jobs/<job_id>")
@role_required("staff")
def export_job(slug: str, job_id: str) -> Response:
    """How far a prepared export is; htmx asks again every second until it is ready."""
    return _job_response(export_jobs.get(get_db(), job_id, g.event["id"]))


def _job_response(job: export_jobs.ExportJob) -> Response:
    return render("staff/export_job.html", "staff/_export_job.html", event=g.event, job=job)


@bp.get("/events/<slug>/exports/jobs/<job_id>/file")
@role_required("staff")
def export_job_file(slug: str, job_id: str) -> Response:
    """The prepared export, once it is complete."""
    job = export_jobs.get(get_db(), job_id, g.event["id"])
    if job.state != "ready":
        raise NotFound("This export is not ready yet.")
    return send_file(
        job.path, mimetype=job.mimetype, as_attachment=True, download_name=job.filename
    )


@bp.get("/events/<slug>/rosters")
@role_required("staff")
def rosters(slug: str) -> Response:
    """The index of printable rosters: every session and limited option with its counts."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    seated = designs.seats_taken(db, g.event["id"])
    waiting = designs.waitlist_lengths(db, g.event["id"])
    scope = exports.roster_scope(schema, None, None)
    return render(
        "staff/rosters.html",
        event=g.event,
        schema=schema,
        rows=[(key, schema.options[key], seated.get(key, 0), waiting.get(key, 0)) for key in scope],
    )


@bp.get("/events/<slug>/rosters/<section>/<option>")
@role_required("staff")
def roster(slug: str, section: str, option: str) -> Response:
    """One printable roster: seated, without a seat, then the waitlist in order."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    key = (section, option)
    if key not in exports.roster_scope(schema, None, None):
        raise NotFound(f"There is no session or limited option {section}/{option}.")
    lines = exports.roster(db, g.event["id"], key)
    return render(
        "staff/roster.html",
        event=g.event,
        schema=schema,
        key=key,
        option=schema.options[key],
        section_title=schema.sections[section]["title"],
        lines=lines,
        seated=[line for line in lines if line.seat == "seated"],
        unseated=[line for line in lines if line.seat == "no seat"],
        waiting=[line for line in lines if line.seat == "waitlist"],
        when=_when(schema, schema.options[key]),
    )


def _when(schema: CompiledSchema, option: Any) -> str:
    if option.day is None:
        return ""
    return f"{option.day:%A %d %B}, {schema.clock(option.start)}–{schema.clock(option.end)}"
