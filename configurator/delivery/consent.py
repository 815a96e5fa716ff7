"""Quiet and consent: kinds of message an attendee can opt out of, signed links, quiet hours.

A message's kind belongs to a category; an attendee opts out per category (or of everything they
may opt out of), from the link in every message or from their designer. A link the attendee asked
for themselves (registering, a lost link) is always sent, and at any hour.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer

from ..clock import stamp
from ..db import Database, write
from ..errors import BadRequest, NotFound

# kind of message -> the category an attendee opts out of
CATEGORY = {
    "registered": "links",
    "link_reissued": "links",
    "invitation": "invitations",
    "waitlist_promoted": "seats",
    "proposal_answered": "proposals",
    "proposal_hidden": "proposals",
    "design_changed": "changes",
    "broadcast": "announcements",
    "reminder": "reminders",
    "feedback": "feedback",
}
# What each category is called where the attendee chooses (the web layer translates these).
CATEGORY_TITLES = {
    "invitations": "Invitations and new personal links from the organisers",
    "seats": "A seat you waited for is yours",
    "proposals": "Answers to proposals you made or support",
    "changes": "Changes to the programme that touch your design",
    "announcements": "Announcements from the organisers",
    "reminders": "Reminders before your sessions",
    "feedback": "Requests for feedback after a session",
}
ALWAYS = "links"  # asked for by the attendee there and then: never held back
EVERYTHING = "all"


def category(kind: str) -> str:
    """The category of a kind of message (an unknown kind counts as an announcement)."""
    return CATEGORY.get(kind, "announcements")


def opted_out(db: Database, attendee_id: int) -> set[str]:
    """The categories the attendee opted out of (`all` for everything)."""
    rows = db.execute("SELECT category FROM message_optouts WHERE attendee_id = ?", [attendee_id])
    return {r[0] for r in rows}


def allows(db: Database, attendee_id: int, kind: str) -> bool:
    """Whether the attendee still wants messages of this kind."""
    cat = category(kind)
    if cat == ALWAYS:
        return True
    out = opted_out(db, attendee_id)
    return cat not in out and EVERYTHING not in out


def set_choices(db: Database, attendee_id: int, wanted: set[str]) -> set[str]:
    """Keep the categories the attendee wants, opt out of the rest; the ones opted out of."""
    unknown = wanted - set(CATEGORY_TITLES)
    if unknown:
        raise BadRequest(f"There is no kind of message called {sorted(unknown)[0]!r}.")
    out = set(CATEGORY_TITLES) - wanted
    with write(db):
        db.execute("DELETE FROM message_optouts WHERE attendee_id = ?", [attendee_id])
        for cat in sorted(out):
            db.execute(
                "INSERT INTO message_optouts (attendee_id, category, created_at) VALUES (?, ?, ?)",
                [attendee_id, cat, stamp()],
            )
    return out


def opt_out(db: Database, attendee_id: int, cat: str) -> None:
    """Opt the attendee out of one category, or of everything with `all`."""
    if cat != EVERYTHING and cat not in CATEGORY_TITLES:
        raise BadRequest(f"There is no kind of message called {cat!r}.")
    with write(db):
        db.execute(
            "INSERT INTO message_optouts (attendee_id, category, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (attendee_id, category) DO NOTHING",
            [attendee_id, cat, stamp()],
        )


# --- signed links --------------------------------------------------------------------------------


_keys: dict[str, str] = {}


def _signer(db: Database, salt: str) -> URLSafeSerializer:
    """A signer keyed by this database's own delivery key, made once on first use."""
    where = str(getattr(db, "path", ""))
    secret = _keys.get(where)
    if secret is None:
        row = db.execute("SELECT secret FROM delivery_keys WHERE name = 'links'").fetchone()
        if row is None:
            with write(db):
                db.execute(
                    "INSERT INTO delivery_keys (name, secret, created_at) VALUES ('links', ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    [secrets.token_urlsafe(32), stamp()],
                )
            row = db.execute("SELECT secret FROM delivery_keys WHERE name = 'links'").fetchone()
        secret = row[0]
        if where not in ("", ":memory:"):
            _keys[where] = secret
    return URLSafeSerializer(secret, salt=salt)


def sign(db: Database, salt: str, value: Any) -> str:
    """A URL-safe signed token carrying value (an unsubscribe or feedback link)."""
    return str(_signer(db, salt).dumps(value))


def unsign(db: Database, salt: str, token: str) -> Any:
    """The value a signed token carries; NotFound when it was not made here."""
    try:
        return _signer(db, salt).loads(token)
    except BadSignature:
        raise NotFound("This link is not valid. Check that you copied all of it.") from None


def unsubscribe_token(db: Database, attendee_id: int, kind: str) -> str:
    """The token of the link that opts an attendee out of one kind's category."""
    return sign(db, "unsubscribe", [attendee_id, category(kind)])


# --- quiet hours ---------------------------------------------------------------------------------


def quiet_until(moment: datetime, zone: ZoneInfo, quiet: tuple[Any, Any] | None) -> datetime | None:
    """When the quiet hours around moment end (in UTC), or None when moment is not quiet."""
    if quiet is None:
        return None
    start, end = quiet
    local = moment.astimezone(zone)
    now = local.time()
    # Quiet hours may run across midnight, such as 22:00 to 08:00.
    inside = start <= now < end if start < end else now >= start or now < end
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, zone).astimezone(moment.tzinfo)
