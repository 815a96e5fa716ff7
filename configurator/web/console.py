"""What every organiser-console page shares: its context, the draft-edit loop, error shapes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from .. import events, schema_editor
from ..compiler import day_name
from ..db import write
from ..errors import ConfiguratorError, Problem, SchemaInvalid
from .connection import get_db
from .rendering import is_htmx, render, see_other

# Registers the console's template helpers; the console's pages live on their own blueprints.
bp = Blueprint("console", __name__)
Doc = dict[str, Any]


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


def context(doc: Doc, **extra: Any) -> dict[str, Any]:
    """What every console page needs: the event, its draft, and whether this user may edit."""
    found = {
        "event": g.event,
        "doc": doc,
        "zone": doc["event"].get("timezone", ""),
        "can_edit": g.role == "organiser",
        "problems": [],
        "form": {},
        "region": None,
        "saved": False,
    }
    found.update(extra)
    return found


def edit(
    change: Callable[[Doc], Doc],
    page: str,
    partial: str,
    region: str,
    back: str,
    more: Callable[[Doc], dict[str, Any]] = lambda doc: {},
    show_attempt: bool = True,
) -> Response:
    """Save an edit of the draft; on problems answer 422 with each beside what it concerns.

    A failed edit shows what was typed (show_attempt); a failed addition shows the stored draft
    with the add form still filled in, so nothing half-made appears in the lists.
    """
    db, slug = get_db(), g.event["slug"]
    stored = attempt = None
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
            **context(shown, problems=exc.problems, form=request.form, region=region),
            **more(shown),
        )
    if not is_htmx():
        return see_other(back)
    return render(page, partial, **context(attempt, region=region, saved=True), **more(attempt))


def form_error(exc: ConfiguratorError) -> int:
    """The status a form re-shown with its problems gets: htmx swaps 422 and 409."""
    return 409 if exc.status == 409 else 422


def problems_of(exc: ConfiguratorError, pointer: str = "", path: str = "") -> list[Problem]:
    """The error's problems, or one made of its message at the place given."""
    return exc.problems or [Problem(pointer, path, exc.message)]


def base_url() -> str:
    """The address personal links start with: the configured public URL, or this request's host."""
    return current_app.config.get("PUBLIC_URL") or request.host_url
