"""Delivery in the browser's words: settings, the delivery page, broadcasts, invitations, feedback."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import csrf_from
from deliverysupport import delivery_jobs, design, start_receiver

from configurator import attendees, create_app, events, jobs, worker
from configurator.cli import cli
from configurator.delivery import consent, log, mail, mailsink, outbox, planner
from configurator.errors import ConfiguratorError


@pytest.fixture
def mailbox(monkeypatch, tmp_path):
    sink = mailsink.start()
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", sink.url)
    monkeypatch.setenv("CONFIGURATOR_CHANNEL_SECRETS", str(tmp_path / "none.toml"))
    yield sink
    mail.close()
    sink.stop()


@pytest.fixture
def hooks():
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def olga(organiser, attendee):
    """An organiser signed in, owning the published example event."""
    account = organiser.create()
    organiser.login()
    event = attendee.event(owner_id=account)
    return organiser, event


def post(organiser, path: str, data: dict, **kwargs):
    return organiser.client.post(path, data={"csrf_token": organiser.csrf(), **data}, **kwargs)


def test_settings_refuse_an_address_apprise_cannot_use_naming_the_field(olga, hooks):
    organiser, event = olga
    url = f"/events/{event['slug']}/delivery/settings"
    refused = post(
        organiser, url, {"sender_name": "Camp", "route-sms": "nosuchservice://x/{phone}"}
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "SMS: where to send" in html and "Apprise does not know" in html
    assert 'id="route-sms"' in html and 'aria-invalid="true"' in html
    unknown = post(organiser, url, {"sender_name": "Camp", "route-sms": "json://h/{mobile}"})
    assert unknown.status_code == 422
    assert "{mobile} is not a follow-up answer" in unknown.get_data(as_text=True)
    saved = post(
        organiser,
        url,
        {
            "sender_name": "Camp team",
            "route-email": "email",
            "route-sms": f"json://{hooks.url}/sms/{{phone}}",
            "rate-sms": "30",
            "quiet_from": "22:00",
            "quiet_until": "07:30",
            "reminder_minutes": "15",
        },
    )
    assert saved.status_code == 303
    page = organiser.client.get(saved.location).get_data(as_text=True)
    assert "Saved." in page and f"json://{hooks.url}/sms/{{phone}}" in page


def test_an_invalid_mail_url_is_refused_when_the_server_starts(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", "smtp://")
    with pytest.raises(ConfiguratorError) as refused:
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "x.db"), "SECRET_KEY": "k"})
    assert "CONFIGURATOR_MAIL_URL" in str(refused.value) and "names no host" in str(refused.value)
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", "http://mail.example.org")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "worker", "--once"])
    assert result.exit_code == 2
    assert "CONFIGURATOR_MAIL_URL" in result.output and "smtps://" in result.output


def test_the_delivery_page_shows_each_status_and_retries_a_failure(olga, db, mailbox):
    organiser, event = olga
    mailbox.keeper.refuse = {"gone@example.org": "550 No such mailbox"}
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    gone = attendees.invite(db, event["id"], "Gone", "gone@example.org")
    design(db, ana, {"email": {}, "app": {}})
    outbox.queue(
        db, event["id"], [ana.attendee["id"], gone.attendee["id"]], "broadcast", "Hi", "Hello."
    )
    worker.drain(db, "w")
    page = organiser.client.get(f"/events/{event['slug']}/delivery")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="count-sent">1<', html) and re.search(r'id="count-failed">1<', html)
    assert re.search(r'id="count-collected">1<', html)
    assert "550 No such mailbox" in html and "collected, not delivered" in html
    failed = next(j for j in delivery_jobs(db) if j.state == "dead")
    by_status = {s: log.deliveries(db, event["id"], s) for s in ("sent", "failed", "collected")}
    assert {s: [d.status for d in found] for s, found in by_status.items()} == {
        "sent": ["sent"],
        "failed": ["failed"],
        "collected": ["collected"],
    }
    assert len(log.deliveries(db, event["id"])) == 3
    only_failed = organiser.client.get(f"/events/{event['slug']}/delivery?status=failed")
    assert f'id="delivery-{failed.id}"' in only_failed.get_data(as_text=True)
    mailbox.keeper.refuse = {}
    retried = post(organiser, f"/events/{event['slug']}/delivery/{failed.id}/retry", {})
    assert retried.status_code == 303
    assert jobs.get(db, failed.id).state == "queued"
    worker.drain(db, "w")
    assert jobs.get(db, failed.id).state == "done"
    csv_log = organiser.client.get(f"/events/{event['slug']}/delivery/log.csv").get_data(
        as_text=True
    )
    assert csv_log.splitlines()[0].startswith(
        "id,message_id,kind,subject,name,email,channel,status"
    )
    assert len(csv_log.splitlines()) == 4


def test_a_broadcast_is_previewed_per_channel_then_sent_once(olga, db, mailbox):
    organiser, event = olga
    people = [attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org") for n in range(3)]
    design(db, people[0], {"email": {}}, agenda={"opening": {"format": "in_person"}})
    design(db, people[1], {"app": {}}, agenda={"opening": {"format": "online"}})
    consent.opt_out(db, people[2].attendee["id"], "announcements")
    form = {
        "audience": "session",
        "session": "agenda/opening",
        "subject": "Room change",
        "body": "The opening circle moves to the garden.",
    }
    preview = post(organiser, f"/events/{event['slug']}/broadcasts/preview", form)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "2 attendees are in this audience." in html
    assert "app (collected, not delivered)" in html and "(standing in)" in html
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    for _ in range(2):  # a double click queues it once
        sent = post(organiser, f"/events/{event['slug']}/broadcasts", {**form, "nonce": nonce})
        assert sent.status_code == 303
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'broadcast'").fetchone()[0] == 2
    worker.drain(db, "w")
    assert sorted(m.recipients[0] for m in mailbox.received) == ["p0@example.org", "p1@example.org"]
    empty = post(organiser, f"/events/{event['slug']}/broadcasts/preview", {"audience": "x"})
    assert empty.status_code == 422
    assert "Choose who gets the message." in empty.get_data(as_text=True)


def test_send_invitations_from_the_attendees_page(olga, db, mailbox):
    organiser, event = olga
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    preview = post(
        organiser,
        f"/events/{event['slug']}/attendees/invitations/preview",
        {"attendee": str(ana.attendee["id"])},
    )
    html = preview.get_data(as_text=True)
    assert "1 attendee gets a new personal link by email." in html
    assert "Their old links stop working." in html
    sent = post(
        organiser,
        f"/events/{event['slug']}/attendees/invitations",
        {"attendee": str(ana.attendee["id"])},
    )
    assert sent.status_code == 303
    worker.drain(db, "w")
    [arrived] = mailbox.received
    text = arrived.message.get_body(("plain",)).get_content()
    token = re.search(r"/a/(\S+)", text).group(1)
    assert attendees.by_token(db, token)["id"] == ana.attendee["id"]
    with pytest.raises(ConfiguratorError):
        attendees.by_token(db, ana.token)  # the old link stopped working


def test_cli_invite_send_queues_invitations(tmp_path, mailbox):
    path = str(tmp_path / "cli.db")
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["--db", path, "event", "create", "schemas/examples/unconference.json"]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        cli,
        [
            "--db",
            path,
            "invite",
            "commons-camp",
            "--name",
            "Ana",
            "--email",
            "ana@example.org",
            "--send",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 invitation(s) queued" in result.output and "/a/" not in result.output
    assert runner.invoke(cli, ["--db", path, "worker", "--once"]).exit_code == 0
    assert [m.recipients for m in mailbox.received] == [["ana@example.org"]]


def test_feedback_reaches_the_dashboard_with_the_kpi_strip(olga, db, mailbox, client):
    organiser, event = olga
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    design(db, ana, {"email": {}}, agenda={"opening": {"format": "in_person"}})
    schema = events.compiled(db, event["id"])
    opening = schema.options[("agenda", "opening")]
    from datetime import UTC, datetime, timedelta

    after = datetime.fromtimestamp(opening.end, UTC) + timedelta(minutes=5)
    assert planner.plan(db, after) == 1
    assert planner.plan(db, after) == 0  # planned once
    worker.drain(db, "w")
    [arrived] = mailbox.received
    assert arrived.message["Subject"] == "How was Opening circle: building the agenda together?"
    link = re.search(r"http://\S+/f/(\S+)", arrived.message.get_body(("plain",)).get_content())
    path = "/f/" + link.group(1)
    form = client.get(path)
    assert form.status_code == 200 and "from 1 (poor) to 5 (excellent)" in form.get_data(
        as_text=True
    )
    csrf = csrf_from(form.get_data(as_text=True))
    bad = client.post(path, data={"csrf_token": csrf, "rating": "9"})
    assert bad.status_code == 422 and "Choose a rating from 1 to 5." in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": csrf, "rating": "4", "comment": "Lovely"})
    assert good.status_code == 303
    dashboard = organiser.client.get(f"/events/{event['slug']}/dashboard").get_data(as_text=True)
    assert 'id="rated-agenda-opening"' in dashboard and "4.0" in dashboard
    assert re.search(r'id="kpi-invited"><span class="count">1<', dashboard)
    assert re.search(r'id="kpi-designed"><span class="count">1<', dashboard)
    assert "attendees whose input changed the programme" in dashboard


def test_an_attendee_chooses_which_messages_they_get(attendee, db, client):
    event = attendee.event()
    ana = attendee.invite(event)
    attendee.open(ana.token)
    page = client.get(f"/e/{event['slug']}/messages")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Reminders before your sessions" in html
    wanted = ["invitations", "seats", "proposals", "changes", "announcements", "feedback"]
    saved = client.post(
        f"/e/{event['slug']}/messages", data={"csrf_token": csrf_from(html), "want": wanted}
    )
    assert saved.status_code == 303
    assert consent.opted_out(db, ana.attendee["id"]) == {"reminders"}
    assert not consent.allows(db, ana.attendee["id"], "reminder")
    assert consent.allows(db, ana.attendee["id"], "registered")  # asked-for links always go


def test_the_manual_shows_the_real_refusal_of_a_bad_mail_url(tmp_path, monkeypatch):
    from docsupport import ROOT, code_blocks

    [command, documented] = next(
        body.strip().splitlines()
        for _info, body in code_blocks(ROOT / "docs" / "organiser.md", "console")
        if "CONFIGURATOR_MAIL_URL=" in body
    )
    assert command == "$ CONFIGURATOR_MAIL_URL=smtp:// configurator worker --once"
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", "smtp://")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "worker", "--once"])
    assert result.exit_code == 2 and result.output.strip() == documented


def test_the_designer_refuses_a_number_the_sms_service_cannot_use_beside_the_field(
    attendee, db, client, hooks
):
    from deliverysupport import route

    event = attendee.event()
    route(db, event, email="email", sms=f"json://{hooks.url}/sms/{{phone}}")
    ana = attendee.invite(event)
    attendee.open(ana.token)
    csrf = csrf_from(client.get(f"/e/{event['slug']}/design").get_data(as_text=True))
    data = {
        "csrf_token": csrf,
        "seen": ["pick", "a/sms/phone"],
        "pick": ["email", "sms"],
        "a/sms/phone": "0470 12 34 56",
    }
    refused = client.post(f"/e/{event['slug']}/design/answers/channels", data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="f-channels--sms--phone-error1">([^<]*)<', html)
    assert error and "country code" in error.group(1)
    assert designs_of(db, ana) is None
    data["a/sms/phone"] = "+32 470 12 34 56"
    assert client.post(f"/e/{event['slug']}/design/answers/channels", data=data).status_code == 303


def designs_of(db, invitation):
    from configurator import designs

    stored = designs.get_design(db, invitation.attendee["id"])
    return stored["document"] if stored else None
