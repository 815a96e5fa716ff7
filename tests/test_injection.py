"""The injection corpus through every text field of schemas, designs and proposals, checked
wherever the text is shown or exported: escaped in HTML, defused in spreadsheets, exact in JSON
and iCalendar."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import icalendar
import openpyxl
import pytest
import sqlite_utils
from conftest import PASSWORD, csrf_from, example_schema
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from openpyxl.utils.escape import unescape
from werkzeug.datastructures import MultiDict

from configurator import accounts, api_tokens, attendees, create_app, designs, events, proposals
from configurator.agenda import plain_text
from configurator.compiler import TEXT_FORMATS
from configurator.db import close_thread_connections, connect
from configurator.errors import BadRequest

PAYLOADS: list[str] = json.loads(Path(__file__).with_name("injection_payloads.json").read_text())
CHUNK = 25  # payloads per event: sections are capped at 50 per schema, formats at 10 per section
HX = {"HX-Request": "true"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
APP_SCRIPTS = ["/assets/htmx.min.js", "/static/app.js"]
OWNER = "olga@example.org"


# --- the corpus ------------------------------------------------------------------------------


def test_corpus_is_broad_and_distinct():
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    assert "\x00" not in "".join(PAYLOADS)
    families = {
        "html": "<script>",
        "attribute": '" onmouseover="',
        "single-quoted attribute": "' autofocus onfocus='",
        "htmx": "hx-on:click",
        "template": "{{7*7}}",
        "formula": "=cmd|",
        "ical": "\r\nBEGIN:VEVENT",
        "sql": "DROP TABLE",
        "bidi": "\u202e",
        "javascript url": "javascript:",
    }
    for family, marker in families.items():
        assert any(marker in p for p in PAYLOADS), family
    assert {"+1", "-1", "@SUM(1)", "\t=1", "\r=1"} <= set(PAYLOADS)
    assert max(map(len, PAYLOADS)) >= 250


# --- expectations ----------------------------------------------------------------------------


def inert(value: str) -> str:
    """A spreadsheet cell as exports write it: formula-looking text behind an apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def xlsx_text(value: str) -> str:
    """A cell as read back from the XLSX export: control characters other than tab, CR and LF
    replaced, defused, every line break kept as it was."""
    return inert(XML_ILLEGAL.sub("\ufffd", value))


def xlsx_cell(value: Any) -> Any:
    """A cell's text as Excel shows it: openpyxl leaves OOXML's _xHHHH_ escapes in."""
    return unescape(value) if isinstance(value, str) else value


def ical_text(value: str) -> str:
    """A TEXT value after an iCalendar round trip: line breaks are always LF there."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def unescape_ical(value: str) -> str:
    """An X- property's TEXT as calendar apps read it (icalendar leaves X- values escaped)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def email_for(i: int, payload: str) -> str:
    """A valid (and still hostile) email address made of the payload."""
    return re.sub(r"[\s@]", "", payload)[:150] + f"+{i}@example.org"


class Elements(HTMLParser):
    """The elements, attribute names and scripts of an HTML document or fragment."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: dict[str, set[str]] = {}
        self.scripts: list[str | None] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.setdefault(tag, set()).update(name for name, _ in attrs)
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))

    handle_startendtag = handle_starttag


def check_html(
    page: str, baseline: str, shown: Iterable[str], where: str, same_shape: bool = True
) -> None:
    """The page has no element or attribute its benign twin lacks, and shows every text escaped.

    Pages of the same shape have no more elements of any kind than their twin; a page whose
    content depends on the text (similar proposals) only uses no tag and attribute it lacks.
    """
    found, benign = Elements(page), Elements(baseline)
    assert set(found.scripts) <= set(APP_SCRIPTS) and None not in found.scripts, where
    assert found.scripts == benign.scripts or not same_shape, where
    for tag, count in found.tags.items():
        limit = benign.tags[tag] if same_shape else benign.tags[tag] and count
        assert count <= limit, (where, tag, count, benign.tags[tag])
        extra = found.attributes[tag] - benign.attributes.get(tag, set())
        assert not extra, (where, tag, extra)
    for text in shown:
        escaped = str(escape(text))
        assert escaped in page, (where, text)
        # Text with entities of its own is another payload's escaped form; its escaped form suffices.
        if escaped != text and "&" not in text:
            assert text not in page, (where, text)


# --- the world: an event per chunk of payloads, and its benign twin ---------------------------


def schema_for(slug: str, texts: list[str]) -> dict[str, Any]:
    """An option schema carrying text i in every text field of session, room, format, option,
    follow-ups (with a pattern hint), field, menu entry and rule message i."""
    doc = example_schema()
    day = doc["event"]["starts_on"]
    doc["event"].update(slug=slug, title="Injection camp", description="Plain description.")
    doc.pop("budget", None)
    numbered = list(enumerate(texts))
    sessions = []
    for k in range(0, len(texts), 10):
        chunk = numbered[k : k + 10]
        sessions.append(
            {
                "id": f"agenda{k // 10}",
                "kind": "sessions",
                "title": texts[k],
                "description": texts[-1 - k],
                "overlap": "allow",
                "formats": [
                    {"id": f"fm{i}", "title": t, "seated": n == 0} for n, (i, t) in enumerate(chunk)
                ],
                "rooms": [{"id": f"r{i}", "title": t, "capacity": 500} for i, t in chunk],
                "sessions": [
                    {
                        "id": f"s{i}",
                        "title": t,
                        "subtitle": t,
                        "description": t,
                        "track": t,
                        "tags": [t],
                        "speakers": [t, "Plain Speaker"],
                        "room": f"r{i}",
                        "start": f"{day}T{8 + i // 6:02d}:{i % 6 * 10:02d}:00+01:00",
                        "end": f"{day}T{8 + i // 6:02d}:{i % 6 * 10 + 9:02d}:00+01:00",
                    }
                    for i, t in chunk
                ],
            }
        )
    choices = [
        {
            "id": f"c{i}",
            "kind": "choice",
            "title": t,
            "description": t,
            "multiple": True,
            "options": [
                {
                    "id": f"o{i}",
                    "title": t,
                    "description": t,
                    "capacity": 500,
                    "follow_up": [
                        {"id": "q", "title": t, "help": t, "type": "text", "max_length": 2000},
                        {"id": "code", "title": t, "type": "text", "pattern": "^[A-Z]{2}$"}
                        | {"pattern_hint": t},
                    ],
                }
            ],
        }
        for i, t in numbered
    ]
    fields = {
        "id": "prefs",
        "kind": "fields",
        "title": texts[-1],
        "description": texts[-2],
        "fields": [
            {"id": f"t{i}", "title": t, "help": t, "type": "text", "max_length": 2000}
            for i, t in numbered
        ]
        + [
            {
                "id": "menu",
                "title": "Menu",
                "type": "one_of",
                "options": [{"id": f"m{i}", "title": t} for i, t in numbered],
            }
        ],
    }
    extra = {"id": "ex", "kind": "choice", "title": "Extra", "options": [{"id": "x", "title": "X"}]}
    channels = next(s for s in doc["sections"] if s["id"] == "channels")
    doc["sections"] = [*sessions, channels, *choices, fields, extra]
    doc["rules"] = [
        {"id": f"rule{i}", "if": f"c{i}/o{i}", "requires": ["ex/x"], "message": t}
        for i, t in numbered
    ]
    return doc


def main_design(texts: list[str]) -> dict[str, Any]:
    """The design of the attendee who picks everything and answers text i to question i."""
    document: dict[str, Any] = {
        f"agenda{k // 10}": {
            f"s{i}": {"format": f"fm{i}"} for i in range(k, min(k + 10, len(texts)))
        }
        for k in range(0, len(texts), 10)
    }
    document["channels"] = {"email": {}}
    document.update({f"c{i}": {f"o{i}": {"q": t}} for i, t in enumerate(texts)})
    document["prefs"] = {f"t{i}": t for i, t in enumerate(texts)} | {"menu": "m3"}
    return document


@dataclass
class Event:
    """One event of the world: its texts, its people and the main attendee's browser."""

    slug: str
    texts: list[str]
    event: dict[str, Any]
    main: dict[str, Any]
    main_token: str
    main_client: FlaskClient
    design: dict[str, Any]
    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    feed_token: str = ""


@dataclass
class World:
    """The app, its database, the organiser's browser and the events in hostile/benign pairs."""

    app: Flask
    db: sqlite_utils.Database
    organiser: FlaskClient
    owner: int
    pairs: list[tuple[Event, Event]]
    rejected_names: list[str]


def make_event(
    app: Flask,
    db: sqlite_utils.Database,
    owner: int,
    slug: str,
    texts: list[str],
    names: list[str],
    emails: list[str],
) -> Event:
    """Create and publish the event, invite its people and save their designs."""
    events.create_event(db, schema_for(slug, texts), owner)
    events.publish(db, slug)
    event = events.get_event(db, slug)
    invitation = attendees.invite(db, event["id"], "Main Attendee", f"main@{slug}.example.org")
    client = app.test_client()
    assert client.get(f"/a/{invitation.token}").status_code == 303
    made = Event(slug, texts, event, invitation.attendee, invitation.token, client, {})
    made.feed_token = invitation.feed_token
    for i, (name, email) in enumerate(zip(names, emails, strict=True)):
        person = attendees.invite(db, event["id"], name, email).attendee
        assert (person["name"], person["email"]) == (name, email)
        designs.save_design(
            db,
            person,
            {f"agenda{i // 10}": {f"s{i}": {"format": f"fm{i}"}}, f"c{i}": {f"o{i}": {"q": name}}},
        )
        made.names.append(name)
        made.emails.append(email)
        made.people.append(person)
    return made


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("injection") / "injection.db"
    app = create_app(
        {"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True}
    )
    db = connect(str(path))
    owner = accounts.create_account(db, OWNER, "Olga", PASSWORD)
    organiser = app.test_client()
    page = organiser.get("/login").get_data(as_text=True)
    signed = organiser.post(
        "/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": csrf_from(page)}
    )
    assert signed.status_code == 303
    rejected = []
    pairs = []
    for c in range(0, len(PAYLOADS), CHUNK):
        texts = PAYLOADS[c : c + CHUNK]
        names, emails = [], []
        for i, text in enumerate(texts):
            try:
                name, _ = attendees.clean_person(text, "x@example.org")
            except BadRequest:
                rejected.append(text)
                name = f"Person {c + i}"
            names.append(name)
            emails.append(email_for(c + i, text))
        benign = [f"Plain text {c + i}" for i in range(len(texts))]
        pairs.append(
            (
                make_event(app, db, owner, f"inj{c}", texts, names, emails),
                make_event(
                    app,
                    db,
                    owner,
                    f"ben{c}",
                    benign,
                    [f"Plain name {c + i}" for i in range(len(texts))],
                    [f"plain{c + i}@example.org" for i in range(len(texts))],
                ),
            )
        )
    world = World(app, db, organiser, owner, pairs, rejected)
    for hostile, benign in pairs:
        for made in (hostile, benign):
            saved = put_design(made, main_design(made.texts))
            made.design = saved
    yield world
    close_thread_connections()


def put_design(made: Event, document: dict[str, Any]) -> dict[str, Any]:
    """Save the whole design through the JSON API; what comes back is byte-exact."""
    response = made.main_client.put(f"/api/v1/designs/{made.main_token}", json={"design": document})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["design"] == document
    return document


def paired(
    world: World, path: str, who: str = "main", **kw: Any
) -> Iterator[tuple[Event, str, str]]:
    """(hostile event, its page, the benign twin's page) for a path with {slug} in it."""
    for hostile, benign in world.pairs:
        pages = []
        for made in (hostile, benign):
            client = made.main_client if who == "main" else world.organiser
            response = client.get(path.format(slug=made.slug), **kw)
            assert response.status_code == 200, (path, response.status_code)
            pages.append(response.get_data(as_text=True))
        yield hostile, pages[0], pages[1]


# --- attendee pages ------------------------------------------------------------------------------


def test_designer_page_shows_every_text_escaped(world):
    for made, page, baseline in paired(world, "/e/{slug}/design"):
        check_html(page, baseline, made.texts, f"{made.slug} designer")


def test_designer_filters_echo_what_was_typed_escaped(world):
    hostile, benign = world.pairs[0]
    for i in range(0, len(PAYLOADS), 3):
        picked = {"track": i, "tag": i + 1, "q": i + 2}
        picked = {name: j % len(PAYLOADS) for name, j in picked.items()}
        args = {name: PAYLOADS[j] for name, j in picked.items()}
        twin = {name: f"Plain text {j}" for name, j in picked.items()}
        # The whole page for a few, the timetables partial (the same template) for all.
        kinds = (("page", {}), ("partial", HX)) if i < 9 else (("partial", HX),)
        for page_kind, headers in kinds:
            pages = [
                made.main_client.get(f"/e/{made.slug}/design", query_string=a, headers=headers)
                for made, a in ((hostile, args), (benign, twin))
            ]
            assert [p.status_code for p in pages] == [200, 200]
            page, baseline = (p.get_data(as_text=True) for p in pages)
            check_html(page, baseline, [], f"filters {page_kind} {i}")
            # What the attendee typed is shown back in the search box, escaped.
            typed = args["q"].strip()[:200]
            assert str(escape(typed)) in page or not typed


def test_agenda_page_shows_every_text_escaped(world):
    for made, page, baseline in paired(world, "/e/{slug}/agenda"):
        check_html(page, baseline, made.texts, f"{made.slug} agenda")


def test_saving_answers_returns_partials_with_text_escaped(world):
    for hostile, benign in world.pairs:
        pages = []
        for made in (hostile, benign):
            client, slug = made.main_client, made.slug
            token = csrf_from(client.get(f"/e/{slug}/design").get_data(as_text=True))
            form = {"csrf_token": token, "seen": [f"a/t{i}" for i in range(len(made.texts))]}
            form |= {f"a/t{i}": text for i, text in enumerate(made.texts)}
            form["seen"].append("a/menu")
            form["a/menu"] = "m3"
            answered = client.post(f"/e/{slug}/design/answers/prefs", data=form, headers=HX)
            assert answered.status_code == 200, answered.get_data(as_text=True)[:2000]
            picked = client.post(
                f"/e/{slug}/design/pick",
                data={
                    "csrf_token": token,
                    "section": "agenda0",
                    "session": "s1",
                    "picked": "yes",
                    "format": "fm1",
                },
                headers=HX,
            )
            assert picked.status_code == 200
            confirmed = client.post(
                f"/e/{slug}/design/confirm", data={"csrf_token": token}, headers=HX
            )
            assert confirmed.status_code == 422
            pages.append([r.get_data(as_text=True) for r in (answered, picked, confirmed)])
            # The web form trims answers; the API puts the exact texts back.
            stored = designs.get_design(world.db, made.main["id"])["document"]["prefs"]
            assert stored == {f"t{i}": t.strip() for i, t in enumerate(made.texts) if t.strip()} | {
                "menu": "m3"
            }
            put_design(made, made.design)
        (answered, picked, confirmed), baseline = pages
        texts = hostile.texts
        check_html(answered, baseline[0], texts, f"{hostile.slug} answers partial")
        check_html(picked, baseline[1], [texts[1]], f"{hostile.slug} card partial")
        # Confirming fails on every rule: each rule's message is shown, escaped.
        check_html(confirmed, baseline[2], texts, f"{hostile.slug} summary partial")


# --- calendars -----------------------------------------------------------------------------------

VEVENT_PROPERTIES = {
    "UID",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "CATEGORIES",
}


def check_calendar(data: bytes, made: Event, picked: Iterable[int]) -> None:
    """The calendar parses to exactly the picked sessions, each text exact as a property value."""
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["X-WR-CALNAME"].to_ical() == b"Injection camp: my agenda"
    assert {c.name for c in calendar.subcomponents} <= {"VEVENT", "VTIMEZONE"}
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    want = {f"{made.main['id']}-agenda{i // 10}-s{i}@configurator": i for i in picked}
    assert sorted(found) == sorted(want)
    for uid, i in want.items():
        event, text = found[uid], made.texts[i]
        assert set(event) == VEVENT_PROPERTIES, (i, set(event))
        assert not event.subcomponents
        assert str(event["SUMMARY"]) == ical_text(text), i
        assert str(event["LOCATION"]) == ical_text(text), i
        lines = [f"Format: {text}", f"Track: {text}", f"Speakers: {text}, Plain Speaker"]
        if plain_text(text):
            lines += ["", plain_text(text)]
        assert str(event["DESCRIPTION"]) == ical_text("\n".join(lines)), i
        assert [str(c) for c in event["CATEGORIES"].cats] == [ical_text(text)], i


def test_ics_download_and_feed_carry_every_text_exactly(world):
    for made, _benign in world.pairs:
        picked = range(len(made.texts))
        download = made.main_client.get(f"/e/{made.slug}/agenda.ics")
        assert download.status_code == 200 and download.mimetype == "text/calendar"
        check_calendar(download.data, made, picked)
        feed = world.app.test_client().get(f"/feed/{made.feed_token}.ics")
        assert feed.status_code == 200
        check_calendar(feed.data, made, picked)


# --- the JSON API --------------------------------------------------------------------------------


def test_api_gives_designs_and_schema_texts_exactly(world):
    for made, _benign in world.pairs:
        response = made.main_client.get(f"/api/v1/designs/{made.main_token}")
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert json.loads(response.data)["design"] == made.design
        schema = made.main_client.get(f"/api/v1/events/{made.slug}/design-schema")
        document = json.loads(schema.data)
        for i, text in enumerate(made.texts):
            section = document["properties"][f"c{i}"]
            assert section["title"] == text
            assert section["properties"][f"o{i}"]["title"] == text
            assert section["properties"][f"o{i}"]["properties"]["q"]["title"] == text
            assert document["properties"]["prefs"]["properties"][f"t{i}"]["title"] == text


# --- the organiser's console and the staff pages -------------------------------------------------


def organiser_pages(made: Event) -> Iterator[tuple[str, list[str]]]:
    """Each console page of an event with the texts it shows."""
    texts, names = made.texts, made.names
    yield "/events/{slug}", []
    yield "/events/{slug}/schema", texts
    yield "/events/{slug}/preview", texts
    yield "/events/{slug}/publish", []
    yield "/events/{slug}/attendees", names + made.emails
    yield "/events/{slug}/team", []
    for k in range(0, len(texts), 10):
        yield f"/events/{{slug}}/schema/sections/agenda{k // 10}", [texts[k], texts[-1 - k]]
        yield f"/events/{{slug}}/schema/sections/agenda{k // 10}/sessions", texts[k : k + 10]
    yield "/events/{slug}/schema/sections/prefs/fields/menu", texts
    for i, text in enumerate(texts):
        editors = [
            f"c{i}",
            f"c{i}/options/o{i}",
            f"c{i}/options/o{i}/fields/q",
            f"prefs/fields/t{i}",
            f"agenda{i // 10}/sessions/s{i}",
        ]
        # Every text through two of the five editors; every editor gets a fair share of texts.
        for editor in (editors[i % 5], editors[(i + 2) % 5]):
            yield f"/events/{{slug}}/schema/sections/{editor}", [text]


def staff_pages(made: Event) -> Iterator[tuple[str, list[str]]]:
    """Each staff page of an event with the texts it shows."""
    yield "/events/{slug}/dashboard", made.texts
    yield "/events/{slug}/exports", []
    yield "/events/{slug}/rosters", made.texts
    for i, text in enumerate(made.texts):
        shown = [text, made.names[i], made.emails[i]]
        yield f"/events/{{slug}}/rosters/agenda{i // 10}/s{i}", shown
        yield f"/events/{{slug}}/rosters/c{i}/o{i}", shown


@pytest.mark.parametrize("pages", [organiser_pages, staff_pages])
def test_console_pages_show_every_text_escaped(world, pages):
    for made, benign in world.pairs:
        for path, shown in pages(made):
            responses = [world.organiser.get(path.format(slug=m.slug)) for m in (made, benign)]
            assert [r.status_code for r in responses] == [200, 200], path
            page, baseline = (r.get_data(as_text=True) for r in responses)
            check_html(page, baseline, shown, path.format(slug=made.slug))
            if made is world.pairs[0][0] and "{slug}/schema/sections/" not in path:
                hx = world.organiser.get(path.format(slug=made.slug), headers=HX)
                hx_baseline = world.organiser.get(path.format(slug=benign.slug), headers=HX)
                check_html(hx.get_data(as_text=True), hx_baseline.get_data(as_text=True), [], path)


def test_schema_json_and_raw_editor_give_the_document_back(world):
    for made, _benign in world.pairs:
        draft = events.draft(events.get_event(world.db, made.slug))
        download = world.organiser.get(f"/events/{made.slug}/schema.json")
        assert json.loads(download.data) == draft
        raw = world.organiser.get(f"/events/{made.slug}/schema/raw").get_data(as_text=True)
        area = re.search(r"<textarea[^>]*>(.*?)</textarea>", raw, re.S)
        assert area and json.loads(html.unescape(area.group(1))) == draft
        assert "<script>" not in area.group(1)


# --- exports -------------------------------------------------------------------------------------


def download(world: World, made: Event, fmt: str) -> bytes:
    """An export as staff download it from the web."""
    response = world.organiser.get(f"/events/{made.slug}/exports/{fmt}")
    assert response.status_code == 200, (fmt, response.status_code)
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="{made.slug}-{fmt}\.[a-z]+"', disposition)
    return response.data


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """CSV export rows read back with the csv module."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_exports_defuse_formulas_and_keep_text_intact(world):
    for made, _benign in world.pairs:
        wide = {row["email"]: row for row in csv_rows(download(world, made, "csv-wide"))}
        main = wide.pop(made.main["email"])
        for i, text in enumerate(made.texts):
            assert main[f"c{i}/o{i}/q"] == inert(text), i
            assert main[f"prefs/t{i}"] == inert(text), i
            assert main[f"agenda{i // 10}/s{i}"] == f"fm{i}"
        for i, (name, email) in enumerate(zip(made.names, made.emails, strict=True)):
            row = wide.pop(inert(email))
            assert (row["name"], row[f"c{i}/o{i}/q"]) == (inert(name), inert(name)), i
        assert wide == {}

        long = csv_rows(download(world, made, "csv-long"))
        answers = {(r["email"], r["section"], r["option"], r["field"]): r["value"] for r in long}
        for i, text in enumerate(made.texts):
            assert answers[(made.main["email"], f"c{i}", f"o{i}", "q")] == inert(text), i
            assert answers[(made.main["email"], "prefs", "", f"t{i}")] == inert(text), i
            person = (inert(made.emails[i]), f"c{i}", f"o{i}", "q")
            assert answers[person] == inert(made.names[i]), i
        assert {r["name"] for r in long} == {"Main Attendee", *map(inert, made.names)}

        roster = csv_rows(download(world, made, "roster"))
        for i, text in enumerate(made.texts):
            for section, option in ((f"agenda{i // 10}", f"s{i}"), (f"c{i}", f"o{i}")):
                lines = [r for r in roster if (r["section"], r["session"]) == (section, option)]
                assert {r["session_title"] for r in lines} == {inert(text)}, i
                assert sorted(r["name"] for r in lines) == sorted(
                    ["Main Attendee", inert(made.names[i])]
                ), i

        channels = csv_rows(download(world, made, "channels"))
        for i, text in enumerate(made.texts):
            lines = {
                r["name"]: r for r in channels if (r["section"], r["option"]) == (f"c{i}", f"o{i}")
            }
            assert {r["option_title"] for r in lines.values()} == {inert(text)}, i
            assert lines["Main Attendee"][f"o{i}/q"] == inert(text), i
            assert lines[inert(made.names[i])][f"o{i}/q"] == inert(made.names[i]), i


def test_xlsx_export_defuses_formulas_and_keeps_text_intact(world):
    for made, _benign in world.pairs:
        book = openpyxl.load_workbook(io.BytesIO(download(world, made, "xlsx")), read_only=True)
        assert not any(XML_ILLEGAL.search(name) for name in book.sheetnames)
        sheets = {}
        for sheet in book.worksheets:
            header, *rows = [[xlsx_cell(v) for v in r] for r in sheet.iter_rows(values_only=True)]
            assert header[:3] == ["attendee_id", "name", "email"]
            for row in rows:
                # Read-only sheets leave out a row's trailing empty cells.
                cells = dict(zip(header, row, strict=False))
                sheets.setdefault(cells["email"], {}).update(cells)
        main = sheets.pop(made.main["email"])
        for i, text in enumerate(made.texts):
            assert main[f"c{i}/o{i}/q"] == xlsx_text(text), i
            assert main[f"prefs/t{i}"] == xlsx_text(text), i
        for i, (name, email) in enumerate(zip(made.names, made.emails, strict=True)):
            row = sheets.pop(xlsx_text(email))
            assert (row["name"], row[f"c{i}/o{i}/q"]) == (xlsx_text(name), xlsx_text(name)), i
        assert sheets == {}


def test_json_export_is_exact(world):
    token = api_tokens.issue(world.db, world.owner, "exports")
    for made, _benign in world.pairs:
        data = download(world, made, "json")
        api = world.app.test_client().get(
            f"/api/v1/events/{made.slug}/exports/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert api.status_code == 200 and json.loads(api.data) == json.loads(data)
        found = {d["attendee"]["email"]: d for d in json.loads(data)}
        assert found.pop(made.main["email"])["design"] == made.design
        for i, (name, email) in enumerate(zip(made.names, made.emails, strict=True)):
            entry = found.pop(email)
            assert entry["attendee"]["name"] == name
            assert entry["design"][f"c{i}"] == {f"o{i}": {"q": name}}
        assert found == {}


def test_ics_zip_export_holds_exact_calendars_under_safe_names(world):
    for made, _benign in world.pairs:
        archive = zipfile.ZipFile(io.BytesIO(download(world, made, "ics-zip")))
        names = archive.namelist()
        assert len(names) == len(made.names) + 1
        assert all(re.fullmatch(r"[0-9]{7}-[a-z0-9-]{1,40}\.ics", n) for n in names), names
        mine = f"{made.main['id']:07d}-main-attendee.ics"
        check_calendar(archive.read(mine), made, range(len(made.texts)))
        for name in names:
            assert icalendar.Calendar.from_ical(archive.read(name)).walk("VEVENT")


# --- co-creation: proposals and the organiser's answers ------------------------------------------


def twin_text(text: str) -> str:
    """A benign text that passes and fails the same checks: same length, spaces and commas."""
    return re.sub(r"[^\s,]", "x", text)


@dataclass
class Proposing:
    """An event taking proposals: authors with their browsers, proposals and what was stored."""

    slug: str
    event: dict[str, Any]
    texts: list[str]
    names: list[str]
    authors: list[tuple[dict[str, Any], FlaskClient, str]] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    drafts: list[proposals.Draft] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    refusals: list[tuple[int, str]] = field(default_factory=list)


def proposing(world: World, slug: str, texts: list[str], names: list[str]) -> Proposing:
    """Every text proposed through the web form, answered and hidden through the console."""
    db, app = world.db, world.app
    doc = example_schema()
    doc["event"]["slug"] = slug
    doc["proposals"] = {
        "enabled": True,
        "title": "Propose a session",
        "max_per_attendee": 100,
        "supports_per_attendee": 100,
        "formats": ["talk"],
    }
    events.create_event(db, doc, world.owner)
    events.publish(db, slug)
    made = Proposing(slug, events.get_event(db, slug), texts, names)
    settings = proposals.settings_for(db, made.event["id"])
    count = "SELECT count(*) FROM proposals WHERE event_id = ?"
    for i, (text, name) in enumerate(zip(texts, names, strict=True)):
        invitation = attendees.invite(db, made.event["id"], name, f"author{i}@example.org")
        client = app.test_client()
        assert client.get(f"/a/{invitation.token}").status_code == 303
        token = csrf_from(client.get(f"/e/{slug}/my-input").get_data(as_text=True))
        made.authors.append((invitation.attendee, client, token))
        form = {"csrf_token": token, "title": text, "description": text, "tags": text}
        form["format"] = "talk"
        try:
            proposals.clean(settings, text, text, "talk", text)
        except BadRequest:
            before = db.execute(count, [made.event["id"]]).fetchone()[0]
            refused = client.post(f"/e/{slug}/proposals", data=form)
            assert refused.status_code == 422, i
            assert db.execute(count, [made.event["id"]]).fetchone()[0] == before
            made.refusals.append((i, refused.get_data(as_text=True)))
            title = " ".join(text.split())
            form["title"] = text if 3 <= len(title) <= 200 else (text + " talk")[:200]
            form["tags"] = text if len(text) <= 40 and text.count(",") < 5 else ""
        draft = proposals.clean(settings, form["title"], text, "talk", form["tags"])
        posted = client.post(f"/e/{slug}/proposals", data=form)
        assert posted.status_code == 303, (i, posted.get_data(as_text=True)[:500])
        made.pids.append(int(posted.headers["Location"].rsplit("/", 1)[1]))
        made.drafts.append(draft)
    console = csrf_from(world.organiser.get(f"/events/{slug}/proposals").get_data(as_text=True))
    review = f"/events/{slug}/proposals"
    hider = attendees.invite(db, made.event["id"], "Hidden Author", "hidden@example.org")
    for i, (text, pid) in enumerate(zip(texts, made.pids, strict=True)):
        supporter = made.authors[(i + 1) % len(texts)][0]
        proposals.support(db, made.event["id"], pid, supporter["id"])
        answered = world.organiser.post(
            f"{review}/{pid}/answer",
            data={"csrf_token": console, "status": "under_consideration", "reason": text},
        )
        assert answered.status_code == 303, (i, answered.status_code)
        hidden = proposals.propose(
            db,
            made.event["id"],
            hider.attendee["id"],
            proposals.Draft(f"Hidden proposal {i}", "", None, []),
        )
        made.hidden.append(hidden)
        hid = world.organiser.post(
            f"{review}/{hidden}/hide", data={"csrf_token": console, "reason": text}
        )
        assert hid.status_code == 303, (i, hid.status_code)
    world.organiser.get(f"/events/{slug}/proposals")  # shows (and so clears) the flashes
    return made


@pytest.fixture(scope="module")
def cocreation(world: World) -> tuple[Proposing, Proposing]:
    names = [name for hostile, _benign in world.pairs for name in hostile.names]
    return (
        proposing(world, "propose-hostile", PAYLOADS, names),
        proposing(
            world,
            "propose-benign",
            [twin_text(t) for t in PAYLOADS],
            [f"Plain name {i}" for i in range(len(PAYLOADS))],
        ),
    )


def test_proposals_keep_cleaned_text_and_reasons(world, cocreation):
    made, _benign = cocreation
    assert len(made.refusals) >= 5
    for i, (pid, draft) in enumerate(zip(made.pids, made.drafts, strict=True)):
        stored = proposals.get_proposal(world.db, made.event["id"], pid)
        assert (stored["title"], stored["description"], stored["tags"]) == (
            draft.title,
            draft.description,
            draft.tags,
        ), i
        assert stored["answer_reason"] == PAYLOADS[i].strip().replace("\r\n", "\n"), i


def test_refused_proposals_show_what_was_typed_escaped(cocreation):
    made, benign = cocreation
    twins = dict(benign.refusals)
    assert sorted(twins) == [i for i, _page in made.refusals]
    for i, page in made.refusals:
        check_html(page, twins[i], [], f"refused proposal {i}")
        typed = str(escape(PAYLOADS[i]))
        assert typed in page or str(escape(PAYLOADS[i].strip())) in page, i


def test_proposal_pages_show_every_text_escaped(world, cocreation):
    made, benign = cocreation
    reader, twin_reader = made.authors[0][1], benign.authors[0][1]

    def both(path: str, client: FlaskClient, twin: FlaskClient, **kw: Any) -> tuple[str, str]:
        i = kw.pop("i", 0)
        pages = [
            client.get(path.format(slug=made.slug, pid=made.pids[i]), **kw),
            twin.get(path.format(slug=benign.slug, pid=benign.pids[i]), **kw),
        ]
        assert [p.status_code for p in pages] == [200, 200], path
        return pages[0].get_data(as_text=True), pages[1].get_data(as_text=True)

    page, baseline = both("/e/{slug}/proposals", reader, twin_reader)
    check_html(page, baseline, [d.title for d in made.drafts], "proposals list")
    # Which proposals are similar depends on the words: the benign list shows every kind of card.
    every_card = baseline
    for i, draft in enumerate(made.drafts):
        reason = PAYLOADS[i].strip().replace("\r\n", "\n")
        author, twin = made.authors[i][1], benign.authors[i][1]
        shown = [draft.title, draft.description, *draft.tags, reason]
        page, baseline = both("/e/{slug}/proposals/{pid}", author, twin, i=i)
        check_html(page, baseline, shown, f"proposal {i}")
        page, baseline = both("/e/{slug}/my-input", author, twin)
        check_html(page, baseline, [draft.title, reason], f"my input {i}")
        similar = author.get(
            f"/e/{made.slug}/proposals/similar",
            query_string={"title": PAYLOADS[i], "description": PAYLOADS[i - 1]},
            headers=HX,
        )
        assert similar.status_code == 200
        check_html(similar.get_data(as_text=True), every_card, [], f"similar {i}", False)
    page, baseline = both("/events/{slug}/proposals", world.organiser, world.organiser)
    hidden_reasons = [t.strip().replace("\r\n", "\n") for t in PAYLOADS]
    shown = [d.title for d in made.drafts] + made.names + hidden_reasons
    check_html(page, baseline, shown, "review")


def test_proposal_exports_and_api_are_defused_or_exact(world, cocreation):
    made, _benign = cocreation
    base = f"/events/{made.slug}/proposals/export"
    rows = list(
        csv.DictReader(
            io.StringIO(world.organiser.get(base + ".csv").get_data(as_text=True), newline="")
        )
    )
    document = json.loads(world.organiser.get(base + ".json").data)
    token = api_tokens.issue(world.db, world.owner, "injection")
    api = world.app.test_client().get(
        f"/api/v1/events/{made.slug}/proposals", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200 and json.loads(api.data) == document
    by_id = {int(r["id"]): r for r in rows}
    exact = {p["id"]: p for p in document["proposals"]}
    assert sorted(by_id) == sorted(exact) == sorted(made.pids)
    for i, (pid, draft) in enumerate(zip(made.pids, made.drafts, strict=True)):
        reason = PAYLOADS[i].strip().replace("\r\n", "\n")
        supporter = made.names[(i + 1) % len(made.names)]
        row, entry = by_id[pid], exact[pid]
        assert (row["title"], row["description"], row["reason"]) == (
            inert(draft.title),
            inert(draft.description),
            inert(reason),
        ), i
        assert row["tags"] == inert("; ".join(draft.tags))
        assert (row["author"], row["supporters"]) == (inert(made.names[i]), inert(supporter)), i
        assert (entry["title"], entry["description"], entry["tags"], entry["reason"]) == (
            draft.title,
            draft.description,
            draft.tags,
            reason,
        ), i
        assert (entry["author"], entry["supporters"]) == (made.names[i], [supporter]), i


# --- texts an event has once: its title and description, the budget's and proposals' titles ------


def single_event(world: World, slug: str, text: str) -> tuple[FlaskClient, str]:
    """An event whose title, description, budget and proposals titles and attendee are the text."""
    doc = example_schema()
    doc["event"].update(slug=slug, title=text, description=text)
    doc["budget"]["title"] = text
    doc["proposals"] = {"enabled": True, "title": text}
    events.create_event(world.db, doc, world.owner)
    events.publish(world.db, slug)
    event = events.get_event(world.db, slug)
    # The attendee is named by the text too, where it can be a name.
    name = text if len(text.strip()) <= 200 else "Ana"
    invitation = attendees.invite(world.db, event["id"], name, f"ana@{slug}.example.org")
    client = world.app.test_client()
    assert client.get(f"/a/{invitation.token}").status_code == 303
    return client, invitation.feed_token


EVENT_PAGES = [
    ("attendee", "/e/{slug}/design"),
    ("attendee", "/e/{slug}/agenda"),
    ("attendee", "/e/{slug}/proposals"),
    ("visitor", "/e/{slug}/register"),
    ("organiser", "/events/{slug}"),
    ("organiser", "/events/{slug}/schema"),
    ("organiser", "/events/{slug}/dashboard"),
]


@pytest.fixture(scope="module")
def one_text_events(world: World) -> list[tuple[FlaskClient, str]]:
    """An event per text (`event-<i>`), and its benign twin `plain-event` last."""
    made = [single_event(world, f"event-{i}", text) for i, text in enumerate(PAYLOADS)]
    return [*made, single_event(world, "plain-event", "Plain event text")]


def test_event_wide_texts_are_escaped_everywhere(world, one_text_events):
    twin, _feed = one_text_events[-1]
    visitor = world.app.test_client()
    clients = {"organiser": world.organiser, "visitor": visitor}
    baselines = {
        path: {"attendee": twin, **clients}[who].get(path.format(slug="plain-event"))
        for who, path in EVENT_PAGES
    }
    for i, text in enumerate(PAYLOADS):
        slug = f"event-{i}"
        client, feed = one_text_events[i]
        # Every text through every attendee page, and one of the console pages in turn.
        console = [page for page in EVENT_PAGES if page[0] == "organiser"]
        pages = [page for page in EVENT_PAGES if page[0] != "organiser"]
        for who, path in [*pages, console[i % len(console)]]:
            response = {"attendee": client, **clients}[who].get(path.format(slug=slug))
            assert response.status_code == 200, (i, path)
            baseline = baselines[path].get_data(as_text=True)
            shown = [text, text.strip()] if path.endswith("/design") else [text]
            check_html(response.get_data(as_text=True), baseline, shown, f"{path} {i}")
        calendar = icalendar.Calendar.from_ical(visitor.get(f"/feed/{feed}.ics").data)
        calname = unescape_ical(calendar["X-WR-CALNAME"].to_ical().decode())
        assert calname == ical_text(f"{text}: my agenda"), i
        design_schema = json.loads(visitor.get(f"/api/v1/events/{slug}/design-schema").data)
        assert design_schema["title"] == f"A design for {text}", i
    listing = world.organiser.get("/events").get_data(as_text=True)
    check_html(listing, listing, PAYLOADS, "events list")


# --- what a field refuses is refused cleanly -----------------------------------------------------


def test_phone_and_handle_answers_refuse_payloads_and_store_nothing(world):
    hostile, benign = world.pairs[0]
    phone, handle = (re.compile(TEXT_FORMATS[f][0]) for f in ("phone", "handle"))
    token = csrf_from(hostile.main_client.get(f"/e/{hostile.slug}/design").get_data(as_text=True))
    twin_token = csrf_from(
        benign.main_client.get(f"/e/{benign.slug}/design").get_data(as_text=True)
    )
    refused = 0
    for i, text in enumerate(PAYLOADS):
        responses = []
        for made, typed, csrf in ((hostile, text, token), (benign, f"not valid {i}", twin_token)):
            form = {
                "csrf_token": csrf,
                "pick": ["email", "sms", "social"],
                "seen": ["a/sms/phone", "a/social/handle"],
                "a/sms/phone": typed,
                "a/social/handle": typed,
            }
            responses.append(
                made.main_client.post(
                    f"/e/{made.slug}/design/answers/channels", data=form, headers=HX
                )
            )
        response, twin = responses
        stored = designs.get_design(world.db, hostile.main["id"])["document"]["channels"]
        typed = text.strip()
        if phone.match(typed) and handle.match(typed):
            assert response.status_code == 200, i
            assert stored["sms"] == {"phone": typed} and stored["social"] == {"handle": typed}
            put_design(hostile, hostile.design)
            continue
        refused += 1
        assert response.status_code == 422, (i, response.status_code)
        assert stored == {"email": {}}, i
        assert twin.status_code == 422, i
        page = response.get_data(as_text=True)
        check_html(page, twin.get_data(as_text=True), [typed], f"refused channels {i}")
    assert refused >= len(PAYLOADS) - 2


def test_names_and_addresses_that_do_not_fit_are_refused(world):
    assert world.rejected_names
    for i, text in enumerate(PAYLOADS):
        for name, email in ((text, text), (text, email_for(i, text))):
            try:
                attendees.clean_person(name, email)
            except BadRequest as error:
                assert error.status == 400
                with pytest.raises(BadRequest):
                    attendees.invite(world.db, world.pairs[0][0].event["id"], name, email)
    stored = {r["name"] for r in world.db.execute("SELECT name FROM attendees")}
    assert not stored & set(world.rejected_names)
    assert not stored & {p for p in PAYLOADS if len(p.strip()) > 200}


def test_registration_shows_name_and_address_escaped(world, one_text_events):
    visitor = world.app.test_client()
    page = visitor.get("/e/plain-event/register").get_data(as_text=True)

    def register(slug: str, name: str, email: str, i: int) -> Any:
        return visitor.post(
            f"/e/{slug}/register",
            data={"csrf_token": csrf_from(page), "name": name, "email": email},
            environ_base={"REMOTE_ADDR": f"10.1.{i // 200}.{i % 200}"},
            follow_redirects=True,
        )

    done = register("plain-event", "Plain name", "plain-registered@example.org", 1000)
    refused = register("plain-event", "x" * 201, "plain-refused@example.org", 1001)
    assert (done.status_code, refused.status_code) == (200, 422)
    for i, text in enumerate(PAYLOADS):
        email = email_for(i, text)
        response = register(f"event-{i}", text, email, i)
        baseline = done if response.status_code == 200 else refused
        assert response.status_code == (422 if len(text.strip()) > 200 else 200), i
        page = response.get_data(as_text=True)
        check_html(page, baseline.get_data(as_text=True), [email], f"registration {i}")


# --- the schema editor's forms -------------------------------------------------------------------


class Forms(HTMLParser):
    """Each form of a page by its action, with the values a browser would send."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.current: list[tuple[str, str]] | None = None
        self.textarea: str | None = None
        self.select: tuple[str, list[tuple[str, bool]]] | None = None
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = self.forms.setdefault(a.get("action", ""), [])
        elif self.current is None or "name" not in a:
            if tag == "option" and self.select:
                self.select[1].append((a.get("value", ""), "selected" in a))
        elif tag == "input":
            kind = a.get("type", "text")
            if kind not in ("submit", "button", "file") and (
                kind not in ("checkbox", "radio") or "checked" in a
            ):
                self.current.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea":
            self.textarea, self.text = a["name"], []
        elif tag == "select":
            self.select = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea and self.current is not None:
            self.current.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None
        elif tag == "select" and self.select and self.current is not None:
            name, choices = self.select
            chosen = [v for v, on in choices if on] or [v for v, _on in choices[:1]]
            self.current += [(name, v) for v in chosen]
            self.select = None
        elif tag == "form":
            self.current = None


# (editor page, form action, the text fields the form sends, where the text is stored)
EDITORS = [
    ("/schema", "/schema/event", ["title", "description"], ("event",)),
    ("/schema", "/schema/budget", ["title"], ("budget",)),
    ("/schema/sections/agenda", "/schema/sections/agenda", ["title", "description"], (0,)),
    (
        "/schema/sections/channels/options/sms",
        "/schema/sections/channels/options/sms",
        ["title", "description"],
        (1, "options", 1),
    ),
    (
        "/schema/sections/agenda/sessions/opening",
        "/schema/sections/agenda/sessions/opening",
        ["title", "subtitle", "description", "track", "speakers", "tags"],
        (0, "sessions", 0),
    ),
    (
        "/schema/sections/preferences/fields/access",
        "/schema/sections/preferences/fields/access",
        ["title", "help"],
        (3, "fields", 1),
    ),
    ("/schema/sections/agenda", "/schema/sections/agenda/rooms/hall", ["title"], (0, "rooms", 0)),
    ("/schema", "/schema/rules", ["message"], ("rules", 2)),
]


def editor_form(world: World, editor: tuple[str, str, list[str], tuple], text: str) -> list:
    """The editor's form as the plain event's page fills it, with the text in its text fields."""
    page, action, names, _where = editor
    html_page = world.organiser.get(f"/events/plain-event{page}").get_data(as_text=True)
    sent = Forms(html_page).forms[f"/events/plain-event{action}"]
    sent = [(k, v) for k, v in sent if k not in names] + [(k, text) for k in names]
    if action.endswith("/rules"):
        sent = [(k, v) for k, v in sent if k not in ("if", "targets")]
        sent += [("if", "extras/tour"), ("targets", "extras/kit")]
    return sent


def test_schema_editor_forms_store_and_show_text_escaped(world, one_text_events):
    forms = {editor[1]: editor_form(world, editor, "Plain edited text") for editor in EDITORS}
    baselines = {}
    for _page, action, _names, _where in EDITORS:
        response = world.organiser.post(
            f"/events/plain-event{action}", data=MultiDict(forms[action]), headers=HX
        )
        assert response.status_code == 200, (action, response.get_data(as_text=True)[:3000])
        baselines[action] = response.get_data(as_text=True)
    for i, text in enumerate(PAYLOADS):
        slug = f"event-{i}"
        typed = text.strip()
        # Every text through two of the editors; each editor gets a fair share of texts.
        for _page, action, names, where in (EDITORS[i % 8], EDITORS[(i + 3) % 8]):
            sent = MultiDict([(k, text if k in names else v) for k, v in forms[action]])
            response = world.organiser.post(f"/events/{slug}{action}", data=sent, headers=HX)
            assert response.status_code == 200, (i, action, response.status_code)
            doc = events.draft(events.get_event(world.db, slug))
            node: Any = doc["sections"] if isinstance(where[0], int) else doc
            for step in where:
                node = node[step]
            for name in names:
                # Tags and speakers are typed comma-separated.
                items = [part.strip() for part in typed.split(",") if part.strip()]
                assert node.get(name) == (items if name in ("tags", "speakers") else typed), (
                    i,
                    action,
                    name,
                )
            page = response.get_data(as_text=True)
            check_html(page, baselines[action], [typed], f"{action} {i}")


# --- inviting people from a CSV ------------------------------------------------------------------


def test_invited_names_are_escaped_on_the_page_and_defused_in_the_links_csv(world):
    people = [
        (name, email_for(i, text))
        for i, (name, text) in enumerate(
            zip([n for hostile, _b in world.pairs for n in hostile.names], PAYLOADS, strict=True)
        )
    ]
    twins = [(f"Plain name {i}", f"plain{i}@example.org") for i in range(len(people))]
    pages = []
    for slug, rows in (("invite-hostile", people), ("invite-benign", twins)):
        doc = example_schema()
        doc["event"]["slug"] = slug
        events.create_event(world.db, doc, world.owner)
        events.publish(world.db, slug)
        sheet = io.StringIO()
        csv.writer(sheet).writerows([("name", "email"), *rows])
        token = csrf_from(world.organiser.get(f"/events/{slug}/attendees").get_data(as_text=True))
        form = {"csrf_token": token, "people": sheet.getvalue(), "then": "show"}
        shown = world.organiser.post(f"/events/{slug}/attendees", data=form, headers=HX)
        assert shown.status_code == 200, shown.get_data(as_text=True)[:2000]
        pages.append(shown.get_data(as_text=True))
    texts = [text for pair in people for text in pair]
    check_html(pages[0], pages[1], texts, "invitations issued")
    area = re.search(r'<textarea id="links-csv"[^>]*>(.*?)</textarea>', pages[0], re.S)
    assert area
    shown_rows = list(csv.DictReader(io.StringIO(html.unescape(area.group(1)), newline="")))
    # Inviting the same people again issues new links, this time as a CSV download.
    sheet = io.StringIO()
    csv.writer(sheet).writerows([("name", "email"), *people])
    page = world.organiser.get("/events/invite-hostile/attendees").get_data(as_text=True)
    download = world.organiser.post(
        "/events/invite-hostile/attendees",
        data={"csrf_token": csrf_from(page), "people": sheet.getvalue(), "then": "csv"},
    )
    assert download.mimetype == "text/csv"
    for rows in (shown_rows, csv_rows(download.data)):
        found = {r["email"]: r["name"] for r in rows}
        assert found == {inert(email): inert(name) for name, email in people}


# --- waitlists and the notices of seats won ------------------------------------------------------


def waitlist_event(world: World, slug: str, texts: list[str]) -> tuple[dict, FlaskClient, list]:
    """Options of one seat each, all held by one attendee while another waits through the web."""
    doc = example_schema()
    doc["event"]["slug"] = slug
    for key in ("budget", "rules", "proposals"):
        doc.pop(key, None)
    options = [{"id": f"o{i}", "title": t, "capacity": 1} for i, t in enumerate(texts)]
    doc["sections"] = [
        {"id": "w", "kind": "choice", "title": "Seats", "multiple": True, "options": options}
    ]
    events.create_event(world.db, doc, world.owner)
    events.publish(world.db, slug)
    event = events.get_event(world.db, slug)
    holder = attendees.invite(world.db, event["id"], "Holder", f"holder@{slug}.example.org")
    designs.save_design(world.db, holder.attendee, {"w": {f"o{i}": {} for i in range(len(texts))}})
    waiting = attendees.invite(world.db, event["id"], "Waiting", f"waiting@{slug}.example.org")
    client = world.app.test_client()
    assert client.get(f"/a/{waiting.token}").status_code == 303
    token = csrf_from(client.get(f"/e/{slug}/design").get_data(as_text=True))
    joined = []
    for i in range(len(texts)):
        response = client.post(
            f"/e/{slug}/design/waitlist",
            data={"csrf_token": token, "section": "w", "option": f"o{i}"},
            headers=HX,
        )
        assert response.status_code == 200, (i, response.status_code)
        joined.append(response.get_data(as_text=True))
    return holder.attendee, client, joined


def test_waitlist_messages_and_seat_notices_show_titles_escaped(world):
    hostile = waitlist_event(world, "wait-hostile", PAYLOADS)
    benign = waitlist_event(world, "wait-benign", [f"Plain text {i}" for i in range(len(PAYLOADS))])
    for i, (page, baseline) in enumerate(zip(hostile[2], benign[2], strict=True)):
        check_html(page, baseline, [PAYLOADS[i]], f"waitlist joined {i}")
    pages = []
    for (holder, client, _joined), slug in ((hostile, "wait-hostile"), (benign, "wait-benign")):
        waiting = client.get(f"/e/{slug}/design").get_data(as_text=True)
        designs.save_design(world.db, holder, {})
        promoted = client.get(f"/e/{slug}/design").get_data(as_text=True)
        pages.append((waiting, promoted))
    (waiting, promoted), (waiting_twin, promoted_twin) = pages
    check_html(waiting, waiting_twin, PAYLOADS, "waiting")
    check_html(promoted, promoted_twin, PAYLOADS, "seats won")
    assert promoted.count('class="banner good"') == len(PAYLOADS)


def test_api_errors_carry_rule_messages_and_titles_exactly(world):
    for made, _benign in world.pairs:
        response = made.main_client.put(
            f"/api/v1/designs/{made.main_token}", json={"design": made.design, "confirm": True}
        )
        assert response.status_code == 422 and response.mimetype == "application/json"
        errors = json.loads(response.data)["errors"]
        messages = {e["path"]: e for e in errors}
        for i, text in enumerate(made.texts):
            # Each option's rule fails with the organiser's message, under the option's titles.
            error = messages[f"/c{i}/o{i}"]
            assert error["message"] == text, i
            assert error["where"] == f"{text} > {text}", i
        assert designs.get_design(world.db, made.main["id"])["status"] == "draft"


def test_pattern_hints_are_shown_escaped_when_an_answer_does_not_fit(world):
    for hostile, benign in world.pairs:
        pages = []
        for made in (hostile, benign):
            client = made.main_client
            token = csrf_from(client.get(f"/e/{made.slug}/design").get_data(as_text=True))
            for i, text in enumerate(made.texts):
                form = {"csrf_token": token, "pick": f"o{i}", "seen": [f"a/o{i}/q", f"a/o{i}/code"]}
                form |= {f"a/o{i}/q": text, f"a/o{i}/code": "not a code"}
                response = client.post(f"/e/{made.slug}/design/answers/c{i}", data=form, headers=HX)
                assert response.status_code == 422, (made.slug, i)
                pages.append(response.get_data(as_text=True))
        assert designs.get_design(world.db, hostile.main["id"])["document"] == hostile.design
        for i, text in enumerate(hostile.texts):
            page, baseline = pages[i], pages[len(hostile.texts) + i]
            check_html(page, baseline, [text], f"{hostile.slug} pattern hint {i}")
            assert str(escape(f"{text} must be {text}")) in page, i
