"""The JSON API: every response checked against docs/openapi.json, every error a clear 4xx."""

from __future__ import annotations

import io
import json
import re
import shlex
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

import jsonschema
import pytest
import sqlite_utils
from docsupport import ROOT, code_blocks
from flask import Flask
from flask.testing import FlaskClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from configurator import accounts, api_tokens, attendees, designs, events
from configurator.optionschema import pointer
from configurator.tokens import token_hash

OPENAPI_PATH = ROOT / "docs" / "openapi.json"
OPENAPI = json.loads(OPENAPI_PATH.read_text())
REGISTRY = Registry().with_resource(
    "urn:openapi", Resource.from_contents(OPENAPI, default_specification=DRAFT202012)
)
METHODS = ("get", "put", "post", "delete", "patch")
JSON_TYPES = ("application/json", "application/schema+json")


# --- checking responses against the OpenAPI document --------------------------------------------


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented path template and operation that a concrete request path matches."""
    for template, item in OPENAPI["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in docs/openapi.json")


def check_response(method: str, url: str, status: int, content_type: str, body: bytes) -> Any:
    """Assert the response is documented (status, media type, JSON body); return the parsed body."""
    template, op = operation(method, urlsplit(url).path)
    where = f"{method.upper()} {template}"
    documented = op["responses"]
    assert str(status) in documented, f"{where} answered {status}, not in {sorted(documented)}"
    location = ["paths", template, method.lower(), "responses", str(status)]
    entry = documented[str(status)]
    if "$ref" in entry:
        location = entry["$ref"].removeprefix("#/").split("/")
        entry = OPENAPI["components"]["responses"][location[-1]]
    if "content" not in entry:
        assert body == b"", f"{where} {status} should have no body"
        return None
    media = content_type.split(";")[0].strip()
    assert media in entry["content"], f"{where} {status} sent {media}, not {list(entry['content'])}"
    if media not in JSON_TYPES:
        return body
    parsed = json.loads(body)
    ref = "urn:openapi#" + quote(pointer([*location, "content", media, "schema"]), safe="/~")
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=REGISTRY)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(parsed)]
    assert problems == [], f"{where} {status} body does not match the document"
    return parsed


def call(client: FlaskClient, method: str, url: str, **kwargs: Any) -> tuple[int, Any, Any]:
    """Make a request with the test client and check it; return (status, body, response)."""
    response = client.open(url, method=method.upper(), **kwargs)
    body = check_response(
        method, url, response.status_code, response.content_type or "", response.get_data()
    )
    return response.status_code, body, response


# --- fixtures -----------------------------------------------------------------------------------


def published(db: sqlite_utils.Database, doc: dict[str, Any]) -> dict[str, Any]:
    created = events.create_event(db, doc)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


@pytest.fixture
def event(db, example) -> dict[str, Any]:
    return published(db, example)


@pytest.fixture
def ana(db, event) -> attendees.Invitation:
    return attendees.invite(db, event["id"], "Ana", "ana@example.org")


def url(token: str, tail: str = "") -> str:
    return f"/api/v1/designs/{token}{tail}"


def state(db: sqlite_utils.Database, attendee_id: int) -> tuple[Any, ...]:
    """Everything a save could change for one attendee, to prove a refusal changed nothing."""
    row = db.execute("SELECT * FROM designs WHERE attendee_id = ?", [attendee_id]).fetchone()
    picks = db.execute(
        "SELECT section_id, option_id, format, seated FROM picks WHERE attendee_id = ?"
        " ORDER BY section_id, option_id",
        [attendee_id],
    ).fetchall()
    waiting = db.execute(
        "SELECT section_id, option_id FROM waitlist WHERE attendee_id = ?", [attendee_id]
    ).fetchall()
    history = db.execute(
        "SELECT count(*) FROM design_history WHERE attendee_id = ?", [attendee_id]
    ).fetchone()[0]
    return (
        dict(row) if row else None,
        [tuple(p) for p in picks],
        [tuple(w) for w in waiting],
        history,
    )


DRAFT = {
    "agenda": {"opening": {"format": "in_person"}, "maps": {"format": "online"}},
    "channels": {"sms": {"phone": "+32 470 12 34 56"}},
    "preferences": {"diet": "vegan"},
}


def fill(db: sqlite_utils.Database, event: dict[str, Any], sid: str, oid: str, fmt: str | None):
    """Take every seat of an option with other attendees."""
    schema = events.compiled(db, event["id"])
    taken = designs.seats_taken_for(db, event["id"], (sid, oid))
    for n in range(schema.options[(sid, oid)].capacity - taken):
        other = attendees.invite(db, event["id"], f"Filler {n}", f"filler{n}.{oid}@example.org")
        detail = {"format": fmt} if fmt else {}
        designs.save_design(db, other.attendee, {sid: {oid: detail}})


# --- the document itself ------------------------------------------------------------------------


def test_every_api_route_is_documented_and_every_documented_operation_exists(app: Flask):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((method.lower(), template))
    documented = {
        (method, template)
        for template, item in OPENAPI["paths"].items()
        for method in item
        if method in METHODS
    }
    # The export route names its argument fmt; the document calls it format.
    served = {(m, t.replace("{fmt}", "{format}")) for m, t in served}
    assert served == documented


def test_document_is_openapi_3_1_with_valid_schemas():
    assert OPENAPI["openapi"].startswith("3.1.")
    for name, schema in OPENAPI["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    for template, item in OPENAPI["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", template))
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            assert op["operationId"] and op["summary"] and op["responses"], (method, template)
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            resolved = [
                OPENAPI["components"]["parameters"][p["$ref"].split("/")[-1]] if "$ref" in p else p
                for p in params
            ]
            assert {p["name"] for p in resolved if p["in"] == "path"} == names, template
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (template, status)
                if "$ref" in response:
                    assert response["$ref"].split("/")[-1] in OPENAPI["components"]["responses"]


def test_refs_in_the_document_all_resolve():
    text = json.dumps(OPENAPI)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node: Any = OPENAPI
        for part in ref.split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_the_checker_rejects_an_undocumented_status_and_a_wrong_body():
    with pytest.raises(AssertionError, match="not in"):
        check_response("get", "/api/v1/designs/x", 418, "application/json", b"{}")
    with pytest.raises(AssertionError, match="does not match"):
        check_response("get", "/api/v1/designs/x", 404, "application/json", b'{"error": 1}')
    with pytest.raises(AssertionError, match="not in docs/openapi.json"):
        check_response("patch", "/api/v1/designs/x", 200, "application/json", b"{}")


# --- the design schema --------------------------------------------------------------------------


def test_design_schema_is_public_and_validates_designs(client, event, db):
    status, body, response = call(client, "get", "/api/v1/events/commons-camp/design-schema")
    assert status == 200 and response.mimetype == "application/schema+json"
    assert body == events.compiled(db, event["id"]).json_schema(complete=True)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    status, body, _ = call(client, "get", "/api/v1/events/nope/design-schema")
    assert status == 404 and body["error"] == "NotFound"


# --- reading and saving designs -----------------------------------------------------------------


def test_a_new_attendee_has_no_design_yet(client, ana):
    status, body, response = call(client, "get", url(ana.token))
    assert status == 200
    assert body["status"] == "none" and body["design"] == {} and body["version"] == 1
    assert body["window"]["open"] is True
    assert response.headers["Cache-Control"] == "no-store"


def test_save_then_read_back(client, db, ana):
    status, body, _ = call(client, "put", url(ana.token), json={"design": DRAFT})
    assert status == 200
    assert body["status"] == "draft" and body["design"] == DRAFT
    assert body["seats"] == [{"section": "agenda", "option": "opening", "format": "in_person"}]
    status, again, _ = call(client, "get", url(ana.token))
    assert again == body
    assert designs.get_design(db, ana.attendee["id"])["document"] == DRAFT


def test_confirm_needs_a_complete_design(client, db, ana):
    status, body, _ = call(client, "put", url(ana.token), json={"design": DRAFT, "confirm": True})
    assert status == 422
    assert {
        "path": "/agenda",
        "where": "Your agenda",
        "message": "pick at least 3 sessions (you have 2)",
    } in body["errors"]
    assert designs.get_design(db, ana.attendee["id"]) is None
    complete = json.loads(json.dumps(DRAFT))
    complete["agenda"]["closing"] = {"format": "recording"}
    status, body, _ = call(
        client, "put", url(ana.token), json={"design": complete, "confirm": True}
    )
    assert status == 200 and body["status"] == "confirmed"


def test_warnings_come_back_with_the_save(client, ana):
    design = {"extras": {"tour": {}}}
    status, body, _ = call(client, "put", url(ana.token), json={"design": design})
    assert status == 200
    assert body["warnings"] == [
        {
            "path": "/extras/tour",
            "where": "Extras > Guided city tour",
            "message": "The city tour ends at the community dinner, so the tour needs the dinner too.",
        }
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "must be a JSON object"),
        ({"confirm": True}, "needs the design itself"),
        ({"design": {}, "extra": 1}, "'extra'"),
        ({"design": {}, "confirm": "yes"}, "confirm must be true or false"),
    ],
)
def test_a_body_that_is_not_a_save_is_400(client, db, ana, body, words):
    before = state(db, ana.attendee["id"])
    status, answer, _ = call(client, "put", url(ana.token), json=body)
    assert status == 400 and words in answer["message"]
    assert state(db, ana.attendee["id"]) == before


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"design": {}} trailing', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"design": {"preferences": {"guests": NaN}}}', "NaN is not a JSON value"),
        (b'{"design": {"preferences": {"guests": 1e999}}}', "too large"),
        (b'{"design": {"preferences": {"access": "\\ud800"}}}', "unpaired surrogate"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'{"design": {}, "design": {}}', "'design' appears twice"),
    ],
)
def test_unreadable_json_is_400(client, db, ana, raw, words):
    before = state(db, ana.attendee["id"])
    status, body, _ = call(client, "put", url(ana.token), data=raw, content_type="application/json")
    assert status == 400 and words in body["message"]
    assert state(db, ana.attendee["id"]) == before


def test_json_must_be_sent_as_json(client, db, ana):
    status, body, _ = call(
        client, "put", url(ana.token), data='{"design": {}}', content_type="text/plain"
    )
    assert status == 415 and "application/json" in body["message"]
    status, body, _ = call(client, "put", url(ana.token), data={"design": "{}"})
    assert status == 415
    status, _, _ = call(
        client,
        "put",
        url(ana.token),
        data=b'{"design": {}}',
        content_type="application/merge-patch+json",
    )
    assert status == 200


def test_an_oversize_body_is_413_by_its_declared_length(app, client, db, ana):
    limit = app.config["MAX_DESIGN_BYTES"]
    padding = " " * limit
    raw = ('{"design": {"preferences": {"access": "x"}}}' + padding).encode()
    before = state(db, ana.attendee["id"])
    status, body, _ = call(client, "put", url(ana.token), data=raw, content_type="application/json")
    assert status == 413 and str(limit) in body["message"]
    assert state(db, ana.attendee["id"]) == before


def test_an_oversize_body_without_a_length_is_413_as_it_arrives(app, client, db, ana):
    limit = app.config["MAX_DESIGN_BYTES"]
    raw = b'{"design": {}}' + b" " * limit
    before = state(db, ana.attendee["id"])
    status, body, _ = call(
        client,
        "put",
        url(ana.token),
        input_stream=io.BytesIO(raw),
        headers={"Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert status == 413 and "over the limit" in body["message"]
    assert state(db, ana.attendee["id"]) == before


def test_a_body_just_under_the_limit_is_read(app, client, ana):
    limit = app.config["MAX_DESIGN_BYTES"]
    head = b'{"design": {"preferences": {"access": "step-free"}}}'
    status, body, _ = call(
        client,
        "put",
        url(ana.token),
        data=head + b" " * (limit - len(head)),
        content_type="application/json",
    )
    assert status == 200 and body["design"]["preferences"]["access"] == "step-free"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"design": {"agenda": {"opening": {"format": "in_person"},'
            ' "opening": {"format": "online"}}}}',
            {
                "path": "/agenda/opening",
                "where": "Your agenda > Opening circle: building the agenda together",
                "message": "“Opening circle: building the agenda together” is picked twice:"
                " send each pick once",
            },
        ),
        (
            '{"design": {"channels": {"email": {}, "email": {}}}}',
            {
                "path": "/channels/email",
                "where": "How we reach you during the day > Email",
                "message": "“Email” is picked twice: send each pick once",
            },
        ),
        (
            '{"design": {"preferences": {"diet": "vegan", "diet": "none"}}}',
            {
                "path": "/preferences/diet",
                "where": "Preferences > Dietary needs",
                "message": "“Dietary needs” is given twice: send each answer once",
            },
        ),
        (
            '{"design": {"channels": {"sms": {"phone": "+32 470 12 34 56",'
            ' "phone": "+32 470 00 00 00"}}}}',
            {
                "path": "/channels/sms/phone",
                "where": "How we reach you during the day > SMS > Mobile number",
                "message": "“Mobile number” is given twice: send each answer once",
            },
        ),
        (
            '{"design": {"agenda": {}, "agenda": {}}}',
            {
                "path": "/agenda",
                "where": "Your agenda",
                "message": "“Your agenda” is given twice: send each answer once",
            },
        ),
    ],
)
def test_duplicate_keys_in_the_design_are_422_naming_them(client, db, ana, raw, expected):
    before = state(db, ana.attendee["id"])
    status, body, _ = call(client, "put", url(ana.token), data=raw, content_type="application/json")
    assert status == 422 and body["error"] == "DesignInvalid"
    assert body["errors"] == [expected]
    assert state(db, ana.attendee["id"]) == before


@pytest.mark.parametrize(
    ("design", "expected"),
    [
        (
            {"agenda": {"keynote-2031": {"format": "in_person"}}},
            [
                "/agenda | Your agenda | “keynote-2031” is not one of the sessions offered in Your agenda"
            ],
        ),
        ({"tombola": {}}, [" |  | there is no section called “tombola”"]),
        (
            {"agenda": {"opening": {"format": "hologram"}}},
            [
                "/agenda/opening/format | Your agenda > Opening circle: building the agenda together"
                " > format | choose how you will attend: In person or Online or Recording"
            ],
        ),
        (
            {"agenda": {"opening": "in_person"}},
            [
                "/agenda/opening | Your agenda > Opening circle: building the agenda together"
                " | Opening circle: building the agenda together must be a set of answers"
            ],
        ),
        (
            {"preferences": {"guests": "two", "first_time": "yes"}},
            [
                "/preferences/first_time | Preferences > First time at Commons Camp? |"
                " First time at Commons Camp? must be yes or no",
                "/preferences/guests | Preferences > Children coming with you |"
                " Children coming with you must be a whole number",
            ],
        ),
        (
            {"channels": {"sms": {"phone": "call me"}}},
            [
                "/channels/sms/phone | How we reach you during the day > SMS > Mobile number |"
                " Mobile number must be a phone number such as +32 470 12 34 56"
            ],
        ),
    ],
)
def test_a_design_that_breaks_its_schema_is_422_with_titles(client, db, ana, design, expected):
    before = state(db, ana.attendee["id"])
    status, body, _ = call(client, "put", url(ana.token), json={"design": design})
    assert status == 422
    assert [f"{e['path']} | {e['where']} | {e['message']}" for e in body["errors"]] == expected
    assert state(db, ana.attendee["id"]) == before


def test_unknown_and_revoked_links(client, db, ana):
    status, body, _ = call(client, "get", url("not-a-real-token"))
    assert status == 404 and "not valid" in body["message"]
    call(client, "put", url(ana.token), json={"design": DRAFT})
    before = state(db, ana.attendee["id"])
    attendees.revoke(db, ana.attendee["id"])
    for method, kwargs in (("get", {}), ("put", {"json": {"design": {}}})):
        status, body, _ = call(client, method, url(ana.token), **kwargs)
        assert status == 403 and "revoked" in body["message"]
    status, _, _ = call(
        client, "post", url(ana.token, "/waitlist"), json={"section": "x", "option": "y"}
    )
    assert status == 403
    assert state(db, ana.attendee["id"]) == before


def test_a_closed_window_is_409_and_keeps_the_design(client, db, ana, event):
    call(client, "put", url(ana.token), json={"design": DRAFT})
    before = state(db, ana.attendee["id"])
    events.set_window(db, event["slug"], "closed")
    status, body, _ = call(client, "put", url(ana.token), json={"design": {}})
    assert status == 409 and body["error"] == "WindowClosed"
    assert "closed" in body["message"]
    _, got, _ = call(client, "get", url(ana.token))
    assert got["window"] == {
        "open": False,
        "reason": "The organiser has closed the design window.",
        "edit_after_confirm": True,
    }
    assert state(db, ana.attendee["id"]) == before


def test_an_invalid_api_token_header_is_403_even_on_a_public_route(client, ana):
    status, _, _ = call(client, "get", url(ana.token), headers={"Authorization": "Bearer forged"})
    assert status == 403


def test_an_invalid_api_token_on_the_design_schema_is_a_documented_403(client, event):
    forged = {"Authorization": "Bearer forged"}
    status, body, _ = call(
        client, "get", f"/api/v1/events/{event['slug']}/design-schema", headers=forged
    )
    assert status == 403 and body["error"] == "Forbidden"


def test_a_method_the_address_does_not_take_is_405_naming_those_it_does(client, ana):
    response = client.delete(url(ana.token))
    assert response.status_code == 405 and response.json["error"] == "Method Not Allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT"}


# --- seats and waitlists ------------------------------------------------------------------------


def test_a_gone_seat_is_409_offering_the_waitlist(client, db, ana, event):
    fill(db, event, "agenda", "facilitation", "in_person")
    design = {"agenda": {"facilitation": {"format": "in_person"}}}
    before = state(db, ana.attendee["id"])
    status, body, _ = call(client, "put", url(ana.token), json={"design": design})
    assert status == 409 and body["error"] == "SeatTaken"
    assert body["waitlist"] == [
        {
            "section": "agenda",
            "option": "facilitation",
            "title": "Facilitation for un-conferences",
            "format": "in_person",
            "join": url(ana.token, "/waitlist"),
        }
    ]
    assert body["errors"][0]["path"] == "/agenda/facilitation"
    assert state(db, ana.attendee["id"]) == before

    offer = body["waitlist"][0]
    join = {k: offer[k] for k in ("section", "option", "format")}
    status, entry, _ = call(client, "post", offer["join"], json=join)
    assert status == 201
    assert entry == {
        "section": "agenda",
        "option": "facilitation",
        "format": "in_person",
        "position": 1,
    }
    status, entry, _ = call(client, "post", offer["join"], json=join)
    assert status == 200 and entry["position"] == 1
    _, got, _ = call(client, "get", url(ana.token))
    assert got["waitlists"] == [entry]

    status, _, response = call(
        client, "delete", url(ana.token, "/waitlist?section=agenda&option=facilitation")
    )
    assert status == 204 and response.get_data() == b""
    _, got, _ = call(client, "get", url(ana.token))
    assert got["waitlists"] == []


def test_a_freed_seat_goes_to_the_first_in_line(client, db, ana, event):
    fill(db, event, "extras", "tour", None)
    status, _, _ = call(
        client, "post", url(ana.token, "/waitlist"), json={"section": "extras", "option": "tour"}
    )
    assert status == 201
    holder = db.execute(
        "SELECT attendee_id FROM picks WHERE option_id = 'tour' LIMIT 1"
    ).fetchone()[0]
    designs.save_design(db, attendees.get_attendee(db, holder), {})
    _, got, _ = call(client, "get", url(ana.token))
    assert got["design"] == {"extras": {"tour": {}}}
    assert got["seats"] == [{"section": "extras", "option": "tour", "format": None}]
    assert got["waitlists"] == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"section": "agenda", "option": "opening"}, 409, "has seats left"),
        ({"section": "agenda", "option": "nope"}, 404, "no such session"),
        ({"section": "agenda"}, 400, "Name the section and the option"),
        ({"section": "agenda", "option": ["facilitation"]}, 400, "Name the section"),
        ({"section": "agenda", "option": "facilitation", "format": 3}, 400, "format must be text"),
        ({"section": "agenda", "option": "facilitation", "seat": 1}, 400, "'seat'"),
        ([], 400, "JSON object"),
    ],
)
def test_joining_a_waitlist_badly_is_a_clear_4xx(client, db, ana, body, status, words):
    before = state(db, ana.attendee["id"])
    got_status, got, _ = call(client, "post", url(ana.token, "/waitlist"), json=body)
    assert got_status == status and words in got["message"]
    assert state(db, ana.attendee["id"]) == before


def test_only_seats_in_the_room_have_a_waitlist(client, db, ana, event):
    fill(db, event, "agenda", "sensors", "in_person")
    status, body, _ = call(
        client,
        "post",
        url(ana.token, "/waitlist"),
        json={"section": "agenda", "option": "sensors", "format": "online"},
    )
    assert status == 400 and "Only seats in the room" in body["message"]


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("?section=agenda", 400), ("?section=agenda&option=nope", 404)],
)
def test_leaving_a_waitlist_badly_is_a_clear_4xx(client, ana, query, status):
    got, _, _ = call(client, "delete", url(ana.token, "/waitlist" + query))
    assert got == status


# --- exports ------------------------------------------------------------------------------------


@pytest.fixture
def staff_token(db, event) -> str:
    account_id = accounts.create_account(db, "sam@example.org", "Sam", "correct horse battery")
    accounts.grant(db, event["id"], account_id, "staff")
    return api_tokens.issue(db, account_id, "exports script")


@pytest.mark.parametrize(
    "fmt", ["csv-wide", "csv-long", "xlsx", "json", "roster", "channels", "ics-zip"]
)
def test_every_export_through_the_api(client, ana, staff_token, fmt):
    call(client, "put", url(ana.token), json={"design": DRAFT})
    status, body, response = call(
        client,
        "get",
        f"/api/v1/events/commons-camp/exports/{fmt}",
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert status == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    if fmt == "json":
        assert [d["design"] for d in body] == [DRAFT]
    else:
        assert len(body) > 0


def test_exports_need_a_token_of_someone_on_the_event(client, db, event, staff_token):
    path = "/api/v1/events/commons-camp/exports/json"
    status, _, _ = call(client, "get", path)
    assert status == 403
    status, _, _ = call(client, "get", path, headers={"Authorization": "Bearer forged"})
    assert status == 403
    other = accounts.create_account(db, "eve@example.org", "Eve", "correct horse battery")
    token = api_tokens.issue(db, other, "not on the event")
    status, _, _ = call(client, "get", path, headers={"Authorization": f"Bearer {token}"})
    assert status == 404
    status, body, _ = call(
        client,
        "get",
        "/api/v1/events/commons-camp/exports/pdf",
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert status == 404 and "csv-wide" in body["message"]


def test_proposals_through_the_api_match_the_document(client, staff_token):
    status, body, _ = call(
        client,
        "get",
        "/api/v1/events/commons-camp/proposals",
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert status == 200 and body["event"] == "commons-camp"
    status, _, _ = call(client, "get", "/api/v1/events/commons-camp/proposals")
    assert status == 403


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("channels?section=channels&option=fax", "no choice option 'fax'"),
        ("roster?section=nope", "no section 'nope'"),
    ],
)
def test_narrowing_an_export_to_nothing_is_400(client, staff_token, query, words):
    status, body, _ = call(
        client,
        "get",
        f"/api/v1/events/commons-camp/exports/{query}",
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert status == 400 and words in body["message"]


# --- the manual's examples run -----------------------------------------------------------------

MANUAL = ROOT / "docs" / "api.md"
DOC_TOKEN = "Hq3xV0bT9mKp2Lr8sWc4nYd6fGj1aZeu"
DOC_API_TOKEN = "cfg_Xw7Lq2Zr9Tn4Vb6Mk1Pd8Sa3Hf5Jc0Ge"
DOC_HOST = "https://configurator.example.org"


@pytest.fixture
def manual_world(db, event) -> None:
    """The state the manual's examples start from: Ana's link, a full session, a staff token."""
    fill(db, event, "agenda", "facilitation", "in_person")
    ana = attendees.invite(db, event["id"], "Ana Lima", "ana@example.org")
    account = accounts.create_account(db, "sam@example.org", "Sam", "correct horse battery")
    accounts.grant(db, event["id"], account, "staff")
    db.execute(
        "UPDATE attendees SET token_hash = ? WHERE id = ?",
        [token_hash(DOC_TOKEN), ana.attendee["id"]],
    )
    db.execute(
        "INSERT INTO api_tokens (account_id, token_hash, label, created_at)"
        " VALUES (?, ?, 'manual', '2027-01-01T00:00:00+00:00')",
        [account, token_hash(DOC_API_TOKEN)],
    )


def split_message(text: str) -> tuple[str, dict[str, str], str]:
    """The first line, the headers and the body of an HTTP message written in the manual."""
    head, _, body = text.partition("\n\n")
    first, *lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in lines)
    return first, headers, body.strip()


def exchanges() -> list[tuple[str, str]]:
    """Each `http` request block of the manual with the response block after it."""
    blocks = [body for _, body in code_blocks(MANUAL, "http")]
    pairs = []
    for request_text, response_text in zip(blocks[::2], blocks[1::2], strict=True):
        assert not request_text.startswith("HTTP/"), request_text
        assert response_text.startswith("HTTP/1.1 "), response_text
        pairs.append((request_text, response_text))
    return pairs


def test_the_manuals_http_examples_run_in_order(client, manual_world):
    pairs = exchanges()
    assert len(pairs) >= 8
    for request_text, response_text in pairs:
        first, headers, body = split_message(request_text)
        method, path, _ = first.split(" ")
        headers.pop("Host")
        status, answer, response = call(
            client, method.lower(), path, headers=headers, data=body.encode() or None
        )
        expected_first, expected_headers, expected_body = split_message(response_text)
        assert status == int(expected_first.split(" ")[1]), first
        assert expected_first == f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", first
        for name, value in expected_headers.items():
            assert response.headers[name] == value, (first, name)
        if not expected_body:
            continue
        documented = json.loads(expected_body)
        if isinstance(documented, dict) and isinstance(documented.get("updated_at"), str):
            # The moment of saving is the one thing the manual cannot know.
            assert isinstance(answer["updated_at"], str)
            documented["updated_at"] = answer["updated_at"]
        assert answer == documented, first


def curl_request(line: str, variables: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """(method, path, request arguments) of a curl command from the manual."""
    for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        line = line.replace(f"${name}", value)
    args = shlex.split(line)
    assert args[0] == "curl"
    method, headers, data, url = "GET", {}, None, None
    words = iter(args[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, value = next(words).split(": ", 1)
            headers[name] = value
        elif word == "--data":
            data = next(words).encode()
        elif word == "-o":
            next(words)
        else:
            assert word.startswith(DOC_HOST), f"unknown curl argument {word!r}"
            url = word.removeprefix(DOC_HOST)
    assert url, line
    return method, url, {"headers": headers, "data": data}


def test_the_manuals_curl_examples_run(client, manual_world):
    variables: dict[str, str] = {}
    ran = 0
    for _, body in code_blocks(MANUAL, "console"):
        for line in body.splitlines():
            command = line.removeprefix("$ ")
            if re.fullmatch(r"[A-Z_]+=\S+", command):
                name, value = command.split("=", 1)
                variables[name] = value
                continue
            method, path, kwargs = curl_request(command, variables)
            status, answer, _ = call(client, method.lower(), path, **kwargs)
            assert status in (200, 201, 204), (command, answer)
            ran += 1
    assert ran >= 5


def test_the_manual_lists_every_operation_of_the_document():
    text = MANUAL.read_text()
    for template, item in OPENAPI["paths"].items():
        for method in item:
            if method in METHODS:
                assert f"`{method.upper()} {template}" in text, (method, template)
