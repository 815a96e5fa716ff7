"""The compiled design checks: what must pass passes, what must fail fails with words people use."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from conftest import EXAMPLE
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from configurator.compiler import CompiledSchema

RAW = json.loads(EXAMPLE.read_text())  # fixed dates: Saturday 13 and Sunday 14 March 2027
COMPILED = CompiledSchema(RAW, 1)
# JSON Schema's own vocabulary must never reach a person.
KEYWORDS = re.compile(
    r"additionalProperties|minProperties|maxProperties|maxLength|minLength|\$ref|\$defs"
    r"|is not valid under|is not of type|does not match|is a required property|enum|pattern"
)

COMPLETE = {
    "agenda": {
        "opening": {"format": "in_person"},
        "maps": {"format": "online"},
        "closing": {"format": "recording"},
    },
    "channels": {"sms": {"phone": "+32 470 12 34 56"}},
    "extras": {"dinner": {}, "tour": {}},
    "preferences": {
        "diet": "vegetarian",
        "access": "Step-free access, please",
        "first_time": True,
        "arrival": "2027-03-12",
        "guests": 2,
    },
}


def variant(change: Any) -> CompiledSchema:
    """The example compiled after `change(doc)` edits a copy of it."""
    doc = copy.deepcopy(RAW)
    change(doc)
    return CompiledSchema(doc, 1)


def section(doc: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in doc["sections"] if s["id"] == sid)


def lines(problems: list[Any]) -> list[str]:
    return [f"{p.pointer} | {p.path} | {p.message}" for p in problems]


def errors(design: Any, complete: bool = False, schema: CompiledSchema = COMPILED) -> list[str]:
    found = schema.check(design, complete=complete).errors
    for problem in found:
        assert not KEYWORDS.search(problem.message), problem.message
    return lines(found)


def warnings(design: Any, complete: bool = False, schema: CompiledSchema = COMPILED) -> list[str]:
    return lines(schema.check(design, complete=complete).warnings)


def online(*ids: str) -> dict[str, Any]:
    return {"agenda": {i: {"format": "online"} for i in ids}}


# --- designs that pass ------------------------------------------------------------------------


def test_a_complete_design_passes_both_checks():
    assert errors(COMPLETE, complete=True) == []
    assert errors(COMPLETE) == []
    assert warnings(COMPLETE, complete=True) == []


@pytest.mark.parametrize(
    "design",
    [
        {},
        {"agenda": {}},
        online("opening"),
        {"channels": {"email": {}}},
        {"extras": {"kit": {}}, "agenda": {"sensors": {"format": "in_person"}}},
        {"preferences": {"guests": 0}},
        {"preferences": {"guests": 5, "first_time": False}},
        {"preferences": {"arrival": "2028-02-29"}},
        {"preferences": {"access": "x" * 500}},
        {"channels": {"social": {"handle": "ana_lima"}}},
        {"channels": {"social": {"handle": "@ana.lima-2"}}},
    ],
)
def test_drafts_that_must_pass(design):
    assert errors(design) == []


def test_the_json_schema_is_draft_2020_12_and_closed():
    for complete in (True, False):
        schema = COMPILED.json_schema(complete)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False
    assert COMPILED.json_schema(True)["required"] == ["agenda", "channels", "preferences"]
    assert "required" not in COMPILED.json_schema(False)


# --- section sizes ------------------------------------------------------------------------------


def test_section_minimum_applies_only_to_a_complete_design():
    design = dict(COMPLETE, agenda=online("opening")["agenda"])
    assert errors(design) == []
    assert errors(design, complete=True) == [
        "/agenda | Your agenda | pick at least 3 sessions (you have 1)"
    ]


def test_section_maximum_applies_always():
    design = {"channels": {"email": {}, "app": {}, "sms": {"phone": "+32 470 12 34 56"}}}
    assert errors(design) == [
        "/channels | How we reach you during the day | pick at most 2 options (you have 3)"
    ]


def test_a_minimum_of_one_says_option_not_options():
    design = dict(COMPLETE, channels={})
    assert errors(design, complete=True) == [
        "/channels | How we reach you during the day | pick at least 1 option (you have 0)"
    ]


def test_missing_required_sections_are_named_by_title():
    assert errors(online("opening", "maps", "closing"), complete=True) == [
        "/channels | How we reach you during the day | How we reach you during the day needs an answer",
        "/preferences | Preferences | Preferences needs an answer",
    ]


# --- per day ------------------------------------------------------------------------------------


def allow_overlaps(doc: dict[str, Any]) -> None:
    section(doc, "agenda")["overlap"] = "allow"


def test_per_day_maximum_names_the_day():
    schema = variant(allow_overlaps)
    design = online("opening", "open-data-101", "repair-cafe", "maps", "funding", "sensors")
    assert errors(design, schema=schema) == [
        "/agenda | Your agenda | pick at most 5 sessions on Saturday 13 March (you have 6)"
    ]
    assert (
        errors(online("opening", "open-data-101", "maps", "funding", "sensors"), schema=schema)
        == []
    )


def test_per_day_minimum_names_each_day_short_of_it():
    def change(doc: dict[str, Any]) -> None:
        section(doc, "agenda")["per_day"] = {"min": 2, "max": 5}

    schema = variant(change)
    design = dict(COMPLETE, agenda=online("opening", "maps", "closing")["agenda"])
    assert errors(design, schema=schema) == []
    assert errors(design, complete=True, schema=schema) == [
        "/agenda | Your agenda | pick at least 2 sessions on Sunday 14 March (you have 1)"
    ]
    design["agenda"]["civic-tech"] = {"format": "online"}
    assert errors(design, complete=True, schema=schema) == []


# --- overlaps -----------------------------------------------------------------------------------


OVERLAPPING = online("open-data-101", "repair-cafe")
OVERLAP = (
    "/agenda/repair-cafe | Your agenda > Running a repair café | “Running a repair café”"
    " overlaps “Open data for neighbourhoods” (10:15–11:00)"
)


def test_overlap_forbid_is_an_error():
    assert errors(OVERLAPPING) == [OVERLAP]


def test_overlap_warn_is_a_warning():
    def change(doc: dict[str, Any]) -> None:
        section(doc, "agenda")["overlap"] = "warn"

    schema = variant(change)
    assert errors(OVERLAPPING, schema=schema) == []
    assert warnings(OVERLAPPING, schema=schema) == [OVERLAP]


def test_overlap_allow_says_nothing():
    schema = variant(allow_overlaps)
    assert errors(OVERLAPPING, schema=schema) == []
    assert warnings(OVERLAPPING, schema=schema) == []


def test_back_to_back_sessions_do_not_overlap():
    assert errors(online("opening", "open-data-101")) == []


def test_a_long_session_overlaps_every_later_one_it_covers():
    # repair-cafe (10:15–11:15) is still running when facilitation (10:30–11:30) starts.
    design = {
        "agenda": {"repair-cafe": {"format": "online"}, "facilitation": {"format": "in_person"}}
    }
    assert errors(design) == [
        "/agenda/facilitation | Your agenda > Facilitation for un-conferences |"
        " “Facilitation for un-conferences” overlaps “Running a repair café” (10:30–11:15)"
    ]


# --- budget and rules ---------------------------------------------------------------------------


def test_budget_counts_every_pick():
    assert errors({"extras": {"dinner": {}, "tour": {}}}) == []
    assert errors({"extras": {"dinner": {}, "tour": {}, "kit": {}}}) == [
        " |  | this uses 5 Workshop points, but you have 3"
    ]


def test_requires_warns_a_draft_and_blocks_a_complete_design():
    design = dict(COMPLETE, extras={"tour": {}})
    message = (
        "/extras/tour | Extras > Guided city tour | The city tour ends at the community dinner,"
        " so the tour needs the dinner too."
    )
    assert errors(design) == []
    assert warnings(design) == [message]
    assert errors(design, complete=True) == [message]


def test_requires_without_a_message_names_both_titles():
    assert warnings({"extras": {"kit": {}}}) == [
        "/extras/kit | Extras > Sensor kit to take home | “Sensor kit to take home” needs"
        " “Air quality sensors you can build” too"
    ]


def test_excludes_is_an_error_even_in_a_draft():
    def change(doc: dict[str, Any]) -> None:
        doc["rules"].append({"id": "one-outing", "if": "extras/tour", "excludes": ["extras/kit"]})
        doc["budget"]["total"] = 10

    schema = variant(change)
    assert errors({"extras": {"tour": {}, "kit": {}, "dinner": {}}}, schema=schema) == [
        "/extras/tour | Extras > Guided city tour | “Guided city tour” cannot be combined with"
        " “Sensor kit to take home”"
    ]
    assert errors({"extras": {"kit": {}}}, schema=schema) == []


# --- answers: follow-ups, one_of, numbers, dates, text --------------------------------------------


@pytest.mark.parametrize(
    ("design", "expected"),
    [
        (
            {"channels": {"sms": {"phone": "call me maybe"}}},
            "/channels/sms/phone | How we reach you during the day > SMS > Mobile number |"
            " Mobile number must be a phone number such as +32 470 12 34 56",
        ),
        (
            {"channels": {"social": {"handle": "ana lima"}}},
            "/channels/social/handle | How we reach you during the day > Social media direct"
            " message > Your handle | Your handle must be a handle such as @ana_lima",
        ),
        (
            {"preferences": {"diet": "keto"}},
            "/preferences/diet | Preferences > Dietary needs | choose one of: No restrictions,"
            " Vegetarian, Vegan, Gluten-free",
        ),
        (
            {"preferences": {"guests": 6}},
            "/preferences/guests | Preferences > Children coming with you | must be at most 5",
        ),
        (
            {"preferences": {"guests": -1}},
            "/preferences/guests | Preferences > Children coming with you | must be at least 0",
        ),
        (
            {"preferences": {"guests": 1.5}},
            "/preferences/guests | Preferences > Children coming with you |"
            " Children coming with you must be a whole number",
        ),
        (
            {"preferences": {"arrival": "2027-02-30"}},
            "/preferences/arrival | Preferences > Arrival date |"
            " Arrival date must be a real date, such as 2027-03-13",
        ),
        (
            {"preferences": {"arrival": "13/03/2027"}},
            "/preferences/arrival | Preferences > Arrival date |"
            " Arrival date must be a date such as 2027-03-13",
        ),
        (
            {"preferences": {"access": "x" * 501}},
            "/preferences/access | Preferences > Accessibility needs |"
            " keep this to 500 characters (it has 501)",
        ),
        (
            {"preferences": {"first_time": "yes"}},
            "/preferences/first_time | Preferences > First time at Commons Camp? |"
            " First time at Commons Camp? must be yes or no",
        ),
    ],
)
def test_answers_that_must_fail(design, expected):
    assert errors(design) == [expected]


def test_a_follow_up_is_required_only_of_a_complete_design():
    design = dict(COMPLETE, channels={"sms": {}})
    assert errors(design) == []
    assert errors(design, complete=True) == [
        "/channels/sms/phone | How we reach you during the day > SMS | Mobile number is required"
    ]


def test_email_and_url_follow_ups():
    def change(doc: dict[str, Any]) -> None:
        section(doc, "channels")["options"][0]["follow_up"] = [
            {"id": "address", "title": "Email address", "type": "text", "format": "email"},
            {"id": "site", "title": "Website", "type": "text", "format": "url"},
        ]

    schema = variant(change)
    good = {"channels": {"email": {"address": "ana@example.org", "site": "https://ana.example"}}}
    assert errors(good, schema=schema) == []
    bad = {"channels": {"email": {"address": "ana at example", "site": "ana.example"}}}
    assert errors(bad, schema=schema) == [
        "/channels/email/address | How we reach you during the day > Email > Email address |"
        " Email address must be an email address such as ana@example.org",
        "/channels/email/site | How we reach you during the day > Email > Website |"
        " Website must be a web address starting with https://",
    ]


def test_an_organisers_pattern_is_explained_by_its_hint():
    def change(doc: dict[str, Any]) -> None:
        section(doc, "preferences")["fields"].append(
            {
                "id": "ticket",
                "title": "Ticket number",
                "type": "text",
                "pattern": "^CC-[0-9]{4}$",
                "pattern_hint": "CC- and four digits, such as CC-0042",
            }
        )

    schema = variant(change)
    assert errors({"preferences": {"ticket": "CC-0042"}}, schema=schema) == []
    assert errors({"preferences": {"ticket": "42"}}, schema=schema) == [
        "/preferences/ticket | Preferences > Ticket number |"
        " Ticket number must be CC- and four digits, such as CC-0042"
    ]


# --- unknown ids and wrong types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("design", "expected"),
    [
        ({"tombola": {}}, " |  | there is no section called “tombola”"),
        (
            {"agenda": {"keynote": {"format": "online"}}},
            "/agenda | Your agenda | “keynote” is not one of the sessions offered in Your agenda",
        ),
        (
            {"extras": {"spa": {}}},
            "/extras | Extras | “spa” is not one of the options offered in Extras",
        ),
        (
            {"preferences": {"shoe_size": 42}},
            "/preferences | Preferences | “shoe_size” is not a question asked here",
        ),
        (
            {"agenda": {"opening": {"format": "in_person", "seat": "A4"}}},
            "/agenda/opening | Your agenda > Opening circle: building the agenda together |"
            " “seat” is not a question asked here",
        ),
        (
            {"agenda": {"opening": {"format": "hologram"}}},
            "/agenda/opening/format | Your agenda > Opening circle: building the agenda together"
            " > format | choose how you will attend: In person or Online or Recording",
        ),
        (
            {"agenda": {"facilitation": {"format": "online"}}},
            "/agenda/facilitation/format | Your agenda > Facilitation for un-conferences"
            " > format | choose how you will attend: In person",
        ),
        (
            {"agenda": {"opening": {}}},
            "/agenda/opening/format | Your agenda > Opening circle: building the agenda together"
            " | choose how you will attend",
        ),
        ([], " |  | the design must be a set of answers"),
        ("agenda", " |  | the design must be a set of answers"),
        ({"agenda": ["opening"]}, "/agenda | Your agenda | Your agenda must be a set of answers"),
        (
            {"channels": {"email": True}},
            "/channels/email | How we reach you during the day > Email | Email must be a set of"
            " answers",
        ),
        (
            {"preferences": {"access": 42}},
            "/preferences/access | Preferences > Accessibility needs |"
            " Accessibility needs must be text",
        ),
        (
            {"preferences": {"guests": "2"}},
            "/preferences/guests | Preferences > Children coming with you |"
            " Children coming with you must be a whole number",
        ),
    ],
)
def test_unknown_ids_and_wrong_types(design, expected):
    assert errors(design) == [expected]


def test_a_long_unknown_id_is_clipped():
    [line] = errors({"agenda": {"x" * 200: {"format": "online"}}})
    assert "x" * 59 + "…" in line and "x" * 61 not in line


# --- the two validators agree -------------------------------------------------------------------

SESSION_IDS = [s["id"] for s in section(RAW, "agenda")["sessions"]]
CHOICE_IDS = {
    sid: [o["id"] for o in section(RAW, sid)["options"]] for sid in ("channels", "extras")
}
FIELD_IDS = [f["id"] for f in section(RAW, "preferences")["fields"]]
# Lone surrogates never reach the checks: the API refuses them as unreadable JSON (400).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    st.sampled_from(
        ["in_person", "online", "recording", "vegan", "2027-03-13", "+32 470 12 34 56", "@ana"]
    ).flatmap(lambda word: st.sampled_from([word, word + "\n", "\n" + word])),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def keys(real: list[str]) -> st.SearchStrategy[str]:
    """Mostly ids the schema knows, sometimes ones it does not."""
    return st.sampled_from(real) | st.sampled_from(["nope", "", "Opening", "agenda"]) | text


formats = st.fixed_dictionaries(
    {"format": st.sampled_from(["in_person", "online", "recording", "hologram"]) | values}
)
picks = {
    "agenda": st.dictionaries(keys(SESSION_IDS), formats | values, max_size=5),
    "channels": st.dictionaries(
        keys(CHOICE_IDS["channels"]),
        st.dictionaries(keys(["phone", "handle"]), values, max_size=2) | values,
        max_size=3,
    ),
    "extras": st.dictionaries(keys(CHOICE_IDS["extras"]), st.just({}) | values, max_size=3),
    "preferences": st.dictionaries(keys(FIELD_IDS), values, max_size=5),
}


@st.composite
def mixed_designs(draw: st.DrawFn) -> Any:
    """Designs near the valid ones: real and unknown ids, right and wrong types."""
    if draw(st.integers(0, 20)) == 0:
        return draw(values)
    design = {}
    for sid in draw(st.lists(st.sampled_from([*picks, "tombola"]), unique=True, max_size=5)):
        design[sid] = draw(picks.get(sid, values) if draw(st.integers(0, 8)) else values)
    return design


def agree(design: Any) -> None:
    for complete in (True, False):
        fast = COMPILED._fast[complete].is_valid(design)
        slow = COMPILED._slow[complete].is_valid(design)
        assert fast == slow, (complete, design)
        report = COMPILED.check(design, complete=complete)
        if not fast:
            assert report.errors, design


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_designs())
@example({"preferences": {"guests": 2.0}})
@example({"preferences": {"guests": 10**30}})
@example({"channels": {"social": {"handle": "@" + "a" * 64}}})
def test_both_validators_agree_on_mixed_designs(design):
    agree(design)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.data(), st.booleans())
def test_both_validators_agree_on_schema_valid_designs(data, complete):
    schema = COMPILED.json_schema(complete)
    design = data.draw(from_schema(schema))
    agree(design)


@pytest.mark.parametrize(
    "design",
    [
        {"channels": {"social": {"handle": "@ana\n"}}},
        {"channels": {"sms": {"phone": "+32 470 12 34 56\n"}}},
        {"preferences": {"arrival": "2027-03-13\n"}},
    ],
)
def test_a_trailing_newline_is_refused_with_a_reason(design):
    agree(design)
