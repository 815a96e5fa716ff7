"""Delivering the outbox: email to a real SMTP server, other channels to a real webhook receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from deliverysupport import delivery_jobs, design, route, start_receiver

from configurator import attendees, designs, jobs, worker
from configurator.clock import now
from configurator.delivery import consent, links, mail, mailsink, outbox, settings
from configurator.errors import DesignInvalid


@pytest.fixture
def mailbox(monkeypatch, tmp_path):
    sink = mailsink.start()
    monkeypatch.setenv("CONFIGURATOR_MAIL_URL", sink.url)
    monkeypatch.setenv("CONFIGURATOR_MAIL_FROM", "events@example.org")
    monkeypatch.setenv("CONFIGURATOR_PUBLIC_URL", "http://camp.example.org")
    monkeypatch.setenv("CONFIGURATOR_CHANNEL_SECRETS", str(tmp_path / "secrets.toml"))
    (tmp_path / "secrets.toml").write_text('[secrets]\ngateway_token = "s3cr3t-token"\n')
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
def event(attendee):
    return attendee.event()


def drain(db) -> int:
    return worker.drain(db, "test-worker")


def test_an_invitation_arrives_with_text_html_and_a_working_unsubscribe(db, client, event, mailbox):
    invitation = links.invite_and_send(
        db, event, "Ana Lima", "ana@example.org", "http://camp.example.org"
    )
    assert drain(db) == 1
    [arrived] = mailbox.received
    message = arrived.message
    assert arrived.recipients == ["ana@example.org"]
    assert message["From"] == "Commons Camp <events@example.org>"  # the event's name by default
    assert message["Subject"] == "Your personal link for Commons Camp"
    [job] = delivery_jobs(db)
    assert message["Message-ID"] == f"<delivery.{job.ref_id}.email.commons-camp@example.org>"
    assert job.state == "done" and job.result["to"] == "ana@example.org"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"http://camp.example.org/a/{invitation.token}"
    assert link in text and f'<a href="{link}">' in html
    assert attendees.by_token(db, invitation.token)["id"] == invitation.attendee["id"]
    # One-click unsubscribe (RFC 8058): the header names a link that works by POST alone.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("http://camp.example.org/u/")
    answer = client.post(
        unsubscribe.removeprefix("http://camp.example.org"),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert answer.status_code == 200
    assert consent.opted_out(db, invitation.attendee["id"]) == {"invitations"}
    links.send_invitations(db, event, [invitation.attendee["id"]], "http://camp.example.org")
    drain(db)
    assert len(mailbox.received) == 1
    last = delivery_jobs(db)[-1]
    assert last.state == "cancelled" and "opted out of invitations" in last.last_error


def test_a_message_goes_to_every_channel_the_attendee_chose(db, event, mailbox, hooks):
    route(
        db,
        event,
        email="email",
        sms="json://" + hooks.url + "/sms/{phone}?+Authorization=Bearer%20{secret:gateway_token}",
    )
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    design(db, ana, {"email": {}, "sms": {"phone": "+32 470 12 34 56"}})
    [message_id] = outbox.queue(
        db, event["id"], [ana.attendee["id"]], "broadcast", "Lunch moved", "Lunch is at 13:00."
    )
    assert drain(db) == 2
    assert [m.message["Subject"] for m in mailbox.received] == ["Lunch moved"]
    [request] = hooks.received
    assert hooks.paths() == ["/sms/+32470123456"]
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert request.headers["Idempotency-Key"] == f"delivery:{message_id}:sms"
    assert request.json()["title"] == "Lunch moved"
    assert request.json()["message"].startswith("Lunch is at 13:00.")
    assert "/u/" in request.json()["message"]
    done = {j.topic: j for j in delivery_jobs(db, message_id)}
    assert {t: j.state for t, j in done.items()} == {"email": "done", "sms": "done"}
    assert done["sms"].result["to"] == "+32 470 12 34 56"
    assert "s3cr3t" not in str(done["sms"].result)


def test_a_channel_without_a_service_is_collected_not_delivered(db, event, mailbox):
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    design(db, ana, {"email": {}, "app": {}})
    outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    drain(db)
    states = {j.topic: (j.state, j.last_error) for j in delivery_jobs(db)}
    assert states["email"] == ("done", None)
    assert states["app"][0] == "cancelled"
    assert states["app"][1].startswith("Collected, not delivered")
    assert len(mailbox.received) == 1


def test_email_stands_in_when_no_chosen_channel_is_delivered(db, event, mailbox):
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    design(db, ana, {"app": {}})
    outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    drain(db)
    states = {j.topic: j.state for j in delivery_jobs(db)}
    assert states == {"app": "cancelled", "email": "done"}
    assert mailbox.received[0].recipients == ["ana@example.org"]


def test_a_provider_error_is_retried_then_shown_failed_with_its_message(db, event, mailbox, hooks):
    route(db, event, sms="json://" + hooks.url + "/sms/{phone}")
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    design(db, ana, {"sms": {"phone": "+32 470 12 34 56"}})
    hooks.statuses = [500] * 10
    [message_id] = outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    drain(db)
    [job] = delivery_jobs(db, message_id)
    assert job.state == "queued" and job.attempts == 1
    assert "SMS" in job.last_error and "500" in job.last_error
    for attempt in range(2, outbox.ATTEMPTS + 1):
        [claimed] = jobs.claim(db, "w", "delivery", moment=now() + timedelta(days=attempt))
        worker.run_job(db, claimed, "w")
    job = jobs.get(db, job.id)
    assert job.state == "dead" and job.attempts == outbox.ATTEMPTS
    assert "500" in job.last_error
    assert len(hooks.received) == outbox.ATTEMPTS
    # Retry now: the provider has recovered.
    hooks.statuses = []
    jobs.retry_now(db, job.id, event["id"])
    drain(db)
    assert jobs.get(db, job.id).state == "done"


def test_a_mail_server_refusal_is_final_and_a_busy_one_is_retried(db, event, mailbox):
    mailbox.keeper.refuse = {
        "gone@example.org": "550 5.1.1 No such mailbox",
        "busy@example.org": "451 4.3.0 Try again later",
    }
    gone = attendees.invite(db, event["id"], "Gone", "gone@example.org")
    busy = attendees.invite(db, event["id"], "Busy", "busy@example.org")
    outbox.queue(
        db, event["id"], [gone.attendee["id"], busy.attendee["id"]], "broadcast", "Hi", "Hello."
    )
    drain(db)
    by_who = {j.attendee_id: j for j in delivery_jobs(db)}
    assert by_who[gone.attendee["id"]].state == "dead"
    assert "550 5.1.1 No such mailbox" in by_who[gone.attendee["id"]].last_error
    assert by_who[busy.attendee["id"]].state == "queued"
    assert "451" in by_who[busy.attendee["id"]].last_error


def test_nothing_goes_to_a_revoked_link(db, event, mailbox):
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    attendees.revoke(db, ana.attendee["id"])
    drain(db)
    [job] = delivery_jobs(db)
    assert job.state == "cancelled" and "revoked" in job.last_error
    assert mailbox.received == []


def test_quiet_hours_hold_a_message_until_they_end(db, event, mailbox):
    from configurator import events

    schema = events.compiled(db, event["id"])
    local = now().astimezone(schema.zone)
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    settings.save(
        db,
        event["id"],
        schema,
        {"sender_name": "Camp", "route-email": "email", "quiet_from": start, "quiet_until": end},
    )
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    drain(db)
    [job] = delivery_jobs(db)
    assert job.state == "queued" and job.attempts == 0 and "quiet hours" in job.last_error
    held = jobs.get(db, job.id).run_after
    assert held > (now() + timedelta(minutes=50)).isoformat()
    assert mailbox.received == []
    # A link the attendee asked for is not held back.
    outbox.queue(db, event["id"], [ana.attendee["id"]], "link_reissued", "Link", "Here.")
    drain(db)
    assert [m.message["Subject"] for m in mailbox.received] == ["Link"]


def test_a_channel_rate_limit_postpones_what_is_over_it(db, event, mailbox, hooks):
    route(db, event, sms=("json://" + hooks.url + "/sms/{phone}", 2))
    people = []
    for n in range(5):
        person = attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org")
        design(db, person, {"sms": {"phone": f"+3247012345{n}"}})
        people.append(person.attendee["id"])
    outbox.queue(db, event["id"], people, "broadcast", "Hi", "Hello.")
    drain(db)
    states = sorted(j.state for j in delivery_jobs(db))
    assert states == ["done", "done", "queued", "queued", "queued"]
    assert len(hooks.received) == 2
    waiting = [j for j in delivery_jobs(db) if j.state == "queued"]
    assert all("at most 2 a minute" in j.last_error and j.attempts == 0 for j in waiting)


def test_a_phone_number_the_channel_cannot_use_is_refused_when_entered(db, event, hooks):
    route(db, event, sms="json://" + hooks.url + "/sms/{phone}")
    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    with pytest.raises(DesignInvalid) as refused:
        design(db, ana, {"sms": {"phone": "0470 12 34 56"}})
    [problem] = refused.value.problems
    assert problem.pointer == "/channels/sms/phone"
    assert "country code" in problem.message
    assert designs.get_design(db, ana.attendee["id"]) is None
    design(db, ana, {"sms": {"phone": "+32 470 12 34 56"}})


def test_a_crash_between_send_and_record_repeats_only_that_message(db, event, mailbox):
    people = [
        attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org").attendee["id"]
        for n in range(3)
    ]
    outbox.queue(db, event["id"], people, "broadcast", "Hi", "Hello.")
    claimed = jobs.claim(db, "doomed", "delivery", lease=timedelta(seconds=1))
    from configurator.delivery import sender

    sender.deliver(db, claimed[0])  # sent, then the worker dies before recording it
    assert drain(db) == 0  # the others wait for the dead worker's lease
    ran = 0
    for job in jobs.claim(db, "heir", "delivery", moment=now() + timedelta(seconds=5)):
        worker.run_job(db, job, "heir")
        ran += 1
    assert ran == 3
    ids = [m.message["Message-ID"] for m in mailbox.received]
    assert len(ids) == 4 and len(set(ids)) == 3  # one repeat, with the same Message-ID


def test_the_json_export_carries_each_attendees_delivery_log(db, event, mailbox):
    import json

    from configurator import events, exports

    ana = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    ben = attendees.invite(db, event["id"], "Ben", "ben@example.org")
    design(db, ana, {"email": {}, "app": {}})
    design(db, ben, {"email": {}})
    outbox.queue(db, event["id"], [ana.attendee["id"]], "broadcast", "Hi", "Hello.")
    drain(db)
    schema = events.compiled(db, event["id"])
    prepared = exports.download(db, event, schema, "json")
    items = {i["attendee"]["name"]: i for i in json.loads(b"".join(prepared.chunks))}
    assert items["Ben"]["deliveries"] == []
    assert sorted(
        (d["channel"], d["status"], d["subject"]) for d in items["Ana"]["deliveries"]
    ) == [
        ("app", "collected", "Hi"),
        ("email", "sent", "Hi"),
    ]


def test_several_workers_at_once_send_each_message_once(db_path, db, event, mailbox):
    import threading

    from configurator.db import close_thread_connections, thread_connection

    people = [
        attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org").attendee["id"]
        for n in range(60)
    ]
    outbox.queue(db, event["id"], people, "broadcast", "Hi", "Hello.")
    ran: list[int] = []

    def work(name: str) -> None:
        ran.append(worker.drain(thread_connection(str(db_path)), name, batch=5))
        close_thread_connections()
        mail.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.message["Message-ID"] for m in mailbox.received]
    assert len(ids) == len(set(ids)) == 60 and sum(ran) == 60
    assert {j.state for j in delivery_jobs(db)} == {"done"}


def test_a_delivered_link_is_forgotten_and_a_pending_one_kept(db, event, mailbox):
    from configurator.delivery import planner

    sent = links.invite_and_send(db, event, "Ana", "ana@example.org", "http://camp.example.org")
    drain(db)
    mailbox.keeper.refuse = {"ben@example.org": "451 Try again later"}
    later = links.invite_and_send(db, event, "Ben", "ben@example.org", "http://camp.example.org")
    drain(db)
    assert planner.forget_links(db) == 1
    bodies = {r[0]: r[1] for r in db.execute("SELECT attendee_id, body FROM outbox ORDER BY id")}
    assert sent.token not in bodies[sent.attendee["id"]]
    assert "(the personal link, removed once sent)" in bodies[sent.attendee["id"]]
    assert later.token in bodies[later.attendee["id"]]
    assert planner.forget_links(db) == 0


def test_concurrent_senders_in_one_worker_send_each_message_once(db, event, mailbox):
    people = [
        attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org").attendee["id"]
        for n in range(40)
    ]
    gone = attendees.invite(db, event["id"], "Gone", "gone@example.org").attendee["id"]
    mailbox.keeper.refuse = {"gone@example.org": "550 No such mailbox"}
    outbox.queue(db, event["id"], [*people, gone], "broadcast", "Hi", "Hello.")
    assert worker.drain(db, "pool", batch=7, concurrency=4) == 41
    ids = [m.message["Message-ID"] for m in mailbox.received]
    assert len(ids) == len(set(ids)) == 40
    states = {j.attendee_id: j.state for j in delivery_jobs(db)}
    assert states.pop(gone) == "dead" and set(states.values()) == {"done"}
