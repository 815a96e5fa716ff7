"""My agenda, the .ics download and the private calendar feed; the timetable's layout."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import icalendar
import pytest
from conftest import csrf_from, example_schema
from test_attendee import sign_in

from configurator import agenda, events
from configurator.compiler import CompiledSchema
from configurator.optionschema import parse_instant


@pytest.fixture
def ana(client, db, attendee):
    event = attendee.event()
    designer = sign_in(client, db, event)
    for session in ("opening", "repair-cafe", "day2-opening"):
        assert (
            designer.pick(
                session, fmt="online" if session == "repair-cafe" else "in_person"
            ).status_code
            == 303
        )
    return designer


def events_of(ics: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ics)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_agenda_page_lists_picks_in_time_order_with_room_and_format(ana):
    html = ana.client.get(f"/e/{ana.slug}/agenda").get_data(as_text=True)
    order = [html.index(t) for t in ("Opening circle", "Running a repair café", "Day two")]
    assert order == sorted(order)
    row = html[html.index("Running a repair café") :]
    row = row[: row.index("</tr>")]
    assert "Atelier" in row and "Online" in row
    assert html.count("<table") == 2  # one per day


def test_ics_has_the_right_instants_in_the_event_zone(ana, db):
    response = ana.client.get(f"/e/{ana.slug}/agenda.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]
    found = events_of(response.data)
    doc = example_schema()
    sessions = {s["id"]: s for s in doc["sections"][0]["sessions"]}
    assert set(found) == {
        f"{ana.id}-agenda-{s}@configurator" for s in ("opening", "repair-cafe", "day2-opening")
    }
    for sid in ("opening", "repair-cafe", "day2-opening"):
        event = found[f"{ana.id}-agenda-{sid}@configurator"]
        start = event.decoded("DTSTART")
        assert start == parse_instant(sessions[sid]["start"])
        assert str(start.tzinfo) == "Europe/Brussels"
        assert event["DTSTART"].params["TZID"] == "Europe/Brussels"
        assert event.decoded("DTEND") == parse_instant(sessions[sid]["end"])
        assert str(event["SUMMARY"]) == sessions[sid]["title"]
        assert event.decoded("DTSTAMP").tzinfo is not None
    repair = found[f"{ana.id}-agenda-repair-cafe@configurator"]
    assert str(repair["LOCATION"]) == "Atelier"
    assert "Format: Online" in str(repair["DESCRIPTION"])


def test_ics_escapes_commas_semicolons_and_newlines(client, db):
    doc = example_schema()
    doc["event"]["slug"] = "odd-camp"
    odd = "Maps, data; and\nmore"
    doc["sections"][0]["sessions"][0]["title"] = odd
    doc["sections"][0]["rooms"][0]["title"] = "Hall A; upstairs, left"
    created = events.create_event(db, doc)
    events.publish(db, created["slug"])
    ana = sign_in(client, db, events.get_event(db, "odd-camp"))
    ana.pick("opening")
    raw = client.get("/e/odd-camp/agenda.ics").data
    unfolded = raw.replace(b"\r\n ", b"")
    assert b"SUMMARY:Maps\\, data\\; and\\nmore" in unfolded
    assert b"LOCATION:Hall A\\; upstairs\\, left" in unfolded
    (event,) = events_of(raw).values()
    assert str(event["SUMMARY"]) == odd
    assert str(event["LOCATION"]) == "Hall A; upstairs, left"


def test_uids_are_stable_across_downloads(ana):
    first = events_of(ana.client.get(f"/e/{ana.slug}/agenda.ics").data)
    second = events_of(ana.client.get(f"/e/{ana.slug}/agenda.ics").data)
    assert set(first) == set(second) and len(first) == 3


def test_feed_works_without_cookies_and_stops_after_a_new_one(ana, app):
    page = ana.client.get(f"/e/{ana.slug}/agenda").get_data(as_text=True)
    csrf = csrf_from(page)
    response = ana.client.post(f"/e/{ana.slug}/agenda/feed", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.location.endswith("/agenda#feed")
    shown = ana.client.get(response.location).get_data(as_text=True)
    url = re.search(r'id="feed-url"[^>]*value="([^"]+)"', shown).group(1)
    assert "shown only this once" in shown
    again = ana.client.get(f"/e/{ana.slug}/agenda").get_data(as_text=True)
    assert url not in again
    path = url.removeprefix("http://localhost")
    assert re.fullmatch(r"/feed/[A-Za-z0-9_-]+\.ics", path)
    stranger = app.test_client()  # no cookie at all
    feed = stranger.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert "private" in feed.headers["Cache-Control"]
    assert len(events_of(feed.data)) == 3
    htmx = ana.client.post(
        f"/e/{ana.slug}/agenda/feed", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 200
    newer = re.search(r'id="feed-url"[^>]*value="([^"]+)"', htmx.get_data(as_text=True)).group(1)
    assert newer != url
    assert stranger.get(path).status_code == 404
    assert stranger.get(newer.removeprefix("http://localhost")).status_code == 200


def test_feed_follows_changes(ana, app):
    csrf = csrf_from(ana.client.get(f"/e/{ana.slug}/agenda").get_data(as_text=True))
    ana.client.post(f"/e/{ana.slug}/agenda/feed", data={"csrf_token": csrf})
    page = ana.client.get(f"/e/{ana.slug}/agenda").get_data(as_text=True)
    path = re.search(r'value="http://localhost(/feed/[^"]+)"', page).group(1)
    ana.unpick("opening")
    assert len(events_of(app.test_client().get(path).data)) == 2


def test_calendar_of_an_empty_design_is_valid():
    schema = CompiledSchema(example_schema())
    ics = agenda.calendar(schema, 7, {}, datetime(2027, 1, 1, tzinfo=UTC))
    assert icalendar.Calendar.from_ical(ics).walk("VEVENT") == []


# --- the timetable -----------------------------------------------------------------------------


def test_rooms_become_columns_and_overlaps_in_one_room_get_their_own_lane():
    doc = example_schema()
    sessions = doc["sections"][0]["sessions"]
    clash = dict(sessions[1], id="clash", title="Same room, same time")
    sessions.append(clash)
    schema = CompiledSchema(doc)
    table = agenda.timetable(schema, "agenda")
    assert agenda.timetable(schema, "agenda") is table  # derived once per version
    grid = table.grid(table.days[0])
    assert grid.fits
    assert [(title, width) for title, _col, width in grid.columns] == [
        ("Main hall", 2),
        ("Atelier", 1),
        ("Garden room", 1),
    ]
    where = {p.slot.id: p for p in grid.placed}
    assert where["opening"].row == 2  # 09:30, the first row under the room names
    assert where["opening"].span == 6  # 30 minutes of 5-minute rows
    assert where["open-data-101"].column != where["clash"].column
    assert where["repair-cafe"].column == 4
    assert grid.times[0] == ("09:30", 2)


def test_filters_read_from_query_arguments():
    schema = CompiledSchema(example_schema())
    table = agenda.timetable(schema, "agenda")
    filters = agenda.Filters.from_args({"day": "1999-01-01", "q": " Repair "}, table.days)
    assert filters.day == table.days[0]
    assert [s.id for s in agenda.shown(table, filters)] == ["repair-cafe"]
    assert filters.args(day="x") == {"day": "x", "q": "Repair"}


def test_plain_text_strips_imported_markup():
    assert agenda.plain_text("<p>One &amp; two</p><p>Three</p>") == "One & two\nThree"


def test_calendars_made_from_parts_are_the_bytes_calendar_writes():
    """The export's Calendars serialises each session once; every attendee's file must still be
    exactly what icalendar writes for them, and icalendar must read it back."""
    import random

    doc = example_schema()
    sessions = doc["sections"][0]["sessions"]
    sessions[0]["title"] = "Maps, data; and\nmore " + "long " * 30
    sessions[1]["id"] = "an-id-long-enough-that-the-uid-line-folds-" + "x" * 40
    sessions[2]["description"] = "<p>Über <b>alles</b></p>" + " ünïcödé 🎉" * 20
    schema = CompiledSchema(doc, 3)
    table = agenda.timetable(schema, "agenda")
    slots = list(table.by_id.values())
    made = agenda.Calendars(schema)
    rng = random.Random(12)
    for attendee_id in [1, 7, 99_999, 10**12]:
        for _ in range(8):
            chosen = rng.sample(slots, k=rng.randint(0, len(slots)))
            design = {
                "agenda": {
                    s.id: ({"format": rng.choice(s.formats).id} if rng.random() < 0.9 else {})
                    for s in chosen
                }
            }
            modified = datetime(2027, 1, 1, rng.randint(0, 23), tzinfo=UTC)
            expected = agenda.calendar(schema, attendee_id, design, modified)
            assert made(attendee_id, design, modified) == expected
            assert len(events_of(expected)) == len(chosen)
    assert made.head is not None and all(parts for parts in made.events.values())
