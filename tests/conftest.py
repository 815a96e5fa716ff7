"""Shared fixtures: the app on a temporary database, clients, actions per kind of user, a server."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from configurator import accounts, attendees, create_app, events
from configurator.db import close_thread_connections, connect

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "schemas" / "examples" / "unconference.json"
SHARED = ROOT.parent / "shared" / "data" / "schedules"
PASSWORD = "correct horse battery"


def shared_file(name: str) -> Path:
    """A file of ../shared/data/schedules; skip outside CI when missing, fail inside CI."""
    path = SHARED / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing, and CI must run the tests that read it")
        pytest.skip(f"{path} is not here (the shared data sits beside the repository in CI)")
    return path


def example_schema() -> dict[str, Any]:
    """The demo un-conference, moved so its design window is open today."""
    from datetime import date

    from configurator.demo import demo_schema

    return demo_schema(date.today())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def app(db_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(db_path),
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": True,
        }
    )
    yield app
    close_thread_connections()


@pytest.fixture
def db(app: Flask) -> sqlite_utils.Database:
    return connect(app.config["DATABASE"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    """The CSRF token a page carries in its forms or its hx-headers."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert found, "page has no CSRF token"
    return found.group(1)


class OrganiserActions:
    """Sign organisers and staff in and out through the real forms."""

    def __init__(self, client: FlaskClient, db: sqlite_utils.Database) -> None:
        self.client, self.db = client, db

    def create(self, email: str = "olga@example.org", name: str = "Olga") -> int:
        return accounts.create_account(self.db, email, name, PASSWORD)

    def login(self, email: str = "olga@example.org", password: str = PASSWORD) -> Any:
        page = self.client.get("/login").get_data(as_text=True)
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)}
        )

    def csrf(self, path: str = "/events") -> str:
        return csrf_from(self.client.get(path).get_data(as_text=True))


class AttendeeActions:
    """Publish the example event and open attendees' personal links."""

    def __init__(self, client: FlaskClient, db: sqlite_utils.Database) -> None:
        self.client, self.db = client, db

    def event(self, doc: dict[str, Any] | None = None, owner_id: int | None = None) -> dict:
        doc = doc or example_schema()
        created = events.create_event(self.db, doc, owner_id)
        events.publish(self.db, created["slug"])
        return events.get_event(self.db, created["slug"])

    def invite(self, event: dict, name: str = "Ana", email: str = "ana@example.org"):
        return attendees.invite(self.db, event["id"], name, email)

    def open(self, token: str) -> Any:
        return self.client.get(f"/a/{token}")


@pytest.fixture
def organiser(client: FlaskClient, db: sqlite_utils.Database) -> OrganiserActions:
    return OrganiserActions(client, db)


@pytest.fixture
def attendee(client: FlaskClient, db: sqlite_utils.Database) -> AttendeeActions:
    return AttendeeActions(client, db)


@pytest.fixture
def example() -> dict[str, Any]:
    return example_schema()


@pytest.fixture
def raw_example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


class LiveServer:
    """The real production server (waitress) on a free loopback port, in a thread."""

    def __init__(self, app: Flask) -> None:
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Close every socket from inside the server's loop, so run() returns; then its threads."""
        from waitress import wasyncore

        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()
        assert not self.thread.is_alive(), "the test server did not stop"


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()
