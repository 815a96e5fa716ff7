"""An organiser builds, imports, publishes and invites in a real browser, then is warned of a change."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, shared_file
from playwright.sync_api import expect

from configurator import accounts, attendees, designs, events


def tab(page, name: str) -> None:
    """Follow one of the event's tabs."""
    page.locator("nav.event-nav").get_by_role("link", name=name, exact=True).click()


@pytest.fixture
def organiser_account(db):
    return accounts.create_account(db, "olga@example.org", "Olga Organiser", PASSWORD)


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_organiser_builds_imports_publishes_invites_and_is_warned(
    request, live_server, db, organiser_account, js
):
    watched = request.getfixturevalue("watched_page" if js else "watched_page_nojs")
    page = watched.page
    base = live_server.url
    schedule = shared_file("31c3.xml")

    # Sign in.
    page.goto(base + "/login")
    page.get_by_label("Email").fill("olga@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your events")

    # Create an event from the small form.
    page.get_by_role("link", name="Create an event").click()
    page.locator("#new-title").fill("Congress Camp")
    page.locator("#new-timezone").fill("Europe/Berlin")
    page.locator("#new-starts").fill("2014-12-27")
    page.locator("#new-ends").fill("2014-12-27")
    page.get_by_role("button", name="Create the event").click()
    expect(page).to_have_url(re.compile(r"/events/congress-camp$"))
    expect(page.locator(".flashes")).to_contain_text("Created “Congress Camp”")

    # Build a small schema: a Meals choice section with a lunch of limited places.
    tab(page, "Schema")
    page.locator("#new-section-kind").select_option("choice")
    page.locator("#new-section-title").fill("Meals")
    page.locator("#new-section-first").fill("Dinner")
    page.get_by_role("button", name="Add section").click()
    expect(page.locator("#sections")).to_contain_text("Meals")
    page.get_by_role("link", name="Meals").click()

    # A capacity of 0 is refused beside the field, in place; what was typed stays.
    page.locator("#new-option-title").fill("Lunch")
    page.locator("#new-option-capacity").fill("0")
    page.get_by_role("button", name="Add option").click()
    error = page.locator("#options .field-error").first
    expect(error).to_contain_text("capacity must be a whole number of at least 1, got 0")
    expect(page.locator("#new-option-capacity")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-option-title")).to_have_value("Lunch")
    page.locator("#new-option-capacity").fill("2")
    page.get_by_role("button", name="Add option").click()
    if js:  # htmx swapped the region in place; without it the page was reloaded
        expect(page.locator("#options")).to_contain_text("Saved.")
    expect(page.locator("#options tbody")).to_contain_text("Lunch")

    # Import the 31C3 schedule into the agenda.
    tab(page, "Import sessions")
    page.locator("#import-file").set_input_files(str(schedule))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("main")).to_contain_text(
        "138 added, 0 updated, 0 unchanged, 4 room(s) added"
    )

    # Publish the first version.
    tab(page, "Publish")
    expect(page.locator("#publish")).to_contain_text("The first version")
    page.get_by_role("button", name="Publish as version 1").click()
    expect(page.locator(".flashes")).to_contain_text("Published version 1.")

    # Invite two attendees and see their links once.
    tab(page, "Attendees")
    page.get_by_label("Paste the CSV").fill(
        "name,email\nAna Lima,ana@example.org\nBen Okafor,ben@example.org\n"
    )
    page.get_by_role("button", name="Invite and show the links").click()
    expect(page.locator(".issued")).to_contain_text("2 personal links issued.")
    links = page.locator(".issued input.link-field")
    expect(links).to_have_count(2)
    assert links.first.input_value().startswith(base + "/a/")

    # Ben keeps a lunch in a draft; then Ana designs and confirms, taking the last lunch.
    event = events.get_event(db, "congress-camp")
    people = {
        row["name"]: attendees.get_attendee(db, row["id"])
        for row in db.execute("SELECT id, name FROM attendees WHERE event_id = ?", [event["id"]])
    }
    first_talk = events.draft(event)["sections"][0]["sessions"][0]["id"]
    designs.save_design(db, people["Ben Okafor"], {"meals": {"lunch": {}}})
    designs.save_design(
        db,
        people["Ana Lima"],
        {"meals": {"lunch": {}}, "agenda": {first_talk: {"format": "in_person"}}},
        confirm=True,
    )
    page.reload()
    expect(page.locator("#attendees")).to_contain_text("✓ confirmed")

    # The organiser lowers the lunch below the seats taken and is warned before publishing.
    tab(page, "Schema")
    page.get_by_role("link", name="Meals").click()
    page.get_by_role("link", name="Lunch").click()
    page.locator("#option-capacity").fill("1")
    page.get_by_role("button", name="Save option").click()
    if js:
        expect(page.locator("#item")).to_contain_text("Saved.")
    expect(page.locator("#option-capacity")).to_have_value("1")
    tab(page, "Publish")
    changes = page.locator(".changes")
    expect(changes).to_contain_text(
        "Meals > Lunch: capacity lowered to 1, below the 2 seats already taken: 1 attendee(s) over"
    )
    expect(page.get_by_role("alert")).to_contain_text("1 attendee design would no longer fit")
    affected = page.locator("#publish table")
    expect(affected).to_contain_text("Ana Lima")
    expect(affected).to_contain_text("this seat was among the last taken")
    expect(affected).not_to_contain_text("Ben Okafor")
    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.locator(".flashes")).to_contain_text(
        "Published version 2. 1 design(s) are marked as needing their attendee's attention."
    )
    marked = designs.get_design(db, people["Ana Lima"]["id"])
    assert marked["needs_attention"].startswith("The organiser published version 2")
    assert marked["document"]["meals"] == {"lunch": {}}  # the pick stays

    assert watched.errors == []
