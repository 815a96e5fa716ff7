"""Sending attendees their personal link: invitations, and links issued again, by email.

`invite_and_send()` is the door for code that brings attendees in (a ticket shop's webhook, the
command line): it invites (or finds) the person and queues their invitation in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import attendees
from ..attendees import Invitation
from ..db import Database, write
from ..errors import BadRequest
from . import outbox


@dataclass(frozen=True)
class Preview:
    """What sending invitations would do: who gets one, and the words of the first."""

    recipients: list[dict[str, Any]]
    subject: str
    body: str


def personal_link(base_url: str, token: str) -> str:
    """The address an attendee opens to design their experience."""
    return f"{base_url.rstrip('/')}/a/{token}"


def invitation_text(
    event: dict[str, Any], name: str, url: str, again: bool = False
) -> tuple[str, str]:
    """The subject and body of an invitation carrying a personal link (`again`: a new one)."""
    description = (event.get("description") or "").strip()
    return (
        f"Your personal link for {event['title']}",
        f"Hello {name},\n\nyou are invited to {event['title']}."
        + (f"\n\n{description}" if description else "")
        + f"\n\nDesign your own experience with your personal link:\n{url}\n\n"
        "Keep it to yourself: anyone holding it can change your choices."
        + (" A link sent to you before this one no longer works." if again else ""),
    )


def send_link(
    db: Database,
    event: dict[str, Any],
    attendee: dict[str, Any],
    token: str,
    base_url: str,
    again: bool = False,
) -> int:
    """Queue an invitation carrying the link of this token (`again`: it replaced one); its id."""
    url = personal_link(base_url, token)
    subject, body = invitation_text(event, attendee["name"], url, again)
    made = outbox.queue(
        db,
        event["id"],
        [attendee["id"]],
        "invitation",
        subject,
        body,
        payload={"base_url": base_url},
    )
    return made[0]


def invite_and_send(
    db: Database,
    event: dict[str, Any],
    name: str,
    email: str,
    base_url: str,
    source: str = "invited",
) -> Invitation:
    """Invite someone (or issue a known attendee a new link) and queue their invitation email."""
    with write(db):
        invitation = attendees.invite(db, event["id"], name, email, source=source)
        send_link(db, event, invitation.attendee, invitation.token, base_url)
    return invitation


def invite_people_and_send(
    db: Database, event: dict[str, Any], people: list[tuple[str, str]], base_url: str
) -> list[Invitation]:
    """Invite everyone and queue their invitations, all in one transaction."""
    with write(db):
        return [invite_and_send(db, event, name, email, base_url) for name, email in people]


def preview(
    db: Database, event: dict[str, Any], attendee_ids: list[int], base_url: str
) -> Preview:
    """Who would get an invitation with a new link, and what it says (the link left out)."""
    recipients = _recipients(db, event, attendee_ids)
    subject, body = invitation_text(
        event, recipients[0]["name"], personal_link(base_url, "<a new personal link>"), again=True
    )
    return Preview(recipients, subject, body)


def send_invitations(
    db: Database, event: dict[str, Any], attendee_ids: list[int], base_url: str
) -> list[int]:
    """Issue each attendee a new link and queue it to them by email; the message ids.

    Their old links stop working, as with any new link; revoked attendees are not sent one.
    """
    with write(db):
        made = []
        for person in _recipients(db, event, attendee_ids):
            token = attendees.reissue_link(db, person["id"])
            db.execute("DELETE FROM web_sessions WHERE attendee_id = ?", [person["id"]])
            made.append(send_link(db, event, person, token, base_url, again=True))
    return made


def _recipients(
    db: Database, event: dict[str, Any], attendee_ids: list[int]
) -> list[dict[str, Any]]:
    if not attendee_ids:
        raise BadRequest("Tick the attendees who should get an invitation.")
    found = []
    for attendee_id in dict.fromkeys(attendee_ids):
        person = attendees.get_attendee(db, attendee_id)
        if person["event_id"] != event["id"]:
            raise BadRequest("One of the ticked attendees is not invited to this event.")
        if not person["revoked_at"]:
            found.append(person)
    if not found:
        raise BadRequest("Every ticked attendee's link is revoked: nobody would get one.")
    return found
