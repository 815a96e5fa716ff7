"""How an event delivers: sender name, each channel option's service, quiet hours, reminders.

Each option of the event's channels section (a choice section: Email, SMS, ...) has a route:
`email` (the server's SMTP), an Apprise URL template such as `json://hooks.example.org/sms/{phone}`
whose {field} placeholders are the option's follow-up answers and whose {secret:NAME} ones come
from the server's secrets file, or nothing, and then what attendees chose is collected, not
delivered. Settings are checked when saved, each problem naming its form field.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import time
from typing import Any
from urllib.parse import quote

import apprise

from ..clock import stamp
from ..compiler import CompiledSchema
from ..db import Database, write
from ..errors import DesignInvalid, Problem, SchemaInvalid
from ..optionschema import pointer
from . import config

EMAIL = "email"
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SECRET = re.compile(r"secret:(" + config.NAME_PATTERN + r")")
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
SAMPLES = {"phone": "+32470123456", "handle": "ana_lima", "email": "ana@example.org"}
MAX_REMINDER_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Route:
    """Where one channel option's messages go, and at most how many a minute."""

    to: str = ""
    per_minute: int | None = None


@dataclass(frozen=True)
class Settings:
    """One event's delivery settings (defaults until the organiser saves their own)."""

    sender_name: str = ""
    channels_section: str | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    quiet_from: str | None = None
    quiet_until: str | None = None
    reminder_minutes: int = 30
    feedback: bool = True

    def route(self, option_id: str) -> Route:
        """The route of one channel option (an empty one when it is not delivered)."""
        return self.routes.get(option_id, Route())

    def quiet(self) -> tuple[time, time] | None:
        """The quiet hours as (from, until) local times, or None."""
        if not self.quiet_from or not self.quiet_until:
            return None
        return time.fromisoformat(self.quiet_from), time.fromisoformat(self.quiet_until)


def channels_section(schema: CompiledSchema, chosen: str | None = None) -> str | None:
    """The choice section whose options are channels: the one chosen, else the likeliest."""
    choices = [s for s in schema.document["sections"] if s["kind"] == "choice"]
    if chosen and any(s["id"] == chosen for s in choices):
        return chosen
    for section in choices:
        if section["id"] == "channels":
            return section["id"]
    for section in choices:
        ids = {o["id"] for o in section["options"]}
        formats = {f.get("format") for o in section["options"] for f in o["follow_up"]}
        if EMAIL in ids or formats & {"phone", "handle"}:
            return section["id"]
    return None


def channel_options(schema: CompiledSchema, settings: Settings) -> list[dict[str, Any]]:
    """The options of the channels section, as the schema defines them."""
    sid = settings.channels_section
    if sid is None or sid not in schema.sections:
        return []
    return list(schema.sections[sid]["options"])


def get(db: Database, event_id: int, schema: CompiledSchema) -> Settings:
    """The event's delivery settings: stored ones, or defaults that deliver the email option."""
    row = db.execute(
        "SELECT settings FROM delivery_settings WHERE event_id = ?", [event_id]
    ).fetchone()
    if row is None:
        sid = channels_section(schema)
        options = {o["id"] for o in schema.sections[sid]["options"]} if sid else set()
        routes = {EMAIL: Route(EMAIL)} if EMAIL in options else {}
        return Settings(schema.event["title"], sid, routes)
    data = json.loads(row[0])
    routes = {k: Route(**v) for k, v in data.pop("routes", {}).items()}
    stored = Settings(routes=routes, **data)
    sid = channels_section(schema, stored.channels_section)
    if sid != stored.channels_section:
        stored = Settings(**{**asdict(stored), "channels_section": sid, "routes": routes})
    return stored


def save(
    db: Database, event_id: int, schema: CompiledSchema, form: dict[str, str]
) -> Settings:
    """Check the settings form and store it; SchemaInvalid names every field that is wrong."""
    problems: list[Problem] = []
    sender = form.get("sender_name", "").strip()
    if not sender or len(sender) > 100 or any(c in sender for c in '\r\n<>"'):
        problems.append(
            Problem(
                "sender_name",
                "Sender name",
                "Give a name of 1 to 100 characters, without < > or quotes.",
            )
        )
    sid = channels_section(schema, form.get("channels_section") or None)
    settings = Settings(sender, sid)
    routes: dict[str, Route] = {}
    for option in channel_options(schema, settings):
        oid = option["id"]
        to = form.get(f"route-{oid}", "").strip()
        rate_text = form.get(f"rate-{oid}", "").strip()
        rate = None
        if rate_text:
            if not rate_text.isdigit() or not 1 <= int(rate_text) <= 100000:
                problems.append(
                    Problem(
                        f"rate-{oid}",
                        f"{option['title']}: messages per minute",
                        "Give a whole number from 1 to 100000, or leave it empty for no limit.",
                    )
                )
            else:
                rate = int(rate_text)
        if to:
            problems += route_problems(option, to)
            routes[oid] = Route(to, rate)
    quiet_from = form.get("quiet_from", "").strip() or None
    quiet_until = form.get("quiet_until", "").strip() or None
    for name, label, value in (
        ("quiet_from", "Quiet hours from", quiet_from),
        ("quiet_until", "Quiet hours until", quiet_until),
    ):
        if value and not CLOCK.match(value):
            problems.append(Problem(name, label, "Give a time such as 22:00."))
    if bool(quiet_from) != bool(quiet_until) or (quiet_from and quiet_from == quiet_until):
        problems.append(
            Problem(
                "quiet_until",
                "Quiet hours until",
                "Give both ends of the quiet hours, and make them differ (or leave both empty).",
            )
        )
    minutes_text = form.get("reminder_minutes", "").strip() or "0"
    if not minutes_text.isdigit() or int(minutes_text) > MAX_REMINDER_MINUTES:
        problems.append(
            Problem(
                "reminder_minutes",
                "Reminder before each session",
                f"Give the minutes as a whole number from 0 (no reminders) to {MAX_REMINDER_MINUTES}.",
            )
        )
        minutes_text = "0"
    if problems:
        raise SchemaInvalid(_count(problems), problems)
    settings = Settings(
        sender,
        sid,
        routes,
        quiet_from,
        quiet_until,
        int(minutes_text),
        form.get("feedback") in ("on", "yes", "1", "true"),
    )
    data = asdict(settings)
    with write(db):
        db.execute(
            "INSERT INTO delivery_settings (event_id, settings, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (event_id) DO UPDATE SET settings = excluded.settings,"
            " updated_at = excluded.updated_at",
            [event_id, json.dumps(data, ensure_ascii=False), stamp()],
        )
    return settings


def _count(problems: list[Problem]) -> str:
    n = len(problems)
    return f"The delivery settings have {n} problem{'s' if n != 1 else ''} to fix."


def route_problems(option: dict[str, Any], to: str) -> list[Problem]:
    """What is wrong with a channel option's route: unknown placeholders, a URL Apprise refuses."""
    name, label = f"route-{option['id']}", f"{option['title']}: where to send"
    if to == EMAIL:
        return []
    if len(to) > 2000:
        return [Problem(name, label, "Keep the address under 2000 characters.")]
    try:
        url = fill(to, option, sample_answers(option), config.current().secrets)
    except KeyError as exc:
        return [Problem(name, label, str(exc.args[0]))]
    if apprise.Apprise.instantiate(url) is None:
        scheme = to.split("://", 1)[0] if "://" in to else to
        return [
            Problem(
                name,
                label,
                f"Apprise does not know how to send to “{scheme}://…”. Write `email`, or an"
                " Apprise URL such as json://hooks.example.org/sms/{phone} or"
                " ntfy://ntfy.example.org/{handle}.",
            )
        ]
    return []


def sample_answers(option: dict[str, Any]) -> dict[str, str]:
    """Answers of the right shape for each follow-up field, to try a template with."""
    return {
        f["id"]: SAMPLES.get(f.get("format", ""), "sample") for f in option.get("follow_up", [])
    }


def fill(
    template: str, option: dict[str, Any], answers: dict[str, Any], secrets: dict[str, str]
) -> str:
    """The Apprise URL for one attendee: placeholders replaced, each answer URL-quoted.

    KeyError carries a sentence naming a placeholder that is neither a follow-up field of the
    option, `email`, nor a secret the server has.
    """
    fields = {f["id"]: f for f in option.get("follow_up", [])}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        secret = SECRET.fullmatch(name)
        if secret:
            if secret.group(1) not in secrets:
                raise KeyError(
                    f"The server has no secret named {secret.group(1)!r}: add it to the"
                    " [secrets] of its channel secrets file."
                )
            return secrets[secret.group(1)]
        if name != EMAIL and name not in fields:
            known = ", ".join("{" + f + "}" for f in [*fields, EMAIL])
            raise KeyError(f"{{{name}}} is not a follow-up answer of this option; use {known}.")
        value = answers.get(name)
        if value in (None, ""):
            raise KeyError(f"The answer {{{name}}} is missing.")
        if fields.get(name, {}).get("format") == "phone":
            value = international(str(value)) or str(value)
        elif fields.get(name, {}).get("format") == "handle":
            value = str(value).lstrip("@")
        return quote(str(value), safe="@")

    return PLACEHOLDER.sub(replace, template)


def international(phone: str) -> str | None:
    """A phone number as +digits (E.164), or None when it has no country code."""
    digits = re.sub(r"[ ()./-]", "", phone.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    return digits if E164.match(digits) else None


def contact_problems(
    db: Database, event_id: int, schema: CompiledSchema, design: dict[str, Any]
) -> list[Problem]:
    """Follow-up answers a delivering channel could not use (a number without country code)."""
    settings = get(db, event_id, schema)
    sid = settings.channels_section
    chosen = design.get(sid) if sid else None
    if not isinstance(chosen, dict):
        return []
    problems = []
    for option in channel_options(schema, settings):
        to = settings.route(option["id"]).to
        answers = chosen.get(option["id"])
        if not to or to == EMAIL or not isinstance(answers, dict):
            continue
        used = set(PLACEHOLDER.findall(to))
        for fld in option.get("follow_up", []):
            value = answers.get(fld["id"])
            usable = not value or international(str(value)) is not None
            if fld["id"] in used and fld.get("format") == "phone" and not usable:
                parts: list[str | int] = [sid, option["id"], fld["id"]]
                problems.append(
                    Problem(
                        pointer(parts),
                        schema.title_path(parts),
                        f"{option['title']} messages need the number with its country code,"
                        " starting with + (for example +32 470 12 34 56).",
                    )
                )
    return problems


def check_contacts(
    db: Database, event_id: int, schema: CompiledSchema, design: dict[str, Any]
) -> None:
    """Refuse a design whose contact details a delivering channel cannot use."""
    problems = contact_problems(db, event_id, schema, design)
    if problems:
        n = len(problems)
        raise DesignInvalid(f"Your design has {n} problem{'s' if n != 1 else ''} to fix.", problems)
