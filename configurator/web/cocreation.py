"""Co-creation pages: attendees propose and support; organisers moderate and answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)

from .. import designs, events, proposal_review, proposals, similarity
from ..compiler import day_name
from ..errors import (
    BadRequest,
    ConfiguratorError,
    Conflict,
    DesignInvalid,
    Forbidden,
    NotFound,
    Problem,
    SchemaInvalid,
    SeatTaken,
    WindowClosed,
)
from ..exports import proposals as proposal_csv
from .access import attendee_required, role_required
from .connection import get_db
from .rendering import is_htmx, render, see_other

bp = Blueprint("cocreation", __name__)
PROPOSAL = "/e/<slug>/proposals/<int:pid>"
REVIEW = "/events/<slug>/proposals"
CARDS = ("proposal", "similar", "check")
ADD_ERRORS = (SeatTaken, DesignInvalid, WindowClosed, Conflict)


def errors_by_field(problems: list[Problem]) -> dict[str, list[str]]:
    """Problems keyed by the form field their pointer names (`/title` is `title`)."""
    found: dict[str, list[str]] = {}
    for p in problems:
        found.setdefault(p.pointer.strip("/").split("/")[0] or "form", []).append(p.message)
    return found


def _form_status(error: ConfiguratorError) -> int:
    """409 for a clash with the current state, else 422: htmx swaps both."""
    return 409 if error.status == 409 else 422


# --- what every attendee page knows ------------------------------------------------------------


def _settings() -> proposals.Settings:
    return proposals.settings_for(get_db(), g.event["id"])


@bp.app_template_global()
def proposal_settings(event: Mapping[str, Any]) -> proposals.Settings:
    """The event's published proposals settings, for the menus that link to the proposal pages."""
    return proposals.settings_for(get_db(), event["id"])


def _enabled() -> proposals.Settings:
    settings = _settings()
    if not settings.enabled:
        raise NotFound("This event does not take proposals.")
    return settings


def _attendee_context(settings: proposals.Settings, **extra: Any) -> dict[str, Any]:
    db = get_db()
    context: dict[str, Any] = {
        "event": g.event,
        "attendee": g.attendee,
        "settings": settings,
        "phases": {name: proposals.phase(settings, name) for name in proposals.PHASE_WORDS},
        "budget": proposals.budget(
            db, g.event["id"], g.attendee["id"], settings.supports_per_attendee
        ),
        "supported": proposals.supported_ids(db, g.attendee["id"]),
        "format_choices": [("", "No preference")]
        + [(f, proposals.format_title(f)) for f in settings.formats],
        "errors": {},
        "form": {},
        "card_errors": {},
        "announce": None,
    }
    context.update(extra)
    return context


def _list_page(settings: proposals.Settings, status: int = 200, **extra: Any) -> Response:
    db = get_db()
    listed = proposals.visible(db, g.event["id"], settings.threshold)
    return render(
        "cocreation/proposals.html",
        status=status,
        **_attendee_context(
            settings,
            proposals=listed,
            made=proposals.proposal_count(db, g.event["id"], g.attendee["id"]),
            **extra,
        ),
    )


def _draft_from(form: Mapping[str, str], settings: proposals.Settings) -> proposals.Draft:
    return proposals.clean(
        settings,
        form.get("title", ""),
        form.get("description", ""),
        form.get("format"),
        form.get("tags", ""),
    )


def _form_values(form: Mapping[str, str]) -> dict[str, str]:
    return {k: form.get(k, "") for k in ("title", "description", "format", "tags")}


# --- attendees: the list, proposing, similar ones ------------------------------------------------


@bp.get("/e/<slug>/proposals")
@attendee_required
def proposals_page(slug: str) -> Response:
    """Every visible proposal, most supported first, the support budget and the propose form."""
    return _list_page(_enabled())


@bp.get("/e/<slug>/proposals/similar")
@attendee_required
def similar(slug: str) -> Response:
    """Proposals like the title being typed (htmx asks as the attendee types)."""
    settings = _enabled()
    title = request.args.get("title", "")[: proposals.TITLE_MAX * 2]
    found = similarity.similar(
        get_db(),
        g.event["id"],
        title,
        request.args.get("description", "")[:5000],
        threshold=settings.threshold,
    )
    return render(
        "cocreation/similar.html",
        "cocreation/_similar.html",
        **_attendee_context(settings, similar=found, title=title, card="similar"),
    )


@bp.post("/e/<slug>/proposals/check")
@attendee_required
def check(slug: str) -> Response:
    """Step one of proposing: show similar proposals to support, or post when there are none."""
    settings = _enabled()
    form = _form_values(request.form)
    try:
        proposals.require_phase(settings, "propose")
        draft = _draft_from(request.form, settings)
    except (BadRequest, WindowClosed) as error:
        return _list_page(
            settings,
            _form_status(error),
            form=form,
            errors=errors_by_field(error.problems),
            form_error=error.message,
        )
    found = similarity.similar(
        get_db(), g.event["id"], draft.title, draft.description, threshold=settings.threshold
    )
    if not found:
        return _create(settings, draft, form)
    return render(
        "cocreation/check.html",
        **_attendee_context(settings, similar=found, form=form, card="check"),
    )


@bp.post("/e/<slug>/proposals")
@attendee_required
def create(slug: str) -> Response:
    """Post a proposal (the "post anyway" of step two, or a direct post)."""
    settings = _enabled()
    form = _form_values(request.form)
    try:
        draft = _draft_from(request.form, settings)
    except BadRequest as error:
        return _list_page(
            settings,
            422,
            form=form,
            errors=errors_by_field(error.problems),
            form_error=error.message,
        )
    return _create(settings, draft, form)


def _create(settings: proposals.Settings, draft: proposals.Draft, form: dict[str, str]) -> Response:
    try:
        pid = proposals.propose(get_db(), g.event["id"], g.attendee["id"], draft)
    except (Conflict, WindowClosed) as error:
        return _list_page(settings, _form_status(error), form=form, form_error=error.message)
    flash(f"Your proposal “{draft.title}” is posted. Others can support it now.")
    return see_other(url_for("cocreation.detail", slug=g.event["slug"], pid=pid))


# --- attendees: one proposal ---------------------------------------------------------------------


def _detail_page(
    settings: proposals.Settings, pid: int, status: int = 200, **extra: Any
) -> Response:
    db = get_db()
    proposal = proposals.get_proposal(db, g.event["id"], pid, threshold=settings.threshold)
    merged_into = None
    if proposal["merged_into"]:
        try:
            merged_into = proposals.get_proposal(db, g.event["id"], proposal["merged_into"])
        except NotFound:
            merged_into = None
    asked = proposals.asked_for(db, g.attendee["id"])
    key = (proposal["option_section"], proposal["option_id"])
    option = _option_view(key) if proposal["status"] == "accepted" else None
    extra.setdefault(
        "form",
        {
            "title": proposal["title"],
            "description": proposal["description"],
            "format": proposal["format"] or "",
            "tags": ", ".join(proposal["tags"]),
        },
    )
    context = _attendee_context(
        settings,
        proposal=proposal,
        merged_into=merged_into,
        option=option,
        asked=asked.get(key),
        in_design=_in_design(key),
        card="proposal",
        **extra,
    )
    return render("cocreation/detail.html", status=status, **context)


def _option_view(key: tuple[str, str]) -> dict[str, Any] | None:
    """A published option as the attendee pages describe it (None before it is published)."""
    db = get_db()
    if events.latest_number(db, g.event["id"]) is None:
        return None
    schema = events.compiled(db, g.event["id"])
    option = schema.options.get(key)
    if option is None:
        return None
    section = schema.sections[key[0]]
    when = room = ""
    if option.day is not None:
        when = f"{day_name(option.day)}, {schema.clock(option.start)}–{schema.clock(option.end)}"
        session = next(s for s in section["sessions"] if s["id"] == key[1])
        room = next((r["title"] for r in section["rooms"] if r["id"] == session.get("room")), "")
    return {
        "key": key,
        "title": option.title,
        "section": section["title"],
        "when": when,
        "room": room,
        "capacity": option.capacity,
    }


def _in_design(key: tuple[str, str]) -> bool:
    design = designs.get_design(get_db(), g.attendee["id"])
    return bool(design and key[1] in design["document"].get(key[0], {}))


@bp.get(PROPOSAL)
@attendee_required
def detail(slug: str, pid: int) -> Response:
    """One proposal: its answer and reason, what it became, and the author's edit form."""
    return _detail_page(_enabled(), pid)


@bp.post(PROPOSAL)
@attendee_required
def edit(slug: str, pid: int) -> Response:
    """The author changes their proposal (until it is answered)."""
    settings = _enabled()
    form = _form_values(request.form)
    try:
        draft = _draft_from(request.form, settings)
        proposals.edit(get_db(), g.event["id"], pid, g.attendee["id"], draft)
    except (BadRequest, Conflict, Forbidden) as error:
        status = error.status if error.status == 403 else _form_status(error)
        return _detail_page(
            settings,
            pid,
            status,
            form=form,
            errors=errors_by_field(error.problems),
            form_error=error.message,
        )
    flash("Your changes are saved.")
    return see_other(url_for("cocreation.detail", slug=slug, pid=pid))


# --- attendees: supporting -------------------------------------------------------------------------


def _back_url(slug: str, pid: int) -> str:
    back = request.form.get("back", "list")
    if back == "detail":
        return url_for("cocreation.detail", slug=slug, pid=pid)
    if back == "mine":
        return url_for("cocreation.my_input", slug=slug)
    return url_for("cocreation.proposals_page", slug=slug) + f"#proposal-{pid}"


@bp.post(PROPOSAL + "/support")
@attendee_required
def support(slug: str, pid: int) -> Response:
    """Support a proposal, or withdraw the support (action=withdraw)."""
    settings = _enabled()
    db = get_db()
    card = request.form.get("card", "proposal")
    card = card if card in CARDS else "proposal"
    withdrawing = request.form.get("action") == "withdraw"
    title = proposals.get_proposal(db, g.event["id"], pid)["title"]
    try:
        if withdrawing:
            proposals.withdraw(db, g.event["id"], pid, g.attendee["id"])
            announce = f"You withdrew your support for “{title}”."
        else:
            proposals.support(db, g.event["id"], pid, g.attendee["id"])
            announce = f"You support “{title}”."
    except (Conflict, WindowClosed) as error:
        if is_htmx():
            return _card_response(settings, pid, card, error.status, error=error.message)
        return _list_page(settings, error.status, card_errors={pid: error.message})
    if is_htmx():
        return _card_response(settings, pid, card, announce=announce)
    flash(announce)
    return see_other(_back_url(slug, pid))


def _card_response(
    settings: proposals.Settings,
    pid: int,
    card: str,
    status: int = 200,
    error: str | None = None,
    announce: str | None = None,
) -> Response:
    """One proposal's card and the budget beside it, for htmx to swap."""
    proposal = proposals.get_proposal(get_db(), g.event["id"], pid, threshold=settings.threshold)
    html = render_template(
        "cocreation/_support_response.html",
        **_attendee_context(
            settings,
            p=proposal,
            card=card,
            card_errors={pid: error} if error else {},
            announce=announce,
            back=request.form.get("back", "list"),
        ),
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


# --- attendees: what came of it --------------------------------------------------------------------


@bp.post(PROPOSAL + "/add")
@attendee_required
def add(slug: str, pid: int) -> Response:
    """Add an accepted proposal's option to one's design in one click."""
    db = get_db()
    settings = _settings()
    try:
        key, title = proposals.add_to_design(db, g.attendee, pid)
    except ADD_ERRORS as error:
        message = _add_message(error)
        if is_htmx():
            return _add_response(pid, None, message, _form_status(error))
        page = _my_input_context(settings, add_errors={pid: message})
        return render("cocreation/my_input.html", status=_form_status(error), **page)
    announce = f"Added “{title}” to your design."
    if is_htmx():
        return _add_response(pid, key, announce)
    flash(announce)
    return see_other(url_for("designer.page", slug=slug))


def _add_message(error: ConfiguratorError) -> str:
    if isinstance(error, SeatTaken):
        return (
            "The last seat was just taken. Open the design page to join the waitlist or to"
            " attend another way."
        )
    if isinstance(error, DesignInvalid):
        details = "; ".join(p.message for p in error.problems[:3])
        return (
            f"Adding it would break a rule of your design: {details}."
            if details
            else (error.message)
        )
    return error.message


def _add_response(
    pid: int, key: tuple[str, str] | None, message: str, status: int = 200
) -> Response:
    html = render_template(
        "cocreation/_add_result.html",
        event=g.event,
        pid=pid,
        added=key is not None,
        message=message,
    )
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def _my_input_context(settings: proposals.Settings, **extra: Any) -> dict[str, Any]:
    db = get_db()
    asked = proposals.asked_for(db, g.attendee["id"])
    design = designs.get_design(db, g.attendee["id"])
    document = design["document"] if design else {}
    community = []
    for item in proposals.community_options(db, g.event["id"]):
        key = item["key"]
        community.append(
            {
                **item,
                "view": _option_view(key),
                "asked": asked.get(key),
                "in_design": key[1] in document.get(key[0], {}),
            }
        )
    extra.setdefault("add_errors", {})
    return _attendee_context(
        settings,
        mine=proposals.mine(db, g.event["id"], g.attendee["id"]),
        community=community,
        **extra,
    )


@bp.get("/e/<slug>/my-input")
@attendee_required
def my_input(slug: str) -> Response:
    """Your input made a difference: your proposals and supports, and what became of them."""
    return render("cocreation/my_input.html", **_my_input_context(_settings()))


# --- organisers and staff: the ranked list, moderation and answers --------------------------------


def _review_context(**extra: Any) -> dict[str, Any]:
    db = get_db()
    settings = _settings()
    doc = events.draft(g.event)
    context: dict[str, Any] = {
        "event": g.event,
        "settings": settings,
        "phases": {name: proposals.phase(settings, name) for name in proposals.PHASE_WORDS},
        "proposals": proposals.ranked(db, g.event["id"], settings.threshold),
        "proposal_funnel": proposals.funnel(db, g.event["id"]),
        "can_edit": g.role == "organiser",
        "placements": _placements(doc),
        "zone": doc["event"]["timezone"],
        "days": (doc["event"]["starts_on"], doc["event"]["ends_on"]),
        "failed": None,
        "announce": None,
    }
    context.update(extra)
    return context


def _placements(doc: dict[str, Any]) -> dict[str, Any]:
    """Where an accepted proposal can go: the draft's sessions and choice sections, and rooms."""
    sections = [
        (s["id"], f"{s['title']} ({'sessions' if s['kind'] == 'sessions' else 'choice'})")
        for s in doc["sections"]
        if s["kind"] in ("sessions", "choice")
    ]
    rooms = [
        (r["id"], f"{r['title']}" + (f" ({r['capacity']} seats)" if r.get("capacity") else ""))
        for s in doc["sections"]
        if s["kind"] == "sessions"
        for r in s.get("rooms", [])
    ]
    return {"sections": sections, "rooms": list(dict.fromkeys(rooms))}


def _review(status: int = 200, **extra: Any) -> Response:
    return render(
        "cocreation/review.html",
        "cocreation/_review.html",
        status=status,
        **_review_context(**extra),
    )


def _after_review(pid: int, message: str) -> Response:
    if is_htmx():
        return _review(announce=message)
    flash(message)
    return see_other(url_for("cocreation.review", slug=g.event["slug"]) + f"#review-{pid}")


def _failed(pid: int, form_name: str, error: ConfiguratorError) -> Response:
    problems = error.problems or [Problem("/form", "form", error.message)]
    failed = {
        "pid": pid,
        "form": form_name,
        "message": error.message,
        "errors": errors_by_field(problems),
        "values": request.form,
    }
    return _review(_form_status(error), failed=failed)


@bp.get(REVIEW)
@role_required("staff")
def review(slug: str) -> Response:
    """Every proposal ranked by support, with moderation and answer forms for organisers."""
    return _review()


@bp.post(REVIEW + "/<int:pid>/answer")
@role_required("organiser")
def answer(slug: str, pid: int) -> Response:
    """Answer a proposal: under consideration or declined, with a reason."""
    status = request.form.get("status", "")
    try:
        proposal_review.answer(get_db(), g.event["id"], pid, status, request.form.get("reason", ""))
    except (BadRequest, Conflict, WindowClosed, NotFound) as error:
        return _failed(pid, "answer", error)
    words = proposals.STATUS_TITLES[status].lower()
    return _after_review(pid, f"Proposal {pid} is now {words}; its author and supporters are told.")


@bp.post(REVIEW + "/<int:pid>/accept")
@role_required("organiser")
def accept(slug: str, pid: int) -> Response:
    """Accept a proposal and place it in the schema draft as a session or an option."""
    try:
        placement = _placement(request.form, events.draft(g.event)["event"]["timezone"])
        key = proposal_review.accept(
            get_db(), g.event["id"], pid, request.form.get("reason", ""), placement
        )
    except (BadRequest, Conflict, WindowClosed, SchemaInvalid, NotFound) as error:
        return _failed(pid, "accept", error)
    return _after_review(
        pid,
        f"Proposal {pid} is accepted and added to the draft as “{key[1]}” in section"
        f" “{key[0]}”. Publish the draft to offer it to attendees.",
    )


_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def _placement(form: Mapping[str, str], zone: str) -> proposal_review.Placement:
    """The accept form's placement: datetime-local values read in the event's time zone."""
    problems = []
    instants: dict[str, str | None] = {}
    for name in ("start", "end"):
        raw = form.get(name, "").strip()
        if not raw:
            instants[name] = None
        elif _LOCAL.match(raw):
            moment = datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(zone))
            instants[name] = moment.isoformat(timespec="seconds")
        else:
            problems.append(
                Problem(f"/{name}", name, "give a date and time such as 2027-03-13T16:00")
            )
    capacity = None
    raw_capacity = form.get("capacity", "").strip()
    if raw_capacity:
        if raw_capacity.isdigit() and 1 <= int(raw_capacity) <= 1_000_000:
            capacity = int(raw_capacity)
        else:
            problems.append(
                Problem("/capacity", "capacity", "give a whole number of seats, such as 20")
            )
    if problems:
        raise BadRequest("The placement has problems to fix.", problems)
    return proposal_review.Placement(
        form.get("section", ""),
        instants.get("start"),
        instants.get("end"),
        form.get("room", "").strip() or None,
        capacity,
    )


@bp.post(REVIEW + "/<int:pid>/merge")
@role_required("organiser")
def merge(slug: str, pid: int) -> Response:
    """Merge a duplicate into another proposal, carrying its supports over."""
    into = request.form.get("into", "")
    try:
        if not into.isdigit():
            raise BadRequest(
                "Choose the proposal to merge into.",
                [Problem("/into", "into", "choose the proposal to merge into")],
            )
        moved = proposal_review.merge(
            get_db(), g.event["id"], pid, int(into), request.form.get("reason", "")
        )
    except (BadRequest, Conflict, WindowClosed, NotFound) as error:
        return _failed(pid, "merge", error)
    return _after_review(
        pid, f"Proposal {pid} is merged into proposal {into}; {moved} support(s) moved over."
    )


@bp.post(REVIEW + "/<int:pid>/hide")
@role_required("organiser")
def hide(slug: str, pid: int) -> Response:
    """Hide a proposal from attendees, exports and the API."""
    try:
        proposal_review.hide(get_db(), g.event["id"], pid, request.form.get("reason", ""))
    except (BadRequest, Conflict, NotFound) as error:
        return _failed(pid, "hide", error)
    return _after_review(pid, f"Proposal {pid} is hidden; its author is told why.")


# --- exports ---------------------------------------------------------------------------------------


@bp.get(REVIEW + "/export.<fmt>")
@role_required("staff")
def export(slug: str, fmt: str) -> Response:
    """Download the proposals as CSV (formula-safe) or JSON."""
    if fmt == "csv":
        body = proposal_csv.export_csv(proposals.export(get_db(), g.event["id"]))
        response = make_response(body)
        response.mimetype = "text/csv"
        response.charset = "utf-8"
    elif fmt == "json":
        response = jsonify(proposals.export_document(get_db(), g.event))
    else:
        raise NotFound("Proposals export as .csv or .json.")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-proposals.{fmt}"'
    return response
