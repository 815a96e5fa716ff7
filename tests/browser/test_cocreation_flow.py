"""Co-creation in a real browser: propose, find the duplicate, support, accept, publish, add."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import PASSWORD, example_schema
from playwright.sync_api import expect

from configurator import accounts, attendees, designs, events, proposal_review, proposals

CONTEXT = {"viewport": {"width": 1300, "height": 1000}}


@pytest.fixture
def event(db) -> dict[str, Any]:
    """The example event with proposals on, owned by Olga, published."""
    owner = accounts.create_account(db, "olga@example.org", "Olga Organiser", PASSWORD)
    doc = example_schema()
    doc["proposals"] = {
        "enabled": True,
        "supports_per_attendee": 5,
        "formats": ["talk", "hands_on"],
    }
    created = events.create_event(db, doc, owner)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


class Person:
    """One person's own browser context, watching for script errors and CSP violations."""

    def __init__(self, browser: Any, base: str, javascript: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=javascript, **CONTEXT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # base.html declares an empty data: icon, so not even /favicon.ico may fail.
        if message.type == "error":
            self.errors.append(f"{message.text} {message.location}")

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def invited(self, db, event: dict[str, Any], name: str) -> int:
        invitation = attendees.invite(
            db, event["id"], name, f"{name.split()[0].lower()}@example.org"
        )
        self.goto(f"/a/{invitation.token}")
        return invitation.attendee["id"]


def test_a_near_duplicate_becomes_support_then_a_scheduled_session(browser, live_server, db, event):
    slug = event["slug"]
    ana, ben, olga = (Person(browser, live_server.url) for _ in range(3))
    ana.invited(db, event, "Ana Lima")
    ben_id = ben.invited(db, event, "Ben Okafor")

    # Ana proposes; nothing like it exists, so it is posted at once.
    ana.goto(f"/e/{slug}/proposals")
    page = ana.page
    page.get_by_label("Title").fill("Repair café for bicycles")
    page.get_by_label("What is it about?").fill(
        "Bring a bike that needs fixing; we fix it together."
    )
    page.get_by_label("Preferred format").select_option("hands_on")
    page.get_by_label("Tags").fill("bikes, repair")
    page.get_by_role("button", name="Check for similar proposals").click()
    expect(page.locator(".flashes")).to_contain_text(
        "Your proposal “Repair café for bicycles” is posted."
    )
    pid = int(re.search(r"/proposals/(\d+)$", page.url).group(1))

    # Ben starts a near-duplicate: the similar proposal appears as he types; he supports it instead.
    ben.goto(f"/e/{slug}/proposals")
    page = ben.page
    page.get_by_label("Title").press_sequentially("Bicycle repair cafe", delay=20)
    similar = page.locator(f"#similar-{pid}")
    expect(similar).to_contain_text("Repair café for bicycles")
    similar.get_by_role("button", name=re.compile("^Support")).click()
    expect(page.locator(f"#similar-{pid}")).to_contain_text("You support this.")
    expect(page.locator(f"#similar-{pid} .support-count")).to_have_text("1 support")
    expect(page.locator(f"#proposal-{pid} .support-count")).to_have_text("1 support")
    expect(page.locator("#budget")).to_contain_text("4 of 5")
    ben.goto(f"/e/{slug}/proposals")
    expect(page.locator("#list article")).to_have_count(1)  # no duplicate was posted

    # Olga accepts it with a reason, as a session of 20 seats, and publishes.
    page = olga.page
    olga.goto("/login")
    page.get_by_label("Email").fill("olga@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    olga.goto(f"/events/{slug}/proposals")
    card = page.locator(f"#review-{pid}")
    expect(card).to_contain_text("1 support")
    card.get_by_text("Accept and add to the programme").click()
    day = event_day(db, slug)
    form = card.locator("details", has_text="Accept and add to the programme")
    form.get_by_label("Section").select_option("agenda")
    form.get_by_label("Starts").fill(f"{day}T16:00")
    form.get_by_label("Ends").fill(f"{day}T16:45")
    form.get_by_label("Room").select_option("atelier")
    form.get_by_label("Seats").fill("20")
    form.get_by_label("Reason (the author and supporters see it)").fill(
        "Many of you asked for it: Saturday afternoon in the Atelier."
    )
    form.get_by_role("button", name=re.compile("^Accept")).click()
    expect(page.locator("#review")).to_contain_text("is accepted and added to the draft")
    expect(page.locator(f"#review-{pid}")).to_contain_text(f"agenda/proposal-{pid}")
    olga.goto(f"/events/{slug}/publish")
    page.get_by_role("button", name=re.compile("^Publish as version")).click()
    expect(page.locator(".flashes, [role=status]").first).to_be_visible()
    assert events.latest_number(db, event["id"]) == 2
    session = events.compiled(db, event["id"]).options[("agenda", f"proposal-{pid}")]
    assert (session.title, session.capacity) == ("Repair café for bicycles", 20)

    # The dashboard, reached from the event menu, shows the proposal funnel.
    page.locator("nav.event-nav").get_by_role("link", name="Dashboard", exact=True).click()
    funnel = page.locator(".proposal-funnel")
    for step, count in (
        ("Proposed", "1"),
        ("Supported by someone", "1"),
        ("Accepted", "1"),
        ("Scheduled (in the published programme)", "1"),
    ):
        expect(funnel.locator(f"dt:text-is('{step}') + dd")).to_have_text(count)

    # Ben's designer marks it as one he asked for; he adds it there in one click.
    ben.goto(f"/e/{slug}/design?day={day}")
    page = ben.page
    card = page.locator(f"#s-agenda--proposal-{pid}")
    expect(card).to_contain_text("Repair café for bicycles")
    expect(card.locator(".asked-for")).to_have_text("★ You asked for this")
    card.get_by_role("button", name=re.compile("^Add it to my agenda")).click()
    expect(card).to_contain_text("In your agenda")
    expect(card.locator(".asked-for")).to_be_visible()
    expect(card.get_by_role("button", name=re.compile("^Add it to my agenda"))).to_have_count(0)
    design = designs.get_design(db, ben_id)
    assert design["document"]["agenda"] == {f"proposal-{pid}": {"format": "in_person"}}
    # His own input page, reached from the menu, says so too.
    page.get_by_role("link", name="My input", exact=True).click()
    asked = page.locator(f"#asked-{pid}")
    expect(asked).to_contain_text("You asked for this")
    expect(asked).to_contain_text("(20 seats)")
    expect(asked).to_contain_text("It is in your design.")

    # Ana's page, reached from her menu, shows it accepted, scheduled, with the reason.
    ana.goto(f"/e/{slug}/design")
    ana.page.get_by_role("link", name="My input", exact=True).click()
    mine = ana.page.locator(f"#outcome-{pid}")
    expect(mine).to_contain_text("Accepted")
    expect(mine).to_contain_text("Scheduled")
    expect(mine).to_contain_text("Many of you asked for it")
    expect(ana.page.locator(f"#asked-{pid}")).to_contain_text("You proposed this")

    for person in (ana, ben, olga):
        assert person.errors == []
        person.context.close()


def event_day(db, slug: str) -> str:
    return events.draft(events.get_event(db, slug))["event"]["starts_on"]


def test_without_javascript_the_check_step_offers_support(browser, live_server, db, event):
    slug = event["slug"]
    ana = Person(browser, live_server.url)
    ben = Person(browser, live_server.url, javascript=False)
    ana.invited(db, event, "Ana Lima")
    ben.invited(db, event, "Ben Okafor")
    ana.goto(f"/e/{slug}/proposals")
    ana.page.get_by_label("Title").fill("Repair café for bicycles")
    ana.page.get_by_role("button", name="Check for similar proposals").click()
    expect(ana.page.locator(".flashes")).to_contain_text("is posted")

    ben.goto(f"/e/{slug}/proposals")
    page = ben.page
    page.get_by_label("Title").fill("Bicycle repair cafe")
    page.get_by_role("button", name="Check for similar proposals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Before you post “Bicycle repair cafe”"
    )
    expect(page.get_by_role("button", name="Post my proposal anyway")).to_be_visible()
    page.locator("#similar article").get_by_role("button", name=re.compile("^Support")).click()
    expect(page).to_have_url(re.compile(rf"/e/{slug}/proposals#proposal-\d+$"))
    expect(page.locator(".flashes")).to_contain_text("You support “Repair café for bicycles”.")
    expect(page.locator("#budget")).to_contain_text("4 of 5")
    expect(page.locator("#list article")).to_have_count(1)
    for person in (ana, ben):
        assert person.errors == []
        person.context.close()


def test_without_javascript_a_supporter_adds_the_session_from_the_designer_in_one_click(
    browser, live_server, db, event
):
    slug = event["slug"]
    ben = Person(browser, live_server.url, javascript=False)
    ana_id = attendees.invite(db, event["id"], "Ana Lima", "ana@example.org").attendee["id"]
    ben_id = ben.invited(db, event, "Ben Okafor")
    draft = proposals.clean(proposals.settings_for(db, event["id"]), "Seed swap", "", None, "")
    pid = proposals.propose(db, event["id"], ana_id, draft)
    proposals.support(db, event["id"], pid, ben_id)
    day = event_day(db, slug)
    placement = proposal_review.Placement(
        "agenda", f"{day}T16:00:00+01:00", f"{day}T16:45:00+01:00", "garden", 20
    )
    proposal_review.accept(db, event["id"], pid, "Yes", placement)
    events.publish(db, slug)

    ben.goto(f"/e/{slug}/design?day={day}")
    page = ben.page
    card = page.locator(f"#s-agenda--proposal-{pid}")
    expect(card.locator(".asked-for")).to_have_text("★ You asked for this")
    card.get_by_role("button", name=re.compile("^Add it to my agenda")).click()
    expect(page.locator(f"#s-agenda--proposal-{pid}")).to_contain_text("In your agenda")
    design = designs.get_design(db, ben_id)
    assert design["document"]["agenda"] == {f"proposal-{pid}": {"format": "in_person"}}
    assert ben.errors == []
    ben.context.close()
