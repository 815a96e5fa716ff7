"""A staff member signs in, reads the dashboard, cannot change anything, downloads every export."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import icalendar
import openpyxl
import pytest
from playwright.sync_api import expect

from configurator import accounts, attendees, designs, exports

PASSWORD = "correct horse battery"
EVIL = "=cmd|' /C calc'!A0"


def seed_designs(live_event) -> dict[int, dict]:
    """Three attendees with designs, one of them with a formula for a name."""
    saved = {}
    for n, (name, channel) in enumerate(
        [(EVIL, {"email": {}}), ("Bo Brown", {"sms": {"phone": "+32 470 12 34 56"}}), ("Cy", {})]
    ):
        person = attendees.invite(live_event.db, live_event.event["id"], name, f"p{n}@example.org")
        document = {
            "agenda": {
                "opening": {"format": "in_person"},
                "maps": {"format": ["in_person", "online", "recording"][n]},
                "closing": {"format": "online"},
            },
            "channels": channel or {"app": {}},
            "preferences": {"diet": ["vegan", "none", "vegetarian"][n]},
        }
        designs.save_design(live_event.db, person.attendee, document, confirm=n < 2)
        saved[person.attendee["id"]] = document
    return saved


def sign_in(page, live_event, email: str) -> None:
    page.goto(live_event.url("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/events$"))


def staff_with_designs(page, live_event) -> dict[int, dict]:
    """Seed the designs, and sign a new staff member of the event in; return the designs."""
    saved = seed_designs(live_event)
    staff_id = accounts.create_account(live_event.db, "sam@example.org", "Sam Staff", PASSWORD)
    accounts.grant(live_event.db, live_event.event["id"], staff_id, "staff")
    sign_in(page, live_event, "sam@example.org")
    return saved


def test_staff_reads_the_dashboard_changes_nothing_and_downloads_every_export(
    watched_page, live_event, tmp_path
):
    page = watched_page.page
    saved = staff_with_designs(page, live_event)

    # The dashboard: charts with titles and the same numbers in tables.
    page.goto(live_event.url(f"/events/{live_event.slug}/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Demand for Commons Camp")
    funnel = page.get_by_role("table", name="Participation funnel")
    expect(funnel.get_by_role("row", name=re.compile("Started a design"))).to_contain_text("3")
    expect(funnel.get_by_role("row", name=re.compile("Confirmed"))).to_contain_text("2")
    expect(page.get_by_role("img", name=re.compile("Participation funnel"))).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile("Seats wanted against capacity"))
    ).to_be_visible()
    maps = page.locator("#demand-agenda-maps")
    expect(maps).to_contain_text("1 want it, the room holds 30")
    diet = page.get_by_role("table", name="Answers to Dietary needs")
    expect(diet.get_by_role("row", name=re.compile("^Vegan"))).to_contain_text("1")

    # Nothing to edit: no form, field or button in the page's main part.
    for selector in ("main form", "main input", "main select", "main textarea", "main button"):
        expect(page.locator(selector)).to_have_count(0)

    # Refreshing (htmx) swaps the figures in place.
    page.get_by_role("link", name="Refresh the figures").click()
    expect(page.locator("#dashboard")).to_have_count(1)
    expect(page.get_by_role("table", name="Participation funnel")).to_be_visible()

    # Organiser routes refuse a staff member's POST, even with a valid CSRF token.
    token = page.locator("body").get_attribute("hx-headers")
    csrf = json.loads(token)["X-CSRFToken"]
    for path in ("publish", "window", "attendees", "schema/event"):
        response = page.request.post(
            live_event.url(f"/events/{live_event.slug}/{path}"),
            form={"csrf_token": csrf},
            max_redirects=0,
        )
        assert response.status == 403, path

    # Every export downloads from the exports page and parses.
    page.goto(live_event.url(f"/events/{live_event.slug}/exports"))
    # The only forms prepare an export file; none of them changes the event.
    actions = page.locator("main form").evaluate_all("forms => forms.map(f => f.action)")
    assert len(actions) == len(exports.FORMATS)
    assert all(action.endswith("/prepare") for action in actions)
    files = {}
    for fmt, spec in exports.FORMATS.items():
        with page.expect_download() as info:
            page.locator(f"#export-{fmt}").get_by_role("link").click()
        download = info.value
        assert download.suggested_filename == f"{live_event.slug}-{fmt}.{spec.extension}"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        files[fmt] = target.read_bytes()

    wide = list(csv.DictReader(io.StringIO(files["csv-wide"].decode("utf-8-sig"))))
    assert {row["name"] for row in wide} == {"'" + EVIL, "Bo Brown", "Cy"}
    assert {row["channels/sms/phone"] for row in wide} == {"", "'+32 470 12 34 56"}
    long = list(csv.DictReader(io.StringIO(files["csv-long"].decode("utf-8-sig"))))
    assert len([r for r in long if r["section"] == "agenda"]) == 9
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"]), read_only=True)
    assert book.sheetnames[0] == "Your agenda"
    items = json.loads(files["json"])
    assert {item["attendee"]["id"]: item["design"] for item in items} == saved
    roster = list(csv.DictReader(io.StringIO(files["roster"].decode("utf-8-sig"))))
    assert {(r["session"], r["seat"]) for r in roster if r["session"] == "maps"} == {
        ("maps", "seated"),
        ("maps", "no seat"),
    }
    channels = list(csv.DictReader(io.StringIO(files["channels"].decode("utf-8-sig"))))
    assert {r["option"] for r in channels} == {"email", "sms", "app"}
    archive = zipfile.ZipFile(io.BytesIO(files["ics-zip"]))
    assert len(archive.namelist()) == 3
    calendar = icalendar.Calendar.from_ical(archive.read(archive.namelist()[0]))
    assert len(list(calendar.walk("VEVENT"))) == 3

    # One channel list, from its own link.
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"How we reach you.*: SMS")).click()
    sms = info.value.path().read_bytes().decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(sms)))[0]["sms/phone"] == "'+32 470 12 34 56"

    # A printable roster.
    page.goto(live_event.url(f"/events/{live_event.slug}/rosters"))
    page.get_by_role("link", name="Community mapping with OpenStreetMap").click()
    expect(page.get_by_role("heading", name=re.compile(r"Seated \(1\)"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"Without a seat \(2\)"))).to_be_visible()
    expect(page.locator("main")).to_contain_text(EVIL)
    assert watched_page.errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_staff_prepares_a_long_export_and_watches_it_finish(
    watched_page, watched_page_nojs, live_event, tmp_path, javascript
):
    watched = watched_page if javascript else watched_page_nojs
    page = watched.page
    saved = staff_with_designs(page, live_event)
    page.goto(live_event.url(f"/events/{live_event.slug}/exports"))
    page.get_by_role("button", name=re.compile(r"^Prepare Complete designs \(JSON\)")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Export of Commons Camp")
    # htmx polls, or the page reloads itself without JavaScript, until the file is there.
    expect(page.get_by_text("The export is ready.")).to_be_visible(timeout=15_000)
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Download {live_event.slug}-json.json").click()
    target = tmp_path / "prepared.json"
    info.value.save_as(target)
    items = json.loads(target.read_text())
    assert {item["attendee"]["id"]: item["design"] for item in items} == saved
    assert watched.errors == []
