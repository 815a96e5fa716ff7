"""Schedule imports: frab XML from pretalx/frab/FOSDEM, CSV, JSON, room capacities, re-import."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator import imports
from configurator.errors import ImportFailed
from configurator.imports import (
    ImportedSchedule,
    ImportReport,
    merge_into_section,
    parse_room_capacities,
    widen_event_days,
)
from configurator.imports.csv_format import parse_csv
from configurator.imports.frab import parse_frab
from configurator.imports.json_format import parse_json
from configurator.optionschema import day_of

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = Path(__file__).resolve().parents[2] / "shared" / "data" / "schedules"
META_SCHEMA = json.loads((ROOT / "schemas" / "option-schema.schema.json").read_text())
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))


def schedule_bytes(name: str) -> bytes:
    """A published schedule from ../shared; skipped when absent, except in CI where it must be."""
    path = SCHEDULES / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing; CI must provide the shared schedules")
        pytest.skip(f"{path} is absent (the shared schedules sit beside the repository)")
    return path.read_bytes()


_parsed: dict[str, ImportedSchedule] = {}


def published(name: str) -> ImportedSchedule:
    """A published schedule, parsed once per test run (tests copy before they change it)."""
    if name not in _parsed:
        _parsed[name] = parse_frab(schedule_bytes(name))
    return _parsed[name]


def empty_section() -> dict[str, Any]:
    return {
        "id": "talks",
        "kind": "sessions",
        "title": "Talks",
        "overlap": "warn",
        "formats": [
            {"id": "in_person", "title": "In person", "seated": True},
            {"id": "online", "title": "Online", "seated": False},
        ],
    }


def schema_errors(section: dict[str, Any], days: list[str]) -> list[str]:
    """Every meta-schema error of a minimal option schema holding this one section."""
    doc = {
        "format": "configurator/option-schema/1",
        "event": {
            "slug": "x",
            "title": "X",
            "timezone": "Europe/Brussels",
            "starts_on": days[0],
            "ends_on": days[-1],
        },
        "sections": [section],
    }
    validator = jsonschema.Draft202012Validator(META_SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def assert_instant(text: str, expected: datetime) -> None:
    """The stored string is the expected instant, written with the expected local offset."""
    assert datetime.fromisoformat(text) == expected
    assert datetime.fromisoformat(text).utcoffset() == expected.utcoffset()
    assert text == expected.isoformat(timespec="seconds")


def by_id(schedule: ImportedSchedule) -> dict[str, dict[str, Any]]:
    return {session["id"]: session for session in schedule.sessions}


def snapshot(section: dict[str, Any]) -> str:
    return json.dumps(section, sort_keys=True)


def frab(*events: str, day_end: str = "2025-02-02T04:00:00+01:00", conference: str = "") -> bytes:
    """A small frab document: one day, one room, the given events."""
    return (
        "<?xml version='1.0' encoding='utf-8'?><schedule>"
        f"<conference><title>Mini</title>{conference}</conference>"
        f"<day date='2025-02-01' start='2025-02-01T09:00:00+01:00' end='{day_end}'>"
        f"<room name='Main Hall'>{''.join(events)}</room></day></schedule>"
    ).encode()


def event(
    event_id: str = "1",
    guid: str = "g-1",
    start: str = "2025-02-01T10:00:00+01:00",
    duration: str = "00:30",
    title: str = "Talk",
    extra: str = "",
) -> str:
    return (
        f"<event guid='{guid}' id='{event_id}'><date>{start}</date>"
        f"<duration>{duration}</duration><room>Main Hall</room><title>{title}</title>"
        f"{extra}</event>"
    )


def problems_of(error: pytest.ExceptionInfo[ImportFailed]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in error.value.problems]


# --- the published schedules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sessions", "rooms", "days"),
    [("31c3.xml", 138, 4, 4), ("fosdem-2025.xml", 943, 40, 2), ("fosdem-2026.xml", 883, 30, 2)],
)
def test_published_schedules_are_read_whole(
    name: str, sessions: int, rooms: int, days: int
) -> None:
    schedule = published(name)
    assert len(schedule.sessions) == sessions
    assert len(schedule.rooms) == rooms
    assert len(schedule.days) == days
    assert len({s["id"] for s in schedule.sessions}) == sessions
    assert len({r["id"] for r in schedule.rooms}) == rooms
    assert {s["room"] for s in schedule.sessions} <= {r["id"] for r in schedule.rooms}


def test_31c3_conference_facts() -> None:
    schedule = published("31c3.xml")
    assert schedule.title == "31. Chaos Communication Congress"
    assert schedule.timezone is None
    assert schedule.days == ["2014-12-27", "2014-12-28", "2014-12-29", "2014-12-30"]
    assert schedule.day_change == "04:00"
    assert schedule.rooms == [
        {"id": "saal-1", "title": "Saal 1"},
        {"id": "saal-2", "title": "Saal 2"},
        {"id": "saal-g", "title": "Saal G"},
        {"id": "saal-6", "title": "Saal 6"},
    ]


@pytest.mark.parametrize(
    ("name", "title", "days"),
    [
        ("fosdem-2025.xml", "FOSDEM 2025", ["2025-02-01", "2025-02-02"]),
        ("fosdem-2026.xml", "FOSDEM 2026", ["2026-01-31", "2026-02-01"]),
    ],
)
def test_fosdem_conference_facts(name: str, title: str, days: list[str]) -> None:
    schedule = published(name)
    assert schedule.title == title
    assert schedule.timezone == "Europe/Brussels"
    assert schedule.days == days
    # Days nominally end at 08:59 the next morning, but nothing starts after midnight.
    assert schedule.day_change is None
    assert {"id": "h-1302-depage", "title": "H.1302 (Depage)"} in schedule.rooms


@pytest.mark.parametrize(
    ("name", "session_id", "start", "end"),
    [
        ("31c3.xml", "6561", datetime(2014, 12, 27, 11, 0, tzinfo=CET), datetime(2014, 12, 27, 11, 30, tzinfo=CET)),
        ("31c3.xml", "6264", datetime(2014, 12, 27, 12, 45, tzinfo=CET), datetime(2014, 12, 27, 13, 45, tzinfo=CET)),
        # Ends at midnight: the end date is the next day.
        ("31c3.xml", "6531", datetime(2014, 12, 27, 23, 0, tzinfo=CET), datetime(2014, 12, 28, 0, 0, tzinfo=CET)),
        # Listed under day 2014-12-27, starting after midnight.
        ("31c3.xml", "6581", datetime(2014, 12, 28, 0, 0, tzinfo=CET), datetime(2014, 12, 28, 2, 15, tzinfo=CET)),
        ("31c3.xml", "6109", datetime(2014, 12, 29, 0, 15, tzinfo=CET), datetime(2014, 12, 29, 1, 45, tzinfo=CET)),
        ("fosdem-2025.xml", "6103", datetime(2025, 2, 1, 13, 0, tzinfo=CET), datetime(2025, 2, 1, 13, 25, tzinfo=CET)),
        ("fosdem-2025.xml", "4506", datetime(2025, 2, 2, 9, 20, tzinfo=CET), datetime(2025, 2, 2, 9, 40, tzinfo=CET)),
        ("fosdem-2025.xml", "5831", datetime(2025, 2, 2, 16, 30, tzinfo=CET), datetime(2025, 2, 2, 16, 55, tzinfo=CET)),
        ("fosdem-2026.xml", "8376", datetime(2026, 1, 31, 9, 30, tzinfo=CET), datetime(2026, 1, 31, 9, 50, tzinfo=CET)),
        ("fosdem-2026.xml", "7886", datetime(2026, 1, 31, 10, 0, tzinfo=CET), datetime(2026, 1, 31, 10, 50, tzinfo=CET)),
        ("fosdem-2026.xml", "9301", datetime(2026, 2, 1, 13, 45, tzinfo=CET), datetime(2026, 2, 1, 14, 5, tzinfo=CET)),
        ("fosdem-2026.xml", "9003", datetime(2026, 2, 1, 13, 20, tzinfo=CET), datetime(2026, 2, 1, 13, 40, tzinfo=CET)),
    ],
)  # fmt: skip
def test_published_sessions_keep_exact_instants(
    name: str, session_id: str, start: datetime, end: datetime
) -> None:
    session = by_id(published(name))[session_id]
    assert_instant(session["start"], start)
    assert_instant(session["end"], end)


def test_31c3_sessions_after_midnight_belong_to_the_evening_before() -> None:
    schedule = published("31c3.xml")
    sessions = by_id(schedule)
    berlin = ZoneInfo("Europe/Berlin")
    assert schedule.day_change is not None
    film = datetime.fromisoformat(sessions["6581"]["start"])
    news = datetime.fromisoformat(sessions["6109"]["start"])
    assert day_of(film, berlin, schedule.day_change) == date(2014, 12, 27)
    assert day_of(news, berlin, schedule.day_change) == date(2014, 12, 28)
    assert day_of(film, berlin, "00:00") == date(2014, 12, 28)


def test_published_session_fields() -> None:
    sessions = by_id(published("31c3.xml"))
    assert sessions["6561"] == {
        "id": "6561",
        "title": "31C3 Opening Event",
        "start": "2014-12-27T11:00:00+01:00",
        "end": "2014-12-27T11:30:00+01:00",
        "room": "saal-1",
        "track": "CCC",
        "tags": ["lecture"],
        "speakers": ["erdgeist", "Geraldine de Bastion"],
        "language": "en",
        "source": {"system": "frab", "key": "29aecfd7-2e44-4f49-ab86-29b5e0877325"},
    }
    keynote = sessions["6571"]
    assert keynote["subtitle"] == "A New Dawn"
    assert keynote["description"] == "The 31C3 Keynote\n\nA New Dawn"
    assert sessions["6264"]["track"] == "Ethics, Society & Politics"
    assert sessions["6264"]["source"] == {"system": "frab", "key": "HOqeNIb6G7M4hYFKFRkCmQ"}
    fosdem = by_id(published("fosdem-2026.xml"))["9003"]
    assert fosdem["room"] == "ud2-208-decroly"
    assert fosdem["speakers"] == ["Philippe Ombredanne", "Steve Springett"]
    assert fosdem["track"] == "SBOMS and supply chains"
    assert fosdem["tags"] == ["devroom"]


@pytest.mark.parametrize("name", ["31c3.xml", "fosdem-2025.xml", "fosdem-2026.xml"])
def test_published_import_validates_against_the_meta_schema(name: str) -> None:
    schedule = published(name)
    section = empty_section()
    report = merge_into_section(section, schedule)
    assert report == ImportReport(
        added=len(schedule.sessions), updated=0, unchanged=0, rooms_added=len(schedule.rooms)
    )
    assert schema_errors(section, schedule.days) == []


@pytest.mark.parametrize("name", ["31c3.xml", "fosdem-2025.xml", "fosdem-2026.xml"])
def test_reimport_is_unchanged_and_byte_identical(name: str) -> None:
    data = schedule_bytes(name)
    section = empty_section()
    merge_into_section(section, parse_frab(data))
    before = snapshot(section)
    report = merge_into_section(section, parse_frab(data))
    count = len(section["sessions"])
    assert report == ImportReport(added=0, updated=0, unchanged=count, rooms_added=0)
    assert snapshot(section) == before


def test_changed_title_is_an_update_that_keeps_organiser_fields() -> None:
    data = schedule_bytes("31c3.xml")
    section = empty_section()
    merge_into_section(section, parse_frab(data))
    position = next(i for i, s in enumerate(section["sessions"]) if s["id"] == "6561")
    section["sessions"][position].update(capacity=40, formats=["online"], cost=2)
    order = [s["id"] for s in section["sessions"]]
    changed = data.replace(b"<title>31C3 Opening Event</title>", b"<title>31C3 Opening</title>")
    assert changed != data
    report = merge_into_section(section, parse_frab(changed))
    assert report == ImportReport(added=0, updated=1, unchanged=137, rooms_added=0)
    assert [s["id"] for s in section["sessions"]] == order
    session = section["sessions"][position]
    assert session["title"] == "31C3 Opening"
    assert (session["capacity"], session["formats"], session["cost"]) == (40, ["online"], 2)
    assert schema_errors(section, ["2014-12-27", "2014-12-30"]) == []


def test_truncated_published_file_is_refused_cleanly() -> None:
    data = schedule_bytes("31c3.xml")
    for cut in range(1, len(data) - 20, len(data) // 40):
        with pytest.raises(ImportFailed) as error:
            parse_frab(data[:cut])
        assert error.value.problems or error.value.message


# --- frab details --------------------------------------------------------------------------------


def test_frab_durations_and_zero_length_sessions() -> None:
    schedule = parse_frab(
        frab(
            event("1", "g-1", duration="00:00"),
            event("2", "g-2", duration="1:02:00"),
            event("3", "g-3", duration="01:30:00"),
            event("4", "g-4", duration="25:00"),
        )
    )
    ends = {s["id"]: s["end"] for s in schedule.sessions}
    assert ends == {
        "1": "2025-02-01T10:05:00+01:00",
        "2": "2025-02-02T12:00:00+01:00",
        "3": "2025-02-01T11:30:00+01:00",
        "4": "2025-02-02T11:00:00+01:00",
    }


def test_frab_end_crossing_daylight_saving_gets_the_summer_offset() -> None:
    conference = "<time_zone_name>Europe/Brussels</time_zone_name>"
    data = frab(event(start="2025-03-30T01:30:00+01:00", duration="02:00"), conference=conference)
    session = parse_frab(data).sessions[0]
    assert_instant(session["start"], datetime(2025, 3, 30, 1, 30, tzinfo=CET))
    assert_instant(session["end"], datetime(2025, 3, 30, 4, 30, tzinfo=CEST))


def test_frab_local_date_without_offset_uses_the_given_zone() -> None:
    data = frab(event(start="2025-02-01T10:00:00"))
    with pytest.raises(ImportFailed) as error:
        parse_frab(data)
    assert "has no UTC offset" in problems_of(error)[0][1]
    session = parse_frab(data, "Europe/Brussels").sessions[0]
    assert session["start"] == "2025-02-01T10:00:00+01:00"


def test_frab_ids_titles_and_text_are_made_to_fit() -> None:
    long_title = "T" * 400
    extra = (
        "<subtitle>  two\n  lines </subtitle><abstract>Same</abstract>"
        "<description>Same</description><persons><person>  </person><person>Ana</person></persons>"
    )
    schedule = parse_frab(
        frab(
            event("not an id", "Mw1wjnNzwxzSkM3Ip5Lg0g", title=long_title, extra=extra),
            event("7", "g-7"),
            event("7", "g-8"),
        )
    )
    first, second, third = schedule.sessions
    assert first["id"] == "mw1wjnnzwxzskm3ip5lg0g"
    assert first["source"] == {"system": "frab", "key": "Mw1wjnNzwxzSkM3Ip5Lg0g"}
    assert len(first["title"]) == 300 and first["title"].endswith("…")
    assert first["subtitle"] == "two lines"
    assert first["description"] == "Same"
    assert first["speakers"] == ["Ana"]
    assert (second["id"], third["id"]) == ("7", "7-2")


def test_frab_room_ids_are_unique_slugs() -> None:
    data = (
        "<schedule><day date='2025-02-01'>"
        "<room name='Saal 1'>" + event("1", "g1") + "</room>"
        "<room name='saal-1'>" + event("2", "g2") + "</room>"
        "<room name='Café Ü'>" + event("3", "g3") + "</room>"
        "<room name='会议室'>" + event("4", "g4") + "</room>"
        "</day></schedule>"
    ).encode()
    rooms = parse_frab(data).rooms
    assert [r["id"] for r in rooms] == ["saal-1", "saal-1-2", "cafe-u", "room"]
    assert [r["title"] for r in rooms] == ["Saal 1", "saal-1", "Café Ü", "会议室"]


def test_frab_day_change_only_when_sessions_start_after_midnight() -> None:
    late = event("2", "g-2", start="2025-02-02T00:30:00+01:00")
    assert parse_frab(frab(event(), late)).day_change == "04:00"
    assert parse_frab(frab(event())).day_change is None
    assert parse_frab(frab(event(), day_end="2025-02-01T23:00:00+01:00")).day_change is None


def test_frab_problems_are_collected_and_name_the_event() -> None:
    data = frab(
        event("1", "g-1", start="2025-02-30T10:00:00+01:00"),
        event("2", "g-2", duration="half an hour"),
        event("3", "g-3", title=""),
        "<event><date>2025-02-01T10:00:00+01:00</date><duration>00:10</duration>"
        "<title>Anonymous</title></event>",
    )
    with pytest.raises(ImportFailed) as error:
        parse_frab(data)
    assert error.value.message == "The frab schedule has 4 problems."
    assert problems_of(error) == [
        ('event 1 "Talk"', '<date>: "2025-02-30T10:00:00+01:00" is not a real date and time.'),
        ('event 2 "Talk"', 'the duration "half an hour" is not written as HH:MM.'),
        ("event 3", "the event has no title."),
        ('event (no id) "Anonymous"', "the event has neither an id nor a guid."),
    ]


def test_malformed_xml_names_the_place() -> None:
    with pytest.raises(ImportFailed) as error:
        parse_frab(b"<schedule>\n<day date='2025-02-01'>\n<room name='A'></day></schedule>")
    assert error.value.message == "The file is not well-formed XML."
    path, message = problems_of(error)[0]
    assert path == "line 3, column 18"  # where the name in </day> begins
    assert message == "the XML is not well-formed here: mismatched tag."


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><schedule>&lol2;</schedule>',
        b'<!DOCTYPE schedule SYSTEM "file:///etc/passwd"><schedule/>',
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x><schedule/>'.encode("utf-16"),
    ],
)
def test_document_type_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(ImportFailed) as error:
        parse_frab(data)
    assert "refused for safety" in error.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \n", "The file is empty."),
        (b"<html><body/></html>", "The XML file is not a frab schedule: its root element is <html>, not <schedule>."),
        (b"<schedule><conference/></schedule>", "The frab schedule contains no events."),
    ],
)  # fmt: skip
def test_frab_files_that_are_not_schedules(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed) as error:
        parse_frab(data)
    assert error.value.message == message


# --- CSV -----------------------------------------------------------------------------------------

CSV_HEADER = (
    "id,title,start,end,duration,room,track,tags,speakers,capacity,description,language,formats"
)


def test_csv_happy_path() -> None:
    text = (
        "\ufeff" + CSV_HEADER + "\n"
        "k1,Keynote,2025-02-01T09:00+01:00,2025-02-01T10:00:00+01:00,,Main hall,Main,plenary; talk,"
        'Ana Lima; Ben Okafor,200,"Two\nlines",en,in_person;online\n'
        "\n"
        "w1,Workshop,2025-02-01 11:00,,90,Atelier,,,,,,,\n"
        "w2,Late,2025-03-30 01:30,,1:30,atelier,,,,,,,\n"
        "u1,In UTC,2025-02-02T08:00Z,2025-02-02T09:00Z,,MAIN HALL,,,,,,,\n"
    )
    schedule = parse_csv(text, "Europe/Brussels")
    assert schedule.rooms == [
        {"id": "main-hall", "title": "Main hall"},
        {"id": "atelier", "title": "Atelier"},
    ]
    assert schedule.days == ["2025-02-01", "2025-02-02", "2025-03-30"]
    assert schedule.timezone == "Europe/Brussels"
    k1, w1, w2, u1 = schedule.sessions
    assert k1 == {
        "id": "k1",
        "title": "Keynote",
        "description": "Two\nlines",
        "start": "2025-02-01T09:00:00+01:00",
        "end": "2025-02-01T10:00:00+01:00",
        "room": "main-hall",
        "track": "Main",
        "tags": ["plenary", "talk"],
        "speakers": ["Ana Lima", "Ben Okafor"],
        "language": "en",
        "capacity": 200,
        "formats": ["in_person", "online"],
        "source": {"system": "csv", "key": "k1"},
    }
    assert (w1["start"], w1["end"], w1["room"]) == (
        "2025-02-01T11:00:00+01:00",
        "2025-02-01T12:30:00+01:00",
        "atelier",
    )
    assert_instant(w2["end"], datetime(2025, 3, 30, 4, 0, tzinfo=CEST))
    assert (u1["start"], u1["room"]) == ("2025-02-02T08:00:00+00:00", "main-hall")
    section = empty_section()
    merge_into_section(section, schedule)
    assert schema_errors(section, schedule.days) == []


def test_csv_with_semicolons_is_read() -> None:
    schedule = parse_csv("id;title;start;duration\nx;Y;2025-02-01T09:00+01:00;45\n")
    assert schedule.sessions[0]["end"] == "2025-02-01T09:45:00+01:00"


def test_csv_collects_every_row_problem() -> None:
    text = (
        "id,title,start,end,duration,room,capacity,formats\n"
        "a,,2025-13-01 09:00,,,,,\n"
        "a,T,2025-02-01 09:00,2025-02-01 08:00,,,,\n"
        "b bad,T,2025-03-30 02:30,,45,,0,\n"
        "c,T,2025-02-01T09:00+01:00,2025-02-01T10:00+01:00,30,,,\n"
        "d,T,2025-02-01T09:00+01:00,,soon,,many,in person\n"
        "e,T,2025-02-01T09:00+01:00,2025-02-01T09:00+01:00,,,,x;x\n"
        "f,T,2025-02-01T09:00+01:00,,0,,,,surplus\n"
    )
    with pytest.raises(ImportFailed) as error:
        parse_csv(text, "Europe/Brussels")
    assert error.value.message == "The CSV file has 15 problems."
    assert problems_of(error) == [
        ('line 2, column "title"', "the title is empty."),
        ('line 2, column "start"', '"2025-13-01 09:00" is not a real date and time.'),
        ('line 2, column "end"', "the session has neither an end nor a duration."),
        ('line 3, column "id"', 'the id "a" is already used on line 2.'),
        ('line 3, column "end"', "the session ends (2025-02-01 08:00) before it starts (2025-02-01 09:00)."),
        ('line 4, column "id"', '"b bad" is not a usable id: use up to 80 letters, digits, dots, dashes or underscores, starting with a letter or digit.'),
        ('line 4, column "start"', '"2025-03-30 02:30" does not exist in Europe/Brussels: the clocks skip that hour.'),
        ('line 4, column "capacity"', '"0" is not a capacity; write a whole number from 1 to 1000000.'),
        ('line 5, column "duration"', "the end (2025-02-01T10:00+01:00) and the duration (30) disagree; give one of them."),
        ('line 6, column "duration"', '"soon" is not a duration; write minutes (45) or hours and minutes (1:30).'),
        ('line 6, column "capacity"', '"many" is not a capacity; write a whole number from 1 to 1000000.'),
        ('line 6, column "formats"', '"in person" is not a format id.'),
        ('line 7, column "end"', "the session ends (2025-02-01T09:00+01:00) when it starts (2025-02-01T09:00+01:00)."),
        ('line 7, column "formats"', "the same format is listed twice."),
        ("line 8", "the row has 9 values but the header names 8 columns."),
    ]  # fmt: skip
    assert error.value.problems[1].pointer == "/2/start"


def test_csv_local_times_need_a_time_zone() -> None:
    text = "id,title,start,end\na,T,2025-02-01 09:00,2025-02-01 10:00\n"
    with pytest.raises(ImportFailed) as error:
        parse_csv(text)
    assert problems_of(error) == [
        ('line 2, column "start"', '"2025-02-01 09:00" has no UTC offset; add one (like +01:00) or name the time zone of the event.'),
        ('line 2, column "end"', '"2025-02-01 10:00" has no UTC offset; add one (like +01:00) or name the time zone of the event.'),
    ]  # fmt: skip
    with pytest.raises(ImportFailed) as error:
        parse_csv(text, "Mars/Olympus_Mons")
    assert error.value.message == (
        '"Mars/Olympus_Mons" is not a time zone we know; use a name like Europe/Brussels.'
    )


@pytest.mark.parametrize(
    ("text", "message", "problems"),
    [
        ("", "The CSV file is empty.", []),
        ("\ufeff \n", "The CSV file is empty.", []),
        ("id,title,start,end\n", "The CSV file has a header but no sessions.", []),
        (
            "id,title,begin,speaker\n",
            "The CSV header has 4 problems.",
            [
                ("line 1", 'the column "begin" is not one we read; the columns are id, title, start, end, duration, room, track, tags, speakers, capacity, description, language, formats.'),
                ("line 1", 'the column "speaker" is not one we read; the columns are id, title, start, end, duration, room, track, tags, speakers, capacity, description, language, formats.'),
                ("line 1", 'the column "start" is missing; the file needs id, title, start, and end or duration.'),
                ("line 1", 'the file needs an "end" or a "duration" column.'),
            ],
        ),
        (
            "id,title,start,end,END\n",
            "The CSV header has 1 problem.",
            [("line 1", 'the column "end" appears more than once.')],
        ),
        (
            'id,title,start,end\n"a,T,2025-02-01T09:00Z,2025-02-01T10:00Z\n',
            "The CSV file cannot be read.",
            [("line 2", "this is not readable CSV: unexpected end of data.")],
        ),
    ],
)  # fmt: skip
def test_csv_files_that_cannot_be_read(
    text: str, message: str, problems: list[tuple[str, str]]
) -> None:
    with pytest.raises(ImportFailed) as error:
        parse_csv(text)
    assert error.value.message == message
    assert problems_of(error) == problems


# --- JSON ----------------------------------------------------------------------------------------

JSON_SESSION = {
    "id": "opening",
    "title": "Opening",
    "start": "2027-03-13T09:30:00+01:00",
    "end": "2027-03-13T10:00:00+01:00",
    "room": "hall",
}


def test_json_list_of_sessions() -> None:
    schedule = parse_json(json.dumps([JSON_SESSION]))
    assert schedule.sessions == [JSON_SESSION]
    assert schedule.rooms == []
    assert schedule.days == ["2027-03-13"]


def test_json_object_with_sessions_and_rooms() -> None:
    rooms = [{"id": "hall", "title": "Main hall", "capacity": 120}]
    schedule = parse_json(json.dumps({"rooms": rooms, "sessions": [JSON_SESSION]}).encode())
    assert schedule.rooms == rooms
    section = empty_section()
    assert merge_into_section(section, schedule).rooms_added == 1
    assert section["rooms"] == rooms
    assert section["sessions"] == [JSON_SESSION]


def test_json_whole_option_schema_takes_its_first_sessions_section() -> None:
    doc = json.loads((ROOT / "schemas" / "examples" / "unconference.json").read_text())
    section = next(s for s in doc["sections"] if s["kind"] == "sessions")
    schedule = parse_json(json.dumps(doc).encode("utf-8-sig"))
    assert schedule.sessions == section["sessions"]
    assert schedule.rooms == section["rooms"]
    assert schedule.title == doc["event"]["title"]
    assert schedule.timezone == doc["event"]["timezone"]
    assert schedule.days == ["2027-03-13", "2027-03-14"]
    before = snapshot(section)
    report = merge_into_section(section, schedule)
    assert report == ImportReport(0, 0, len(section["sessions"]), 0)
    assert snapshot(section) == before


def test_json_problems_name_their_path() -> None:
    sessions = [
        {**JSON_SESSION, "end": "2027-03-13T09:00:00+01:00", "colour": "red"},
        {"id": "x y", "title": "", "start": "13 March", "tags": "a", "capacity": True},
        dict(JSON_SESSION),
    ]
    with pytest.raises(ImportFailed) as error:
        parse_json(json.dumps({"sessions": sessions}))
    assert error.value.message == "The JSON file has 9 problems."
    assert [(p.pointer, p.path, p.message) for p in error.value.problems] == [
        ("/sessions/0/colour", "sessions[0].colour", "is not a session field."),
        ("/sessions/0/end", "sessions[0].end", "must be later than the start."),
        ("/sessions/1/end", "sessions[1].end", "is missing."),
        ("/sessions/1/id", "sessions[1].id", "must be an id: up to 80 letters, digits, dots, dashes or underscores, starting with a letter or digit."),
        ("/sessions/1/title", "sessions[1].title", "must not be empty."),
        ("/sessions/1/tags", "sessions[1].tags", "must be a list."),
        ("/sessions/1/capacity", "sessions[1].capacity", "must be a whole number from 1 to 1000000."),
        ("/sessions/1/start", "sessions[1].start", "must be a date and time with a UTC offset, like 2025-02-01T09:00:00+01:00."),
        ("/sessions", "sessions", 'the id "opening" is used more than once.'),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The JSON file is empty."),
        (b'{"sessions": [', "The file is not valid JSON."),
        (b"\xff\xfe{}", "The JSON file is not UTF-8 text."),
        (b'{"title": "x"}', 'The JSON file holds neither a list of sessions, an object with "sessions", nor an option schema.'),
        (b'{"sections": [{"kind": "choice"}]}', "The option schema has no sessions section to import."),
        (b'{"sessions": {}}', "The JSON file cannot be imported."),
        (b"[]", "The JSON file contains no sessions."),
        (b"[" * 100000, "The JSON file is nested too deeply to read."),
    ],
)  # fmt: skip
def test_json_files_that_cannot_be_read(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed) as error:
        parse_json(data)
    assert error.value.message == message


# --- room capacities -------------------------------------------------------------------------------


def test_room_capacities_apply_by_title_or_id() -> None:
    capacities = parse_room_capacities("\ufeffRoom, Capacity\nsaal-1,120\n\nSAAL G , 80\n")
    assert capacities == {"saal-1": 120, "SAAL G": 80}
    section = empty_section()
    merge_into_section(section, published("31c3.xml"), capacities)
    assert section["rooms"][:3] == [
        {"id": "saal-1", "title": "Saal 1", "capacity": 120},
        {"id": "saal-2", "title": "Saal 2"},
        {"id": "saal-g", "title": "Saal G", "capacity": 80},
    ]
    assert not any("capacity" in s for s in section["sessions"])
    assert schema_errors(section, published("31c3.xml").days) == []


def test_room_capacities_problems() -> None:
    with pytest.raises(ImportFailed) as error:
        parse_room_capacities("room,capacity\nA,0\nB,12.5\n,4\nA,3\nC,\n")
    assert error.value.message == "The room capacity file has 5 problems."
    assert problems_of(error) == [
        ('line 2, column "capacity"', '"0" is not a capacity; write a whole number from 1 to 1000000.'),
        ('line 3, column "capacity"', '"12.5" is not a capacity; write a whole number from 1 to 1000000.'),
        ('line 4, column "room"', "the room is empty."),
        ('line 5, column "room"', 'the room "A" is already listed on line 2.'),
        ('line 6, column "capacity"', '"" is not a capacity; write a whole number from 1 to 1000000.'),
    ]  # fmt: skip
    with pytest.raises(ImportFailed) as error:
        parse_room_capacities("name,seats\nA,3\n")
    assert problems_of(error) == [
        ("line 1", 'the first line must name the columns "room" and "capacity".')
    ]
    with pytest.raises(ImportFailed, match="empty"):
        parse_room_capacities("")


def test_unknown_room_in_capacities_changes_nothing() -> None:
    section = empty_section()
    merge_into_section(section, published("31c3.xml"))
    before = snapshot(section)
    with pytest.raises(ImportFailed) as error:
        merge_into_section(section, published("31c3.xml"), {"Saal 1": 100, "Saal 99": 10})
    assert problems_of(error) == [
        (
            'room "Saal 99"',
            'there is no room "Saal 99" in the section or the schedule;'
            ' the rooms are "Saal 1", "Saal 2", "Saal 6", "Saal G".',
        )
    ]
    assert snapshot(section) == before


# --- merging -----------------------------------------------------------------------------------------


def test_added_sessions_are_appended_by_start_room_and_id() -> None:
    sessions = [
        {**JSON_SESSION, "id": "c", "room": "b-room"},
        {**JSON_SESSION, "id": "b", "room": "a-room"},
        {**JSON_SESSION, "id": "a", "room": "b-room"},
        {**JSON_SESSION, "id": "early", "start": "2027-03-13T07:30:00+00:00", "room": "z"},
    ]
    rooms = [{"id": r, "title": r.upper()} for r in ("z", "b-room", "a-room")]
    section = {**empty_section(), "sessions": [{**JSON_SESSION, "id": "first", "room": "z"}]}
    report = merge_into_section(
        section, parse_json(json.dumps({"rooms": rooms, "sessions": sessions}))
    )
    assert report == ImportReport(added=4, updated=0, unchanged=0, rooms_added=3)
    assert [s["id"] for s in section["sessions"]] == ["first", "early", "b", "a", "c"]


def test_updates_keep_ids_and_take_imported_values() -> None:
    original = frab(event("1", "g-1", extra="<subtitle>Old</subtitle>"), event("2", "g-2"))
    section = empty_section()
    merge_into_section(section, parse_frab(original))
    renumbered = frab(event("99", "g-1", title="New title"), event("2", "g-2"))
    report = merge_into_section(section, parse_frab(renumbered))
    assert report == ImportReport(added=0, updated=1, unchanged=1, rooms_added=0)
    first = section["sessions"][0]
    assert (first["id"], first["title"]) == ("1", "New title")
    assert "subtitle" not in first


def test_a_different_session_with_a_taken_id_gets_a_suffix() -> None:
    section = empty_section()
    merge_into_section(section, parse_frab(frab(event("1", "g-1"))))
    report = merge_into_section(section, parse_frab(frab(event("1", "g-other"))))
    assert report == ImportReport(added=1, updated=0, unchanged=0, rooms_added=0)
    assert [s["id"] for s in section["sessions"]] == ["1", "1-2"]


def test_csv_updates_frab_sessions_by_id() -> None:
    section = empty_section()
    merge_into_section(section, parse_frab(frab(event("1", "g-1"))))
    section["sessions"][0]["cost"] = 3
    csv_text = "id,title,start,duration,room\n1,Renamed,2025-02-01T10:00+01:00,30,Main Hall\n"
    report = merge_into_section(section, parse_csv(csv_text))
    assert report == ImportReport(added=0, updated=1, unchanged=0, rooms_added=0)
    assert section["sessions"][0] == {
        "id": "1",
        "title": "Renamed",
        "start": "2025-02-01T10:00:00+01:00",
        "end": "2025-02-01T10:30:00+01:00",
        "room": "main-hall",
        "cost": 3,
        "source": {"system": "csv", "key": "1"},
    }


def test_imported_rooms_join_existing_rooms_by_title_or_id() -> None:
    section = {
        **empty_section(),
        "rooms": [
            {"id": "hall", "title": "Main hall", "capacity": 50},
            {"id": "R2", "title": "Two"},
        ],
    }
    text = (
        "id,title,start,duration,room\n"
        "a,A,2025-02-01T10:00+01:00,30,MAIN HALL\n"
        "b,B,2025-02-01T10:00+01:00,30,R2\n"
        "c,C,2025-02-01T10:00+01:00,30,Garden\n"
    )
    report = merge_into_section(section, parse_csv(text))
    assert report.rooms_added == 1
    assert {s["id"]: s["room"] for s in section["sessions"]} == {
        "a": "hall",
        "b": "R2",
        "c": "garden",
    }
    assert section["rooms"] == [
        {"id": "hall", "title": "Main hall", "capacity": 50},
        {"id": "R2", "title": "Two"},
        {"id": "garden", "title": "Garden"},
    ]


def test_merge_refuses_unknown_formats_and_rooms_without_changing_anything() -> None:
    section = empty_section()
    before = snapshot(section)
    sessions = [{**JSON_SESSION, "formats": ["hybrid"]}]
    with pytest.raises(ImportFailed) as error:
        merge_into_section(section, parse_json(json.dumps(sessions)))
    assert problems_of(error) == [
        ('session "opening"', 'the room "hall" is neither in the file nor in the section; add it to the rooms first.'),
        ('session "opening"', "the format \"hybrid\" is not one of the section's formats (in_person, online)."),
    ]  # fmt: skip
    assert snapshot(section) == before


def test_merge_does_not_share_lists_with_the_imported_schedule() -> None:
    schedule = parse_frab(frab(event(extra="<persons><person>Ana</person></persons>")))
    section = empty_section()
    merge_into_section(section, schedule)
    schedule.sessions[0]["speakers"].append("Ben")
    assert section["sessions"][0]["speakers"] == ["Ana"]


def test_widen_event_days_and_adopt_day_change() -> None:
    doc = {"event": {"starts_on": "2014-12-28", "ends_on": "2014-12-29"}}
    widen_event_days(doc, published("31c3.xml"))
    assert doc["event"] == {
        "starts_on": "2014-12-27",
        "ends_on": "2014-12-30",
        "day_change": "04:00",
    }
    doc = {"event": {"starts_on": "2014-12-01", "ends_on": "2015-01-31", "day_change": "06:00"}}
    widen_event_days(doc, published("31c3.xml"))
    assert doc["event"] == {
        "starts_on": "2014-12-01",
        "ends_on": "2015-01-31",
        "day_change": "06:00",
    }


# --- choosing the format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "first_id"),
    [
        ("schedule.XML", frab(event("x1", "g")), "x1"),
        ("schedule", b"\xef\xbb\xbf  " + frab(event("x2", "g")), "x2"),
        ("sessions.csv", b"\xef\xbb\xbfid,title,start,duration\nx3,T,2025-02-01T10:00Z,5\n", "x3"),
        ("sessions.json", json.dumps([{**JSON_SESSION, "id": "x4"}]).encode(), "x4"),
        ("download", json.dumps({"sessions": [{**JSON_SESSION, "id": "x5"}]}).encode(), "x5"),
    ],
)
def test_parse_schedule_chooses_by_extension_or_content(
    filename: str, data: bytes, first_id: str
) -> None:
    assert imports.read(data, filename=filename).sessions[0]["id"] == first_id


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("program.pdf", b"%PDF-1.7", '"program.pdf" is not a schedule we can read: send frab XML (.xml), CSV (.csv) or JSON (.json).'),
        ("sessions.csv", b"id,title\xff", "The CSV file is not UTF-8 text."),
        ("sessions.csv", b"", '"sessions.csv" is empty.'),
    ],
)  # fmt: skip
def test_parse_schedule_refusals(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed) as error:
        imports.read(data, filename=filename)
    assert error.value.message == message


# --- nothing but ImportFailed, whatever comes in ---------------------------------------------------

CSV_ALPHABET = st.sampled_from(
    list('aT0123456789:-+ZT ,;"\n') + ["2025-02-01", "T09:00", "+01:00", "Europe", "\ufeff"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filename=st.sampled_from(["s.xml", "s.csv", "s.json", "s"]),
    data=st.binary(max_size=400),
    zone=st.sampled_from([None, "Europe/Brussels", "Nowhere/City"]),
)
def test_any_bytes_give_a_schedule_or_import_failed(
    filename: str, data: bytes, zone: str | None
) -> None:
    try:
        imports.read(data, filename=filename, timezone=zone)
    except ImportFailed as error:
        assert error.message


@settings(max_examples=300, deadline=None)
@given(st.lists(CSV_ALPHABET, max_size=60).map("".join))
def test_any_csv_rows_give_sessions_that_fit_the_schema_or_import_failed(rows: str) -> None:
    try:
        schedule = parse_csv(f"{CSV_HEADER}\n{rows}", "Europe/Brussels")
    except ImportFailed as error:
        assert all(p.message for p in error.problems) and error.message
        return
    section = empty_section()
    merge_into_section(section, schedule)
    assert schema_errors(section, schedule.days) == []


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
)
def test_frab_ends_are_start_plus_duration(start: datetime, minutes: int) -> None:
    begin = start.replace(second=0, microsecond=0, tzinfo=CET)
    duration = f"{minutes // 60:02}:{minutes % 60:02}"
    session = parse_frab(frab(event(start=begin.isoformat(), duration=duration))).sessions[0]
    assert datetime.fromisoformat(session["start"]) == begin
    assert datetime.fromisoformat(session["end"]) == begin + timedelta(minutes=minutes or 5)
    assert session["end"].endswith("+01:00")


# --- the manual's examples -----------------------------------------------------------------------


def test_the_manual_examples_import() -> None:
    from docsupport import code_blocks

    page = ROOT / "docs" / "imports.md"
    ((_, xml_block),) = code_blocks(page, "xml frab")
    ((_, csv_block),) = code_blocks(page, "csv sessions")
    ((_, capacity_block),) = code_blocks(page, "csv capacities")
    ((_, json_block),) = code_blocks(page, "json")
    section = empty_section()
    schedule = parse_frab(xml_block.encode())
    assert schedule.day_change == "02:00"
    merge_into_section(section, schedule)
    merge_into_section(section, parse_csv(csv_block), parse_room_capacities(capacity_block))
    merge_into_section(section, parse_json(json_block))
    # The JSON example's room "hall" is titled "Main hall", so it joins the frab room.
    assert section["rooms"] == [
        {"id": "main-hall", "title": "Main hall", "capacity": 120},
        {"id": "atelier", "title": "Atelier", "capacity": 16},
    ]
    assert [s["id"] for s in section["sessions"]] == ["101", "102", "opening", "maps"]
    assert section["sessions"][2]["speakers"] == ["Ana Lima"]
    assert schema_errors(section, ["2027-03-13", "2027-03-14"]) == []


# --- the one door -------------------------------------------------------------------------------


def test_read_takes_a_path_and_names_the_file_in_its_refusals(tmp_path) -> None:
    path = tmp_path / "talks.json"
    path.write_text(json.dumps([JSON_SESSION]))
    assert imports.read(path).sessions[0]["id"] == imports.read(path.read_bytes()).sessions[0]["id"]
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(ImportFailed) as error:
        imports.read(empty)
    assert error.value.message == '"empty.xml" is empty.'
    with pytest.raises(ImportFailed) as error:
        imports.read(tmp_path / "missing.xml")
    assert error.value.message.startswith(f'"{tmp_path / "missing.xml"}" cannot be read')


def test_read_in_a_named_format_or_refuse_an_unknown_one() -> None:
    data = json.dumps([JSON_SESSION]).encode()
    assert imports.read(data, "json", filename="talks.txt").sessions[0]["title"]
    with pytest.raises(ImportFailed) as error:
        imports.read(data, "ical")
    assert error.value.message == "There is no schedule format 'ical'; there are frab, csv, json."
    with pytest.raises(ImportFailed):
        imports.read(data, "frab")
