"""Many clients at once through the real server: seats are never oversold, bad input changes nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from test_api import check_response, state

from configurator import accounts, api_tokens, attendees, designs, events
from configurator.db import Database, write

CAPACITY = 5
CLIENTS = 40
KEY = ("agenda", "facilitation")
IN_PERSON = {"agenda": {"facilitation": {"format": "in_person"}}}


def send(server: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """One request over real HTTP, checked against docs/openapi.json."""
    response = requests.request(method, server.url + path, timeout=60, **kwargs)
    body = check_response(
        method,
        path,
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.content,
    )
    return response.status_code, body


@pytest.fixture
def event(db: Database, example: dict[str, Any]) -> dict[str, Any]:
    agenda = next(s for s in example["sections"] if s["id"] == "agenda")
    next(s for s in agenda["sessions"] if s["id"] == "facilitation")["capacity"] = CAPACITY
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


@pytest.fixture
def crowd(db: Database, event: dict[str, Any]) -> list[attendees.Invitation]:
    return [
        attendees.invite(db, event["id"], f"Person {n}", f"person{n}@example.org")
        for n in range(CLIENTS)
    ]


def all_at_once(count: int, work: Any) -> list[Any]:
    """Run work(i) for i in range(count) in as many threads, released together."""
    gate = threading.Barrier(count)

    def run(i: int) -> Any:
        gate.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_the_last_seats_go_to_exactly_as_many_as_there_are(live_server, db, event, crowd):
    def save(i: int) -> tuple[int, Any]:
        return send(
            live_server, "put", f"/api/v1/designs/{crowd[i].token}", json={"design": IN_PERSON}
        )

    results = all_at_once(CLIENTS, save)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: CAPACITY, 409: CLIENTS - CAPACITY}
    assert designs.seats_taken_for(db, event["id"], KEY) == CAPACITY
    seated = {crowd[i].attendee["id"] for i, (status, _) in enumerate(results) if status == 200}
    assert {
        r[0]
        for r in db.execute(
            "SELECT attendee_id FROM picks WHERE option_id = 'facilitation' AND seated = 1"
        )
    } == seated
    losers = [i for i, (status, _) in enumerate(results) if status == 409]
    for i in losers:
        body = results[i][1]
        assert body["error"] == "SeatTaken"
        assert [(o["section"], o["option"]) for o in body["waitlist"]] == [KEY]
        assert designs.get_design(db, crowd[i].attendee["id"]) is None

    def join(n: int) -> tuple[int, Any]:
        offer = results[losers[n]][1]["waitlist"][0]
        wanted = {k: offer[k] for k in ("section", "option", "format")}
        return send(live_server, "post", offer["join"], json=wanted)

    joined = all_at_once(len(losers), join)
    assert {status for status, _ in joined} == {201}
    assert sorted(entry["position"] for _, entry in joined) == list(range(1, len(losers) + 1))
    first = losers[next(n for n, (_, entry) in enumerate(joined) if entry["position"] == 1)]
    second = losers[next(n for n, (_, entry) in enumerate(joined) if entry["position"] == 2)]

    leaver = crowd[next(i for i, (status, _) in enumerate(results) if status == 200)]
    status, body = send(live_server, "put", f"/api/v1/designs/{leaver.token}", json={"design": {}})
    assert status == 200 and body["seats"] == []

    status, promoted = send(live_server, "get", f"/api/v1/designs/{crowd[first].token}")
    assert status == 200
    assert promoted["design"] == IN_PERSON
    assert promoted["seats"] == [
        {"section": "agenda", "option": "facilitation", "format": "in_person"}
    ]
    assert promoted["waitlists"] == []
    assert (
        db.execute(
            "SELECT count(*) FROM outbox WHERE attendee_id = ? AND kind = 'waitlist_promoted'",
            [crowd[first].attendee["id"]],
        ).fetchone()[0]
        == 1
    )
    _, next_in_line = send(live_server, "get", f"/api/v1/designs/{crowd[second].token}")
    assert next_in_line["waitlists"][0]["position"] == 1
    assert designs.seats_taken_for(db, event["id"], KEY) == CAPACITY


def test_concurrent_saves_of_one_design_never_lose_it(live_server, db, event, crowd):
    token = crowd[0].token
    options = ["opening", "open-data-101", "maps", "sensors", "day2-opening", "civic-tech"]

    def save(i: int) -> tuple[int, Any]:
        design = {"agenda": {options[i % len(options)]: {"format": "online"}}}
        return send(live_server, "put", f"/api/v1/designs/{token}", json={"design": design})

    results = all_at_once(24, save)
    assert {status for status, _ in results} == {200}
    stored = designs.get_design(db, crowd[0].attendee["id"])
    assert stored["document"] in [body["design"] for _, body in results]
    picks = db.execute(
        "SELECT section_id, option_id FROM picks WHERE attendee_id = ?", [crowd[0].attendee["id"]]
    ).fetchall()
    assert [tuple(p) for p in picks] == [("agenda", next(iter(stored["document"]["agenda"])))]


# --- bad input over the wire: a clear 4xx, and nothing changes ----------------------------------


SAVED = {
    "agenda": {"opening": {"format": "in_person"}, "maps": {"format": "online"}},
    "preferences": {"diet": "vegan"},
}
JSON = {"Content-Type": "application/json"}


def bad_requests(limit: int) -> list[tuple[str, dict[str, Any], int, str]]:
    """(name, request arguments, status, words the message must hold)."""
    chunks = (b'{"design": {}}', b" " * (limit // 2), b" " * (limit // 2))
    return [
        (
            "unknown session",
            {"json": {"design": {"agenda": {"keynote": {"format": "online"}}}}},
            422,
            "problem",
        ),
        ("unknown section", {"json": {"design": {"tombola": {}}}}, 422, "problem"),
        ("wrong type", {"json": {"design": {"preferences": {"guests": "two"}}}}, 422, "problem"),
        ("design not an object", {"json": {"design": ["opening"]}}, 422, "problem"),
        (
            "duplicate pick",
            {
                "data": b'{"design": {"agenda": {"maps": {"format": "online"},'
                b' "maps": {"format": "in_person"}}}}',
                "headers": JSON,
            },
            422,
            "repeats 1 key",
        ),
        ("malformed JSON", {"data": b'{"design": ', "headers": JSON}, 400, "not valid JSON"),
        ("not JSON", {"data": b"design=1", "headers": {"Content-Type": "text/plain"}}, 415, "JSON"),
        (
            "oversize body",
            {"data": b'{"design": {}}' + b" " * limit, "headers": JSON},
            413,
            "limit",
        ),
        ("oversize chunked body", {"data": iter(chunks), "headers": JSON}, 413, "limit"),
    ]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(live_server, app, db, event, crowd):
    ana = crowd[0]
    assert (
        send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": SAVED})[0] == 200
    )
    before = state(db, ana.attendee["id"])
    for name, kwargs, expected, words in bad_requests(app.config["MAX_DESIGN_BYTES"]):
        status, body = send(live_server, "put", f"/api/v1/designs/{ana.token}", **kwargs)
        assert (status, name) == (expected, name)
        assert words in body["message"], name
        assert state(db, ana.attendee["id"]) == before, name


def test_no_other_link_reaches_a_design(live_server, db, event, crowd):
    ana, ben = crowd[0], crowd[1]
    send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": SAVED})
    before = state(db, ana.attendee["id"])
    forged = ana.token[:-4] + ("AAAA" if not ana.token.endswith("AAAA") else "BBBB")
    status, body = send(live_server, "put", f"/api/v1/designs/{forged}", json={"design": {}})
    assert status == 404 and "not valid" in body["message"]
    # Ben's own link changes Ben's design only.
    assert send(live_server, "put", f"/api/v1/designs/{ben.token}", json={"design": {}})[0] == 200
    # A staff API token is not an attendee's link.
    account = accounts.create_account(db, "sam@example.org", "Sam", "correct horse battery")
    accounts.grant(db, event["id"], account, "staff")
    api_token = api_tokens.issue(db, account, "script")
    status, _ = send(
        live_server,
        "put",
        f"/api/v1/designs/{api_token}",
        json={"design": {}},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert status == 404
    assert state(db, ana.attendee["id"]) == before


def test_a_revoked_link_is_403_and_changes_nothing(live_server, db, event, crowd):
    ana = crowd[0]
    send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": SAVED})
    attendees.revoke(db, ana.attendee["id"])
    before = state(db, ana.attendee["id"])
    status, body = send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": {}})
    assert status == 403 and "revoked" in body["message"]
    assert state(db, ana.attendee["id"]) == before


def test_a_closed_window_is_409_and_changes_nothing(live_server, db, event, crowd):
    ana = crowd[0]
    send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": SAVED})
    events.set_window(db, event["slug"], "closed")
    before = state(db, ana.attendee["id"])
    status, body = send(live_server, "put", f"/api/v1/designs/{ana.token}", json={"design": {}})
    assert status == 409 and body["error"] == "WindowClosed"
    status, body = send(
        live_server,
        "post",
        f"/api/v1/designs/{ana.token}/waitlist",
        json={"section": "agenda", "option": "facilitation"},
    )
    assert status == 409 and body["error"] == "WindowClosed"
    assert state(db, ana.attendee["id"]) == before


@pytest.fixture
def server_process(db_path: Any, tmp_path: Path) -> Iterator[str]:
    """`configurator serve` in its own process: waitress's select() takes no descriptor above
    1,023, and a thousand client sockets in this process would push the server's past that."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "configurator", "--db", str(db_path), "serve"]
    log = tmp_path / "server.log"
    env = dict(os.environ, CONFIGURATOR_SECRET_KEY="a shared secret of the test")
    with open(log, "wb") as out:
        proc = subprocess.Popen([*command, "--port", str(port)], stdout=out, stderr=out, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def contested_event(db: Database, example: dict[str, Any]) -> tuple[dict, list[str], list[Any]]:
    """The contested case's event: 10 sessions of 10 seats, and 1,000 invited attendees."""
    agenda = next(s for s in example["sections"] if s["id"] == "agenda")
    agenda.update(overlap="allow", min=0, per_day={})
    ten = [session["id"] for session in agenda["sessions"][:10]]
    for session in agenda["sessions"][:10]:
        session["capacity"] = 10
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    with write(db):  # one commit for the whole crowd
        crowd = [
            attendees.invite(db, created["id"], f"C{n}", f"c{n}@example.org") for n in range(1000)
        ]
    return created, ten, crowd


def test_a_thousand_saves_race_for_a_hundred_seats(server_process, db, example):
    """The contested case: 1,000 attendees at once, 10 sessions of 10 seats, 100 seats exactly."""
    created, ten, crowd = contested_event(db, example)

    def save(n: int) -> int:
        design = {"agenda": {ten[n % 10]: {"format": "in_person"}}}
        response = requests.put(
            f"{server_process}/api/v1/designs/{crowd[n].token}",
            json={"design": design},
            timeout=120,
        )
        return response.status_code

    statuses = Counter(all_at_once(1000, save))
    assert statuses == {200: 100, 409: 900}
    per_session = dict(
        db.execute(
            "SELECT option_id, count(*) FROM picks WHERE event_id = ? AND seated = 1 GROUP BY 1",
            [created["id"]],
        ).fetchall()
    )
    assert per_session == dict.fromkeys(ten, 10)
    if db.dialect == "sqlite":
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
