"""Form data turned into option-schema edits: pure functions, checked by the real meta-schema."""

from __future__ import annotations

import copy

import pytest
from werkzeug.datastructures import MultiDict

from configurator import optionschema
from configurator import schema_editor as edit
from configurator.errors import NotFound, SchemaInvalid


def problems(doc):
    return [(p.pointer, p.message) for p in optionschema.problems_in(doc)]


def test_new_event_is_the_smallest_valid_schema():
    doc = edit.new_event(
        {"title": "Commons Camp 2027", "timezone": "Europe/Brussels", "starts_on": "2027-03-13"}
    )
    assert doc == {
        "format": "configurator/option-schema/1",
        "event": {
            "slug": "commons-camp-2027",
            "title": "Commons Camp 2027",
            "timezone": "Europe/Brussels",
            "starts_on": "2027-03-13",
            "ends_on": "2027-03-13",
        },
        "sections": [{"id": "agenda", "kind": "sessions", "title": "Your agenda"}],
    }
    assert problems(doc) == []


def test_slugify_keeps_to_the_slug_pattern():
    assert edit.slugify("Ça va? Été 2027 — Bruxelles!") == "ca-va-ete-2027-bruxelles"
    assert edit.slugify("x" * 100) == "x" * 64


def test_edits_never_change_the_document_they_are_given(example):
    before = copy.deepcopy(example)
    edit.edit_event(example, {"title": "Other"})
    edit.remove_section(example, "extras")
    edit.add_option(example, "channels", {"title": "Signal"})
    assert example == before


def test_event_settings_read_window_times_in_the_event_zone(example):
    form = {
        "title": "Commons Camp",
        "timezone": "Europe/Brussels",
        "starts_on": "2027-03-13",
        "ends_on": "2027-03-14",
        "window_opens": "2027-01-10T09:00",
        "window_closes": "2027-03-12T18:00",
        "open_registration": "1",
    }
    doc = edit.edit_event(example, form)
    assert doc["event"]["window"] == {
        "opens": "2027-01-10T09:00:00+01:00",
        "closes": "2027-03-12T18:00:00+01:00",
        "edit_after_confirm": False,  # the box was not ticked
    }
    assert doc["event"]["open_registration"] is True
    assert "description" not in doc["event"]
    summer = edit.edit_event(doc, {**form, "window_closes": "2027-07-01T18:00"})
    assert summer["event"]["window"]["closes"] == "2027-07-01T18:00:00+02:00"


def test_an_unchanged_time_keeps_its_stored_text():
    assert edit.instant_from_local(
        "2027-03-13T09:30", "Europe/Brussels", "2027-03-13T08:30:00Z"
    ) == ("2027-03-13T08:30:00Z")
    assert edit.local_input("2027-03-13T08:30:00Z", "Europe/Brussels") == "2027-03-13T09:30"
    assert edit.instant_from_local("", "Europe/Brussels", "2027-03-13T08:30:00Z") is None


def test_values_that_do_not_fit_are_kept_so_the_check_names_them(example):
    doc = edit.edit_option(example, "extras", "tour", {"title": "Tour", "capacity": "ten"})
    assert problems(doc) == [
        (
            "/sections/2/options/1/capacity",
            'capacity must be a whole number of at least 1, got "ten"',
        )
    ]
    doc = edit.edit_option(example, "extras", "tour", {"title": "Tour", "capacity": "0"})
    assert problems(doc) == [
        ("/sections/2/options/1/capacity", "capacity must be a whole number of at least 1, got 0")
    ]


def test_budget_is_set_or_removed(example):
    doc = edit.edit_budget(example, {"total": "5", "title": "Tokens"})
    assert doc["budget"] == {"total": 5, "title": "Tokens"}
    doc = edit.edit_budget(doc, {"total": ""})
    assert "budget" not in doc
    assert problems(doc) == [("/budget", "some options cost points, but the schema has no budget")]


def test_add_sections_of_each_kind(example):
    doc = edit.add_section(example, {"kind": "choice", "title": "Meals", "first": "Lunch"})
    doc = edit.add_section(doc, {"kind": "fields", "title": "Travel"})
    doc = edit.add_section(doc, {"kind": "sessions", "title": "Extras", "id": ""})
    assert doc["sections"][-3:] == [
        {
            "id": "meals",
            "kind": "choice",
            "title": "Meals",
            "options": [{"id": "lunch", "title": "Lunch"}],
        },
        {
            "id": "travel",
            "kind": "fields",
            "title": "Travel",
            "fields": [{"id": "first-question", "title": "First question", "type": "text"}],
        },
        {"id": "extras-2", "kind": "sessions", "title": "Extras"},
    ]
    assert problems(doc) == []


def test_move_and_remove_sections_and_their_rules(example):
    doc = edit.move_section(example, "extras", "up")
    assert [s["id"] for s in doc["sections"]] == ["agenda", "extras", "channels", "preferences"]
    doc = edit.move_section(doc, "agenda", "up")  # already first: nothing moves
    assert doc["sections"][0]["id"] == "agenda"
    doc = edit.remove_section(doc, "extras")
    assert "rules" in doc and doc["rules"] == []
    assert problems(doc) == []
    with pytest.raises(NotFound):
        edit.remove_section(doc, "extras")


def test_removing_an_option_drops_it_from_rules(example):
    doc = edit.remove_option(example, "extras", "dinner")
    assert [r["id"] for r in doc["rules"]] == ["kit-or-sensors"]
    assert problems(doc) == []


def test_fields_keep_only_the_keys_of_their_type(example):
    doc = edit.edit_field(
        example,
        "preferences",
        "diet",
        {"title": "Diet", "type": "one_of", "choices": "none | None\nVegan\n\nhalal|Halal"},
    )
    diet = doc["sections"][3]["fields"][0]
    assert diet == {
        "id": "diet",
        "title": "Diet",
        "type": "one_of",
        "options": [
            {"id": "none", "title": "None"},
            {"id": "vegan", "title": "Vegan"},
            {"id": "halal", "title": "Halal"},
        ],
    }
    doc = edit.edit_field(
        doc,
        "preferences",
        "diet",
        {"title": "Diet", "type": "number", "min": "1", "max": "0.5", "choices": "x"},
    )
    assert doc["sections"][3]["fields"][0] == {
        "id": "diet",
        "title": "Diet",
        "type": "number",
        "min": 1,
        "max": 0.5,
    }
    assert problems(doc) == [("/sections/3/fields/0/min", "min (1) is above max (0.5)")]


def test_follow_up_fields_belong_to_their_option(example):
    doc = edit.add_field(
        example, "channels", {"title": "Best time to call", "type": "text", "required": "1"}, "sms"
    )
    follow = doc["sections"][1]["options"][1]["follow_up"]
    assert follow[-1] == {
        "id": "best-time-to-call",
        "title": "Best time to call",
        "type": "text",
        "required": True,
    }
    assert edit.fields_pointer(doc, "channels", "sms") == "/sections/1/options/1/follow_up"
    doc = edit.remove_field(doc, "channels", "phone", "sms")
    assert [f["id"] for f in doc["sections"][1]["options"][1]["follow_up"]] == ["best-time-to-call"]
    with pytest.raises(NotFound):
        edit.add_field(example, "agenda", {"title": "x"})


def test_sessions_are_added_and_edited_in_local_time(example):
    day = example["event"]["starts_on"]
    form = MultiDict(
        [
            ("title", "Lightning talks"),
            ("start", f"{day}T16:00"),
            ("end", f"{day}T16:45"),
            ("room", "hall"),
            ("speakers", "Ana Lima, Ben Okafor"),
            ("formats", "in_person"),
            ("formats", "online"),
            ("formats", "recording"),
        ]
    )
    doc = edit.add_session(example, "agenda", form)
    added = doc["sections"][0]["sessions"][-1]
    assert added["id"] == "lightning-talks"
    assert added["start"].startswith(f"{day}T16:00:00+")
    assert added["speakers"] == ["Ana Lima", "Ben Okafor"]
    assert "formats" not in added  # all ticked: the section's formats apply
    assert problems(doc) == []
    original = doc["sections"][0]["sessions"][0]
    form = MultiDict(
        [
            ("title", "Opening"),
            ("start", edit.local_input(original["start"], "Europe/Brussels")),
            ("end", edit.local_input(original["end"], "Europe/Brussels")),
            ("room", "hall"),
            ("capacity", "80"),
            ("formats", "in_person"),
        ]
    )
    doc = edit.edit_session(doc, "agenda", "opening", form)
    opening = doc["sections"][0]["sessions"][0]
    assert (opening["start"], opening["capacity"], opening["formats"]) == (
        original["start"],
        80,
        ["in_person"],
    )


def test_a_room_in_use_cannot_be_removed(example):
    with pytest.raises(SchemaInvalid) as caught:
        edit.remove_room(example, "agenda", "garden")
    [problem] = caught.value.problems
    assert problem.pointer == "/sections/0/rooms/2"
    assert problem.message.startswith("2 session(s) take place in this room")
    doc = edit.add_room(example, "agenda", {"title": "Roof terrace", "capacity": "20"})
    assert doc["sections"][0]["rooms"][-1] == {
        "id": "roof-terrace",
        "title": "Roof terrace",
        "capacity": 20,
    }
    doc = edit.remove_room(doc, "agenda", "roof-terrace")
    assert [r["id"] for r in doc["sections"][0]["rooms"]] == ["hall", "atelier", "garden"]


def test_formats_start_from_the_default_one():
    doc = edit.new_event({"title": "T", "timezone": "UTC", "starts_on": "2027-01-01"})
    doc = edit.add_format(doc, "agenda", {"title": "Online"})
    assert doc["sections"][0]["formats"] == [
        {"id": "in_person", "title": "In person", "seated": True},
        {"id": "online", "title": "Online", "seated": False},
    ]
    assert problems(doc) == []


def test_session_page_filters_and_pages(example):
    agenda = example["sections"][0]
    found = edit.session_page(agenda, "ana lima")
    assert [s["id"] for _, s in found.rows] == ["opening", "datasets", "day2-opening", "closing"]
    paged = edit.session_page(agenda, "", page=2, per_page=5)
    assert (paged.total, paged.page, paged.pages) == (13, 2, 3)
    assert [i for i, _ in paged.rows] == [5, 6, 7, 8, 9]
    assert edit.session_page(agenda, "", page=99, per_page=5).page == 3
    assert edit.session_page(agenda, "garden room").total == 2


def test_rules_are_added_and_removed(example):
    form = MultiDict([("if", "extras/kit"), ("relation", "excludes"), ("targets", "extras/tour")])
    doc = edit.add_rule(example, form)
    assert doc["rules"][-1] == {"if": "extras/kit", "excludes": ["extras/tour"]}
    assert problems(doc) == []
    doc = edit.add_rule(example, MultiDict([("if", "extras/kit"), ("relation", "requires")]))
    assert problems(doc) == [("/rules/2", "a rule needs 'requires' or 'excludes' besides 'if'")]
    doc = edit.remove_rule(example, 0)
    assert [r["id"] for r in doc["rules"]] == ["kit-or-sensors"]
    with pytest.raises(NotFound):
        edit.remove_rule(example, 5)


def test_pickable_lists_sessions_and_options_not_fields(example):
    refs = [ref for ref, _ in edit.pickable(example)]
    assert "agenda/opening" in refs and "extras/tour" in refs
    assert not any(ref.startswith("preferences/") for ref in refs)
    assert dict(edit.pickable(example))["extras/tour"] == "Extras > Guided city tour"
