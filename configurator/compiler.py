"""Compile a published option schema into the design's JSON Schema and its cross-record checks."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import jsonschema
import jsonschema_rs

from .errors import Problem
from .optionschema import day_of, event_zone, parse_instant, pointer, with_defaults

TEXT_FORMATS = {
    "phone": (r"^\+?[0-9][0-9 ()./-]{5,24}$", "a phone number such as +32 470 12 34 56"),
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address such as ana@example.org"),
    "handle": (r"^@?[A-Za-z0-9_.-]{1,64}$", "a handle such as @ana_lima"),
    "url": (r"^https?://[^\s]{1,2000}$", "a web address starting with https://"),
}
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Option:
    """One pickable thing: a session or a choice option, with what the checks need."""

    section_id: str
    id: str
    title: str
    capacity: int | None
    cost: int
    start: float = 0.0
    end: float = 0.0
    day: date | None = None
    seated_formats: frozenset[str] = frozenset()


@dataclass
class Report:
    """The outcome of checking a design: errors block, warnings only inform."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the design."""
        return not self.errors


class CompiledSchema:
    """A published option schema ready to check designs against, fast."""

    def __init__(self, document: dict[str, Any], version: int = 0) -> None:
        self.document = with_defaults(document)
        self.version = version
        self.event = self.document["event"]
        self.zone = event_zone(self.document)
        self.sections: dict[str, dict[str, Any]] = {s["id"]: s for s in self.document["sections"]}
        self.options: dict[tuple[str, str], Option] = {}
        self.sessions_by_section: dict[str, list[Option]] = {}
        self.fields: dict[tuple[str, ...], dict[str, Any]] = {}
        self.format_titles: dict[tuple[str, str], str] = {}
        day_change = self.event["day_change"]
        for section in self.document["sections"]:
            sid = section["id"]
            if section["kind"] == "sessions":
                seated = {f["id"] for f in section["formats"] if f["seated"]}
                rooms = {r["id"]: r for r in section["rooms"]}
                for fmt in section["formats"]:
                    self.format_titles[(sid, fmt["id"])] = fmt["title"]
                listed = []
                for s in section["sessions"]:
                    start, end = parse_instant(s["start"]), parse_instant(s["end"])
                    capacity = s.get("capacity") or rooms.get(s.get("room", ""), {}).get("capacity")
                    option = Option(
                        sid,
                        s["id"],
                        s["title"],
                        capacity,
                        s["cost"],
                        start.timestamp(),
                        end.timestamp(),
                        day_of(start, self.zone, day_change),
                        frozenset(seated & set(s["formats"])),
                    )
                    self.options[(sid, s["id"])] = option
                    listed.append(option)
                self.sessions_by_section[sid] = listed
            elif section["kind"] == "choice":
                for o in section["options"]:
                    self.options[(sid, o["id"])] = Option(
                        sid, o["id"], o["title"], o.get("capacity"), o["cost"]
                    )
                    for f in o["follow_up"]:
                        self.fields[(sid, o["id"], f["id"])] = f
            else:
                for f in section["fields"]:
                    self.fields[(sid, f["id"])] = f
        self.session_rows = {k: v for k, v in self.options.items() if v.day is not None}
        self.rules = self.document["rules"]
        self.budget = self.document.get("budget")
        self.has_costs = any(o.cost for o in self.options.values())
        self._fast = {
            complete: jsonschema_rs.Draft202012Validator(self.json_schema(complete))
            for complete in (True, False)
        }

    # --- the design's JSON Schema ----------------------------------------------------------

    def json_schema(self, complete: bool = True) -> dict[str, Any]:
        """The Draft 2020-12 JSON Schema of a design; `complete=False` is the draft's looser one."""
        cached = self.__dict__.setdefault("_json_schemas", {})
        if complete not in cached:
            cached[complete] = self._build_json_schema(complete)
        return cached[complete]

    def _build_json_schema(self, complete: bool) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for section in self.document["sections"]:
            sid, kind = section["id"], section["kind"]
            node: dict[str, Any] = {
                "title": section["title"],
                "type": "object",
                "additionalProperties": False,
            }
            if kind == "sessions":
                node["properties"] = {}
                for s in section["sessions"]:
                    key = "pick_" + "_".join(sorted(s["formats"])) + "_in_" + sid
                    defs.setdefault(
                        key,
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["format"],
                            "properties": {"format": {"enum": sorted(s["formats"])}},
                        },
                    )
                    node["properties"][s["id"]] = {"$ref": f"#/$defs/{key}"}
            elif kind == "choice":
                node["properties"] = {
                    o["id"]: self._fields_object(o["title"], o["follow_up"], complete)
                    for o in section["options"]
                }
            else:
                node = self._fields_object(section["title"], section["fields"], complete)
            if kind != "fields":
                if "max" in section:
                    node["maxProperties"] = section["max"]
                if complete and section["min"]:
                    node["minProperties"] = section["min"]
            needed = section["required"] or (
                kind == "fields" and any(f.get("required") for f in section["fields"])
            )
            if complete and needed:
                required.append(sid)
            properties[sid] = node
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:configurator:design:{self.event['slug']}:{self.version}"
            + ("" if complete else ":draft"),
            "title": f"A design for {self.event['title']}",
            "type": "object",
            "additionalProperties": False,
            "properties": properties,
        }
        if required:
            schema["required"] = required
        if defs:
            schema["$defs"] = defs
        return schema

    def _fields_object(
        self, title: str, fields: list[dict[str, Any]], complete: bool
    ) -> dict[str, Any]:
        node: dict[str, Any] = {
            "title": title,
            "type": "object",
            "additionalProperties": False,
            "properties": {f["id"]: field_schema(f) for f in fields},
        }
        needed = [f["id"] for f in fields if f.get("required")]
        if complete and needed:
            node["required"] = needed
        return node

    # --- checking ----------------------------------------------------------------------------

    def check(self, design: Any, complete: bool = False) -> Report:
        """Check a design: the compiled JSON Schema, then the rules JSON Schema cannot express."""
        report = Report()
        if not self._fast[complete].is_valid(design):
            report.errors = self.explain(design, complete)
            return report
        self._cross_record(design, complete, report)
        return report

    @cached_property
    def _slow(self) -> dict[bool, jsonschema.protocols.Validator]:
        return {c: EcmaPatternValidator(self.json_schema(c)) for c in (True, False)}

    def explain(self, design: Any, complete: bool) -> list[Problem]:
        """Plain-language problems for a design the JSON Schema rejects."""
        errors = sorted(
            self._slow[complete].iter_errors(design), key=lambda e: [str(p) for p in e.path]
        )
        return [self._explain(design, e) for e in errors]

    def title_path(self, parts: list[str | int]) -> str:
        """Titles along a design path, such as `How we reach you > SMS > Mobile number`."""
        names: list[str] = []
        if parts:
            section = self.sections.get(str(parts[0]))
            names.append(section["title"] if section else str(parts[0]))
        if len(parts) > 1:
            option = self.options.get((str(parts[0]), str(parts[1])))
            fld = self.fields.get((str(parts[0]), str(parts[1])))
            names.append(option.title if option else fld["title"] if fld else str(parts[1]))
        if len(parts) > 2:
            fld = self.fields.get((str(parts[0]), str(parts[1]), str(parts[2])))
            if fld:
                names.append(fld["title"])
            elif parts[2] == "format":
                names.append("format")
        return " > ".join(names)

    def _explain(self, design: Any, error: jsonschema.ValidationError) -> Problem:
        parts = list(error.absolute_path)
        keyword, value = error.validator, error.instance
        schema = error.schema if isinstance(error.schema, dict) else {}
        where = self.title_path(parts)
        section = self.sections.get(str(parts[0])) if parts else None
        noun = "sessions" if section and section["kind"] == "sessions" else "options"
        if keyword == "additionalProperties":
            extra = sorted(set(value) - set(schema.get("properties", {})))
            shown = ", ".join(f"“{_clip(str(x))}”" for x in extra)
            if not parts:
                message = f"there is no section called {shown}"
            elif len(parts) == 1 and section and section["kind"] != "fields":
                message = f"{shown} is not one of the {noun} offered in {section['title']}"
            else:
                message = f"{shown} is not a question asked here"
        elif keyword == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            name = self.title_path([*parts, missing]).split(" > ")[-1]
            if not parts:
                message = f"{name} needs an answer"
            elif missing == "format":
                message = "choose how you will attend"
            else:
                message = f"{name} is required"
            if not parts:  # a whole section missing: name it, as for anything inside one
                where = name
            parts = [*parts, missing]
        elif keyword == "minProperties":
            count = schema["minProperties"]
            message = f"pick at least {count} {_plural(count, noun)} (you have {len(value)})"
        elif keyword == "maxProperties":
            count = schema["maxProperties"]
            message = f"pick at most {count} {_plural(count, noun)} (you have {len(value)})"
        elif keyword == "type":
            message = f"{where.split(' > ')[-1] or 'the design'} must be {_TYPE_WORDS.get(str(schema.get('type')), 'something else')}"
        elif keyword == "enum":
            if parts and parts[-1] == "format":
                titles = [self.format_titles.get((str(parts[0]), f), f) for f in schema["enum"]]
                message = "choose how you will attend: " + " or ".join(titles)
            else:
                fld = self.fields.get(tuple(str(p) for p in parts)) or {}
                titles = [o["title"] for o in fld.get("options", [])]
                message = "choose one of: " + ", ".join(titles)
        elif keyword == "pattern":
            fld = self.fields.get(tuple(str(p) for p in parts)) or {}
            message = f"{fld.get('title', 'this')} must be {pattern_words(fld)}"
        elif keyword == "maxLength":
            message = f"keep this to {schema['maxLength']} characters (it has {len(value)})"
        elif keyword == "minimum":
            message = f"must be at least {_num(schema['minimum'])}"
        elif keyword == "maximum":
            message = f"must be at most {_num(schema['maximum'])}"
        else:
            message = "this answer is not accepted here"
        return Problem(pointer(parts), where, message)

    def _cross_record(self, design: dict[str, Any], complete: bool, report: Report) -> None:
        spent = 0
        picked: set[tuple[str, str]] = set()
        for sid, value in design.items():
            section = self.sections[sid]
            kind = section["kind"]
            if kind == "fields":
                self._check_dates(sid, value, (sid,), report)
                continue
            for oid in value:
                picked.add((sid, oid))
                spent += self.options[(sid, oid)].cost
            if kind == "choice":
                for oid, answers in value.items():
                    self._check_dates(sid, answers, (sid, oid), report)
            else:
                self._check_timetable(section, value, complete, report)
        if self.budget and spent > self.budget["total"]:
            report.errors.append(
                Problem(
                    "",
                    "",
                    f"this uses {spent} {self.budget_title}, but you have {self.budget['total']}",
                )
            )
        for rule in self.rules:
            sid, oid = rule["if"].split("/", 1)
            if (sid, oid) not in picked:
                continue
            ptr = pointer([sid, oid])
            title = self.options[(sid, oid)].title
            for ref in rule.get("excludes", []):
                other = tuple(ref.split("/", 1))
                if other in picked:
                    report.errors.append(
                        Problem(
                            ptr,
                            self.title_path([sid, oid]),
                            rule.get(
                                "message",
                                f"“{title}” cannot be combined with “{self.options[other].title}”",
                            ),
                        )
                    )
            for ref in rule.get("requires", []):
                other = tuple(ref.split("/", 1))
                if other not in picked:
                    problem = Problem(
                        ptr,
                        self.title_path([sid, oid]),
                        rule.get("message", f"“{title}” needs “{self.options[other].title}” too"),
                    )
                    (report.errors if complete else report.warnings).append(problem)

    @property
    def budget_title(self) -> str:
        """What the points budget is called."""
        return (self.budget or {}).get("title", "points")

    def _check_timetable(
        self, section: dict[str, Any], picks: dict[str, Any], complete: bool, report: Report
    ) -> None:
        sid = section["id"]
        chosen = sorted((self.options[(sid, k)] for k in picks), key=lambda o: o.start)
        if section["overlap"] != "allow":
            target = report.errors if section["overlap"] == "forbid" else report.warnings
            latest: Option | None = None
            for option in chosen:
                if latest is not None and option.start < latest.end:
                    target.append(
                        Problem(
                            pointer([sid, option.id]),
                            self.title_path([sid, option.id]),
                            f"“{option.title}” overlaps “{latest.title}” "
                            f"({self.clock(option.start)}–{self.clock(min(option.end, latest.end))})",
                        )
                    )
                if latest is None or option.end > latest.end:
                    latest = option
        per_day = section["per_day"]
        if per_day:
            counts: dict[date, int] = defaultdict(int)
            for option in chosen:
                counts[option.day] += 1  # type: ignore[index]
            if "max" in per_day:
                for day, n in sorted(counts.items()):
                    if n > per_day["max"]:
                        report.errors.append(
                            Problem(
                                pointer([sid]),
                                section["title"],
                                f"pick at most {per_day['max']} sessions on {day_name(day)} "
                                f"(you have {n})",
                            )
                        )
            if complete and per_day.get("min"):
                for day in self.days(sid):
                    if counts[day] < per_day["min"]:
                        report.errors.append(
                            Problem(
                                pointer([sid]),
                                section["title"],
                                f"pick at least {per_day['min']} sessions on {day_name(day)} "
                                f"(you have {counts[day]})",
                            )
                        )

    def _check_dates(
        self, sid: str, answers: dict[str, Any], prefix: tuple[str, ...], report: Report
    ) -> None:
        for fid, value in answers.items():
            fld = self.fields.get((*prefix, fid))
            if fld and fld["type"] == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    parts = [*prefix, fid]
                    report.errors.append(
                        Problem(
                            pointer(parts),
                            self.title_path(parts),
                            f"{fld['title']} must be a real date, such as 2027-03-13",
                        )
                    )

    # --- helpers the pages use ---------------------------------------------------------------

    def days(self, section_id: str | None = None) -> list[date]:
        """The event days that have sessions (in one section, or in any)."""
        found = {
            o.day
            for o in self.session_rows.values()
            if section_id is None or o.section_id == section_id
        }
        return sorted(d for d in found if d is not None)

    def clock(self, timestamp: float) -> str:
        """A moment as local wall-clock time, such as 10:15."""
        return datetime.fromtimestamp(timestamp, self.zone).strftime("%H:%M")

    def seated(self, section_id: str, option_id: str, value: dict[str, Any]) -> bool:
        """Whether a pick takes a seat: choice options always, sessions by their format."""
        option = self.options[(section_id, option_id)]
        if self.sections[section_id]["kind"] == "choice":
            return option.capacity is not None
        return value.get("format") in option.seated_formats


def python_pattern(pattern: str) -> str:
    """An ECMA-262 pattern for Python's re: `$` must not match before a final newline."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and not re.search(python_pattern(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


# The message-writing validator must judge patterns exactly as jsonschema-rs does (ECMA-262).
EcmaPatternValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


def field_schema(fld: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one answer."""
    kind = fld["type"]
    node: dict[str, Any] = {"title": fld["title"]}
    if kind == "text":
        node.update(type="string", maxLength=fld.get("max_length", TEXT_LIMIT))
        if "format" in fld:
            node["pattern"] = TEXT_FORMATS[fld["format"]][0]
        elif "pattern" in fld:
            node["pattern"] = fld["pattern"]
    elif kind == "number":
        node["type"] = "integer" if fld.get("integer") else "number"
        if "min" in fld:
            node["minimum"] = fld["min"]
        if "max" in fld:
            node["maximum"] = fld["max"]
    elif kind == "boolean":
        node["type"] = "boolean"
    elif kind == "date":
        node.update(type="string", pattern=DATE_PATTERN)
    else:
        node["enum"] = [o["id"] for o in fld["options"]]
    return node


def pattern_words(fld: dict[str, Any]) -> str:
    """What a text answer must look like, in words."""
    if "format" in fld:
        return TEXT_FORMATS[fld["format"]][1]
    if fld.get("type") == "date":
        return "a date such as 2027-03-13"
    return fld.get("pattern_hint") or "in the form the organiser asks for"


def day_name(day: date) -> str:
    """A day as people say it: Saturday 13 March."""
    return f"{day:%A} {day.day} {day:%B}"


_TYPE_WORDS = {
    "object": "a set of answers",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes or no",
}


def _plural(count: int, noun: str) -> str:
    return noun if count != 1 else noun.rstrip("s")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dumps(design: dict[str, Any]) -> str:
    """A design as compact, stable JSON for storage."""
    return json.dumps(design, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
