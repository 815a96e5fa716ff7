"""Shared fixtures: the app on a temporary database, clients, actions per kind of user, a server.

CONFIGURATOR_TEST_DATABASE=postgresql runs every test on PostgreSQL instead of SQLite: each test
gets its own database on a throwaway server (tests/pgcluster.py). `./run test` runs both.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from configurator import accounts, attendees, create_app, events
from configurator.db import Database, close_thread_connections, connect

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


ENGINE = os.environ.get("CONFIGURATOR_TEST_DATABASE", "sqlite")
if ENGINE not in ("sqlite", "postgresql"):
    raise pytest.UsageError("CONFIGURATOR_TEST_DATABASE is sqlite or postgresql")
ON_POSTGRES = ENGINE == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgresql need PostgreSQL itself: they run in the PostgreSQL pass only."""
    if ON_POSTGRES:
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    """Say which engine this run tests, and where the PostgreSQL-only tests went."""
    if ON_POSTGRES:
        return "database engine: postgresql (CONFIGURATOR_TEST_DATABASE=postgresql)"
    return (
        "database engine: sqlite; tests marked postgresql run in the PostgreSQL pass"
        " (CONFIGURATOR_TEST_DATABASE=postgresql; ./run test runs both)"
    )


@pytest.fixture(scope="session", autouse=True)
def files_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Prepared exports go to a folder of this run, not the instance folder (CONFIGURATOR_FILES)."""
    folder = tmp_path_factory.mktemp("files")
    before = os.environ.get("CONFIGURATOR_FILES")
    os.environ["CONFIGURATOR_FILES"] = str(folder)
    yield folder
    if before is None:
        del os.environ["CONFIGURATOR_FILES"]
    else:
        os.environ["CONFIGURATOR_FILES"] = before


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Any]:
    """The PostgreSQL server of this run and its per-test databases (PostgreSQL runs only)."""
    import pgcluster

    made = pgcluster.Databases(pgcluster.start())
    yield made
    made.close()


class DatabaseMaker:
    """New, empty, migrated databases of the engine under test: a file path or a URL."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self.request, self.folder, self.count = request, folder, 0

    def __call__(self, name: str = "test") -> Any:
        self.count += 1
        if not ON_POSTGRES:
            return self.folder / (name if self.count == 1 else f"{name}{self.count}")
        databases = self.request.getfixturevalue("postgres_databases")
        url = databases.new()
        self.request.addfinalizer(lambda: databases.drop(url))
        return url


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseMaker:
    """Make databases of the engine under test (each test's own; dropped after it)."""
    return DatabaseMaker(request, tmp_path)


@pytest.fixture
def db_path(new_database: DatabaseMaker) -> Any:
    """The test's database: a SQLite file path, or a PostgreSQL URL on PostgreSQL runs."""
    return new_database("test.db")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite file, whatever the engine under test (for what only SQLite has)."""
    return tmp_path / "sqlite.db"


@pytest.fixture
def app(db_path: Any) -> Iterator[Flask]:
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
def db(app: Flask) -> Database:
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

    def __init__(self, client: FlaskClient, db: Database) -> None:
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

    def __init__(self, client: FlaskClient, db: Database) -> None:
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
def organiser(client: FlaskClient, db: Database) -> OrganiserActions:
    return OrganiserActions(client, db)


@pytest.fixture
def attendee(client: FlaskClient, db: Database) -> AttendeeActions:
    return AttendeeActions(client, db)


@pytest.fixture
def example() -> dict[str, Any]:
    return example_schema()


@pytest.fixture
def raw_example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


class LiveServer:
    """The real production server (waitress) on a free loopback port, in a thread, and beside it
    a real `configurator worker` loop on its own connection (prepared exports need one)."""

    def __init__(self, app: Flask) -> None:
        from waitress.server import create_server

        from configurator import worker

        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.stopping = threading.Event()
        self.worker_db = connect(app.config["DATABASE"])
        self.worker = threading.Thread(
            target=worker.run, args=(self.worker_db, self.stopping), kwargs={"poll": 0.2}, daemon=True
        )
        self.worker.start()

    def stop(self) -> None:
        """Close every socket from inside the server's loop, so run() returns; then its threads."""
        from waitress import wasyncore

        self.stopping.set()
        self.worker.join(timeout=10)
        self.worker_db.close()
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()
        assert not self.thread.is_alive(), "the test server did not stop"
        assert not self.worker.is_alive(), "the test worker did not stop"


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()
