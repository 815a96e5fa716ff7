"""The organiser console through the test client: every action, its inline errors, and who may act."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from conftest import PASSWORD, csrf_from, example_schema, shared_file
from docsupport import ROOT, code_blocks
from werkzeug.datastructures import MultiDict

from configurator import (
    accounts,
    attendees,
    changes,
    designs,
    events,
    imports,
    invitations,
    optionschema,
    schema_editor,
)
from configurator.invitations import read_people_csv

HTMX = {"HX-Request": "true"}
ANA_DESIGN = {
    "agenda": {
        "opening": {"format": "in_person"},
        "maps": {"format": "in_person"},
        "closing": {"format": "online"},
    },
    "channels": {"email": {}},
    "extras": {"dinner": {}},
    "preferences": {"diet": "vegetarian"},
}


class Console:
    """A signed-in organiser's browser, as the test client sees it."""

    def __init__(self, client: Any, db: Any, slug: str) -> None:
        self.client, self.db, self.slug = client, db, slug
        self.token = csrf_from(client.get("/events").get_data(as_text=True))

    def url(self, path: str = "") -> str:
        return f"/events/{self.slug}{path}"

    def get(self, path: str = "", htmx: bool = False, **kwargs: Any) -> Any:
        return self.client.get(self.url(path), headers=HTMX if htmx else {}, **kwargs)

    def post(self, path: str, data: Any = (), htmx: bool = False, csrf: bool = True) -> Any:
        form = MultiDict(data)
        if csrf:
            form.add("csrf_token", self.token)
        return self.client.post(self.url(path), data=form, headers=HTMX if htmx else {})

    def draft(self) -> dict[str, Any]:
        return events.draft(events.get_event(self.db, self.slug))

    def event(self) -> dict[str, Any]:
        return events.get_event(self.db, self.slug)


@pytest.fixture
def console(organiser, db, example) -> Console:
    owner = organiser.create()
    events.create_event(db, example, owner_id=owner)
    organiser.login()
    return Console(organiser.client, db, example["event"]["slug"])


@pytest.fixture
def published(console) -> Console:
    events.publish(console.db, console.slug)
    return console


def error_beside(html: str, control_id: str) -> str:
    """The error text a control points to with aria-describedby (fails if there is none)."""
    control = re.search(rf'<(?:input|select|textarea)[^>]*id="{re.escape(control_id)}"[^>]*>', html)
    assert control, f"no control {control_id}"
    described = re.search(r'aria-describedby="([^" ]+)', control.group(0))
    assert described, f"{control_id} points to no error"
    error = re.search(
        rf'<p class="field-error" id="{re.escape(described.group(1))}">([^<]*)</p>', html
    )
    assert error, f"{control_id}'s error {described.group(1)} is not on the page"
    return error.group(1).replace("&#34;", '"').replace("&#39;", "'")


# --- events ----------------------------------------------------------------------------------


def test_events_list_shows_mine_with_role_and_version(published, db, example):
    other = accounts.create_account(db, "sam@example.org", "Sam", PASSWORD)
    events.create_event(db, {**example, "event": {**example["event"], "slug": "sams"}}, other)
    html = published.client.get("/events").get_data(as_text=True)
    assert "Commons Camp" in html and "version 1" in html and "organiser" in html
    assert "/events/sams" not in html


def test_create_an_event_from_a_small_form(console, db):
    response = console.client.post(
        "/events/new",
        data={
            "title": "Night Market",
            "timezone": "Europe/Lisbon",
            "starts_on": "2027-06-01",
            "ends_on": "2027-06-02",
            "csrf_token": console.token,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/events/night-market"
    created = events.get_event(db, "night-market")
    assert accounts.role_on(db, created["id"], created["owner_id"]) == "organiser"
    assert events.draft(created)["sections"] == [
        {"id": "agenda", "kind": "sessions", "title": "Your agenda"}
    ]
    page = console.client.get("/events/night-market").get_data(as_text=True)
    assert "Created “Night Market”" in page and "Not published yet" in page


def test_create_form_shows_each_problem_beside_its_field(console, db):
    response = console.client.post(
        "/events/new",
        data={
            "title": "Night Market",
            "timezone": "Mars/Olympus",
            "starts_on": "2027-06-02",
            "ends_on": "2027-06-01",
            "csrf_token": console.token,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_beside(html, "new-timezone").startswith("timezone must be an IANA time zone")
    assert error_beside(html, "new-ends") == "ends_on (2027-06-01) is before starts_on (2027-06-02)"
    assert 'value="Night Market"' in html  # what was typed stays
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_create_refuses_a_slug_in_use_beside_the_slug(console):
    response = console.client.post(
        "/events/new",
        data={
            "title": "x",
            "slug": console.slug,
            "timezone": "UTC",
            "starts_on": "2027-06-01",
            "csrf_token": console.token,
        },
    )
    assert response.status_code == 409
    assert error_beside(response.text, "new-slug") == (
        "An event with the slug 'commons-camp' already exists."
    )


def test_the_slug_new_is_kept_for_the_creation_page(console):
    response = console.client.post(
        "/events/new",
        data={
            "title": "New",
            "timezone": "UTC",
            "starts_on": "2027-06-01",
            "csrf_token": console.token,
        },
    )
    assert response.status_code == 409
    assert error_beside(response.text, "new-slug") == (
        "The slug 'new' belongs to this page; choose another."
    )


def test_create_an_event_by_uploading_a_schema(console, raw_example, db):
    raw_example["event"]["slug"] = "uploaded"
    response = console.client.post(
        "/events/new",
        data={
            "csrf_token": console.token,
            "schema_file": (io.BytesIO(json.dumps(raw_example).encode()), "camp.json"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert events.draft(events.get_event(db, "uploaded")) == raw_example

    yaml_text = "format: configurator/option-schema/1\nevent: {slug: bad}\nsections: []\n"
    response = console.client.post(
        "/events/new",
        data={
            "csrf_token": console.token,
            "schema_file": (io.BytesIO(yaml_text.encode()), "camp.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "title is required" in response.text
    assert "sections must have at least 1 entry" in response.text


# --- overview and window ----------------------------------------------------------------------


def test_overview_counts_attendees_and_shows_the_window(published, db):
    event = published.event()
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    attendees.invite(db, event["id"], "Ben", "ben@example.org")
    attendees.mark_opened(db, ana.attendee["id"])
    designs.save_design(db, ana.attendee, ANA_DESIGN, confirm=True)
    html = published.get().get_data(as_text=True)
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", html))
    assert figures == {
        "Invited": "2",
        "Opened their link": "1",
        "Started a design": "1",
        "Confirmed": "1",
        "Need attention": "0",
    }
    assert "Designing is open." in html
    assert "Version 1 is published." in html


def test_window_is_opened_and_closed_by_hand(published):
    response = published.post("/window", {"state": "closed"})
    assert response.status_code == 303
    assert published.event()["window_override"] == "closed"
    response = published.post("/window", {"state": "open"}, htmx=True)
    assert response.status_code == 200
    assert "The organiser has opened the design window." in response.text
    assert response.text.lstrip().startswith('<section id="window"')
    published.post("/window", {"state": "dates"})
    assert published.event()["window_override"] is None
    assert published.post("/window", {"state": "ajar"}).status_code == 409


# --- the schema editor --------------------------------------------------------------------------


def settings_form(draft: dict[str, Any], **changes_: str) -> dict[str, str]:
    e = draft["event"]
    form = {
        "title": e["title"],
        "description": e.get("description", ""),
        "timezone": e["timezone"],
        "starts_on": e["starts_on"],
        "ends_on": e["ends_on"],
        "edit_after_confirm": "1",
        "open_registration": "1",
    }
    form.update(changes_)
    return form


def test_event_settings_are_saved(console):
    draft = console.draft()
    response = console.post("/schema/event", settings_form(draft, title="Commons Camp 2027"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/events/commons-camp/schema#settings"
    assert console.draft()["event"]["title"] == "Commons Camp 2027"
    assert console.event()["title"] == "Commons Camp 2027"


def test_event_settings_errors_show_beside_the_field_and_nothing_is_saved(console):
    before = console.event()["draft_updated_at"]
    draft = console.draft()
    response = console.post("/schema/event", settings_form(draft, ends_on="2000-01-01"), htmx=True)
    assert response.status_code == 422
    assert "HX-Request" in response.headers["Vary"]
    html = response.text
    assert html.lstrip().startswith('<section id="settings"')  # only the region comes back
    assert error_beside(html, "ev-ends").startswith("ends_on (2000-01-01) is before starts_on")
    assert "Not saved." in html and "<code>/event/ends_on</code>" in html
    assert 'value="2000-01-01"' in html  # the attempt stays on screen
    assert console.event()["draft_updated_at"] == before


def test_htmx_edit_returns_the_region_saved(console):
    draft = console.draft()
    response = console.post("/schema/event", settings_form(draft, title="New name"), htmx=True)
    assert response.status_code == 200
    assert 'data-announce="Saved."' in response.text
    assert "<html" not in response.text


def test_plain_failure_renders_the_whole_page_with_the_error_in_place(console):
    draft = console.draft()
    response = console.post("/schema/event", settings_form(draft, timezone="Nowhere/Land"))
    assert response.status_code == 422
    assert "<html" in response.text and 'id="sections"' in response.text
    assert error_beside(response.text, "ev-timezone").startswith("timezone must be an IANA")


def test_budget_blank_with_costs_is_refused_beside_the_budget(console):
    response = console.post("/schema/budget", {"total": ""}, htmx=True)
    assert response.status_code == 422
    assert "some options cost points, but the schema has no budget" in response.text
    assert console.draft()["budget"]["total"] == 3
    assert console.post("/schema/budget", {"total": "4", "title": "Points"}).status_code == 303
    assert console.draft()["budget"] == {"total": 4, "title": "Points"}


def test_sections_are_added_moved_and_removed(console):
    response = console.post(
        "/schema/sections", {"kind": "choice", "title": "Meals", "first": "Lunch"}, htmx=True
    )
    assert response.status_code == 200
    assert "Meals" in response.text
    assert [s["id"] for s in console.draft()["sections"]][-1] == "meals"
    console.post("/schema/sections/meals/move", {"direction": "up"})
    assert [s["id"] for s in console.draft()["sections"]] == [
        "agenda",
        "channels",
        "extras",
        "meals",
        "preferences",
    ]
    console.post("/schema/sections/extras/delete")
    draft = console.draft()
    assert "extras" not in [s["id"] for s in draft["sections"]]
    assert draft["rules"] == [] or all("extras" not in r["if"] for r in draft["rules"])
    # The agenda rule names extras/kit, so it went with the section.
    assert console.get("/schema/sections/extras").status_code == 404


def test_adding_a_section_with_a_bad_id_keeps_the_form_filled(console):
    response = console.post(
        "/schema/sections", {"kind": "fields", "title": "Travel", "id": "no spaces"}, htmx=True
    )
    assert response.status_code == 422
    assert error_beside(response.text, "new-section-id").startswith("id must be an id of up to 80")
    assert 'value="no spaces"' in response.text
    assert [s["id"] for s in console.draft()["sections"]] == [
        "agenda",
        "channels",
        "extras",
        "preferences",
    ]


def test_section_settings_error_beside_max(console):
    response = console.post(
        "/schema/sections/extras", {"title": "Extras", "max": "2"}, htmx=True
    )  # multiple left unticked: a single choice with max 2
    assert response.status_code == 422
    assert error_beside(response.text, "sec-max") == (
        "max must be 1 when multiple is false (a single choice)"
    )
    response = console.post(
        "/schema/sections/extras", {"title": "Extras", "max": "2", "multiple": "1"}
    )
    assert response.status_code == 303
    assert console.draft()["sections"][2]["max"] == 2


def test_options_are_added_edited_and_removed(console):
    response = console.post(
        "/schema/sections/extras/options", {"title": "Boat trip", "capacity": "none"}, htmx=True
    )
    assert response.status_code == 422
    assert error_beside(response.text, "new-option-capacity") == (
        'capacity must be a whole number of at least 1, got "none"'
    )
    assert "Boat trip" not in [o["title"] for o in console.draft()["sections"][2]["options"]]

    response = console.post(
        "/schema/sections/extras/options", {"title": "Boat trip", "capacity": "12", "cost": "1"}
    )
    assert response.status_code == 303
    assert console.draft()["sections"][2]["options"][-1] == {
        "id": "boat-trip",
        "title": "Boat trip",
        "capacity": 12,
        "cost": 1,
    }
    page = console.get("/schema/sections/extras/options/boat-trip")
    assert page.status_code == 200 and 'value="12"' in page.text

    response = console.post(
        "/schema/sections/extras/options/boat-trip",
        {"title": "Boat trip", "capacity": "10", "cost": "1"},
        htmx=True,
    )
    assert response.status_code == 200 and "Saved." in response.text
    assert console.draft()["sections"][2]["options"][-1]["capacity"] == 10
    console.post("/schema/sections/extras/options/boat-trip/delete")
    assert [o["id"] for o in console.draft()["sections"][2]["options"]] == ["dinner", "tour", "kit"]


def test_removing_an_option_a_rule_names_drops_the_rule(console):
    console.post("/schema/sections/extras/options/dinner/delete")
    assert [r["id"] for r in console.draft()["rules"]] == ["kit-or-sensors"]


def test_questions_and_follow_ups(console):
    response = console.post(
        "/schema/sections/preferences/fields",
        {"title": "T-shirt", "type": "one_of", "choices": "S\nM\nL"},
    )
    assert response.status_code == 303
    tshirt = console.draft()["sections"][3]["fields"][-1]
    assert [c["id"] for c in tshirt["options"]] == ["s", "m", "l"]

    response = console.post(
        "/schema/sections/preferences/fields/guests",
        {"title": "Children", "type": "number", "min": "5", "max": "1"},
        htmx=True,
    )
    assert response.status_code == 422
    assert error_beside(response.text, "field-min") == "min (5) is above max (1)"

    response = console.post(
        "/schema/sections/channels/options/sms/fields",
        {"title": "Best time", "type": "text", "pattern": "(a+)+"},
        htmx=True,
    )
    assert response.status_code == 422
    assert "nests a repeat inside a repeat" in response.text
    page = console.get("/schema/sections/channels/options/sms/fields/phone")
    assert page.status_code == 200 and "Mobile number" in page.text
    console.post("/schema/sections/channels/options/sms/fields/phone/delete")
    assert console.draft()["sections"][1]["options"][1]["follow_up"] == []


def test_sessions_rooms_and_formats(console):
    day = console.draft()["event"]["starts_on"]
    response = console.post(
        "/schema/sections/agenda/sessions",
        {"title": "Late", "start": f"{day}T18:00", "end": f"{day}T17:00", "room": "hall"},
        htmx=True,
    )
    assert response.status_code == 422
    assert error_beside(response.text, "new-session-end").startswith("end (")

    response = console.post(
        "/schema/sections/agenda/sessions",
        {"title": "Late", "start": f"{day}T18:00", "end": f"{day}T19:00", "room": "hall"},
    )
    assert response.status_code == 303
    late = console.draft()["sections"][0]["sessions"][-1]
    assert late["id"] == "late" and late["start"].startswith(f"{day}T18:00:00")

    form = MultiDict(
        [
            ("title", "Late night"),
            ("start", f"{day}T18:00"),
            ("end", f"{day}T19:30"),
            ("room", "garden"),
            ("capacity", "8"),
            ("formats", "in_person"),
        ]
    )
    assert console.post("/schema/sections/agenda/sessions/late", form).status_code == 303
    late = console.draft()["sections"][0]["sessions"][-1]
    assert (late["title"], late["room"], late["capacity"], late["formats"]) == (
        "Late night",
        "garden",
        8,
        ["in_person"],
    )

    response = console.post("/schema/sections/agenda/rooms/garden/delete", htmx=True)
    assert response.status_code == 422
    assert "take place in this room" in response.text
    response = console.post(
        "/schema/sections/agenda/rooms/garden", {"title": "Garden room", "capacity": "10"}
    )
    assert response.status_code == 303
    assert console.draft()["sections"][0]["rooms"][2]["capacity"] == 10

    console.post("/schema/sections/agenda/formats", {"title": "Sign language", "seated": "1"})
    assert console.draft()["sections"][0]["formats"][-1] == {
        "id": "sign-language",
        "title": "Sign language",
        "seated": True,
    }
    console.post("/schema/sections/agenda/formats/sign-language/delete")
    assert len(console.draft()["sections"][0]["formats"]) == 3
    console.post("/schema/sections/agenda/sessions/late/delete")
    assert console.draft()["sections"][0]["sessions"][-1]["id"] == "closing"


def test_session_list_is_filtered_and_paged_for_htmx(console):
    response = console.get("/schema/sections/agenda/sessions?q=ana+lima", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="sessions"')
    assert "4 sessions matching “ana lima”" in response.text
    page = console.get("/schema/sections/agenda?q=garden").text
    assert "<html" in page and "2 sessions matching “garden”" in page


def test_rules_are_added_with_pickers_and_removed(console):
    form = MultiDict([("if", "extras/kit"), ("relation", "excludes"), ("targets", "extras/tour")])
    assert console.post("/schema/rules", form).status_code == 303
    assert console.draft()["rules"][-1] == {"if": "extras/kit", "excludes": ["extras/tour"]}
    response = console.post(
        "/schema/rules", MultiDict([("if", "extras/kit"), ("relation", "requires")]), htmx=True
    )
    assert response.status_code == 422
    assert (
        "a rule needs &#39;requires&#39; or &#39;excludes&#39; besides &#39;if&#39;"
        in response.text
    )
    console.post("/schema/rules/2/delete")
    assert len(console.draft()["rules"]) == 2
    assert console.post("/schema/rules/9/delete").status_code == 404


def test_raw_json_is_saved_through_the_same_checks(console):
    draft = console.draft()
    page = console.get("/schema/raw")
    assert "&#34;format&#34;: &#34;configurator/option-schema/1&#34;" in page.text
    draft["event"]["title"] = "Raw camp"
    response = console.post("/schema/raw", {"document": json.dumps(draft)})
    assert response.status_code == 303
    assert console.draft()["event"]["title"] == "Raw camp"

    response = console.post("/schema/raw", {"document": "{nope"}, htmx=True)
    assert response.status_code == 422
    assert "The file is not valid JSON" in response.text

    draft["sections"][2]["options"][0]["capacity"] = -1
    draft["sections"][1]["max"] = "two"
    response = console.post("/schema/raw", {"document": json.dumps(draft)}, htmx=True)
    assert response.status_code == 422
    html = response.text
    assert "<code>/sections/1/max</code>" in html
    assert (
        "sections[2] &#34;Extras&#34; &gt; options[0] &#34;Community dinner on Saturday&#34;"
        in html
    )
    assert console.draft()["event"]["title"] == "Raw camp"


def test_the_slug_cannot_change_in_the_raw_json(console):
    draft = console.draft()
    draft["event"]["slug"] = "other"
    response = console.post("/schema/raw", {"document": json.dumps(draft)}, htmx=True)
    assert response.status_code == 422
    assert "slug must stay &#39;commons-camp&#39;" in response.text


def test_schema_download(console):
    response = console.get("/schema.json")
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="commons-camp-draft.json"'
    )
    assert response.json == console.draft()


# --- imports ----------------------------------------------------------------------------------


def upload(path: Any, name: str | None = None) -> tuple[io.BytesIO, str]:
    return (io.BytesIO(path.read_bytes()), name or path.name)


def test_import_31c3_into_a_new_section_then_again(console):
    schedule = shared_file("31c3.xml")
    response = console.client.post(
        console.url("/import"),
        data={
            "csrf_token": console.token,
            "schedule": upload(schedule),
            "section": "__new__",
            "capacities": "room,capacity\nSaal 1,3000\nSaal G,400\n",
        },
        content_type="multipart/form-data",
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    assert "138 added, 0 updated, 0 unchanged, 4 room(s) added" in response.text
    section = console.draft()["sections"][-1]
    assert (section["id"], len(section["sessions"])) == ("sessions", 138)
    assert {r["title"]: r.get("capacity") for r in section["rooms"]}["Saal 1"] == 3000
    assert console.draft()["event"]["day_change"] == "04:00"

    response = console.client.post(
        console.url("/import"),
        data={"csrf_token": console.token, "schedule": upload(schedule), "section": "sessions"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = console.get("/import").text
    assert "0 added, 0 updated, 138 unchanged" in page


def test_import_problems_are_listed_and_nothing_changes(console):
    before = console.draft()
    bad = b"id,title,start,end\n1,Talk,not a time,2027-03-13T11:00\n2,,2027-03-13T10:00,\n"
    response = console.client.post(
        console.url("/import"),
        data={"csrf_token": console.token, "schedule": (io.BytesIO(bad), "talks.csv")},
        content_type="multipart/form-data",
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "Nothing was imported." in response.text
    assert response.text.count("<li><strong>line") >= 2
    assert console.draft() == before
    response = console.client.post(
        console.url("/import"),
        data={"csrf_token": console.token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "Choose a schedule file to import." in response.text


# --- preview and publishing -------------------------------------------------------------------


def test_preview_shows_the_draft_and_saves_nothing(console):
    before = console.event()
    html = console.get("/preview").text
    assert "Opening circle: building the agenda together" in html
    assert "Community dinner on Saturday" in html and "(40 places)" in html
    assert "Dietary needs" in html
    assert console.event() == before
    assert events.latest_number(console.db, before["id"]) is None


def test_publish_shows_the_difference_and_the_affected_designs_then_marks_them(published, db):
    event = published.event()
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org").attendee
    ben = attendees.invite(db, event["id"], "Ben", "ben@example.org").attendee
    designs.save_design(db, ana, ANA_DESIGN, confirm=True)
    designs.save_design(db, ben, {**ANA_DESIGN, "extras": {}}, confirm=True)
    form = {"title": "Community dinner on Saturday", "capacity": "1", "cost": "1"}
    published.post("/schema/sections/extras/options/dinner", form)
    published.post("/schema/sections/channels/options/app/delete")

    page = published.get("/publish").text
    assert "What changes from version 1" in page
    assert "Event app notifications</strong>: option removed" in page
    assert "capacity lowered from 40 to 1 (1 taken)" in page
    assert "No stored design is affected." in page

    published.post("/schema/sections/extras/options/dinner", {**form, "title": "Dinner"})
    published.post(
        "/schema/sections/preferences/fields",
        {"title": "T-shirt size", "type": "text", "required": "1"},
    )
    page = published.get("/publish").text
    assert "renamed from “Community dinner on Saturday”" in page
    assert "1 attendee design" not in page and "2 attendee designs would no longer fit" in page
    assert "Ana <small>ana@example.org</small>" in page
    assert "Preferences: T-shirt size is required" in page

    stamp = re.search(r'name="draft_updated_at" value="([^"]+)"', page).group(1)
    response = published.post("/publish", {"draft_updated_at": stamp})
    assert response.status_code == 303
    assert events.latest_number(db, event["id"]) == 2
    for person in (ana, ben):
        marked = designs.get_design(db, person["id"])
        assert marked["needs_attention"].startswith("The organiser published version 2")
        assert marked["status"] == "confirmed"
    assert designs.get_design(db, ana["id"])["document"] == ANA_DESIGN
    overview = published.get().text
    assert "Published version 2. 2 design(s) are marked" in overview
    assert "The draft is the same as the published version." in overview


def test_publishing_a_stale_view_is_refused(published):
    published.post("/schema/budget", {"total": "4"})
    page = published.get("/publish").text
    stamp = re.search(r'name="draft_updated_at" value="([^"]+)"', page).group(1)
    published.post("/schema/budget", {"total": "5"})
    response = published.post("/publish", {"draft_updated_at": stamp})
    assert response.status_code == 409
    assert "The draft changed since these differences were shown" in response.text
    assert events.latest_number(published.db, published.event()["id"]) == 1


def test_first_publish_from_the_console(console):
    page = console.get("/publish").text
    assert "The first version" in page
    stamp = re.search(r'name="draft_updated_at" value="([^"]+)"', page).group(1)
    assert console.post("/publish", {"draft_updated_at": stamp}).status_code == 303
    assert "Published version 1." in console.get().text
    page = console.get("/publish").text
    assert "there is nothing to publish" in page and "draft_updated_at" not in page


# --- attendees ----------------------------------------------------------------------------------


PEOPLE = "name,email\nAna Lima,ana@example.org\n=Ben,ben@example.org\n"


def test_invite_shows_the_links_once_and_they_work(published, app):
    response = published.post("/attendees", {"people": PEOPLE, "then": "show"}, htmx=True)
    assert response.status_code == 200
    links = re.findall(r'value="(http://localhost/a/[^"]+)"', response.text)
    assert len(links) == 2
    rows = list(
        csv.reader(
            io.StringIO(
                re.search(r'<textarea id="links-csv"[^>]*>([^<]*)</textarea>', response.text)
                .group(1)
                .replace("&#39;", "'")
                .replace("&#34;", '"')
            )
        )
    )
    assert rows[0] == ["name", "email", "link"]
    assert rows[2][0] == "'=Ben"  # a spreadsheet shows it as text
    visitor = app.test_client()
    assert visitor.get(links[0].removeprefix("http://localhost")).status_code == 303
    again = published.get("/attendees").text
    assert links[0] not in again  # only hashes are kept
    assert "2 invited · 1 opened their link · 0 started · 0 confirmed" in " ".join(again.split())


def test_invite_as_a_csv_download_for_a_mail_merge(published):
    response = published.post("/attendees", {"people": PEOPLE, "then": "csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="commons-camp-links.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["name"], r["email"]) for r in rows] == [
        ("Ana Lima", "ana@example.org"),
        ("'=Ben", "ben@example.org"),
    ]
    assert all(r["link"].startswith("http://localhost/a/") for r in rows)
    assert response.headers["Cache-Control"] == "no-store"


def test_invite_from_an_uploaded_file(published, db):
    response = published.client.post(
        published.url("/attendees"),
        data={
            "csrf_token": published.token,
            "then": "csv",
            "people_file": (io.BytesIO(("\ufeff" + PEOPLE).encode()), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert db.execute("SELECT count(*) FROM attendees").fetchone()[0] == 2


def test_bad_rows_are_named_and_nobody_is_invited(published, db):
    response = published.post(
        "/attendees",
        {"people": "name,email\nAna,ana@example.org\nBen,not-an-email\n,x@y.z\n"},
        htmx=True,
    )
    assert response.status_code == 422
    assert "2 row(s) of the CSV cannot be used." in response.text
    assert "<strong>line 3</strong>" in response.text and "<strong>line 4</strong>" in response.text
    assert db.execute("SELECT count(*) FROM attendees").fetchone()[0] == 0


def test_reissue_links_invalidates_the_old_ones(published, app, db):
    event = published.event()
    first = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    visitor = app.test_client()
    assert visitor.get(f"/a/{first.token}").status_code == 303
    response = published.post(
        "/attendees/links", {"attendee": str(first.attendee["id"]), "then": "csv"}
    )
    assert response.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert visitor.get(f"/a/{first.token}").status_code == 404  # the old link is dead
    assert (
        db.execute(
            "SELECT count(*) FROM web_sessions WHERE attendee_id = ?", [first.attendee["id"]]
        ).fetchone()[0]
        == 0
    )
    assert app.test_client().get(row["link"].removeprefix("http://localhost")).status_code == 303
    response = published.post("/attendees/links", {"then": "csv"}, htmx=True)
    assert response.status_code == 422
    assert "Tick the attendees" in response.text


def test_revoke_an_attendee(published, app, db):
    event = published.event()
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    response = published.post(f"/attendees/{ana.attendee['id']}/revoke", htmx=True)
    assert response.status_code == 200
    assert "Ana&#39;s link is revoked." in response.text
    assert app.test_client().get(f"/a/{ana.token}").status_code == 403
    assert published.post("/attendees/999/revoke").status_code == 404


def test_attendee_list_shows_progress_and_attention(published, db):
    event = published.event()
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org").attendee
    designs.save_design(db, ana, {"channels": {"email": {}}})
    db.execute("UPDATE designs SET needs_attention = 'look' WHERE attendee_id = ?", [ana["id"]])
    html = published.get("/attendees").text
    assert "started" in html and "needs attention" in html


def test_people_csv_helpers_agree_with_the_cli(db, published):
    people = read_people_csv(PEOPLE)
    issued = invitations.invite_people(db, published.event()["id"], people)
    text = invitations.links_csv(issued, "https://camp.example/")
    assert text.splitlines()[0] == "name,email,link"
    assert text.splitlines()[1].startswith("Ana Lima,ana@example.org,https://camp.example/a/")


# --- the team and access -------------------------------------------------------------------------


def test_organiser_adds_staff_new_and_existing(console, db):
    response = console.post("/team", {"email": "sam@example.org"}, htmx=True)
    assert response.status_code == 422
    assert error_beside(response.text, "staff-email").startswith(
        "There is no account for sam@example.org"
    )
    response = console.post(
        "/team", {"email": "sam@example.org", "name": "Sam", "password": PASSWORD}
    )
    assert response.status_code == 303
    event = console.event()
    sam = db.execute("SELECT id FROM accounts WHERE email = 'sam@example.org'").fetchone()[0]
    assert accounts.role_on(db, event["id"], sam) == "staff"

    accounts.create_account(db, "lee@example.org", "Lee", PASSWORD)
    response = console.post("/team", {"email": "lee@example.org"}, htmx=True)
    assert response.status_code == 200 and "Lee (lee@example.org) is now staff" in response.text
    response = console.post("/team", {"email": "olga@example.org"}, htmx=True)
    assert response.status_code == 409 and "already organises this event" in response.text

    assert console.post(f"/team/{sam}/remove").status_code == 303
    assert accounts.role_on(db, event["id"], sam) is None


def staff_client(app, db, slug):
    staff_id = accounts.create_account(db, "sam@example.org", "Sam", PASSWORD)
    accounts.grant(db, events.get_event(db, slug)["id"], staff_id, "staff")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"email": "sam@example.org", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    return client


# The console's blueprints: events and publishing, and the schema editor.
CONSOLE = ("organiser.", "schema.")


def organiser_rules(app, method):
    for rule in app.url_map.iter_rules():
        if (
            rule.endpoint.startswith(CONSOLE)
            and method in rule.methods
            and "slug" in rule.arguments
        ):
            yield rule


def concrete(rule, slug):
    def value(match):
        converter, name = match.group(1), match.group(2)
        return (
            slug
            if name == "slug"
            else "0"
            if converter == "int:"
            else {
                "sid": "extras",
                "oid": "tour",
                "fid": "diet",
                "session_id": "opening",
                "rid": "hall",
            }.get(name, "x")
        )

    return re.sub(r"<(int:)?(\w+)>", value, rule.rule)


def test_staff_see_every_console_page_read_only(published, app, db):
    staff = staff_client(app, db, published.slug)
    concrete_pages = {
        "schema.section": f"/events/{published.slug}/schema/sections/extras",
        "schema.option": f"/events/{published.slug}/schema/sections/extras/options/tour",
        "schema.session": f"/events/{published.slug}/schema/sections/agenda/sessions/opening",
        "schema.sessions": f"/events/{published.slug}/schema/sections/agenda/sessions",
        "schema.field": f"/events/{published.slug}/schema/sections/preferences/fields/diet",
    }
    for rule in organiser_rules(app, "GET"):
        url = concrete_pages.get(rule.endpoint, concrete(rule, published.slug))
        if rule.endpoint == "schema.field" and "options" in rule.rule:
            url = f"/events/{published.slug}/schema/sections/channels/options/sms/fields/phone"
        response = staff.get(url)
        assert response.status_code == 200, url
        if response.mimetype == "text/html":
            assert "read-only (staff)" in response.text, url
            main = response.text.split("</header>", 1)[1]
            for body in re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', main, re.S):
                assert "<fieldset disabled" in body and "<button" not in body, url


def test_staff_get_403_on_every_console_post(published, app, db):
    staff = staff_client(app, db, published.slug)
    token = csrf_from(staff.get(published.url()).get_data(as_text=True))
    before = published.event()
    posts = list(organiser_rules(app, "POST"))
    assert len(posts) >= 30
    for rule in posts:
        response = staff.post(concrete(rule, published.slug), data={"csrf_token": token})
        assert response.status_code == 403, rule.rule
        assert "Your role on this event is read-only." in response.text
    assert published.event() == before


def test_another_organiser_sees_no_trace_of_my_event(published, app, db):
    accounts.create_account(db, "eve@example.org", "Eve", PASSWORD)
    eve = app.test_client()
    page = eve.get("/login").get_data(as_text=True)
    eve.post(
        "/login",
        data={"email": "eve@example.org", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    token = csrf_from(eve.get("/events").get_data(as_text=True))
    for rule in organiser_rules(app, "GET"):
        assert eve.get(concrete(rule, published.slug)).status_code == 404, rule.rule
    for rule in organiser_rules(app, "POST"):
        assert (
            eve.post(concrete(rule, published.slug), data={"csrf_token": token}).status_code == 404
        )
    assert "Commons Camp" not in eve.get("/events").text


def test_signed_out_visitors_are_sent_to_sign_in(client, db, example):
    events.create_event(db, example)
    response = client.get("/events/commons-camp/schema")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/events/commons-camp/schema"


def test_every_console_route_declares_its_role(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(CONSOLE):
            continue
        access = app.view_functions[rule.endpoint].access
        if "slug" not in rule.arguments:
            assert access == "account", rule.rule
        elif "POST" in rule.methods:
            assert access == "organiser", rule.rule
        else:
            assert access == "staff", rule.rule


def test_security_headers_csrf_and_size_limit_apply_to_the_console(published, app):
    response = published.get("/schema")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    response = published.post("/schema/budget", {"total": "9"}, csrf=False)
    assert response.status_code == 400
    assert published.draft()["budget"]["total"] == 3
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = published.client.post(
        published.url("/import"),
        data={"csrf_token": published.token, "schedule": (io.BytesIO(b"x" * 5000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_every_control_on_every_console_page_has_a_label(published, app, db):
    event = published.event()
    attendees.invite(db, event["id"], "Ana", "ana@example.org")
    pages = [concrete(rule, published.slug) for rule in organiser_rules(app, "GET")]
    pages = [p for p in pages if "/x" not in p and not p.endswith(".json")]
    pages += [
        published.url("/schema/sections/extras"),
        published.url("/schema/sections/agenda"),
        published.url("/schema/sections/preferences"),
        published.url("/schema/sections/extras/options/tour"),
        published.url("/schema/sections/agenda/sessions/opening"),
        published.url("/schema/sections/preferences/fields/diet"),
        "/events",
        "/events/new",
        "/account",
    ]
    shown = published.post("/attendees", {"people": PEOPLE, "then": "show"}).text
    checked_controls = []
    for html in [published.client.get(p).text for p in pages] + [shown]:
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in control:
                continue
            found = re.search(r'id="([^"]+)"', control)
            assert found and found.group(1) in labelled, control
            checked_controls.append(control)
    assert len(checked_controls) > 150


def test_no_inline_scripts_or_styles_in_console_templates():
    offenders = [
        f"{path.name}:{n}"
        for folder in ("organiser", "auth")
        for path in sorted((ROOT / "templates" / folder).glob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"<script|style=|\son[a-z]+=|hx-on", line)
    ]
    assert offenders == []


# --- the manual -----------------------------------------------------------------------------------


def test_manual_examples_run():
    page = ROOT / "docs" / "organiser.md"
    schemas = code_blocks(page, "json option-schema")
    assert schemas, "the manual shows the schema a new event starts with"
    first = json.loads(schemas[0][1])
    assert (
        schema_editor.new_event(
            {
                "title": first["event"]["title"],
                "timezone": first["event"]["timezone"],
                "starts_on": first["event"]["starts_on"],
                "ends_on": first["event"]["ends_on"],
            }
        )
        == first
    )
    for _, body in schemas:
        assert optionschema.problems_in(json.loads(body)) == []
    people = code_blocks(page, "csv people")
    assert people
    for _, body in people:
        assert read_people_csv(body)
    [(_, listed)] = code_blocks(page, "text")
    doc = example_schema()
    doc["sections"][2]["options"][0]["capacity"] = 1
    doc["sections"][3]["fields"].append(
        {"id": "tshirt", "title": "T-shirt size", "type": "text", "required": True}
    )
    found = changes.schema_changes(example_schema(), doc, {("extras", "dinner"): 2})
    assert [f"{c.where}: {c.message}" for c in found] == listed.splitlines()
    [(_, capacities)] = code_blocks(page, "csv capacities")
    assert imports.parse_room_capacities(capacities) == {"Saal 1": 3000, "Saal G": 400}
