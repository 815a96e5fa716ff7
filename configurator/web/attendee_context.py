"""What every attendee page knows: the attendee's event, schema, design, and the template context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, url_for

from .. import agenda, designs, events, proposals
from ..compiler import CompiledSchema
from ..errors import Problem
from ..optionschema import parse_instant, pointer
from ..summary import Summary, summarise
from .connection import get_db
from .design_forms import field_hint, field_name, section_form
from .rendering import is_htmx


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


def current_state() -> State:
    """The signed-in attendee's state, read for this request."""
    db = get_db()
    schema = events.compiled(db, g.event["id"])
    return State(
        event=g.event,
        schema=schema,
        attendee=g.attendee,
        design=designs.get_design(db, g.attendee["id"]),
        window=events.window(g.event, schema),
        seats=designs.seat_counts(db, g.event["id"]),
        positions=designs.waitlist_positions(db, g.attendee["id"]),
    )


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


def page_context(state: State, **extra: Any) -> dict[str, Any]:
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
        "problem_href": lambda p: problem_href(state, p),
        "section_form": section_form,
        "field_name": field_name,
        "pattern_hint": field_hint,
        "local_time": lambda text: local_time(state.schema, text),
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


def local_time(schema: CompiledSchema, text: str | None) -> str:
    """A stored UTC moment as the event's local day and time, such as Sat 13 Mar, 10:32."""
    if not text:
        return ""
    moment = parse_instant(text).astimezone(schema.zone)
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


def problem_href(state: State, problem: Problem) -> str:
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
        return url_for("designer.page", slug=state.event["slug"], day=day) + "#" + slot.dom
    if len(parts) == 1:
        return "#" + agenda.dom_id("sec", parts[0])
    return "#" + agenda.dom_id("f", *parts)
