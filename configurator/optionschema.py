"""The option-schema format: parse, check against the meta-schema and the semantic rules, explain."""

from __future__ import annotations

import contextlib
import json
import re
import re._parser as sre_parse  # the stdlib's own regex parser: the reliable way to read nesting
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import jsonschema_rs
import yaml

from .errors import Problem, SchemaInvalid

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
FORMAT = "configurator/option-schema/1"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DEFAULT_FORMATS = [{"id": "in_person", "title": "In person", "seated": True}]


@cache
def meta_schema() -> dict[str, Any]:
    """The Draft 2020-12 meta-schema every option schema must satisfy."""
    return json.loads((SCHEMAS_DIR / "option-schema.schema.json").read_text())


@cache
def _meta_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(meta_schema())


@cache
def _fast_meta_validator() -> jsonschema_rs.Draft202012Validator:
    # The yes-or-no answer, in Rust (a big event's draft is megabytes, checked on every edit);
    # the Python validator above runs only to explain a document that fails, as the design
    # check does (compiler.py).
    return jsonschema_rs.Draft202012Validator(meta_schema(), validate_formats=False)


def parse(data: bytes | str, filename: str = "") -> dict[str, Any]:
    """Read an option schema from JSON (or YAML by file name); raise SchemaInvalid if unreadable."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SchemaInvalid(
            f"The file is {len(data):,} bytes; an option schema may be at most "
            f"{MAX_DOCUMENT_BYTES:,}."
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SchemaInvalid(f"The file is not UTF-8 text (byte {exc.start}).") from None
    if filename.endswith((".yaml", ".yml")):
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise SchemaInvalid(f"The file is not valid YAML: {exc}") from None
    else:
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SchemaInvalid(
                f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
    if not isinstance(doc, dict):
        raise SchemaInvalid(
            "An option schema must be a JSON object with format, event and sections."
        )
    return doc


def check(doc: dict[str, Any]) -> dict[str, Any]:
    """Return the document if it is a valid option schema, else raise SchemaInvalid listing all."""
    problems = problems_in(doc)
    if problems:
        count = len(problems)
        raise SchemaInvalid(
            f"The option schema has {count} problem{'s' if count != 1 else ''}.", problems
        )
    return doc


def problems_in(doc: Any) -> list[Problem]:
    """Every problem in a document: meta-schema errors first, then semantic ones."""
    if not _fast_meta_validator().is_valid(doc):
        errors = sorted(_meta_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
        problems = [_explain(doc, error) for error in errors]
        if problems:
            return _dedupe(problems)
    return _dedupe(_semantic_problems(doc))


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in problems:
        if (p.pointer, p.message) not in seen:
            seen.add((p.pointer, p.message))
            unique.append(p)
    return unique


# --- where: pointers and human paths -------------------------------------------------------


def pointer(parts: list[str | int]) -> str:
    """A JSON pointer (RFC 6901) for a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def human_path(doc: Any, parts: list[str | int]) -> str:
    """A path a person can follow, such as `sections[2] "Channels" > options[1]`."""
    out: list[str] = []
    node = doc
    for part in parts:
        if isinstance(part, int) and out:
            label = f"{out.pop()}[{part}]"
            try:
                node = node[part]
            except (IndexError, KeyError, TypeError):
                node = None
            if isinstance(node, dict):
                name = node.get("title") if isinstance(node.get("title"), str) else None
                if name:
                    label += f' "{_clip(name, 40)}"'
            out.append(label)
            continue
        out.append(str(part))
        try:
            node = node[part]
        except (IndexError, KeyError, TypeError):
            node = None
    return " > ".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(value: Any) -> str:
    return _clip(json.dumps(value, ensure_ascii=False), 60)


# --- what: plain sentences for meta-schema errors ------------------------------------------

_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "an object ({…})",
    "array": "a list ([…])",
    "null": "null",
}
_PATTERN_WORDS = {
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$": "an id of up to 80 letters, digits, '_', '.' or '-',"
    " starting with a letter or digit",
    "^[a-z0-9][a-z0-9-]{0,63}$": "a slug of up to 64 lowercase letters, digits and '-'",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date such as 2026-05-14",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time such as 04:00",
}


def describe(schema: dict[str, Any]) -> str:
    """What a value satisfying this (resolved) subschema looks like, in words."""
    if "$ref" in schema:
        schema = _resolve(schema["$ref"])
    if "const" in schema:
        return _shown(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_shown(v) for v in schema["enum"])
    kind = schema.get("type")
    pattern = schema.get("pattern")
    if pattern in _PATTERN_WORDS:
        return _PATTERN_WORDS[pattern]
    if pattern and "T[0-9]{2}" in pattern:
        return "a date and time with its UTC offset, such as 2026-05-14T09:30:00+02:00"
    if pattern and "/" in pattern:
        return "an option reference such as channels/sms (section id / option id)"
    words = _TYPE_WORDS.get(kind, "a value") if isinstance(kind, str) else "a value"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None and high < 1e6:
        words += f" from {_num(low)} to {_num(high)}"
    elif low is not None:
        words += f" of at least {_num(low)}"
    elif high is not None:
        words += f" of at most {_num(high)}"
    if kind == "string" and "maxLength" in schema:
        words += f" of at most {schema['maxLength']} characters"
    return words


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = meta_schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _explain(doc: Any, error: jsonschema.ValidationError) -> Problem:
    parts = list(error.absolute_path)
    keyword = error.validator
    value = error.instance
    if keyword in ("required", "additionalProperties", "minProperties") or not parts:
        where = parts
    else:
        where = parts[:-1]
    name = str(parts[-1]) if parts and isinstance(parts[-1], str) else "this item"
    if parts and isinstance(parts[-1], int) and len(parts) >= 2:
        name = f"each entry of {parts[-2]}"
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        message = f"{missing[0] if missing else 'a key'} is required"
    elif keyword == "additionalProperties":
        extra = sorted(set(value) - set(schema.get("properties", {})))
        allowed = ", ".join(schema.get("properties", {}))
        message = f"unknown key {', '.join(_shown(k) for k in extra)}; the keys allowed here are {allowed}"
    elif keyword == "type" or keyword in ("minimum", "maximum", "const", "enum", "pattern"):
        message = f"{name} must be {describe(schema)}, got {_shown(value)}"
    elif keyword == "minLength":
        message = (
            f"{name} must not be empty"
            if schema["minLength"] == 1
            else (f"{name} must be at least {schema['minLength']} characters long")
        )
    elif keyword == "maxLength":
        message = f"{name} must be at most {schema['maxLength']} characters long, got {len(value)}"
    elif keyword == "minItems":
        message = f"{name} must have at least {schema['minItems']} entr" + (
            "y" if schema["minItems"] == 1 else "ies"
        )
    elif keyword == "maxItems":
        message = f"{name} may have at most {schema['maxItems']} entries, got {len(value)}"
    elif keyword == "minProperties":
        message = "a rule needs 'requires' or 'excludes' besides 'if'"
    else:
        message = error.message
    return Problem(pointer(parts), human_path(doc, where), message)


# --- semantic checks -----------------------------------------------------------------------


def parse_instant(text: str) -> datetime:
    """An aware datetime from an ISO 8601 string with offset (Z allowed)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def event_zone(doc: dict[str, Any]) -> ZoneInfo:
    """The event's time zone."""
    return ZoneInfo(doc["event"]["timezone"])


def day_of(start: datetime, zone: ZoneInfo, day_change: str) -> date:
    """The event day a moment belongs to: local date, counting past midnight up to day_change."""
    hours, minutes = (int(x) for x in day_change.split(":"))
    return (start.astimezone(zone) - timedelta(hours=hours, minutes=minutes)).date()


def _semantic_problems(doc: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    def add(parts: list[str | int], message: str, subject_is_key: bool = True) -> None:
        where = parts[:-1] if subject_is_key and parts and isinstance(parts[-1], str) else parts
        problems.append(Problem(pointer(parts), human_path(doc, where), message))

    event = doc["event"]
    zone: ZoneInfo | None = None
    try:
        zone = ZoneInfo(event["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        add(
            ["event", "timezone"],
            f"timezone must be an IANA time zone such as Europe/Brussels,"
            f" got {_shown(event['timezone'])}",
        )
    first = last = None
    for key in ("starts_on", "ends_on"):
        try:
            date.fromisoformat(event[key])
        except ValueError:
            add(["event", key], f"{key} is not a real date: {_shown(event[key])}")
    with contextlib.suppress(ValueError):
        first, last = date.fromisoformat(event["starts_on"]), date.fromisoformat(event["ends_on"])
    if first and last and last < first:
        add(["event", "ends_on"], f"ends_on ({last}) is before starts_on ({first})")
    window = event.get("window", {})
    instants: dict[str, datetime] = {}
    for key in ("opens", "closes"):
        if key in window:
            try:
                instants[key] = parse_instant(window[key])
            except ValueError:
                add(
                    ["event", "window", key],
                    f"{key} is not a real date and time: {_shown(window[key])}",
                )
    if len(instants) == 2 and instants["closes"] <= instants["opens"]:
        add(["event", "window", "closes"], "the design window must close after it opens")
    for phase in ("propose", "support", "answer"):
        dates = doc.get("proposals", {}).get(phase)
        if dates and parse_instant(dates["closes"]) <= parse_instant(dates["opens"]):
            add(["proposals", phase, "closes"], f"the {phase} phase must close after it opens")
    day_change = event.get("day_change", "00:00")

    section_ids: dict[str, int] = {}
    options_by_section: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    any_cost = False
    for s_index, section in enumerate(doc["sections"]):
        base: list[str | int] = ["sections", s_index]
        sid = section["id"]
        if sid in section_ids:
            add(
                [*base, "id"],
                f"section id {_shown(sid)} is already used by sections[{section_ids[sid]}]",
            )
        section_ids.setdefault(sid, s_index)
        kinds[sid] = section["kind"]
        _check_bounds(section, base, add)
        if section["kind"] == "sessions":
            ids = _unique_ids(section.get("formats", []), [*base, "formats"], "format", add)
            format_ids = ids or {f["id"] for f in DEFAULT_FORMATS}
            rooms = _unique_ids(section.get("rooms", []), [*base, "rooms"], "room", add)
            per_day = section.get("per_day", {})
            if "min" in per_day and "max" in per_day and per_day["min"] > per_day["max"]:
                add(
                    [*base, "per_day", "min"],
                    f"per_day min ({per_day['min']}) is above per_day max ({per_day['max']})",
                )
            options_by_section[sid] = _unique_ids(
                section.get("sessions", []), [*base, "sessions"], "session", add
            )
            for i, session in enumerate(section.get("sessions", [])):
                where: list[str | int] = [*base, "sessions", i]
                any_cost = any_cost or bool(session.get("cost"))
                try:
                    start, end = parse_instant(session["start"]), parse_instant(session["end"])
                except ValueError:
                    add([*where, "start"], "start or end is not a real date and time")
                    continue
                if end <= start:
                    add(
                        [*where, "end"],
                        f"end ({session['end']}) must be after start ({session['start']})",
                    )
                if zone and first and last:
                    day = day_of(start, zone, day_change)
                    if not first <= day <= last:
                        add(
                            [*where, "start"],
                            f"the session is on {day}, outside the event's "
                            f"days ({first} to {last})",
                        )
                if "room" in session and session["room"] not in rooms:
                    add(
                        [*where, "room"],
                        f"room {_shown(session['room'])} is not one of this section's rooms",
                    )
                for f in session.get("formats", []):
                    if f not in format_ids:
                        add(
                            [*where, "formats"],
                            f"format {_shown(f)} is not one of this section's formats",
                        )
                if len(set(session.get("formats", []))) != len(session.get("formats", [])):
                    add([*where, "formats"], "formats lists the same format twice")
        elif section["kind"] == "choice":
            options = section["options"]
            options_by_section[sid] = _unique_ids(options, [*base, "options"], "option", add)
            if not section.get("multiple", False) and section.get("max", 1) > 1:
                add([*base, "max"], "max must be 1 when multiple is false (a single choice)")
            for i, option in enumerate(options):
                any_cost = any_cost or bool(option.get("cost"))
                follow = option.get("follow_up", [])
                _unique_ids(follow, [*base, "options", i, "follow_up"], "follow-up field", add)
                for j, field in enumerate(follow):
                    _check_field(field, [*base, "options", i, "follow_up", j], add)
        else:
            _unique_ids(section["fields"], [*base, "fields"], "field", add)
            for j, field in enumerate(section["fields"]):
                _check_field(field, [*base, "fields", j], add)
    if any_cost and "budget" not in doc:
        add(["budget"], "some options cost points, but the schema has no budget", False)
    for r_index, rule in enumerate(doc.get("rules", [])):
        for key in ("if", "requires", "excludes"):
            refs = rule.get(key, [])
            for j, ref in enumerate([refs] if isinstance(refs, str) else refs):
                parts: list[str | int] = ["rules", r_index, key] + ([] if key == "if" else [j])
                section_id, option_id = ref.split("/", 1)
                if section_id not in section_ids:
                    add(parts, f"rule names section {_shown(section_id)}, which does not exist")
                elif kinds[section_id] == "fields":
                    add(
                        parts,
                        f"rule names {_shown(ref)}, but rules apply to sessions and choice "
                        "options, not fields",
                    )
                elif option_id not in options_by_section.get(section_id, set()):
                    add(parts, f"rule names option {_shown(ref)}, which does not exist")
        if rule["if"] in rule.get("requires", []) + rule.get("excludes", []):
            add(["rules", r_index, "if"], "a rule cannot require or exclude its own option")
    return problems


def _unique_ids(
    items: list[dict[str, Any]], base: list[str | int], noun: str, add: Any
) -> set[str]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item["id"] in seen:
            add(
                [*base, i, "id"],
                f"{noun} id {_shown(item['id'])} is already used by {base[-1]}[{seen[item['id']]}]",
            )
        seen.setdefault(item["id"], i)
    return set(seen)


def _check_bounds(section: dict[str, Any], base: list[str | int], add: Any) -> None:
    low, high = section.get("min"), section.get("max")
    if low is not None and high is not None and low > high:
        add([*base, "min"], f"min ({low}) is above max ({high})")
    size = len(section.get("sessions", section.get("options", [])))
    if section["kind"] != "fields" and low is not None and low > size:
        add([*base, "min"], f"min ({low}) is more than the {size} options offered")


_TYPE_KEYS = {
    "text": {"max_length", "format", "pattern", "pattern_hint"},
    "number": {"min", "max", "integer"},
    "date": {"min", "max"},
    "one_of": {"options"},
    "boolean": set(),
}
_ALL_TYPE_KEYS = set().union(*_TYPE_KEYS.values())


def _check_field(field: dict[str, Any], base: list[str | int], add: Any) -> None:
    kind = field["type"]
    for key in sorted((_ALL_TYPE_KEYS - _TYPE_KEYS[kind]) & set(field)):
        add([*base, key], f"{key} does not apply to a {kind} field")
    if kind == "one_of" and "options" not in field:
        add([*base, "options"], "a one_of field needs options")
    if kind == "one_of":
        _unique_ids(field.get("options", []), [*base, "options"], "option", add)
    if kind == "date":
        for key in ("min", "max"):
            if key in field:
                add([*base, key], "min and max on a date field are not supported; leave them out")
    if kind == "number" and "min" in field and "max" in field and field["min"] > field["max"]:
        add([*base, "min"], f"min ({_num(field['min'])}) is above max ({_num(field['max'])})")
    if "pattern" in field:
        reason = unsafe_pattern_reason(field["pattern"])
        if reason:
            add([*base, "pattern"], f"pattern {_shown(field['pattern'])} {reason}")
    if "pattern" in field and "format" in field:
        add([*base, "pattern"], "give either format or pattern, not both")


def unsafe_pattern_reason(pattern: str) -> str | None:
    """Why an organiser's regular expression may not reach a validator, or None if it may."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return f"is not a valid regular expression ({exc.msg})"
    banned = {
        sre_parse.GROUPREF: "uses a back-reference",
        sre_parse.ASSERT: "uses a lookahead or lookbehind",
        sre_parse.ASSERT_NOT: "uses a lookahead or lookbehind",
        sre_parse.GROUPREF_EXISTS: "uses a conditional group",
    }
    repeats = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT}

    def walk(items: Any, inside_repeat: bool) -> str | None:
        for op, arg in items:
            if op in banned:
                return banned[op] + ", which the validator does not run"
            if op in repeats:
                low, high, body = arg
                if inside_repeat and high != 0 and high != 1:
                    return "nests a repeat inside a repeat, which can take exponential time"
                found = walk(body, inside_repeat or high > 1)
                if found:
                    return found
            elif op == sre_parse.SUBPATTERN:
                found = walk(arg[-1], inside_repeat)
                if found:
                    return found
            elif op == sre_parse.BRANCH:
                for branch in arg[1]:
                    found = walk(branch, inside_repeat)
                    if found:
                        return found
        return None

    reason = walk(parsed, False)
    if reason:
        return reason
    try:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    except (ValueError, jsonschema_rs.ValidationError):
        return "is not understood by the validator"
    return None


# --- defaults --------------------------------------------------------------------------------


def with_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid schema with every optional keyword that has a default filled in."""
    out = json.loads(json.dumps(doc))
    event = out["event"]
    event.setdefault("description", "")
    event.setdefault("day_change", "00:00")
    event.setdefault("window", {})
    event["window"].setdefault("edit_after_confirm", True)
    event.setdefault("open_registration", False)
    out.setdefault("rules", [])
    for section in out["sections"]:
        section.setdefault("description", "")
        section.setdefault("required", False)
        if section["kind"] == "sessions":
            section.setdefault("overlap", "warn")
            section.setdefault("formats", [dict(f) for f in DEFAULT_FORMATS])
            section.setdefault("rooms", [])
            section.setdefault("sessions", [])
            section.setdefault("per_day", {})
            for fmt in section["formats"]:
                fmt.setdefault("seated", fmt["id"] == "in_person")
            all_formats = [f["id"] for f in section["formats"]]
            for session in section["sessions"]:
                session.setdefault("formats", list(all_formats))
                session.setdefault("cost", 0)
        elif section["kind"] == "choice":
            section.setdefault("multiple", False)
            if not section["multiple"]:
                section.setdefault("max", 1)
            for option in section["options"]:
                option.setdefault("cost", 0)
                option.setdefault("follow_up", [])
        if section["kind"] != "fields":
            section.setdefault("min", 1 if section["required"] else 0)
    return out
