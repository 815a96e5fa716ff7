"""The organiser's side of proposals: answer, merge, hide, and accept into the programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import events
from .clock import stamp
from .db import Database, write
from .delivery import outbox
from .errors import BadRequest, Conflict, NotFound, Problem, SchemaInvalid
from .proposals import SUPPORTABLE, Key, get_proposal, require_phase, settings_for

REASON_MAX = 2000


def _reason(reason: str) -> str:
    reason = (reason or "").strip().replace("\r\n", "\n")
    if not reason:
        raise BadRequest(
            "Give a reason: the author and the supporters see it.",
            [Problem("/reason", "reason", "give a reason the author and supporters will read")],
        )
    if len(reason) > REASON_MAX:
        raise BadRequest(
            "The reason is too long.",
            [Problem("/reason", "reason", f"keep the reason to {REASON_MAX} characters")],
        )
    return reason


def _answerable(proposal: dict[str, Any]) -> None:
    if proposal["hidden"]:
        raise Conflict("This proposal is hidden; hidden proposals get no answer.")
    if proposal["status"] not in SUPPORTABLE:
        raise Conflict(
            f"This proposal is already {proposal['status_title'].lower()}; that answer is final."
        )


def answer(
    db: Database,
    event_id: int,
    proposal_id: int,
    status: str,
    reason: str,
    moment: datetime | None = None,
) -> None:
    """Mark a proposal under consideration or declined, with a reason everyone concerned sees."""
    if status not in ("under_consideration", "declined"):
        raise BadRequest(
            "Answer with under consideration or declined; accepting and merging have their own"
            " forms.",
            [Problem("/status", "status", "choose under consideration or declined")],
        )
    reason = _reason(reason)
    require_phase(settings_for(db, event_id), "answer", moment)
    with write(db):
        proposal = get_proposal(db, event_id, proposal_id, include_hidden=True)
        _answerable(proposal)
        _set_status(db, proposal_id, status, reason)
        _notify_status(db, proposal, status, reason)


def _set_status(
    db: Database,
    proposal_id: int,
    status: str,
    reason: str,
    *,
    merged_into: int | None = None,
    option_section: str | None = None,
    option_id: str | None = None,
) -> None:
    answered = stamp()
    db.execute(
        "UPDATE proposals SET status = ?, answer_reason = ?, answered_at = ?, updated_at = ?,"
        " merged_into = coalesce(?, merged_into), option_section = coalesce(?, option_section),"
        " option_id = coalesce(?, option_id) WHERE id = ?",
        [status, reason, answered, answered, merged_into, option_section, option_id, proposal_id],
    )


def merge(
    db: Database,
    event_id: int,
    duplicate_id: int,
    target_id: int,
    reason: str,
    moment: datetime | None = None,
) -> int:
    """Merge a duplicate into another proposal, carrying its supports over; return how many moved.

    A supporter of both keeps the one support on the target and gets the duplicate's back.
    """
    reason = _reason(reason)
    if duplicate_id == target_id:
        raise BadRequest(
            "A proposal cannot be merged into itself.",
            [Problem("/into", "into", "choose another proposal to merge into")],
        )
    require_phase(settings_for(db, event_id), "answer", moment)
    with write(db):
        duplicate = get_proposal(db, event_id, duplicate_id, include_hidden=True)
        _answerable(duplicate)
        try:
            target = get_proposal(db, event_id, target_id)
        except NotFound:
            raise BadRequest(
                "There is no such proposal to merge into.",
                [Problem("/into", "into", "choose a visible proposal of this event")],
            ) from None
        if target["status"] in ("declined", "merged"):
            raise Conflict(
                f"“{target['title']}” is {target['status_title'].lower()}; merge into a proposal"
                " that is still open, under consideration or accepted."
            )
        moved = db.execute(
            "INSERT INTO supports (proposal_id, attendee_id, created_at)"
            " SELECT ?, attendee_id, created_at FROM supports"
            " WHERE proposal_id = ? AND attendee_id != ? ON CONFLICT DO NOTHING",
            [target_id, duplicate_id, target["author_id"]],
        ).rowcount
        _set_status(db, duplicate_id, "merged", reason, merged_into=target_id)
        _notify_status(db, duplicate, "merged", reason, target)
    return moved


def hide(db: Database, event_id: int, proposal_id: int, reason: str) -> None:
    """Hide a proposal from attendees, exports and the API; its supports come back."""
    reason = _reason(reason)
    with write(db):
        proposal = get_proposal(db, event_id, proposal_id, include_hidden=True)
        if proposal["hidden"]:
            raise Conflict("This proposal is already hidden.")
        if proposal["status"] == "accepted":
            raise Conflict(
                "An accepted proposal is part of the schema: remove its option in the schema"
                " editor instead."
            )
        now_text = stamp()
        db.execute(
            "UPDATE proposals SET hidden_at = ?, hidden_reason = ?, updated_at = ? WHERE id = ?",
            [now_text, reason, now_text, proposal_id],
        )
        # Only the author hears of it: the title may be why it was hidden.
        queue_message(
            db,
            event_id,
            [proposal["author_id"]],
            "proposal_hidden",
            f"Your proposal “{proposal['title']}” was hidden",
            f"The organisers hid your proposal “{proposal['title']}”.\n\nTheir reason: {reason}",
        )


@dataclass(frozen=True)
class Placement:
    """Where an accepted proposal goes: a sessions section (slot, room, seats) or a choice section."""

    section_id: str
    start: str | None = None
    end: str | None = None
    room: str | None = None
    capacity: int | None = None


def option_id_for(proposal_id: int) -> str:
    """The id an accepted proposal's option gets."""
    return f"proposal-{proposal_id}"


def accept(
    db: Database,
    event_id: int,
    proposal_id: int,
    reason: str,
    placement: Placement,
    moment: datetime | None = None,
) -> Key:
    """Accept a proposal: add it to the schema draft as a session or an option, atomically."""
    reason = _reason(reason)
    require_phase(settings_for(db, event_id), "answer", moment)
    with write(db):
        event = events.get_event_by_id(db, event_id)
        proposal = get_proposal(db, event_id, proposal_id, include_hidden=True)
        _answerable(proposal)
        doc = events.draft(event)
        section, item = _new_option(doc, proposal, placement)
        key = (section["id"], item["id"])
        try:
            events.save_draft(db, event["slug"], doc)
        except SchemaInvalid as error:
            raise _placement_problems(doc, error, key) from None
        _set_status(db, proposal_id, "accepted", reason, option_section=key[0], option_id=key[1])
        _notify_status(db, proposal, "accepted", reason)
    return key


def _new_option(
    doc: dict[str, Any], proposal: dict[str, Any], placement: Placement
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add the proposal's session or option to a draft document in place."""
    section = next((s for s in doc["sections"] if s["id"] == placement.section_id), None)
    if section is None or section["kind"] == "fields":
        raise BadRequest(
            "Choose where the proposal goes.",
            [Problem("/section", "section", "choose a sessions section or a choice section")],
        )
    oid = option_id_for(proposal["id"])
    items = section.setdefault("sessions" if section["kind"] == "sessions" else "options", [])
    if any(i["id"] == oid for i in items):
        raise Conflict(f"The draft already has an option {oid!r} in “{section['title']}”.")
    item: dict[str, Any] = {"id": oid, "title": proposal["title"][:300]}
    if proposal["description"]:
        item["description"] = proposal["description"]
    if section["kind"] == "sessions":
        problems = [
            Problem(f"/{name}", name, f"give the session's {words_}")
            for name, words_ in (("start", "start time"), ("end", "end time"))
            if not getattr(placement, name)
        ]
        if problems:
            raise BadRequest("A session needs a start and an end.", problems)
        item["start"], item["end"] = placement.start, placement.end
        if placement.room:
            item["room"] = placement.room
        if proposal["tags"]:
            item["tags"] = proposal["tags"]
    if placement.capacity is not None:
        item["capacity"] = placement.capacity
    item["source"] = {"system": "proposal", "proposal_id": proposal["id"]}
    items.append(item)
    return section, item


def _placement_problems(doc: dict[str, Any], error: SchemaInvalid, key: Key) -> SchemaInvalid:
    """The draft's problems about the new item, pointed at the placement form's fields."""
    s_index = next(i for i, s in enumerate(doc["sections"]) if s["id"] == key[0])
    section = doc["sections"][s_index]
    kind = "sessions" if section["kind"] == "sessions" else "options"
    i_index = next(i for i, o in enumerate(section[kind]) if o["id"] == key[1])
    prefix = f"/sections/{s_index}/{kind}/{i_index}"
    problems = []
    for p in error.problems:
        if p.pointer == prefix or p.pointer.startswith(prefix + "/"):
            name = p.pointer[len(prefix) + 1 :].split("/")[0] or "section"
            name = name if name in ("start", "end", "room", "capacity") else "section"
            problems.append(Problem(f"/{name}", name, p.message))
        else:
            problems.append(p)
    return SchemaInvalid("The draft would not be a valid schema with this option.", problems)


_STATUS_WORDS = {
    "under_consideration": "is under consideration",
    "accepted": "was accepted",
    "declined": "was declined",
    "merged": "was merged",
}


def _notify_status(
    db: Database,
    proposal: dict[str, Any],
    status: str,
    reason: str,
    target: dict[str, Any] | None = None,
) -> None:
    """Queue one message for the author and one for each supporter of a status change."""
    title, words_ = proposal["title"], _STATUS_WORDS[status]
    merged = f" into “{target['title']}”" if target else ""
    back = ""
    if status in ("declined", "merged"):
        back = " Your support has come back to you, to give to another proposal."
        if target:
            back = " Your support now counts for the proposal it was merged into."
    body = f"Their reason: {reason}"
    queue_message(
        db,
        proposal["event_id"],
        [proposal["author_id"]],
        "proposal_answered",
        f"Your proposal “{title}” {words_}{merged}",
        f"Your proposal “{title}” {words_}{merged}.\n\n{body}",
    )
    supporters = [
        r[0]
        for r in db.execute(
            "SELECT attendee_id FROM supports WHERE proposal_id = ? ORDER BY attendee_id",
            [proposal["id"]],
        )
    ]
    queue_message(
        db,
        proposal["event_id"],
        supporters,
        "proposal_answered",
        f"A proposal you support {words_}: “{title}”",
        f"The proposal “{title}”, which you support, {words_}{merged}.\n\n{body}{back}",
    )


def queue_message(
    db: Database,
    event_id: int,
    attendee_ids: list[int],
    kind: str,
    subject: str,
    body: str,
) -> None:
    """Queue one message to each of these attendees (delivered by configurator worker)."""
    outbox.queue(db, event_id, attendee_ids, kind, subject, body)
