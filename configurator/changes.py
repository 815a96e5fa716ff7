"""What publishing the draft changes, whose designs it touches, and marking those for attention."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import designs, events
from .compiler import CompiledSchema, Option
from .db import Database, write
from .delivery import outbox

Key = tuple[str, str]
ATTENTION_LIMIT = 1000


@dataclass(frozen=True)
class Change:
    """One difference between the published version and the draft, where and what."""

    where: str
    message: str
    severity: str = "info"  # "warning" when attendees' designs may need to change


@dataclass
class Affected:
    """An attendee whose stored design the draft would break, and why."""

    attendee_id: int
    name: str
    email: str
    status: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Published:
    """What publishing did: the version number, and the designs marked for attention."""

    number: int
    changed: bool
    affected: list[Affected]


def latest_document(db: Database, event_id: int) -> dict[str, Any] | None:
    """The newest published option schema of an event, or None before the first publish."""
    row = db.execute(
        "SELECT document FROM schema_versions WHERE event_id = ? ORDER BY number DESC LIMIT 1",
        [event_id],
    ).fetchone()
    return json.loads(row[0]) if row else None


# --- the differences ---------------------------------------------------------------------------


Document = dict[str, Any] | CompiledSchema


def _compiled(document: Document) -> CompiledSchema:
    """An option schema compiled, or as it is when the caller compiled it already (a big
    event's schema takes a tenth of a second to compile)."""
    return document if isinstance(document, CompiledSchema) else CompiledSchema(document)


def schema_changes(
    old: Document | None, new: Document, seats: dict[Key, int] | None = None
) -> list[Change]:
    """Every difference that matters to attendees between two option schemas, in the new order."""
    seats = seats or {}
    after = _compiled(new)
    if old is None:
        return [
            Change(
                "event",
                f"first version: {len(after.sections)} section(s) and "
                f"{len(after.options)} option(s) to choose from",
            )
        ]
    before = _compiled(old)
    found: list[Change] = []
    found += _event_changes(before, after)
    for sid, section in after.sections.items():
        if sid not in before.sections:
            warning = section["required"] or _has_required_fields(section)
            found.append(
                Change(
                    section["title"],
                    "new section" + (", and it must be answered" if warning else ""),
                    "warning" if warning else "info",
                )
            )
            continue
        found += _section_changes(before, after, sid, seats)
    for sid, section in before.sections.items():
        if sid not in after.sections:
            found.append(Change(section["title"], "section removed", "warning"))
    found += _rule_changes(before, after)
    return found


def _event_changes(before: CompiledSchema, after: CompiledSchema) -> list[Change]:
    found = []
    old_event, new_event = before.event, after.event
    for key, noun in (
        ("title", "title"),
        ("timezone", "time zone"),
        ("starts_on", "first day"),
        ("ends_on", "last day"),
    ):
        if old_event[key] != new_event[key]:
            found.append(
                Change("event", f"{noun} changed from {old_event[key]} to {new_event[key]}")
            )
    old_window, new_window = old_event["window"], new_event["window"]
    for key, noun in (("opens", "design window opens"), ("closes", "design window closes")):
        if old_window.get(key) != new_window.get(key):
            found.append(
                Change(
                    "event",
                    f"{noun}: {old_window.get(key) or 'no date'} → {new_window.get(key) or 'no date'}",
                )
            )
    if old_window["edit_after_confirm"] != new_window["edit_after_confirm"]:
        allowed = "may" if new_window["edit_after_confirm"] else "may no longer"
        found.append(Change("event", f"attendees {allowed} change a confirmed design"))
    old_budget = (before.budget or {}).get("total")
    new_budget = (after.budget or {}).get("total")
    if old_budget != new_budget:
        lower = old_budget is None or (new_budget is not None and new_budget < old_budget)
        found.append(
            Change(
                "budget",
                f"budget changed from {old_budget or 'none'} to {new_budget or 'none'}",
                "warning" if lower and new_budget is not None else "info",
            )
        )
    return found


def _has_required_fields(section: dict[str, Any]) -> bool:
    return section["kind"] == "fields" and any(f.get("required") for f in section["fields"])


def _section_changes(
    before: CompiledSchema, after: CompiledSchema, sid: str, seats: dict[Key, int]
) -> list[Change]:
    old, new = before.sections[sid], after.sections[sid]
    title = new["title"]
    if old["kind"] != new["kind"]:
        return [
            Change(title, f"changed from a {old['kind']} section to a {new['kind']} one", "warning")
        ]
    found = []
    if old["title"] != new["title"]:
        found.append(Change(title, f"renamed from “{old['title']}”"))
    if new["required"] and not old["required"]:
        found.append(Change(title, "must now be answered", "warning"))
    elif old["required"] and not new["required"]:
        found.append(Change(title, "is now optional"))
    for key, noun in (("min", "at least"), ("max", "at most")):
        if old.get(key) != new.get(key):
            tighter = new.get(key) is not None and (
                old.get(key) is None
                or (new[key] > old[key] if key == "min" else new[key] < old[key])
            )
            found.append(
                Change(
                    title,
                    f"pick {noun}: {_bound(old.get(key))} → {_bound(new.get(key))}",
                    "warning" if tighter else "info",
                )
            )
    if new["kind"] == "sessions":
        for key, noun in (("min", "at least"), ("max", "at most")):
            was, now = old["per_day"].get(key), new["per_day"].get(key)
            if was != now:
                found.append(
                    Change(title, f"per day, pick {noun}: {_bound(was)} → {_bound(now)}", "warning")
                )
        if old["overlap"] != new["overlap"]:
            found.append(
                Change(
                    title,
                    f"overlapping sessions: {old['overlap']} → {new['overlap']}",
                    "warning" if new["overlap"] == "forbid" else "info",
                )
            )
    if new["kind"] == "choice" and old["multiple"] != new["multiple"]:
        found.append(
            Change(
                title,
                "several options may now be picked"
                if new["multiple"]
                else "only one option may now be picked",
                "info" if new["multiple"] else "warning",
            )
        )
    found += _option_changes(before, after, sid, seats)
    found += _field_changes(old, new)
    return found


def _bound(value: int | None) -> str:
    return "no limit" if value is None else str(value)


def _options_of(schema: CompiledSchema, sid: str) -> dict[str, Option]:
    return {oid: option for (s, oid), option in schema.options.items() if s == sid}


def _option_changes(
    before: CompiledSchema, after: CompiledSchema, sid: str, seats: dict[Key, int]
) -> list[Change]:
    section_title = after.sections[sid]["title"]
    old, new = _options_of(before, sid), _options_of(after, sid)
    found = []
    for oid, option in new.items():
        where = f"{section_title} > {option.title}"
        if oid not in old:
            found.append(Change(where, "new option"))
            continue
        was = old[oid]
        if was.title != option.title:
            found.append(Change(where, f"renamed from “{was.title}”"))
        found += _capacity_changes(where, was, option, seats.get((sid, oid), 0))
        if was.cost != option.cost:
            found.append(
                Change(
                    where,
                    f"cost changed from {was.cost} to {option.cost}",
                    "warning" if option.cost > was.cost else "info",
                )
            )
        if was.day is not None and (was.start, was.end) != (option.start, option.end):
            found.append(
                Change(
                    where,
                    f"moved to {option.day} {after.clock(option.start)}–{after.clock(option.end)}",
                    "warning",
                )
            )
        if was.seated_formats - option.seated_formats:
            found.append(Change(where, "fewer ways of attending take a seat", "warning"))
        if after.sections[sid]["kind"] == "sessions":
            old_formats = _session(before, sid, oid).get("formats", [])
            new_formats = _session(after, sid, oid).get("formats", [])
            dropped = sorted(set(old_formats) - set(new_formats))
            if dropped:
                found.append(Change(where, f"no longer offered as {', '.join(dropped)}", "warning"))
        if after.sections[sid]["kind"] == "choice":
            found += _field_changes(
                {"fields": _choice(before, sid, oid)["follow_up"]},
                {"fields": _choice(after, sid, oid)["follow_up"]},
                where,
            )
    for oid, option in old.items():
        if oid not in new:
            found.append(Change(f"{section_title} > {option.title}", "option removed", "warning"))
    return found


def _capacity_changes(where: str, was: Option, now: Option, taken: int) -> list[Change]:
    if was.capacity == now.capacity:
        return []
    if now.capacity is None:
        return [Change(where, f"no longer limited (was {was.capacity} places)")]
    if taken > now.capacity:
        return [
            Change(
                where,
                f"capacity lowered to {now.capacity}, below the {taken} seats already taken:"
                f" {taken - now.capacity} attendee(s) over",
                "warning",
            )
        ]
    if was.capacity is None:
        return [Change(where, f"now limited to {now.capacity} places ({taken} taken)")]
    direction = "raised" if now.capacity > was.capacity else "lowered"
    return [
        Change(where, f"capacity {direction} from {was.capacity} to {now.capacity} ({taken} taken)")
    ]


def _session(schema: CompiledSchema, sid: str, oid: str) -> dict[str, Any]:
    return _items(schema, sid, "sessions")[oid]


def _choice(schema: CompiledSchema, sid: str, oid: str) -> dict[str, Any]:
    return _items(schema, sid, "options")[oid]


def _items(schema: CompiledSchema, sid: str, kind: str) -> dict[str, dict[str, Any]]:
    """A section's sessions or options by id (made once per compiled schema)."""
    index = schema.__dict__.setdefault("_items_by_id", {})
    if (sid, kind) not in index:
        index[(sid, kind)] = {item["id"]: item for item in schema.sections[sid][kind]}
    return index[(sid, kind)]


def _field_changes(
    old: dict[str, Any], new: dict[str, Any], where: str | None = None
) -> list[Change]:
    if "fields" not in old or "fields" not in new:
        return []
    owner = where or new.get("title", "")
    before = {f["id"]: f for f in old["fields"]}
    found = []
    for fld in new["fields"]:
        place = f"{owner} > {fld['title']}"
        was = before.get(fld["id"])
        if was is None:
            required = bool(fld.get("required"))
            found.append(
                Change(
                    place,
                    "new question" + (", and it must be answered" if required else ""),
                    "warning" if required else "info",
                )
            )
            continue
        if fld.get("required") and not was.get("required"):
            found.append(Change(place, "must now be answered", "warning"))
        if fld["type"] != was["type"]:
            found.append(
                Change(place, f"answer type changed from {was['type']} to {fld['type']}", "warning")
            )
        elif fld != was:
            found.append(Change(place, "question settings changed"))
    new_ids = {f["id"] for f in new["fields"]}
    for fld in old["fields"]:
        if fld["id"] not in new_ids:
            found.append(Change(f"{owner} > {fld['title']}", "question removed", "warning"))
    return found


def _rule_changes(before: CompiledSchema, after: CompiledSchema) -> list[Change]:
    def describe(schema: CompiledSchema, rule: dict[str, Any]) -> str:
        def name(ref: str) -> str:
            option = schema.options.get(tuple(ref.split("/", 1)))  # type: ignore[arg-type]
            return f"“{option.title}”" if option else ref

        parts = [f"picking {name(rule['if'])}"]
        if rule.get("requires"):
            parts.append("requires " + ", ".join(name(r) for r in rule["requires"]))
        if rule.get("excludes"):
            parts.append("excludes " + ", ".join(name(r) for r in rule["excludes"]))
        return " ".join(parts)

    old = [json.dumps(r, sort_keys=True) for r in before.rules]
    new = [json.dumps(r, sort_keys=True) for r in after.rules]
    found = [
        Change("rules", "new rule: " + describe(after, rule), "warning")
        for rule, key in zip(after.rules, new, strict=True)
        if key not in old
    ]
    found += [
        Change("rules", "rule removed: " + describe(before, rule))
        for rule, key in zip(before.rules, old, strict=True)
        if key not in new
    ]
    return found


# --- the designs it touches --------------------------------------------------------------------


def affected_designs(
    db: Database,
    event_id: int,
    document: Document,
    published: Document | None = None,
) -> list[Affected]:
    """The stored designs the draft would break, each with plain reasons, by attendee name.

    With the published version given, only the designs that could break are read: those that
    picked an option the draft changes, and those not yet checked against the published version
    (saved under an older one, or marked for attention). A change that reaches further (the
    event's days or zone, a budget, a rule, a section's own settings) checks every design.
    """
    schema = _compiled(document)
    touched = _touched_options(_compiled(published), schema) if published else None
    if touched is None:
        rows = db.execute(_AFFECTED_ALL, [event_id]).fetchall()
    else:
        latest = events.latest_number(db, event_id)
        ids = {r[0] for r in db.execute(_UNCHECKED, [event_id, latest])}
        for key in touched:
            ids.update(r[0] for r in db.execute(_PICKED_BY, [event_id, *key]))
        rows = [row for i in sorted(ids) for row in db.execute(_AFFECTED_ONE, [i])]
    found: dict[int, Affected] = {}
    for row in rows:
        report = schema.check(json.loads(row["document"]), complete=row["status"] == "confirmed")
        if report.errors:
            found[row["attendee_id"]] = Affected(
                row["attendee_id"],
                row["name"],
                row["email"],
                row["status"],
                [f"{p.path}: {p.message}" if p.path else p.message for p in report.errors],
            )
    by_id = {row["attendee_id"]: row for row in rows}
    for key, taken in designs.seats_taken(db, event_id).items():
        option = schema.options.get(key)
        if option is None or option.capacity is None or taken <= option.capacity:
            continue
        for attendee_id in _last_seated(db, event_id, key, taken - option.capacity):
            row = by_id.get(attendee_id)
            if row is None:
                row = db.execute(_AFFECTED_ONE, [attendee_id]).fetchone()
                if row is None:
                    continue
            entry = found.setdefault(
                attendee_id,
                Affected(attendee_id, row["name"], row["email"], row["status"]),
            )
            entry.reasons.append(
                f"“{option.title}” will have {option.capacity} seats for the {taken} already"
                " taken, and this seat was among the last taken"
            )
    return sorted(found.values(), key=lambda a: (a.name.casefold(), a.attendee_id))


_AFFECTED = (
    "SELECT d.attendee_id, d.status, d.document, a.name, a.email FROM designs d"
    " JOIN attendees a ON a.id = d.attendee_id WHERE a.revoked_at IS NULL"
)
_AFFECTED_ALL = _AFFECTED + " AND d.event_id = ? ORDER BY a.name, a.id"
_AFFECTED_ONE = _AFFECTED + " AND d.attendee_id = ?"
_UNCHECKED = (
    "SELECT attendee_id FROM designs WHERE event_id = ?"
    " AND (version <> ? OR needs_attention IS NOT NULL)"
)
_PICKED_BY = (
    "SELECT attendee_id FROM picks WHERE event_id = ? AND section_id = ? AND option_id = ?"
)
# What a section holds besides its own settings: compared item by item, not as settings.
_ITEMS = ("sessions", "options", "rooms", "title", "description")


def _touched_options(before: CompiledSchema, after: CompiledSchema) -> set[Key] | None:
    """The options of the published version that the draft changes or removes, or None when
    the change reaches designs that did not pick them (then every design must be checked).

    A design's check reads the event's days and zone, the budget, the rules, each section's
    settings and the options it picked; when only options differ, a design that picked none of
    them comes out as it did against the published version.
    """
    quiet = ("title", "description")
    if {k: v for k, v in before.event.items() if k not in quiet} != {
        k: v for k, v in after.event.items() if k not in quiet
    }:
        return None
    if before.budget != after.budget or before.rules != after.rules:
        return None
    if set(before.sections) != set(after.sections):
        return None
    touched: set[Key] = set()
    for sid, old in before.sections.items():
        new = after.sections[sid]
        if {k: v for k, v in old.items() if k not in _ITEMS} != {
            k: v for k, v in new.items() if k not in _ITEMS
        }:
            return None
        for kind in ("sessions", "options"):
            old_items = {item["id"]: item for item in old.get(kind, [])}
            new_items = {item["id"]: item for item in new.get(kind, [])}
            for oid, item in old_items.items():
                key = (sid, oid)
                if (
                    new_items.get(oid) != item
                    or before.options.get(key) != after.options.get(key)
                ):
                    touched.add(key)
    return touched


def _last_seated(db: Database, event_id: int, key: Key, count: int) -> list[int]:
    """The attendees who took the last `count` seats of an option, latest first."""
    rows = db.execute(
        "SELECT attendee_id FROM picks WHERE event_id = ? AND section_id = ? AND option_id = ?"
        " AND seated = 1 ORDER BY picked_at DESC, attendee_id DESC LIMIT ?",
        [event_id, *key, count],
    )
    return [r[0] for r in rows]


def attention_sentence(number: int, reasons: list[str]) -> str:
    """What an attendee reads on their design after a change touched it."""
    sentence = (
        f"The organiser published version {number} of the event, and your design needs a look: "
        + "; ".join(reasons)
        + ". Your picks are kept as they were until you change them."
    )
    if len(sentence) > ATTENTION_LIMIT:
        sentence = sentence[: ATTENTION_LIMIT - 1] + "…"
    return sentence


def mark_attention(
    db: Database,
    number: int,
    affected: list[Affected],
    event: dict[str, Any] | None = None,
) -> None:
    """Mark each affected design as needing its attendee's attention, and tell them so."""
    with write(db):
        for entry in affected:
            sentence = attention_sentence(number, entry.reasons)
            db.execute(
                "UPDATE designs SET needs_attention = ? WHERE attendee_id = ?",
                [sentence, entry.attendee_id],
            )
            if event is not None:
                outbox.queue(
                    db,
                    event["id"],
                    [entry.attendee_id],
                    "design_changed",
                    f"{event['title']} changed: your design needs a look",
                    f"Hello {entry.name},\n\n{sentence}",
                    key=f"design_changed:{number}",
                )


def publish(db: Database, slug: str, account_id: int | None = None) -> Published:
    """Publish the draft and mark the designs it breaks, in one transaction."""
    with write(db):
        event = events.get_event(db, slug)
        before = events.latest_number(db, event["id"])
        affected = (
            affected_designs(db, event["id"], events.draft(event), events.compiled(db, event["id"]))
            if before is not None
            else []
        )
        number = events.publish(db, slug, account_id)
        if number == before:
            return Published(number, False, [])
        mark_attention(db, number, affected, event)
    return Published(number, True, affected)
