"""An attendee designs their experience in a real browser, with and without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import icalendar
import pytest
from playwright.sync_api import expect

from configurator import designs

SCREENSHOT = Path("/tmp/designer.png")


def save_if_no_js(page, js: bool, name: str) -> None:
    """Without JavaScript the attendee presses the form's Save button; with it, changes save."""
    if not js:
        page.get_by_role("button", name=name).click()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_attendee_designs_confirms_and_downloads_their_agenda(request, live_event, js):
    watched = request.getfixturevalue("watched_page" if js else "watched_page_nojs")
    page = watched.page
    link = live_event.invite()

    # The personal link signs the attendee in and leaves the address bar.
    page.goto(link)
    expect(page).to_have_url(re.compile(rf"/e/{live_event.slug}/design$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Commons Camp")

    # Pick a session, then one that overlaps it: the section forbids overlaps.
    repair = page.locator("#s-agenda--repair-cafe")
    repair.get_by_label("Add “Running a repair café” to my agenda").check()
    save_if_no_js(page, js, "Save “Running a repair café”")
    expect(page.locator("#s-agenda--repair-cafe")).to_contain_text("In your agenda")
    expect(page.locator("#summary")).to_contain_text("1 picked, 7 left")

    page.get_by_label("Add “Open data for neighbourhoods” to my agenda").check()
    save_if_no_js(page, js, "Save “Open data for neighbourhoods”")
    clash = page.locator("#s-agenda--open-data-101 .field-error")
    expect(clash).to_contain_text("overlaps “Running a repair café”")
    checkbox = page.get_by_label("Add “Open data for neighbourhoods” to my agenda")
    expect(checkbox).to_have_attribute(
        "aria-describedby", re.compile(r"s-agenda--open-data-101-e1")
    )
    assert set(stored(live_event)["agenda"]) == {"repair-cafe"}

    # Two more that fit, reaching the minimum of three.
    for title, dom in (
        ("Opening circle: building the agenda together", "opening"),
        ("Community mapping with OpenStreetMap", "maps"),
    ):
        page.get_by_label(f"Add “{title}” to my agenda").check()
        save_if_no_js(page, js, f"Save “{title}”")
        expect(page.locator(f"#s-agenda--{dom}")).to_contain_text("In your agenda")
    expect(page.locator("#summary")).to_contain_text("3 picked, 5 left")
    if js and not SCREENSHOT.exists():
        page.screenshot(path=str(SCREENSHOT), full_page=False)

    # SMS asks for a mobile number: with JavaScript it appears once SMS is ticked.
    phone = page.get_by_label("Mobile number")
    if js:
        expect(phone).to_be_hidden()
    else:
        expect(page.locator("#sec-channels")).to_contain_text("Only needed if you pick SMS.")
    page.get_by_label("SMS", exact=True).check()
    expect(page.get_by_label("Mobile number")).to_be_visible()

    # A malformed number is refused beside the field; the attendee fixes it.
    page.get_by_label("Mobile number").fill("call me")
    if js:
        page.get_by_label("Mobile number").press("Tab")
    save_if_no_js(page, js, "Save how we reach you during the day")
    error = page.locator("#f-channels--sms--phone-error1")
    expect(error).to_have_text("Mobile number must be a phone number such as +32 470 12 34 56")
    expect(page.get_by_label("Mobile number")).to_have_value("call me")
    expect(page.get_by_label("SMS", exact=True)).to_be_checked()
    assert "phone" not in stored(live_event).get("channels", {}).get("sms", {})

    page.get_by_label("Mobile number").fill("+32 470 12 34 56")
    if js:
        page.get_by_label("Mobile number").press("Tab")
    save_if_no_js(page, js, "Save how we reach you during the day")
    expect(page.locator("#f-channels--sms--phone-error1")).to_have_count(0)
    expect(page.get_by_label("Mobile number")).to_have_value("+32 470 12 34 56")
    wait_for(lambda: stored(live_event).get("channels") == {"sms": {"phone": "+32 470 12 34 56"}})

    page.get_by_label("Vegan").check()
    save_if_no_js(page, js, "Save preferences")
    expect(page.locator("#summary")).not_to_contain_text("Dietary needs is required")

    # Confirm, then see the agenda and download it as a calendar file.
    page.get_by_role("button", name="Confirm my design").click()
    expect(page.locator("#status")).to_contain_text("Confirmed")
    assert designs.get_design(live_event.db, attendee_id(live_event))["status"] == "confirmed"

    page.get_by_role("link", name="See my agenda and add it to my calendar").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My agenda")
    rows = page.locator("table.agenda tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Opening circle")
    expect(rows.nth(1)).to_contain_text("Running a repair café")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my agenda (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == f"{live_event.slug}-agenda.ics"
    calendar = icalendar.Calendar.from_ical(Path(download.path()).read_bytes())
    titles = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert titles == [
        "Community mapping with OpenStreetMap",
        "Opening circle: building the agenda together",
        "Running a repair café",
    ]
    assert watched.errors == []


def stored(live_event) -> dict:
    design = designs.get_design(live_event.db, attendee_id(live_event))
    return design["document"] if design else {}


def attendee_id(live_event) -> int:
    return live_event.db.execute(
        "SELECT id FROM attendees WHERE email = 'ana@example.org'"
    ).fetchone()[0]


def wait_for(condition, attempts: int = 50) -> None:
    """Poll the database a few times (an htmx save may still be on its way); no timing asserted."""
    import time

    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    assert condition()
