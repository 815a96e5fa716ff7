"""Property tests: random valid option schemas compile; generated designs are judged, never crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from configurator import optionschema
from configurator.compiler import CompiledSchema

ids = st.from_regex(r"\A[a-z][a-z0-9_-]{0,7}\Z")
titles = st.text(min_size=1, max_size=30).filter(lambda t: t.strip())


def unique_by_id(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(item["id"], item)
    return list(seen.values())


@st.composite
def fields(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "number", "boolean", "date", "one_of"]))
    field: dict[str, Any] = {
        "id": draw(ids),
        "title": draw(titles),
        "type": kind,
        "required": draw(st.booleans()),
    }
    if kind == "text":
        field["max_length"] = draw(st.integers(1, 200))
        if draw(st.booleans()):
            field["format"] = draw(st.sampled_from(["phone", "email", "handle", "url"]))
    elif kind == "number":
        low = draw(st.integers(-100, 100))
        field.update(min=low, max=low + draw(st.integers(0, 100)), integer=draw(st.booleans()))
    elif kind == "one_of":
        field["options"] = unique_by_id(
            draw(
                st.lists(
                    st.fixed_dictionaries({"id": ids, "title": titles}), min_size=1, max_size=4
                )
            )
        )
    return field


@st.composite
def sections(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sessions", "choice", "fields"]))
    base = {"id": f"s{index}", "title": draw(titles), "kind": kind, "required": draw(st.booleans())}
    if kind == "fields":
        base["fields"] = unique_by_id(draw(st.lists(fields(), min_size=1, max_size=4)))
        return base
    if kind == "choice":
        options = unique_by_id(
            draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"id": ids, "title": titles},
                        optional={
                            "capacity": st.integers(1, 50),
                            "follow_up": st.lists(fields(), max_size=2).map(unique_by_id),
                        },
                    ),
                    min_size=1,
                    max_size=5,
                )
            )
        )
        multiple = draw(st.booleans())
        base.update(options=options, multiple=multiple)
        if multiple:
            base["max"] = draw(st.integers(len(options) // 2, len(options)))
        return base
    sessions = []
    for n in range(draw(st.integers(1, 6))):
        hour = draw(st.integers(8, 18))
        length = draw(st.integers(1, 3))
        sessions.append(
            {
                "id": f"t{n}",
                "title": draw(titles),
                "start": f"2027-05-14T{hour:02d}:00:00+02:00",
                "end": f"2027-05-14T{hour:02d}:{length * 15:02d}:00+02:00",
                "capacity": draw(st.integers(1, 30)),
            }
        )
    base.update(
        sessions=sessions,
        overlap=draw(st.sampled_from(["forbid", "warn", "allow"])),
        formats=[
            {"id": "in_person", "title": "In person", "seated": True},
            {"id": "online", "title": "Online", "seated": False},
        ],
    )
    return base


@st.composite
def option_schemas(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    return {
        "format": "configurator/option-schema/1",
        "event": {
            "slug": "prop",
            "title": draw(titles),
            "timezone": "Europe/Brussels",
            "starts_on": "2027-05-14",
            "ends_on": "2027-05-14",
        },
        "sections": [draw(sections(i)) for i in range(count)],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option_schemas())
def test_random_valid_schemas_compile(doc):
    assert optionschema.problems_in(doc) == []
    compiled = CompiledSchema(doc, 1)
    for complete in (True, False):
        schema = compiled.json_schema(complete)
        assert schema["$schema"].endswith("2020-12/schema")
        json.dumps(schema)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(option_schemas(), st.data())
def test_generated_designs_are_judged_and_mutations_rejected(doc, data):
    compiled = CompiledSchema(doc, 1)
    design = data.draw(from_schema(compiled.json_schema(complete=False)))
    report = compiled.check(design, complete=False)  # may pass or fail, must not raise
    for problem in report.errors + report.warnings:
        assert problem.message and isinstance(problem.path, str)
    mutated = dict(design, **{"no-such-section": {}})
    refused = compiled.check(mutated, complete=False)
    assert refused.errors
    assert all("no-such-section" in p.message for p in refused.errors if p.pointer == "")
    first = doc["sections"][0]["id"]
    wrong_type = dict(design, **{first: "not an object"})
    assert compiled.check(wrong_type, complete=False).errors
