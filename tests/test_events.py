"""Events, drafts and the immutable versions publishing freezes; the design window."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from configurator import attendees, designs, events
from configurator.errors import Conflict, NotFound, SchemaInvalid


def test_create_and_publish(db, example):
    created = events.create_event(db, example)
    assert created["title"] == "Commons Camp"
    with pytest.raises(NotFound):
        events.compiled(db, created["id"])
    assert events.publish(db, "commons-camp") == 1
    assert events.compiled(db, created["id"]).version == 1


def test_duplicate_slug_is_a_conflict(db, example):
    events.create_event(db, example)
    with pytest.raises(Conflict):
        events.create_event(db, example)


def test_invalid_schema_creates_nothing(db, example):
    example["sections"][0]["min"] = 99
    with pytest.raises(SchemaInvalid):
        events.create_event(db, example)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_versions_are_immutable_and_edits_make_a_new_draft(db, example):
    event = events.create_event(db, example)
    events.publish(db, "commons-camp")
    changed = copy.deepcopy(example)
    changed["sections"][0]["sessions"][0]["title"] = "Opening circle (renamed)"
    events.save_draft(db, "commons-camp", changed)
    v1 = events.compiled(db, event["id"], 1)
    assert v1.options[("agenda", "opening")].title.startswith("Opening circle: building")
    assert events.publish(db, "commons-camp") == 2
    assert events.compiled(db, event["id"]).options[("agenda", "opening")].title == (
        "Opening circle (renamed)"
    )
    assert events.version_numbers(db, event["id"]) == [1, 2]


def test_publishing_an_unchanged_draft_keeps_the_version(db, example):
    events.create_event(db, example)
    assert events.publish(db, "commons-camp") == 1
    assert events.publish(db, "commons-camp") == 1


def test_slug_cannot_change(db, example):
    events.create_event(db, example)
    example["event"]["slug"] = "other"
    with pytest.raises(SchemaInvalid):
        events.save_draft(db, "commons-camp", example)


def test_each_design_records_its_version(db, example):
    event = events.create_event(db, example)
    events.publish(db, "commons-camp")
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org").attendee
    designs.save_design(db, ana, {"channels": {"email": {}}})
    assert designs.get_design(db, ana["id"])["version"] == 1
    example["event"]["title"] = "Commons Camp, second edition"
    events.save_draft(db, "commons-camp", example)
    events.publish(db, "commons-camp")
    assert designs.get_design(db, ana["id"])["version"] == 1
    designs.save_design(db, ana, {"channels": {"app": {}}})
    assert designs.get_design(db, ana["id"])["version"] == 2
    assert [h["version"] for h in designs.history(db, ana["id"])] == [1, 2]


def test_window_follows_dates_and_the_organisers_switch(db, example):
    event = events.create_event(db, example)
    events.publish(db, "commons-camp")
    schema = events.compiled(db, event["id"])
    opens = datetime.fromisoformat(example["event"]["window"]["opens"])
    closes = datetime.fromisoformat(example["event"]["window"]["closes"])
    assert not events.window(event, schema, opens.replace(year=opens.year - 1)).open
    assert events.window(event, schema, opens).open
    assert not events.window(event, schema, closes).open
    events.set_window(db, "commons-camp", "closed")
    closed = events.window(events.get_event(db, "commons-camp"), schema, datetime.now(UTC))
    assert not closed.open and "organiser" in closed.reason
