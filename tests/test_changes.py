"""Differences between a published version and the draft, the designs they touch, and marking them."""

from __future__ import annotations

import copy
import json

import pytest

from configurator import attendees, changes, designs, events
from configurator.changes import Change

ANA = {
    "agenda": {
        "opening": {"format": "in_person"},
        "maps": {"format": "in_person"},
        "closing": {"format": "online"},
    },
    "channels": {"email": {}},
    "extras": {"dinner": {}},
    "preferences": {"diet": "vegetarian"},
}


def option(doc, sid, oid):
    section = next(s for s in doc["sections"] if s["id"] == sid)
    items = section.get("options") or section.get("sessions")
    return next(o for o in items if o["id"] == oid)


def section(doc, sid):
    return next(s for s in doc["sections"] if s["id"] == sid)


def test_first_version_says_what_is_offered(example):
    assert changes.schema_changes(None, example) == [
        Change("event", "first version: 4 section(s) and 20 option(s) to choose from")
    ]


def test_identical_versions_have_no_changes(example):
    assert changes.schema_changes(example, copy.deepcopy(example)) == []


def test_options_added_removed_and_renamed(example):
    new = copy.deepcopy(example)
    option(new, "channels", "email")["title"] = "E-mail"
    channels = section(new, "channels")
    channels["options"] = [o for o in channels["options"] if o["id"] != "app"]
    channels["options"].append({"id": "signal", "title": "Signal"})
    assert changes.schema_changes(example, new) == [
        Change("How we reach you during the day > E-mail", "renamed from “Email”"),
        Change("How we reach you during the day > Signal", "new option"),
        Change(
            "How we reach you during the day > Event app notifications", "option removed", "warning"
        ),
    ]


def test_capacity_changes_and_capacity_below_seats_taken(example):
    new = copy.deepcopy(example)
    option(new, "extras", "tour")["capacity"] = 5
    option(new, "extras", "dinner")["capacity"] = 50
    option(new, "extras", "kit")["capacity"] = 20
    seats = {("extras", "tour"): 7, ("extras", "kit"): 3}
    assert changes.schema_changes(example, new, seats) == [
        Change("Extras > Community dinner on Saturday", "capacity raised from 40 to 50 (0 taken)"),
        Change(
            "Extras > Guided city tour",
            "capacity lowered to 5, below the 7 seats already taken: 2 attendee(s) over",
            "warning",
        ),
        Change("Extras > Sensor kit to take home", "capacity lowered from 25 to 20 (3 taken)"),
    ]


def test_room_capacity_counts_for_sessions_without_their_own(example):
    new = copy.deepcopy(example)
    next(r for r in section(new, "agenda")["rooms"] if r["id"] == "garden")["capacity"] = 2
    found = changes.schema_changes(example, new, {("agenda", "facilitation"): 3})
    assert (
        Change(
            "Your agenda > Facilitation for un-conferences",
            "capacity lowered to 2, below the 3 seats already taken: 1 attendee(s) over",
            "warning",
        )
        in found
    )


def test_new_required_sections_fields_and_tighter_bounds(example):
    new = copy.deepcopy(example)
    section(new, "preferences")["fields"].append(
        {"id": "tshirt", "title": "T-shirt size", "type": "text", "required": True}
    )
    section(new, "channels")["max"] = 1
    section(new, "extras")["required"] = True
    new["sections"].append(
        {
            "id": "travel",
            "kind": "fields",
            "title": "Travel",
            "fields": [{"id": "from", "title": "Coming from", "type": "text", "required": True}],
        }
    )
    assert changes.schema_changes(example, new) == [
        Change("How we reach you during the day", "pick at most: 2 → 1", "warning"),
        Change("Extras", "must now be answered", "warning"),
        Change("Extras", "pick at least: 0 → 1", "warning"),
        Change("Preferences > T-shirt size", "new question, and it must be answered", "warning"),
        Change("Travel", "new section, and it must be answered", "warning"),
    ]


def test_moved_sessions_dropped_formats_and_rules(example):
    new = copy.deepcopy(example)
    opening = option(new, "agenda", "opening")
    opening["start"] = opening["start"].replace("09:30", "09:00")
    option(new, "agenda", "closing")["formats"] = ["in_person", "online"]
    new["rules"] = new["rules"][:1]
    found = changes.schema_changes(example, new)
    day = example["event"]["starts_on"]
    assert found == [
        Change(
            "Your agenda > Opening circle: building the agenda together",
            f"moved to {day} 09:00–10:00",
            "warning",
        ),
        Change("Your agenda > Closing circle", "no longer offered as recording", "warning"),
        Change(
            "rules",
            "rule removed: picking “Sensor kit to take home” requires “Air quality sensors you can build”",
        ),
    ]


# --- designs ------------------------------------------------------------------------------------


@pytest.fixture
def published(db, example):
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


def person(db, event, name, design, confirm=True):
    invitation = attendees.invite(db, event["id"], name, f"{name.lower()}@example.org")
    designs.save_design(db, invitation.attendee, design, confirm=confirm)
    return invitation.attendee


def draft_with(db, event, edit):
    doc = events.draft(event)
    edit(doc)
    return events.get_event(db, events.save_draft(db, event["slug"], doc)["slug"])


def test_a_removed_option_affects_the_designs_that_picked_it(db, published):
    ana = person(db, published, "Ana", ANA)
    person(db, published, "Ben", {**ANA, "channels": {"app": {}}, "extras": {}})

    def drop_dinner(doc):
        extras = section(doc, "extras")
        extras["options"] = [o for o in extras["options"] if o["id"] != "dinner"]
        doc["rules"] = doc["rules"][1:]

    event = draft_with(db, published, drop_dinner)
    affected = changes.affected_designs(db, event["id"], events.draft(event))
    assert [(a.attendee_id, a.name, a.status, a.reasons) for a in affected] == [
        (
            ana["id"],
            "Ana",
            "confirmed",
            ["Extras: “dinner” is not one of the options offered in Extras"],
        )
    ]


def test_confirmed_designs_are_checked_as_complete_drafts_are_not(db, published):
    person(db, published, "Ana", ANA)
    person(db, published, "Ben", {"channels": {"email": {}}}, confirm=False)

    def require_tshirt(doc):
        section(doc, "preferences")["fields"].append(
            {"id": "tshirt", "title": "T-shirt size", "type": "text", "required": True}
        )

    event = draft_with(db, published, require_tshirt)
    affected = changes.affected_designs(db, event["id"], events.draft(event))
    assert [(a.name, a.reasons) for a in affected] == [
        ("Ana", ["Preferences: T-shirt size is required"])
    ]


def test_capacity_below_seats_taken_affects_the_last_to_take_a_seat(db, published):
    person(db, published, "Ana", ANA)
    chloe = person(db, published, "Chloe", ANA)
    person(db, published, "Dev", {**ANA, "extras": {}})

    def shrink(doc):
        option(doc, "extras", "dinner")["capacity"] = 1

    event = draft_with(db, published, shrink)
    affected = changes.affected_designs(db, event["id"], events.draft(event))
    assert [(a.attendee_id, a.reasons) for a in affected] == [
        (
            chloe["id"],
            [
                "“Community dinner on Saturday” will have 1 seats for the 2 already taken,"
                " and this seat was among the last taken"
            ],
        )
    ]


def test_revoked_attendees_are_not_listed(db, published):
    ana = person(db, published, "Ana", ANA)
    attendees.revoke(db, ana["id"])

    def drop_dinner(doc):
        extras = section(doc, "extras")
        extras["options"] = [o for o in extras["options"] if o["id"] != "dinner"]
        doc["rules"] = doc["rules"][1:]

    event = draft_with(db, published, drop_dinner)
    assert changes.affected_designs(db, event["id"], events.draft(event)) == []


def test_publish_marks_affected_designs_and_keeps_every_pick(db, published):
    ana = person(db, published, "Ana", ANA)
    dev = person(db, published, "Dev", {**ANA, "extras": {}})
    picks_before = db.execute("SELECT * FROM picks ORDER BY attendee_id, option_id").fetchall()

    def drop_dinner(doc):
        extras = section(doc, "extras")
        extras["options"] = [o for o in extras["options"] if o["id"] != "dinner"]
        doc["rules"] = doc["rules"][1:]

    draft_with(db, published, drop_dinner)
    done = changes.publish(db, published["slug"])
    assert (done.number, done.changed, [a.name for a in done.affected]) == (2, True, ["Ana"])
    marked = designs.get_design(db, ana["id"])
    assert marked["needs_attention"] == (
        "The organiser published version 2 of the event, and your design needs a look:"
        " Extras: “dinner” is not one of the options offered in Extras."
        " Your picks are kept as they were until you change them."
    )
    assert marked["document"] == ANA  # never dropped silently
    assert marked["status"] == "confirmed"
    assert designs.get_design(db, dev["id"])["needs_attention"] is None
    picks_after = db.execute("SELECT * FROM picks ORDER BY attendee_id, option_id").fetchall()
    assert [dict(r) for r in picks_after] == [dict(r) for r in picks_before]


def test_publishing_an_unchanged_draft_marks_nothing(db, published):
    ana = person(db, published, "Ana", ANA)
    done = changes.publish(db, published["slug"])
    assert (done.number, done.changed, done.affected) == (1, False, [])
    assert designs.get_design(db, ana["id"])["needs_attention"] is None


def test_first_publish_has_no_designs_to_check(db, example):
    created = events.create_event(db, example)
    done = changes.publish(db, created["slug"])
    assert (done.number, done.changed, done.affected) == (1, True, [])
    assert json.loads(db.execute("SELECT document FROM schema_versions").fetchone()[0]) == example


def test_attention_sentence_is_capped():
    sentence = changes.attention_sentence(3, ["x" * 3000])
    assert len(sentence) == changes.ATTENTION_LIMIT
    assert sentence.endswith("…")


def test_reading_only_the_designs_a_change_reaches_misses_none(db, published, monkeypatch):
    """The publish page reads only designs that picked a changed option (or were not checked
    against the published version); for every kind of edit it must list exactly what checking
    every design lists."""
    import random

    from configurator.errors import ConfiguratorError

    rng = random.Random(5)
    doc = events.draft(published)
    schema = events.compiled(db, published["id"])
    sessions = section(doc, "agenda")["sessions"]
    for n in range(60):
        picked = rng.sample(sessions, rng.randint(0, 5))
        design = {
            "agenda": {
                s["id"]: {"format": rng.choice(s.get("formats") or ["in_person", "online"])}
                for s in picked
            },
            "channels": {"email": {}},
            "preferences": {"diet": rng.choice(["none", "vegan"])},
        }
        if schema.check(design).ok:
            try:
                person(db, published, f"P{n:02d}", design, confirm=rng.random() < 0.5)
            except ConfiguratorError:
                continue
    old = next(iter(rng.sample(sessions, 1)))
    db.execute(  # one design saved under an older version: always read again
        "UPDATE designs SET version = 0 WHERE attendee_id = (SELECT min(attendee_id) FROM designs)"
    )

    def capacity(d):
        option(d, "agenda", "maps")["capacity"] = 1

    def moved(d):
        option(d, "agenda", "maps")["start"] = option(d, "agenda", "opening")["start"]
        option(d, "agenda", "maps")["end"] = option(d, "agenda", "opening")["end"]

    def removed(d):
        section(d, "agenda")["sessions"] = [
            s for s in section(d, "agenda")["sessions"] if s["id"] != old["id"]
        ]

    def online_only(d):
        option(d, "agenda", "opening")["formats"] = ["online"]

    def room(d):
        section(d, "agenda")["rooms"][1]["capacity"] = 2

    def costlier(d):
        option(d, "agenda", "sensors")["cost"] = 3

    def budget(d):
        d["budget"]["total"] = 1

    def per_day(d):
        section(d, "agenda")["per_day"]["max"] = 2

    def renamed(d):
        option(d, "agenda", "datasets")["title"] = "Data sets, renamed"
        d["event"]["title"] = "Renamed camp"

    reads = []
    real_loads = json.loads
    monkeypatch.setattr(
        changes.json, "loads", lambda text: reads.append(1) or real_loads(text)
    )
    listed = 0
    for edit in (capacity, moved, removed, online_only, room, costlier, budget, per_day, renamed):
        draft = copy.deepcopy(doc)
        edit(draft)
        reads.clear()
        targeted = changes.affected_designs(db, published["id"], draft, doc)
        read_targeted = len(reads)
        everything = changes.affected_designs(db, published["id"], draft)
        assert targeted == everything, edit.__name__
        if edit in (capacity, renamed):
            assert read_targeted < len(reads), edit.__name__
        listed += len(everything)
    assert listed > 10
