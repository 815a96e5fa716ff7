"""The demo event: a published un-conference with an organiser, staff and invited attendees."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from . import accounts, attendees, designs, events, optionschema, proposals
from .attendees import Invitation
from .db import Database
from .delivery.links import send_link
from .errors import Conflict

ORGANISER = "organiser@example.org"
STAFF = "staff@example.org"


@dataclass(frozen=True)
class Demo:
    """What the demo made: the event, the organiser's password and every attendee's link."""

    title: str
    slug: str
    password: str
    links: list[Invitation]


def create(db: Database, today: date, base_url: str | None = None) -> Demo:
    """Create the demo event, its accounts, attendees, one confirmed design and one proposal.

    With a base URL, each attendee's invitation (carrying the link printed for them) is queued
    for `configurator worker` to email.
    """
    doc = demo_schema(today)
    # The demo shows co-creation too: attendees propose sessions and support each other's.
    doc["proposals"] = {
        "enabled": True,
        "title": "Propose a session",
        "max_per_attendee": 3,
        "supports_per_attendee": 5,
        "threshold": 2,
        "formats": ["in_person", "online"],
    }
    slug = doc["event"]["slug"]
    if db.execute("SELECT 1 FROM events WHERE slug = ?", [slug]).fetchone():
        raise Conflict(f"The demo event {slug!r} already exists; use --reset.")
    password = secrets.token_urlsafe(9)
    organiser = accounts.create_account(db, ORGANISER, "Olga Organiser", password)
    staff = accounts.create_account(db, STAFF, "Sam Staff", password + "-staff")
    created = events.create_event(db, doc, organiser)
    accounts.grant(db, created["id"], staff, "staff")
    events.publish(db, slug, organiser)
    people = [
        ("Ana Lima", "ana@example.org"),
        ("Ben Okafor", "ben@example.org"),
        ("Chloé Martin", "chloe@example.org"),
        ("Dev Patel", "dev@example.org"),
    ]
    links = [attendees.invite(db, created["id"], n, e) for n, e in people]
    if base_url:
        event = events.get_event(db, slug)
        for invitation in links:
            send_link(db, event, invitation.attendee, invitation.token, base_url)
    seed = {
        "agenda": {
            "opening": {"format": "in_person"},
            "maps": {"format": "in_person"},
            "closing": {"format": "online"},
        },
        "channels": {"email": {}},
        "preferences": {"diet": "vegetarian"},
    }
    designs.save_design(db, links[3].attendee, seed, confirm=True)
    settings = proposals.settings_for(db, created["id"])
    idea = proposals.clean(
        settings,
        "Bike repair for beginners",
        "Bring a bike with a flat tyre or squeaky brakes; we fix them together.",
        "in_person",
        "making, bikes",
    )
    proposed = proposals.propose(db, created["id"], links[1].attendee["id"], idea)
    proposals.support(db, created["id"], proposed, links[2].attendee["id"])
    return Demo(doc["event"]["title"], slug, password, links)


def demo_schema(today: date) -> dict[str, Any]:
    """The example un-conference, moved to start 30 days from today with its window open."""
    doc = json.loads((optionschema.SCHEMAS_DIR / "examples" / "unconference.json").read_text())
    first = date.fromisoformat(doc["event"]["starts_on"])
    shift = (today + timedelta(days=30)) - first
    doc["event"]["starts_on"] = str(first + shift)
    doc["event"]["ends_on"] = str(date.fromisoformat(doc["event"]["ends_on"]) + shift)
    for section in doc["sections"]:
        for session in section.get("sessions", []):
            for key in ("start", "end"):
                moment = optionschema.parse_instant(session[key]) + shift
                session[key] = moment.isoformat()
    start = optionschema.parse_instant(doc["sections"][0]["sessions"][0]["start"])
    doc["event"]["window"] = {
        "opens": (start - timedelta(days=60)).isoformat(),
        "closes": (start - timedelta(days=1)).isoformat(),
        "edit_after_confirm": True,
    }
    return doc
