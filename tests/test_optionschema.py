"""The option-schema format: meta-schema, semantic checks, clear messages, safe patterns."""

from __future__ import annotations

import copy
import json

import pytest

from configurator import optionschema
from configurator.errors import SchemaInvalid


def messages(doc):
    return [(p.pointer, p.message) for p in optionschema.problems_in(doc)]


def test_example_is_valid(raw_example):
    assert optionschema.problems_in(raw_example) == []


def test_unknown_keywords_are_refused(raw_example):
    raw_example["sections"][0]["colour"] = "red"
    raw_example["event"]["script"] = "<x>"
    found = messages(raw_example)
    assert any(ptr == "/event" and '"script"' in msg for ptr, msg in found)
    assert any(ptr == "/sections/0" and '"colour"' in msg for ptr, msg in found)


def test_every_error_is_listed_not_just_the_first(raw_example):
    raw_example["sections"][2]["options"][0]["capacity"] = 0
    raw_example["sections"][2]["options"][1]["cost"] = "two"
    raw_example["event"]["starts_on"] = "13/03/2027"
    found = dict(messages(raw_example))
    assert found["/sections/2/options/0/capacity"] == (
        "capacity must be a whole number of at least 1, got 0"
    )
    assert found["/sections/2/options/1/cost"].startswith("cost must be a whole number")
    assert found["/event/starts_on"] == (
        'starts_on must be a date such as 2026-05-14, got "13/03/2027"'
    )


def test_human_path_names_titles(raw_example):
    raw_example["sections"][1]["options"][1]["capacity"] = -5
    (problem,) = optionschema.problems_in(raw_example)
    assert problem.path == 'sections[1] "How we reach you during the day" > options[1] "SMS"'
    assert problem.pointer == "/sections/1/options/1/capacity"


def test_missing_required_keys(raw_example):
    del raw_example["event"]["timezone"]
    assert ("/event", "timezone is required") in messages(raw_example)


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (
            lambda d: d["event"].update(timezone="Mars/Olympus"),
            "/event/timezone",
            'timezone must be an IANA time zone such as Europe/Brussels, got "Mars/Olympus"',
        ),
        (
            lambda d: d["event"].update(ends_on="2027-03-01"),
            "/event/ends_on",
            "ends_on (2027-03-01) is before starts_on (2027-03-13)",
        ),
        (
            lambda d: d["sections"][1].update(min=3, max=2),
            "/sections/1/min",
            "min (3) is above max (2)",
        ),
        (
            lambda d: d["sections"][2].update(multiple=False, max=2),
            "/sections/2/max",
            "max must be 1 when multiple is false (a single choice)",
        ),
        (
            lambda d: d["sections"][0]["sessions"][0].update(room="basement"),
            "/sections/0/sessions/0/room",
            'room "basement" is not one of this section\'s rooms',
        ),
        (
            lambda d: d["sections"][0]["sessions"][0].update(formats=["hologram"]),
            "/sections/0/sessions/0/formats",
            'format "hologram" is not one of this section\'s formats',
        ),
        (
            lambda d: d["rules"].append({"if": "preferences/diet", "requires": ["extras/tour"]}),
            "/rules/2/if",
            'rule names "preferences/diet", but rules apply to sessions and choice '
            "options, not fields",
        ),
        (
            lambda d: d["rules"].append({"if": "nowhere/x", "excludes": ["extras/tour"]}),
            "/rules/2/if",
            'rule names section "nowhere", which does not exist',
        ),
        (
            lambda d: d["sections"].append(copy.deepcopy(d["sections"][1])),
            "/sections/4/id",
            'section id "channels" is already used by sections[1]',
        ),
        (
            lambda d: d.pop("budget"),
            "/budget",
            "some options cost points, but the schema has no budget",
        ),
        (
            lambda d: d["event"]["window"].update(closes="2025-01-01T00:00:00+01:00"),
            "/event/window/closes",
            "the design window must close after it opens",
        ),
        (
            lambda d: d["sections"][3]["fields"][0].update(max_length=5),
            "/sections/3/fields/0/max_length",
            "max_length does not apply to a one_of field",
        ),
        (
            lambda d: d["sections"][3]["fields"][4].update(min=9),
            "/sections/3/fields/4/min",
            "min (9) is above max (5)",
        ),
    ],
)
def test_semantic_errors(raw_example, change, pointer, message):
    change(raw_example)
    assert (pointer, message) in messages(raw_example)


def test_days_past_midnight_belong_to_the_previous_day(raw_example):
    session = raw_example["sections"][0]["sessions"][-1]
    session.update(start="2027-03-15T01:00:00+01:00", end="2027-03-15T02:00:00+01:00")
    assert any("outside the event's days" in m for _, m in messages(raw_example))
    raw_example["event"]["day_change"] = "04:00"
    assert messages(raw_example) == []


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a+)+$", "nests a repeat inside a repeat"),
        ("(x|y)*\\1", "back-reference"),
        ("(?=abc)", "lookahead or lookbehind"),
        ("[unclosed", "not a valid regular expression"),
    ],
)
def test_dangerous_patterns_never_reach_a_validator(raw_example, pattern, reason):
    field = raw_example["sections"][3]["fields"][1]
    field["pattern"] = pattern
    found = [m for p, m in messages(raw_example) if p.endswith("/pattern")]
    assert found and reason in found[0]


def test_safe_pattern_is_accepted(raw_example):
    raw_example["sections"][3]["fields"][1]["pattern"] = "^[A-Z]{2}-[0-9]{4}$"
    assert messages(raw_example) == []


def test_size_caps(raw_example):
    raw_example["sections"][0]["sessions"][0]["title"] = "x" * 301
    assert (
        "/sections/0/sessions/0/title",
        "title must be at most 300 characters long, got 301",
    ) in messages(raw_example)


def test_parse_reports_json_position():
    with pytest.raises(SchemaInvalid) as caught:
        optionschema.parse(b'{"format": }')
    assert "line 1, column 12" in caught.value.message


def test_parse_yaml(raw_example):
    import yaml

    doc = optionschema.parse(yaml.safe_dump(raw_example), "event.yaml")
    assert doc == raw_example


def test_parse_refuses_non_objects():
    with pytest.raises(SchemaInvalid):
        optionschema.parse("[1, 2]")


def test_check_raises_with_every_problem(raw_example):
    raw_example["sections"][0]["min"] = 99
    raw_example["sections"][1]["options"][0]["id"] = "sms"
    with pytest.raises(SchemaInvalid) as caught:
        optionschema.check(raw_example)
    assert len(caught.value.problems) == 3
    assert "3 problems" in caught.value.message


def test_defaults_are_filled(raw_example):
    full = optionschema.with_defaults(raw_example)
    assert full["sections"][0]["sessions"][0]["formats"] == ["in_person", "online", "recording"]
    assert full["sections"][2]["min"] == 0
    assert full["event"]["day_change"] == "00:00"
    assert raw_example == json.loads(json.dumps(raw_example))  # the input is not changed


def test_the_fast_check_agrees_with_the_explaining_one():
    """jsonschema-rs says yes or no to a draft; the Python validator explains a no. Both must
    agree on every example and on hundreds of broken variants of each, or an invalid draft
    could pass unexplained."""
    import copy
    import json
    from pathlib import Path

    from configurator import optionschema

    fast, slow = optionschema._fast_meta_validator(), optionschema._meta_validator()
    examples = sorted(Path(optionschema.SCHEMAS_DIR / "examples").glob("*.json"))
    docs = [json.loads(p.read_text()) for p in examples]

    def variants(doc):
        def walk(node, path):
            yield path, node
            if isinstance(node, dict):
                for key, value in node.items():
                    yield from walk(value, [*path, key])
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    yield from walk(value, [*path, i])

        replacements = (None, 1, -1, 1.5, "", "x y", [], {}, True, "A" * 300, ...)
        for n, (path, _node) in enumerate(walk(doc, [])):
            if not path:
                continue
            # Each node gets one breakage, in turn: every kind meets every depth.
            for replacement in [replacements[n % len(replacements)]]:
                changed = copy.deepcopy(doc)
                parent = changed
                for part in path[:-1]:
                    parent = parent[part]
                if replacement is ...:
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = replacement
                yield changed

    checked = 0
    for doc in docs:
        assert fast.is_valid(doc) and not list(slow.iter_errors(doc))
        for changed in variants(doc):
            assert fast.is_valid(changed) == (not list(slow.iter_errors(changed))), changed
            checked += 1
    assert checked > 300
