"""Turning the designer's form strings into a section's answers, and answers back into form values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..compiler import CompiledSchema, pattern_words
from ..errors import BadRequest, DesignInvalid, Problem
from ..optionschema import pointer


def field_name(*parts: str) -> str:
    """The form name of an answer (domain ids never contain `/`)."""
    return "a/" + "/".join(parts)


def read_section(
    schema: CompiledSchema,
    section: dict[str, Any],
    form: Mapping[str, Any],
    stored: dict[str, Any],
) -> dict[str, Any]:
    """A section's value from its form: typed answers, follow-ups of picked options only.

    Fields the form did not show (listed in `seen`) keep their stored answer; an empty input
    means no answer. Unreadable numbers raise DesignInvalid naming the field.
    """
    seen = set(_getlist(form, "seen"))
    problems: list[Problem] = []
    sid = section["id"]
    value: dict[str, Any] = {}
    if section["kind"] == "fields":
        value = _read_fields(schema, (sid,), section["fields"], form, seen, stored, problems)
    else:
        known = {o["id"]: o for o in section["options"]}
        for oid in [o for o in _getlist(form, "pick") if o]:
            if oid not in known:
                raise BadRequest("That form names an option that does not exist.")
            value[oid] = _read_fields(
                schema,
                (sid, oid),
                known[oid]["follow_up"],
                form,
                seen,
                stored.get(oid, {}),
                problems,
            )
    if problems:
        raise DesignInvalid(
            f"{len(problems)} answer{'s' if len(problems) != 1 else ''} could not be read.",
            problems,
        )
    return value


def _getlist(form: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return form.getlist(name)
    value = form.get(name)
    return value if isinstance(value, list) else [] if value is None else [value]


def _read_fields(
    schema: CompiledSchema,
    prefix: tuple[str, ...],
    fields: list[dict[str, Any]],
    form: Mapping[str, Any],
    seen: set[str],
    stored: dict[str, Any],
    problems: list[Problem],
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for fld in fields:
        name = field_name(*prefix[1:], fld["id"]) if len(prefix) > 1 else field_name(fld["id"])
        if name not in seen:
            if fld["id"] in stored:
                answers[fld["id"]] = stored[fld["id"]]
            continue
        raw = form.get(name)
        if fld["type"] == "boolean":
            answers[fld["id"]] = raw in ("yes", "on", "true")
            continue
        text = (raw or "").strip()
        if not text:
            continue
        if fld["type"] == "number":
            number = parse_number(text, fld.get("integer", False))
            if number is None:
                parts = [*prefix, fld["id"]]
                kind = "a whole number" if fld.get("integer") else "a number"
                problems.append(
                    Problem(
                        pointer(list(parts)),
                        schema.title_path(list(parts)),
                        f"{fld['title']} must be {kind}, such as 2 (you wrote “{text[:40]}”)",
                    )
                )
                continue
            answers[fld["id"]] = number
        else:
            answers[fld["id"]] = text
    return answers


def parse_number(text: str, integer: bool) -> int | float | None:
    """A number typed by a person (a decimal comma is fine), or None if it is not one."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if integer or ("." not in cleaned and "e" not in cleaned.lower()):
        return int(number) if number.is_integer() else None
    return number


def field_hint(fld: dict[str, Any]) -> str:
    """What an answer should look like, when the organiser gave no help text."""
    if fld["type"] == "text" and ("format" in fld or "pattern" in fld):
        words = pattern_words(fld)
        return words[0].upper() + words[1:] + "."
    if fld["type"] == "number":
        kind = "A whole number" if fld.get("integer") else "A number"
        low, high = fld.get("min"), fld.get("max")
        if low is not None and high is not None:
            return f"{kind} from {low:g} to {high:g}."
        if low is not None:
            return f"{kind} of at least {low:g}."
        if high is not None:
            return f"{kind} of at most {high:g}."
        return f"{kind}."
    return ""


def section_form(section: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """A stored section value as the strings its form shows."""
    form: dict[str, Any] = {}
    if section["kind"] == "fields":
        for fld in section["fields"]:
            _field_form(form, field_name(fld["id"]), fld, value.get(fld["id"]))
        return form
    form["pick"] = list(value)
    for option in section["options"]:
        for fld in option["follow_up"]:
            answer = value.get(option["id"], {}).get(fld["id"])
            _field_form(form, field_name(option["id"], fld["id"]), fld, answer)
    return form


def _field_form(form: dict[str, Any], name: str, fld: dict[str, Any], answer: Any) -> None:
    if answer is None:
        return
    if fld["type"] == "boolean":
        if answer:
            form[name] = "yes"
    else:
        form[name] = str(answer)
