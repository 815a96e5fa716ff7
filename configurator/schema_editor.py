"""Pure edits of an option schema from form data: each takes a draft and returns a changed copy.

Values the organiser typed that do not fit (a capacity of "ten") are kept as typed, so the
meta-schema check names them, with their place, in the organiser's own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import NotFound, Problem, SchemaInvalid
from .optionschema import DEFAULT_FORMATS, FORMAT, human_path, parse_instant, pointer

Form = Mapping[str, Any]
Doc = dict[str, Any]
KINDS = ("sessions", "choice", "fields")
FIELD_TYPES = ("text", "number", "boolean", "date", "one_of")
TEXT_FORMATS = ("phone", "email", "handle", "url")
OVERLAP = ("forbid", "warn", "allow")
SESSIONS_PER_PAGE = 50
_LOCAL = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$")


# --- reading form values -----------------------------------------------------------------------



def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and scalars): each edit works on its own copy of
    the draft, a megabyte for a big event, and copy.deepcopy's bookkeeping made it 4x slower."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value

def text(form: Form, key: str) -> str:
    """A form value, trimmed ('' when absent)."""
    return str(form.get(key) or "").strip()


def values(form: Form, key: str) -> list[str]:
    """Every value of a multi-valued form key (checkboxes, multiple selects)."""
    getlist = getattr(form, "getlist", None)
    found = getlist(key) if getlist else form.get(key, [])
    if isinstance(found, str):
        found = [found]
    return [str(v).strip() for v in found if str(v).strip()]


def checked(form: Form, key: str) -> bool:
    """Whether a checkbox was ticked."""
    return text(form, key) not in ("", "0", "false", "off")


def number(raw: str) -> int | float | str | None:
    """A whole or decimal number from text, None for blank, or the text itself to be reported."""
    raw = raw.strip()
    if not raw:
        return None
    if re.fullmatch(r"[+-]?[0-9]{1,15}", raw):
        return int(raw)
    if re.fullmatch(r"[+-]?[0-9]{0,15}\.[0-9]{1,15}", raw):
        return float(raw)
    return raw


def split_list(raw: str) -> list[str]:
    """Comma-separated items, trimmed, blanks dropped."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    """Set a key, or remove it when the value is blank."""
    if value is None or value == "" or value == []:
        node.pop(key, None)
    else:
        node[key] = value


def _flag(node: dict[str, Any], key: str, value: bool, default: bool = False) -> None:
    """Set a boolean, leaving it out while it is absent and stays at its default."""
    if value == default and key not in node:
        return
    node[key] = value


# --- ids and times -----------------------------------------------------------------------------


def slugify(title: str, limit: int = 64) -> str:
    """A lowercase slug from a title: 'Commons Camp 2027' -> 'commons-camp-2027'."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def new_id(wanted: str, title: str, taken: set[str], fallback: str) -> str:
    """The id the organiser typed, or one made from the title that is not yet taken."""
    if wanted:
        return wanted
    base = slugify(title, 72) or fallback
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def local_input(instant: str | None, zone_name: str) -> str:
    """An ISO instant as the wall-clock value of a datetime-local input in the event's zone."""
    if not instant:
        return ""
    try:
        return parse_instant(instant).astimezone(ZoneInfo(zone_name)).strftime("%Y-%m-%dT%H:%M")
    except (ValueError, ZoneInfoNotFoundError):
        return instant


def instant_from_local(raw: str, zone_name: str, current: str | None = None) -> str | None:
    """A datetime-local value read in the event's zone as an ISO instant with its offset.

    An unchanged value keeps the stored text, so saving a form never rewrites what it did not edit.
    """
    raw = raw.strip()
    if not raw:
        return None
    if current and local_input(current, zone_name) == raw:
        return current
    if not _LOCAL.match(raw):
        return raw
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(zone_name)).isoformat()
    except (ValueError, ZoneInfoNotFoundError):
        return raw


# --- finding things ----------------------------------------------------------------------------


def section_index(doc: Doc, sid: str) -> int:
    """The position of a section; NotFound if the draft has none with this id."""
    for i, section in enumerate(doc["sections"]):
        if section.get("id") == sid:
            return i
    raise NotFound(f"The draft has no section {sid!r}.")


def item_index(items: list[dict[str, Any]], item_id: str, noun: str) -> int:
    """The position of an item with this id in a list; NotFound if absent."""
    for i, item in enumerate(items):
        if item.get("id") == item_id:
            return i
    raise NotFound(f"There is no {noun} {item_id!r} here.")


def _section(doc: Doc, sid: str, kind: str | None = None) -> dict[str, Any]:
    section = doc["sections"][section_index(doc, sid)]
    if kind and section["kind"] != kind:
        raise NotFound(f"Section {sid!r} is not a {kind} section.")
    return section


def _fields_of(doc: Doc, sid: str, option_id: str | None) -> list[dict[str, Any]]:
    """The field list a field lives in: a fields section's, or a choice option's follow-ups."""
    if option_id is None:
        return _section(doc, sid, "fields")["fields"]
    section = _section(doc, sid, "choice")
    option = section["options"][item_index(section["options"], option_id, "option")]
    return option.setdefault("follow_up", [])


def fields_pointer(doc: Doc, sid: str, option_id: str | None) -> str:
    """The JSON pointer of the field list a field lives in."""
    s = section_index(doc, sid)
    if option_id is None:
        return pointer(["sections", s, "fields"])
    o = item_index(doc["sections"][s]["options"], option_id, "option")
    return pointer(["sections", s, "options", o, "follow_up"])


def _refuse(doc: Doc, parts: list[str | int], message: str) -> SchemaInvalid:
    return SchemaInvalid(message, [Problem(pointer(parts), human_path(doc, parts), message)])


# --- the event ---------------------------------------------------------------------------------


def new_event(form: Form) -> Doc:
    """The smallest valid schema for a new event: its settings and one empty sessions section."""
    title = text(form, "title")
    return {
        "format": FORMAT,
        "event": {
            "slug": text(form, "slug") or slugify(title),
            "title": title,
            "timezone": text(form, "timezone"),
            "starts_on": text(form, "starts_on"),
            "ends_on": text(form, "ends_on") or text(form, "starts_on"),
        },
        "sections": [{"id": "agenda", "kind": "sessions", "title": "Your agenda"}],
    }


def edit_event(doc: Doc, form: Form) -> Doc:
    """Change the event's settings: title, description, dates, time zone, window, registration."""
    doc = json_copy(doc)
    event = doc["event"]
    event["title"] = text(form, "title")
    _put(event, "description", text(form, "description"))
    for key in ("timezone", "starts_on", "ends_on"):
        event[key] = text(form, key)
    _put(event, "day_change", text(form, "day_change") or None)
    if event.get("day_change") == "00:00":
        del event["day_change"]
    window = event.setdefault("window", {})
    for key in ("opens", "closes"):
        _put(
            window,
            key,
            instant_from_local(text(form, f"window_{key}"), event["timezone"], window.get(key)),
        )
    _flag(window, "edit_after_confirm", checked(form, "edit_after_confirm"), True)
    if not window:
        del event["window"]
    _flag(event, "open_registration", checked(form, "open_registration"))
    return doc


def edit_budget(doc: Doc, form: Form) -> Doc:
    """Set the points budget, or remove it when the total is left blank."""
    doc = json_copy(doc)
    total = number(text(form, "total"))
    if total is None:
        doc.pop("budget", None)
        return doc
    budget: dict[str, Any] = {"total": total}
    _put(budget, "title", text(form, "title"))
    doc["budget"] = budget
    return doc


# --- sections ----------------------------------------------------------------------------------


def add_section(doc: Doc, form: Form) -> Doc:
    """Append a section; choice and fields sections start with one option or question."""
    doc = json_copy(doc)
    kind, title = text(form, "kind"), text(form, "title")
    taken = {s.get("id", "") for s in doc["sections"]}
    section: dict[str, Any] = {
        "id": new_id(text(form, "id"), title, taken, f"section-{len(taken) + 1}"),
        "kind": kind or "sessions",
        "title": title,
    }
    first = text(form, "first") or ("First option" if kind == "choice" else "First question")
    if kind == "choice":
        section["options"] = [{"id": new_id("", first, set(), "option-1"), "title": first}]
    elif kind == "fields":
        section["fields"] = [
            {"id": new_id("", first, set(), "field-1"), "title": first, "type": "text"}
        ]
    doc["sections"].append(section)
    return doc


def edit_section(doc: Doc, sid: str, form: Form) -> Doc:
    """Change a section's title, description, bounds and the settings of its kind."""
    doc = json_copy(doc)
    section = _section(doc, sid)
    section["title"] = text(form, "title")
    _put(section, "description", text(form, "description"))
    _flag(section, "required", checked(form, "required"))
    if section["kind"] == "fields":
        return doc
    for key in ("min", "max"):
        _put(section, key, number(text(form, key)))
    if section["kind"] == "sessions":
        per_day: dict[str, Any] = {}
        for key in ("min", "max"):
            _put(per_day, key, number(text(form, f"per_day_{key}")))
        _put(section, "per_day", per_day or None)
        _put(section, "overlap", text(form, "overlap") or None)
    else:
        _flag(section, "multiple", checked(form, "multiple"))
    return doc


def move_section(doc: Doc, sid: str, direction: str) -> Doc:
    """Move a section one place up or down."""
    doc = json_copy(doc)
    i = section_index(doc, sid)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(doc["sections"]):
        doc["sections"][i], doc["sections"][j] = doc["sections"][j], doc["sections"][i]
    return doc


def remove_section(doc: Doc, sid: str) -> Doc:
    """Remove a section and every rule that names it."""
    doc = json_copy(doc)
    del doc["sections"][section_index(doc, sid)]
    return _drop_rule_refs(doc, lambda ref: ref.split("/", 1)[0] == sid)


def _drop_rule_refs(doc: Doc, gone: Any) -> Doc:
    """Remove references to removed options from rules; drop rules left with nothing to say."""
    kept = []
    for rule in doc.get("rules", []):
        if gone(rule["if"]):
            continue
        for key in ("requires", "excludes"):
            if key in rule:
                rule[key] = [ref for ref in rule[key] if not gone(ref)]
                if not rule[key]:
                    del rule[key]
        if "requires" in rule or "excludes" in rule:
            kept.append(rule)
    if "rules" in doc:
        doc["rules"] = kept
    return doc


# --- choice options ----------------------------------------------------------------------------


def _option_values(option: dict[str, Any], form: Form) -> None:
    option["title"] = text(form, "title")
    _put(option, "description", text(form, "description"))
    _put(option, "capacity", number(text(form, "capacity")))
    _put(option, "cost", number(text(form, "cost")))


def add_option(doc: Doc, sid: str, form: Form) -> Doc:
    """Append an option to a choice section."""
    doc = json_copy(doc)
    options = _section(doc, sid, "choice")["options"]
    title = text(form, "title")
    option: dict[str, Any] = {
        "id": new_id(text(form, "id"), title, {o["id"] for o in options}, "option")
    }
    _option_values(option, form)
    options.append(option)
    return doc


def edit_option(doc: Doc, sid: str, oid: str, form: Form) -> Doc:
    """Change an option's title, description, capacity and cost (its id stays)."""
    doc = json_copy(doc)
    options = _section(doc, sid, "choice")["options"]
    _option_values(options[item_index(options, oid, "option")], form)
    return doc


def remove_option(doc: Doc, sid: str, oid: str) -> Doc:
    """Remove an option of a choice section, and the rules' references to it."""
    doc = json_copy(doc)
    options = _section(doc, sid, "choice")["options"]
    del options[item_index(options, oid, "option")]
    return _drop_rule_refs(doc, lambda ref: ref == f"{sid}/{oid}")


# --- fields (of a fields section, or follow-ups of an option) ---------------------------------


def choices_text(choices: list[dict[str, Any]]) -> str:
    """A one_of field's choices as the textarea shows them: `id | Title` per line."""
    return "\n".join(f"{c['id']} | {c['title']}" for c in choices)


def _choices(raw: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        cid, bar, title = line.partition("|")
        if not bar:
            title, cid = cid, ""
        found.append(
            {
                "id": new_id(cid.strip(), title.strip(), {c["id"] for c in found}, "choice"),
                "title": title.strip(),
            }
        )
    return found


def _field_values(field: dict[str, Any], form: Form) -> None:
    """Rebuild a field from the form, keeping only the keys its type uses."""
    kind = text(form, "type") or field.get("type", "text")
    for key in list(field):
        if key != "id":
            del field[key]
    field["title"] = text(form, "title")
    field["type"] = kind
    _put(field, "help", text(form, "help"))
    if checked(form, "required"):
        field["required"] = True
    if kind == "text":
        _put(field, "max_length", number(text(form, "max_length")))
        _put(field, "format", text(form, "format"))
        _put(field, "pattern", text(form, "pattern"))
        _put(field, "pattern_hint", text(form, "pattern_hint"))
    elif kind == "number":
        _put(field, "min", number(text(form, "min")))
        _put(field, "max", number(text(form, "max")))
        if checked(form, "integer"):
            field["integer"] = True
    elif kind == "one_of":
        field["options"] = _choices(str(form.get("choices") or ""))


def add_field(doc: Doc, sid: str, form: Form, option_id: str | None = None) -> Doc:
    """Append a field to a fields section, or a follow-up field to a choice option."""
    doc = json_copy(doc)
    fields = _fields_of(doc, sid, option_id)
    title = text(form, "title")
    field: dict[str, Any] = {
        "id": new_id(text(form, "id"), title, {f["id"] for f in fields}, "field")
    }
    _field_values(field, form)
    fields.append(field)
    return doc


def edit_field(doc: Doc, sid: str, fid: str, form: Form, option_id: str | None = None) -> Doc:
    """Change a field's title, type and the settings of its type (its id stays)."""
    doc = json_copy(doc)
    fields = _fields_of(doc, sid, option_id)
    _field_values(fields[item_index(fields, fid, "field")], form)
    return doc


def remove_field(doc: Doc, sid: str, fid: str, option_id: str | None = None) -> Doc:
    """Remove a field (or a follow-up field)."""
    doc = json_copy(doc)
    fields = _fields_of(doc, sid, option_id)
    del fields[item_index(fields, fid, "field")]
    return doc


# --- sessions, rooms and formats ---------------------------------------------------------------


def _session_values(session: dict[str, Any], form: Form, zone: str, all_formats: list[str]) -> None:
    session["title"] = text(form, "title")
    for key in ("subtitle", "description", "track", "language", "room"):
        _put(session, key, text(form, key))
    for key in ("start", "end"):
        session[key] = instant_from_local(text(form, key), zone, session.get(key)) or ""
    _put(session, "capacity", number(text(form, "capacity")))
    _put(session, "cost", number(text(form, "cost")))
    _put(session, "speakers", split_list(text(form, "speakers")))
    _put(session, "tags", split_list(text(form, "tags")))
    formats = values(form, "formats")
    # All formats ticked is the default; leaving the key out lets new formats apply too.
    _put(session, "formats", None if sorted(formats) == sorted(all_formats) else formats)


def section_formats(section: dict[str, Any]) -> list[dict[str, Any]]:
    """A sessions section's formats, the default one when it lists none."""
    return section.get("formats") or [dict(f) for f in DEFAULT_FORMATS]


def add_session(doc: Doc, sid: str, form: Form) -> Doc:
    """Append a session to a sessions section."""
    doc = json_copy(doc)
    section = _section(doc, sid, "sessions")
    sessions = section.setdefault("sessions", [])
    title = text(form, "title")
    session: dict[str, Any] = {
        "id": new_id(text(form, "id"), title, {s["id"] for s in sessions}, "session")
    }
    formats = [f["id"] for f in section_formats(section)]
    _session_values(session, form, doc["event"]["timezone"], formats)
    sessions.append(session)
    return doc


def edit_session(doc: Doc, sid: str, session_id: str, form: Form) -> Doc:
    """Change a session's title, time, room, capacity, formats and the rest (its id stays)."""
    doc = json_copy(doc)
    section = _section(doc, sid, "sessions")
    sessions = section.get("sessions", [])
    formats = [f["id"] for f in section_formats(section)]
    session = sessions[item_index(sessions, session_id, "session")]
    _session_values(session, form, doc["event"]["timezone"], formats)
    return doc


def remove_session(doc: Doc, sid: str, session_id: str) -> Doc:
    """Remove a session, and the rules' references to it."""
    doc = json_copy(doc)
    sessions = _section(doc, sid, "sessions").get("sessions", [])
    del sessions[item_index(sessions, session_id, "session")]
    return _drop_rule_refs(doc, lambda ref: ref == f"{sid}/{session_id}")


def add_room(doc: Doc, sid: str, form: Form) -> Doc:
    """Append a room to a sessions section."""
    doc = json_copy(doc)
    rooms = _section(doc, sid, "sessions").setdefault("rooms", [])
    title = text(form, "title")
    room: dict[str, Any] = {"id": new_id(text(form, "id"), title, {r["id"] for r in rooms}, "room")}
    room["title"] = title
    _put(room, "capacity", number(text(form, "capacity")))
    rooms.append(room)
    return doc


def edit_room(doc: Doc, sid: str, rid: str, form: Form) -> Doc:
    """Change a room's title and capacity."""
    doc = json_copy(doc)
    rooms = _section(doc, sid, "sessions").get("rooms", [])
    room = rooms[item_index(rooms, rid, "room")]
    room["title"] = text(form, "title")
    _put(room, "capacity", number(text(form, "capacity")))
    return doc


def remove_room(doc: Doc, sid: str, rid: str) -> Doc:
    """Remove a room no session uses."""
    doc = json_copy(doc)
    s = section_index(doc, sid)
    section = doc["sections"][s]
    rooms = section.get("rooms", [])
    r = item_index(rooms, rid, "room")
    using = [x["title"] for x in section.get("sessions", []) if x.get("room") == rid]
    if using:
        raise _refuse(
            doc,
            ["sections", s, "rooms", r],
            f"{len(using)} session(s) take place in this room (such as “{using[0]}”):"
            " move them to another room first",
        )
    del rooms[r]
    return doc


def add_format(doc: Doc, sid: str, form: Form) -> Doc:
    """Add a way of attending (in person, online, recording) to a sessions section."""
    doc = json_copy(doc)
    section = _section(doc, sid, "sessions")
    formats = section.setdefault("formats", section_formats(section))
    title = text(form, "title")
    fmt: dict[str, Any] = {
        "id": new_id(text(form, "id"), title, {f["id"] for f in formats}, "format")
    }
    fmt["title"] = title
    fmt["seated"] = checked(form, "seated")
    formats.append(fmt)
    return doc


def edit_format(doc: Doc, sid: str, fid: str, form: Form) -> Doc:
    """Change a format's title and whether it takes a seat."""
    doc = json_copy(doc)
    section = _section(doc, sid, "sessions")
    formats = section.setdefault("formats", section_formats(section))
    fmt = formats[item_index(formats, fid, "format")]
    fmt["title"] = text(form, "title")
    fmt["seated"] = checked(form, "seated")
    return doc


def remove_format(doc: Doc, sid: str, fid: str) -> Doc:
    """Remove a format no session lists by name."""
    doc = json_copy(doc)
    s = section_index(doc, sid)
    section = doc["sections"][s]
    formats = section.setdefault("formats", section_formats(section))
    f = item_index(formats, fid, "format")
    using = [x["title"] for x in section.get("sessions", []) if fid in x.get("formats", [])]
    if using:
        raise _refuse(
            doc,
            ["sections", s, "formats", f],
            f"{len(using)} session(s) list this format (such as “{using[0]}”):"
            " change their formats first",
        )
    del formats[f]
    return doc


@dataclass(frozen=True)
class SessionPage:
    """One page of a sessions section's sessions, filtered, with each one's index in the list."""

    rows: list[tuple[int, dict[str, Any]]]
    total: int
    page: int
    pages: int


def session_page(
    section: dict[str, Any], query: str = "", page: int = 1, per_page: int = SESSIONS_PER_PAGE
) -> SessionPage:
    """The sessions matching a query (title, id, speaker, track, room), one page of them."""
    words = query.casefold().split()
    rooms = {r["id"]: r["title"] for r in section.get("rooms", [])}
    found = []
    for i, session in enumerate(section.get("sessions", [])):
        haystack = " ".join(
            [
                session.get("id", ""),
                session.get("title", ""),
                session.get("track", ""),
                rooms.get(session.get("room", ""), ""),
                *session.get("speakers", []),
            ]
        ).casefold()
        if all(word in haystack for word in words):
            found.append((i, session))
    pages = max(1, -(-len(found) // per_page))
    page = min(max(page, 1), pages)
    return SessionPage(found[(page - 1) * per_page : page * per_page], len(found), page, pages)


# --- rules -------------------------------------------------------------------------------------


def add_rule(doc: Doc, form: Form) -> Doc:
    """Add a rule: picking one option requires, or excludes, others."""
    doc = json_copy(doc)
    relation = text(form, "relation")
    rule: dict[str, Any] = {"if": text(form, "if")}
    key = relation if relation in ("requires", "excludes") else "requires"
    rule[key] = values(form, "targets")
    if not rule[key]:
        del rule[key]
    _put(rule, "message", text(form, "message"))
    doc.setdefault("rules", []).append(rule)
    return doc


def remove_rule(doc: Doc, index: int) -> Doc:
    """Remove the rule at this position."""
    doc = json_copy(doc)
    rules = doc.get("rules", [])
    if not 0 <= index < len(rules):
        raise NotFound(f"There is no rule number {index + 1}.")
    del rules[index]
    if not rules:
        del doc["rules"]
    return doc


def pickable(doc: Doc) -> list[tuple[str, str]]:
    """Every option a rule may name, as (reference, 'Section > Option') pairs."""
    found = []
    for section in doc["sections"]:
        items = (
            section.get("sessions", [])
            if section["kind"] == "sessions"
            else section.get("options", [])
        )
        if section["kind"] == "fields":
            continue
        for item in items:
            found.append((f"{section['id']}/{item['id']}", f"{section['title']} > {item['title']}"))
    return found
