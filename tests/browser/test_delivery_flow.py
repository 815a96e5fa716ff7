"""An organiser sets up delivery, invites by email and broadcasts; mail arrives at a real server."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from configurator import accounts, attendees, worker
from configurator.delivery import mail, mailsink

PASSWORD = "correct horse battery"


@pytest.fixture
def mailbox(monkeypatch, tmp_path):
    sink = mailsink.start()
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", sink.url)
    monkeypatch.setenv("CONFIGURATOR_CHANNEL_SECRETS", str(tmp_path / "none.toml"))
    yield sink
    mail.close()
    sink.stop()


def arrived(db, mailbox, count: int, seconds: float = 15.0) -> list:
    """What the mail server holds once count messages arrived: the live server's own worker
    may be sending them already, so drain what is left and wait for the rest."""
    deadline = time.monotonic() + seconds
    while len(mailbox.received) < count and time.monotonic() < deadline:
        worker.drain(db, "browser-test")
        time.sleep(0.05)
    return mailbox.received


def organiser_signed_in(page, live_event) -> None:
    account = accounts.create_account(live_event.db, "olga@example.org", "Olga", PASSWORD)
    accounts.grant(live_event.db, live_event.event["id"], account, "organiser")
    page.goto(live_event.url("/login"))
    page.get_by_label("Email").fill("olga@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/events$"))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_organiser_invites_by_email_and_broadcasts(
    javascript, watched_page, watched_page_nojs, live_event, mailbox
):
    watched = watched_page if javascript else watched_page_nojs
    page = watched.page
    db = live_event.db
    ana = attendees.invite(db, live_event.event["id"], "Ana Lima", "ana@example.org")
    organiser_signed_in(page, live_event)

    page.goto(live_event.url(f"/events/{live_event.slug}/delivery/settings"))
    page.get_by_label("SMS: where to send").fill("nosuch://gateway/{phone}")
    page.get_by_role("button", name="Save the delivery settings").click()
    expect(page.locator("#problems")).to_contain_text("SMS: where to send")
    expect(page.get_by_label("SMS: where to send")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("SMS: where to send").fill("")
    page.get_by_label("Sender name").fill("Camp team")
    page.get_by_role("button", name="Save the delivery settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")

    page.goto(live_event.url(f"/events/{live_event.slug}/attendees"))
    page.get_by_label("Select Ana Lima").check()
    page.get_by_role("button", name="Send invitations by email (preview first)").click()
    expect(page.get_by_role("status")).to_contain_text("1 attendee gets a new personal link")
    page.get_by_role("button", name="Send the invitations").click()
    expect(page.get_by_text("1 invitation queued.")).to_be_visible()
    [invitation] = arrived(db, mailbox, 1)
    assert invitation.message["From"] == "Camp team <configurator@localhost>"
    link = re.search(r"http://\S+/a/\S+", invitation.message.get_body(("plain",)).get_content())
    assert link and not link.group(0).endswith(ana.token)

    page.goto(live_event.url(f"/events/{live_event.slug}/broadcasts"))
    page.get_by_label("Subject").fill("Doors open at nine")
    page.get_by_label("Message").fill("See you at the registration desk.")
    page.get_by_role("button", name="Preview who gets it").click()
    expect(page.locator("#preview-total")).to_contain_text("1 attendee is in this audience.")
    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_text("1 message queued.")).to_be_visible()
    assert [m.message["Subject"] for m in arrived(db, mailbox, 2)][-1] == "Doors open at nine"

    page.goto(live_event.url(f"/events/{live_event.slug}/delivery"))
    expect(page.locator("#count-sent")).to_have_text("2")
    page.get_by_role("link", name=re.compile("sent$")).first.click()
    expect(page.locator("#delivery-log table")).to_contain_text("Doors open at nine")
    assert watched.errors == []
