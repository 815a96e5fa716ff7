"""Every export read back with a real parser matches the designs; hostile text comes out inert."""

from __future__ import annotations

import csv
import io
import json
import shlex
import zipfile
from typing import Any

import icalendar
import openpyxl
import pytest
from click.testing import CliRunner
from conftest import csrf_from
from docsupport import ROOT, code_blocks
from openpyxl.utils.escape import unescape

from configurator import accounts, api_tokens, attendees, designs, events, exports, jobs, worker
from configurator.cli import cli
from configurator.errors import BadRequest
from configurator.exports import batches, writers
from configurator.exports import jobs as export_jobs

FORMULA = "=cmd|' /C calc'!A0"
HOSTILE_NAMES = [FORMULA, "@SUM(1)", "+1", "-1", 'Quote "q", tab\there \u202eRTL 🎉']
HOSTILE_ANSWERS = [
    "=1+2",
    "\tTab first",
    "\rCR first",
    "line one\nline two",
    'He said "hi", ok',
    "\u202eright-to-left \u200fmark",
    "🎉 emoji, 😀",
    "-2",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: str) -> str:
    """What a defused cell holds: formula-looking text gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def design_for(n: int) -> dict[str, Any]:
    """A varied, valid design; n picks which sessions, channels and answers."""
    sessions = [
        {"opening": {"format": "in_person"}, "maps": {"format": "online"}},
        {"opening": {"format": "online"}, "sensors": {"format": "recording"}},
        {"closing": {"format": "in_person"}, "datasets": {"format": "in_person"}},
    ][n % 3]
    sessions = {**sessions, "civic-tech": {"format": "online"}}
    channels = [
        {"email": {}},
        {"sms": {"phone": "+32 470 12 34 5" + str(n % 10)}},
        {"social": {"handle": f"@handle_{n}"}, "app": {}},
    ][n % 3]
    preferences: dict[str, Any] = {"diet": ["none", "vegan", "vegetarian"][n % 3]}
    preferences["access"] = HOSTILE_ANSWERS[n % len(HOSTILE_ANSWERS)]
    if n % 2:
        preferences["first_time"] = bool(n % 4 == 1)
        preferences["guests"] = n % 3
    return {"agenda": sessions, "channels": channels, "preferences": preferences}


@pytest.fixture
def populated(db, example):
    """An event whose attendees carry hostile names and answers, a waitlist, and no-shows."""
    rooms = {r["id"]: r for r in example["sections"][0]["rooms"]}
    rooms["garden"]["capacity"] = 1
    event = events.create_event(db, example)
    events.publish(db, event["slug"])
    event = events.get_event(db, event["slug"])
    saved: dict[int, dict[str, Any]] = {}
    people = []
    for n, name in enumerate([*HOSTILE_NAMES, "Plain Ann", "Bo Brown", "Cy Chen"]):
        person = attendees.invite(db, event["id"], name, f"p{n}@example.org").attendee
        people.append(person)
        document = design_for(n)
        designs.save_design(db, person, document, confirm=n % 2 == 0)
        saved[person["id"]] = document
    # Someone seated in the one-seat garden room, someone waiting for it, someone with no design.
    designs.save_design(
        db,
        people[0],
        {
            **saved[people[0]["id"]],
            "agenda": {**saved[people[0]["id"]]["agenda"], "facilitation": {"format": "in_person"}},
        },
    )
    saved[people[0]["id"]] = designs.get_design(db, people[0]["id"])["document"]
    designs.join_waitlist(db, people[1], "agenda", "facilitation", "in_person")
    idle = attendees.invite(db, event["id"], "Idle Ida", "idle@example.org").attendee
    attendees.mark_opened(db, idle["id"])
    return event, saved, {p["id"]: p for p in [*people, idle]}


def run(db, event, fmt, **narrow) -> bytes:
    prepared = exports.download(db, event, events.compiled(db, event["id"]), fmt, **narrow)
    return b"".join(prepared.chunks)


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def expected_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return inert(value)
    return str(value)


def test_csv_wide_has_a_row_per_attendee_matching_the_designs(db, populated):
    event, saved, people = populated
    rows = read_csv(run(db, event, "csv-wide"))
    schema = events.compiled(db, event["id"])
    assert [int(r["attendee_id"]) for r in rows] == sorted(people)
    headers = list(rows[0])
    assert headers[:6] == exports.ATTENDEE_COLUMNS
    assert "agenda/opening" in headers
    assert "channels/sms/phone" in headers
    assert "preferences/diet" in headers
    for row in rows:
        person = people[int(row["attendee_id"])]
        assert row["name"] == inert(person["name"])
        assert row["email"] == person["email"]
        design = saved.get(person["id"], {})
        for column in exports.wide_columns(schema):
            section = design.get(column.path[0], {})
            if column.kind == "session":
                want = (section.get(column.path[1]) or {}).get("format")
            elif column.kind == "option":
                want = "yes" if column.path[1] in section else None
            elif column.kind == "follow_up":
                want = (section.get(column.path[1]) or {}).get(column.path[2])
            else:
                want = section.get(column.path[1])
            assert row[column.header] == expected_cell(want), (person["name"], column.header)
    statuses = {people[int(r["attendee_id"])]["name"]: r["status"] for r in rows}
    assert statuses["Idle Ida"] == "opened"
    assert statuses["Plain Ann"] == "draft"
    assert statuses["Bo Brown"] == "confirmed"


def test_csv_long_has_a_row_per_pick_and_answer(db, populated):
    event, saved, people = populated
    rows = read_csv(run(db, event, "csv-long"))
    assert list(rows[0]) == exports.LONG_COLUMNS
    got = {
        (int(r["attendee_id"]), r["section"], r["option"], r["field"], r["value"], r["format"])
        for r in rows
    }
    want = set()
    for attendee_id, design in saved.items():
        for oid, pick in design["agenda"].items():
            want.add((attendee_id, "agenda", oid, "", "", pick["format"]))
        for oid, answers in design["channels"].items():
            want.add((attendee_id, "channels", oid, "", "", ""))
            for fid, value in answers.items():
                want.add((attendee_id, "channels", oid, fid, expected_cell(value), ""))
        for fid, value in design["preferences"].items():
            want.add((attendee_id, "preferences", "", fid, expected_cell(value), ""))
    assert got == want
    assert len(rows) == len(want)
    assert all(r["name"] == inert(people[int(r["attendee_id"])]["name"]) for r in rows)


def sheet_rows(sheet: Any) -> list[tuple[Any, ...]]:
    """A read-only sheet's rows, padded to the header (openpyxl drops trailing empty cells).

    Text comes back as Excel and LibreOffice show it: OOXML writes characters XML cannot carry
    as _xHHHH_ escapes, which openpyxl leaves in (its own unescape() decodes them).
    """
    rows = list(sheet.iter_rows(values_only=True))
    width = len(rows[0])
    return [
        tuple(unescape(v) if isinstance(v, str) else v for v in row) + (None,) * (width - len(row))
        for row in rows
    ]


def test_xlsx_has_a_sheet_per_section_matching_the_designs(db, populated):
    event, saved, people = populated
    book = openpyxl.load_workbook(io.BytesIO(run(db, event, "xlsx")), read_only=True)
    assert book.sheetnames == [
        "Your agenda",
        "How we reach you during the day",
        "Extras",
        "Preferences",
    ]
    sheet = sheet_rows(book["Preferences"])
    header, body = sheet[0], sheet[1:]
    assert list(header[:6]) == exports.ATTENDEE_COLUMNS
    assert len(body) == len(people)
    for row in body:
        record = dict(zip(header, row, strict=True))
        person = people[record["attendee_id"]]
        assert record["name"] == inert(person["name"])
        answers = saved.get(person["id"], {}).get("preferences", {})
        assert record["preferences/diet"] == answers.get("diet")
        want_access = answers.get("access")
        want_cell = inert(want_access) if want_access else None
        assert record["preferences/access"] == want_cell
        assert record["preferences/guests"] == answers.get("guests")
        flag = answers.get("first_time")
        assert record["preferences/first_time"] == (
            None if flag is None else "yes" if flag else "no"
        )
    agenda = sheet_rows(book["Your agenda"])
    record = dict(zip(agenda[0], agenda[1], strict=True))
    first = saved[record["attendee_id"]]["agenda"]
    assert record["agenda/opening"] == first["opening"]["format"]
    assert record["agenda/facilitation"] == "in_person"
    # Nothing in the workbook is a formula.
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value


def test_json_holds_every_design_with_its_schema_version(db, populated):
    event, saved, people = populated
    items = json.loads(run(db, event, "json"))
    assert {item["attendee"]["id"]: item["design"] for item in items} == saved
    for item in items:
        assert item["schema_version"] == 1
        assert (
            item["attendee"]["name"] == people[item["attendee"]["id"]]["name"]
        )  # raw, not defused
        assert item["status"] in ("draft", "confirmed")
        assert (item["confirmed_at"] is not None) == (item["status"] == "confirmed")


def test_roster_lists_seats_then_the_waitlist(db, populated):
    event, saved, people = populated
    rows = read_csv(run(db, event, "roster"))
    assert list(rows[0]) == exports.ROSTER_COLUMNS
    garden = [r for r in rows if r["session"] == "facilitation"]
    first, second = sorted(people)[:2]
    assert [(int(r["attendee_id"]), r["seat"], r["waitlist_position"]) for r in garden] == [
        (first, "seated", ""),
        (second, "waitlist", "1"),
    ]
    opening = [r for r in rows if r["session"] == "opening"]
    want = {aid for aid, d in saved.items() if "opening" in d["agenda"]}
    assert {int(r["attendee_id"]) for r in opening} == want
    for r in opening:
        fmt = saved[int(r["attendee_id"])]["agenda"]["opening"]["format"]
        assert r["format"] == fmt
        assert r["seat"] == ("seated" if fmt == "in_person" else "no seat")
    assert {r["session"] for r in rows} >= {"opening", "maps", "civic-tech", "facilitation"}
    only = read_csv(run(db, event, "roster", section="agenda", option="facilitation"))
    assert len(only) == 2


def test_channel_list_gives_everyone_who_chose_an_option_with_follow_ups(db, populated):
    event, saved, people = populated
    rows = read_csv(run(db, event, "channels", section="channels", option="sms"))
    assert list(rows[0]) == [
        "section",
        "option",
        "option_title",
        "attendee_id",
        "name",
        "email",
        "sms/phone",
    ]
    want = {
        aid: d["channels"]["sms"]["phone"] for aid, d in saved.items() if "sms" in d["channels"]
    }
    assert {int(r["attendee_id"]): r["sms/phone"] for r in rows} == {
        aid: inert(phone) for aid, phone in want.items()
    }
    everything = read_csv(run(db, event, "channels"))
    assert {r["option"] for r in everything} == {"email", "sms", "social", "app"}
    assert "social/handle" in everything[0]


def test_ics_zip_has_a_calendar_per_design(db, populated):
    event, saved, people = populated
    schema = events.compiled(db, event["id"])
    archive = zipfile.ZipFile(io.BytesIO(run(db, event, "ics-zip")))
    names = archive.namelist()
    assert len(names) == len(saved)
    for name in names:
        attendee_id = int(name.split("-", 1)[0])
        calendar = icalendar.Calendar.from_ical(archive.read(name))
        titles = sorted(str(e["summary"]) for e in calendar.walk("VEVENT"))
        assert titles == sorted(
            schema.options[("agenda", oid)].title for oid in saved[attendee_id]["agenda"]
        )


def test_hostile_text_comes_out_inert_and_intact(db, populated):
    """Formula-looking cells get one apostrophe; unicode, newlines, quotes and tabs survive."""
    event, _saved, _people = populated
    wide = read_csv(run(db, event, "csv-wide"))
    names = {r["name"] for r in wide}
    assert {"'" + FORMULA, "'@SUM(1)", "'+1", "'-1"} <= names
    assert 'Quote "q", tab\there \u202eRTL 🎉' in names
    access = {r["preferences/access"] for r in wide}
    assert {"'=1+2", "'\tTab first", "'\rCR first", "line one\nline two"} <= access
    assert {'He said "hi", ok', "\u202eright-to-left \u200fmark", "🎉 emoji, 😀", "'-2"} <= access
    book = openpyxl.load_workbook(io.BytesIO(run(db, event, "xlsx")))
    cells = {
        unescape(c.value) if isinstance(c.value, str) else c.value
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
    }
    assert {"'" + FORMULA, "'@SUM(1)", "'=1+2", "'\tTab first", "line one\nline two"} <= cells
    assert "'\rCR first" in cells  # inert, and the carriage return kept (written as _x000D_)
    assert "\u202eright-to-left \u200fmark" in cells
    items = json.loads(run(db, event, "json"))
    assert FORMULA in {i["attendee"]["name"] for i in items}  # JSON keeps the raw text


def test_defuse_only_touches_formula_starts():
    assert exports.defuse("=A1") == "'=A1"
    assert exports.defuse("\rx") == "'\rx"
    assert exports.defuse("a=b") == "a=b"
    assert exports.defuse(-1) == -1
    assert exports.defuse("") == ""


def test_xlsx_replaces_characters_xml_cannot_hold(db, example):
    event = events.create_event(db, example)
    events.publish(db, event["slug"])
    person = attendees.invite(db, event["id"], "Esc\x1bape", "e@example.org").attendee
    designs.save_design(db, person, {"preferences": {"diet": "none", "access": "bell\x07"}})
    book = openpyxl.load_workbook(io.BytesIO(run(db, events.get_event(db, event["slug"]), "xlsx")))
    cells = {
        unescape(c.value) if isinstance(c.value, str) else c.value
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
    }
    assert {"Esc\ufffdape", "bell\ufffd"} <= cells


def test_sheet_titles_are_valid_and_distinct():
    assert exports.sheet_titles(["A/B: c?", "x" * 40, "x" * 40, "'q'"]) == [
        "A B  c",
        "x" * 31,
        "x" * 29 + " 2",
        "q",
    ]


def test_exports_stream_in_batches(db, populated, monkeypatch):
    """The reader takes rows a batch at a time, and the CSV leaves in more than one chunk."""
    event, _saved, people = populated
    monkeypatch.setattr(batches, "BATCH", 3)
    monkeypatch.setattr(writers, "CHUNK", 200)
    monkeypatch.setattr(writers, "ROWS_PER_WRITE", 2)
    ticks: list[int] = []
    prepared = exports.download(
        db, event, events.compiled(db, event["id"]), "csv-wide", progress=ticks.append
    )
    assert prepared.steps == len(people)
    chunks = list(prepared.chunks)
    assert len(chunks) > 3
    assert len(people) == 9
    assert ticks == [3, 3, 3]


# --- over the web and the API ----------------------------------------------------------------


@pytest.fixture
def staffed(db, organiser, populated):
    """A staff account on the event, and an organiser of another event."""
    event, saved, people = populated
    staff_id = organiser.create("sam@example.org", "Sam Staff")
    accounts.grant(db, event["id"], staff_id, "staff")
    return event, staff_id


def test_staff_download_every_export_from_the_web(client, organiser, staffed):
    event, _ = staffed
    organiser.login("sam@example.org")
    page = client.get(f"/events/{event['slug']}/exports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for fmt in exports.FORMATS:
        link = f"/events/{event['slug']}/exports/{fmt}"
        assert link in html
        response = client.get(link)
        assert response.status_code == 200, fmt
        assert response.mimetype == exports.FORMATS[fmt].mimetype
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="{event["slug"]}-{fmt}.{exports.FORMATS[fmt].extension}"'
        )
        assert response.content_length is None  # streamed: the length is not known in advance
        assert len(response.data) > 10
    assert "section=channels&amp;option=sms" in html
    sms = client.get(f"/events/{event['slug']}/exports/channels?section=channels&option=sms")
    assert {r["option"] for r in read_csv(sms.data)} == {"sms"}


def test_prepared_exports_show_progress_then_give_the_same_file(client, db, organiser, staffed):
    event, _ = staffed
    organiser.login("sam@example.org")
    page = client.get(f"/events/{event['slug']}/exports").get_data(as_text=True)
    token = csrf_from(page)
    for fmt in exports.FORMATS:
        action = f"/events/{event['slug']}/exports/{fmt}/prepare"
        assert f'action="{action}"' in page
        started = client.post(action, data={"csrf_token": token})
        assert started.status_code == 303, fmt
        waiting = client.get(started.location).get_data(as_text=True)
        assert "<progress" in waiting  # queued: the worker has not taken it yet
        assert worker.drain(db) == 1  # what `configurator worker` does
        job_page = client.get(started.location).get_data(as_text=True)
        assert "The export is ready." in job_page and "<progress" not in job_page
        job = export_jobs.get(db, started.location.rsplit("/", 1)[1], event["id"])
        assert job.done == job.total > 0  # every step was counted on the way
        with client.get(started.location + "/file") as prepared:
            assert prepared.mimetype == exports.FORMATS[fmt].mimetype
            assert f"{event['slug']}-{fmt}." in prepared.headers["Content-Disposition"]
            data = prepared.data
        streamed = client.get(f"/events/{event['slug']}/exports/{fmt}").data
        if fmt in ("csv-wide", "csv-long", "json", "roster", "channels"):
            assert data == streamed, fmt
        elif fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            assert book.sheetnames == openpyxl.load_workbook(io.BytesIO(streamed)).sheetnames
        else:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
            assert names == zipfile.ZipFile(io.BytesIO(streamed)).namelist() and names


def test_a_running_export_page_polls_and_refreshes_without_javascript(
    client, db, organiser, staffed
):
    event, _ = staffed
    organiser.login("sam@example.org")
    job = export_jobs.start(db, event, "xlsx")
    [claimed] = jobs.claim(db, "worker-1", "export")  # a job caught mid-way by its worker
    jobs.progress(db, claimed.id, 20, 50)
    url = f"/events/{event['slug']}/exports/jobs/{job.id}"
    html = client.get(url).get_data(as_text=True)
    assert '<progress id="export-progress" max="100" value="40">' in html
    assert 'hx-trigger="every 1s"' in html and 'aria-busy="true"' in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    partial = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="export-job"') and "<html" not in partial
    assert client.get(url + "/file").status_code == 404  # not ready yet


def test_a_failed_export_says_so_and_a_lost_file_is_gone(client, db, organiser, staffed):
    event, _ = staffed
    organiser.login("sam@example.org")
    job = export_jobs.start(db, event, "json")
    [claimed] = jobs.claim(db, "worker-1", "export")
    jobs.fail(db, claimed.id, "worker-1", "disk full", retry=False)
    url = f"/events/{event['slug']}/exports/jobs/{job.id}"
    html = client.get(url).get_data(as_text=True)
    assert "could not be written (disk full)" in html and "<progress" not in html
    done = export_jobs.start(db, event, "json")
    worker.drain(db)
    export_jobs.get(db, done.id, event["id"]).path.unlink()  # an hour later, cleaned away
    gone = client.get(f"/events/{event['slug']}/exports/jobs/{done.id}")
    assert gone.status_code == 404 and "kept for an hour" in gone.get_data(as_text=True)


def test_preparing_an_unknown_format_is_named_and_starts_nothing(client, db, organiser, staffed):
    event, _ = staffed
    organiser.login("sam@example.org")
    token = csrf_from(client.get(f"/events/{event['slug']}/exports").get_data(as_text=True))
    before = jobs.counts(db, event["id"], "export")
    refused = client.post(
        f"/events/{event['slug']}/exports/pdf/prepare", data={"csrf_token": token}
    )
    assert refused.status_code == 404 and "csv-wide" in refused.get_data(as_text=True)
    assert jobs.counts(db, event["id"], "export") == before
    gone = client.get(f"/events/{event['slug']}/exports/jobs/no-such-job")
    assert gone.status_code == 404 and "kept for an hour" in gone.get_data(as_text=True)


def test_rosters_print_per_session(client, organiser, staffed, populated):
    event, _ = staffed
    _e, _saved, people = populated
    organiser.login("sam@example.org")
    index = client.get(f"/events/{event['slug']}/rosters").get_data(as_text=True)
    assert f"/events/{event['slug']}/rosters/agenda/facilitation" in index
    page = client.get(f"/events/{event['slug']}/rosters/agenda/facilitation")
    html = page.get_data(as_text=True)
    first, second = sorted(people)[:2]
    assert "Seated (1)" in html and "Waitlist (1)" in html
    assert "=cmd|&#39; /C calc&#39;!A0" in html  # autoescaped, shown as typed
    assert client.get(f"/events/{event['slug']}/rosters/agenda/nope").status_code == 404


def test_unknown_format_or_option_is_named(client, organiser, staffed):
    event, _ = staffed
    organiser.login("sam@example.org")
    missing = client.get(f"/events/{event['slug']}/exports/pdf")
    assert missing.status_code == 404
    assert "csv-wide" in missing.get_data(as_text=True)
    bad = client.get(f"/events/{event['slug']}/exports/channels?section=channels&option=fax")
    assert bad.status_code == 400
    assert "fax" in bad.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client, staffed):
    event, _ = staffed
    for path in ("dashboard", "exports", "exports/csv-wide", "rosters"):
        response = client.get(f"/events/{event['slug']}/{path}")
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]
    assert client.get(f"/api/v1/events/{event['slug']}/exports/json").status_code == 403


def test_attendees_get_no_export(client, db, staffed):
    event, _ = staffed
    invitation = attendees.invite(db, event["id"], "Ana", "ana-attendee@example.org")
    client.get(f"/a/{invitation.token}")
    for path in ("dashboard", "exports/csv-wide", "rosters/agenda/opening"):
        response = client.get(f"/events/{event['slug']}/{path}")
        # An attendee's session is no account: the access decorator sends them to sign in.
        assert response.status_code in (302, 403, 404), path
        assert b"attendee_id" not in response.data
    api = client.get(f"/api/v1/events/{event['slug']}/exports/csv-wide")
    assert api.status_code == 403


def test_another_organiser_sees_no_such_event(client, db, organiser, staffed, example):
    event, _ = staffed
    other = organiser.create("other@example.org", "Other")
    doc = json.loads(json.dumps(example))
    doc["event"]["slug"] = "elsewhere"
    events.create_event(db, doc, other)
    organiser.login("other@example.org")
    for path in ("dashboard", "exports", "exports/csv-wide", "rosters"):
        assert client.get(f"/events/{event['slug']}/{path}").status_code == 404, path


def test_api_token_downloads_exports(client, db, staffed):
    event, staff_id = staffed
    token = api_tokens.issue(db, staff_id, "exports")
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/api/v1/events/{event['slug']}/exports/json", headers=headers)
    assert response.status_code == 200
    assert len(json.loads(response.data)) == 8
    roster = client.get(
        f"/api/v1/events/{event['slug']}/exports/roster?section=agenda&option=facilitation",
        headers=headers,
    )
    assert len(read_csv(roster.data)) == 2
    bad = client.get(
        f"/api/v1/events/{event['slug']}/exports/json", headers={"Authorization": "Bearer cfg_x"}
    )
    assert bad.status_code == 403
    assert bad.is_json
    unknown = client.get(f"/api/v1/events/{event['slug']}/exports/pdf", headers=headers)
    assert unknown.status_code == 404 and unknown.is_json


def test_api_token_of_an_account_without_a_role_finds_nothing(client, db, organiser, staffed):
    event, _ = staffed
    stranger = organiser.create("stranger@example.org", "Stranger")
    token = api_tokens.issue(db, stranger, "nosy")
    response = client.get(
        f"/api/v1/events/{event['slug']}/exports/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404


def test_staff_cannot_post_to_organiser_routes(app, client, organiser, staffed):
    """Every organiser route refuses a staff member's POST with 403."""
    event, _ = staffed
    organiser.login("sam@example.org")
    token = organiser.csrf(f"/events/{event['slug']}/exports")
    posted = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) != "organiser" or "POST" not in (rule.methods or ()):
            continue
        values: dict[str, Any] = {arg: 1 for arg in rule.arguments}  # fits int and string
        values["slug"] = event["slug"]
        path = rule.build(values)[1]  # type: ignore[index]
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 403, path
        posted += 1
    assert posted >= 1


# --- the command line and the manual ----------------------------------------------------------


def test_cli_export_writes_a_file_with_progress(db_path, db, populated, tmp_path):
    event, saved, people = populated
    out = tmp_path / "wide.csv"
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "export", event["slug"], "--format", "csv-wide", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Exporting csv-wide" in result.output
    assert f"Wrote {out}" in result.output
    assert len(read_csv(out.read_bytes())) == len(people)


def test_cli_export_to_stdout_and_errors(db_path, db, populated):
    event, saved, _people = populated
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "export", event["slug"], "--format", "json"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout_bytes)) == len(saved)
    bad = runner.invoke(
        cli,
        ["--db", str(db_path), "export", event["slug"], "--format", "channels", "--option", "fax"],
    )
    assert bad.exit_code == 2
    assert "fax" in bad.output


def test_staff_manual_console_examples_run(tmp_path, monkeypatch):
    """Each `configurator` line of docs/staff.md runs, in order, against the demo event."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    database = str(tmp_path / "manual.db")
    ran = 0
    for body in (b for _info, b in code_blocks(ROOT / "docs" / "staff.md", "console")):
        for line in body.splitlines():
            if not line.startswith("$ configurator "):
                continue
            args = shlex.split(line.removeprefix("$ configurator "))
            result = runner.invoke(cli, ["--db", database, *args])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            ran += 1
    assert ran >= 4


def test_staff_manual_shows_the_real_headers_and_messages(db, populated):
    """The headers and the error the manual prints are the ones the exports produce."""
    event, _saved, _people = populated
    texts = [body.strip() for _info, body in code_blocks(ROOT / "docs" / "staff.md", "text")]
    for header in (
        exports.ATTENDEE_COLUMNS,
        exports.LONG_COLUMNS,
        exports.ROSTER_COLUMNS,
        ["section", "option", "option_title", "attendee_id", "name", "email"],
    ):
        assert ",".join(header) in texts
    assert read_csv(run(db, event, "csv-long"))[0].keys() == set(exports.LONG_COLUMNS)
    error = next(t for t in texts if t.startswith("Error:"))
    with pytest.raises(BadRequest) as raised:
        run(db, event, "channels", section="channels", option="fax")
    assert error == f"Error: {raised.value}"
    example = json.loads(code_blocks(ROOT / "docs" / "staff.md", "json")[0][1])
    exported = json.loads(run(db, event, "json"))
    assert example[0].keys() == exported[0].keys()
    assert example[0]["attendee"].keys() == exported[0]["attendee"].keys()
