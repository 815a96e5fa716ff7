"""Browser fixtures: one headless Chromium per test session, pages with and without JavaScript,
and the example event set up on the live server's database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from configurator import attendees, events
from configurator.demo import demo_schema

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives Chromium."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched once; skipped where it is missing, except in CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page and the script errors and CSP violations it reported (which should be none)."""

    page: Any
    errors: list[str] = field(default_factory=list)


def _watched(context: Any) -> Watched:
    page = context.new_page()
    watched = Watched(page)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("console", lambda message: _console(watched, message))
    page.set_default_timeout(10_000)
    return watched


def _console(watched: Watched, message: Any) -> None:
    if message.type != "error":
        return
    url = (message.location or {}).get("url", "")
    text = message.text
    # 422 and 409 carry field errors by design (base.html names a data: icon, so no favicon 404).
    expected = re.search(r"status of (409|422)\b", text)
    if text.startswith("Failed to load resource") and expected:
        return
    watched.errors.append(f"{text} ({url})")


@pytest.fixture
def watched_page(browser: Any) -> Iterator[Watched]:
    """A fresh page with JavaScript on, in its own cookie jar, watching for script errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield _watched(context)
    context.close()


@pytest.fixture
def watched_page_nojs(browser: Any) -> Iterator[Watched]:
    """A fresh page with JavaScript switched off: htmx never runs, forms post for real."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, accept_downloads=True, java_script_enabled=False
    )
    yield _watched(context)
    context.close()


@pytest.fixture
def page(watched_page: Watched) -> Any:
    """A Playwright page with JavaScript."""
    return watched_page.page


@pytest.fixture
def page_nojs(watched_page_nojs: Watched) -> Any:
    """A Playwright page without JavaScript."""
    return watched_page_nojs.page


@dataclass
class LiveEvent:
    """An event published on the live server's database, and a way to invite attendees."""

    db: sqlite_utils.Database
    base_url: str
    event: dict[str, Any]

    @property
    def slug(self) -> str:
        return self.event["slug"]

    def url(self, path: str) -> str:
        return self.base_url + path

    def invite(self, name: str = "Ana Lima", email: str = "ana@example.org") -> str:
        """A new attendee's personal link, as an absolute URL."""
        invitation = attendees.invite(self.db, self.event["id"], name, email)
        return self.url(f"/a/{invitation.token}")


def publish_event(
    db: sqlite_utils.Database, base_url: str, document: dict[str, Any] | None = None
) -> LiveEvent:
    """Create and publish an event (the example un-conference by default) via the domain."""
    created = events.create_event(db, document or demo_schema(date.today()))
    events.publish(db, created["slug"])
    return LiveEvent(db, base_url, events.get_event(db, created["slug"]))


@pytest.fixture
def live_event(db: sqlite_utils.Database, live_server: Any) -> LiveEvent:
    """The example event, published on the database the live server reads."""
    return publish_event(db, live_server.url)
