"""Messages that time brings (reminders, recordings, feedback) and the dashboard's delivery figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import example_schema
from deliverysupport import design

from configurator import attendees, changes, events, proposal_review, proposals, worker
from configurator.delivery import consent, feedback, figures, planner


@pytest.fixture
def streamed(db):
    doc = example_schema()
    agenda = doc["sections"][0]
    opening = agenda["sessions"][0]
    opening["stream_url"] = "https://stream.example.org/opening"
    opening["recording_url"] = "https://video.example.org/opening"
    doc["proposals"] = {"enabled": True, "threshold": 1}
    created = events.create_event(db, doc)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


def moment(db, event, key: str, edge: str, minutes: int) -> datetime:
    option = events.compiled(db, event["id"]).options[("agenda", key)]
    return datetime.fromtimestamp(getattr(option, edge), UTC) + timedelta(minutes=minutes)


def messages(db, kind: str) -> dict[int, tuple[str, str]]:
    rows = db.execute("SELECT attendee_id, subject, body FROM outbox WHERE kind = ?", [kind])
    return {r[0]: (r[1], r[2]) for r in rows}


def test_reminders_carry_how_each_attendee_follows_the_session(db, streamed):
    people = {}
    for name, fmt in (("Ana", "in_person"), ("Ben", "online"), ("Cleo", "recording")):
        person = attendees.invite(db, streamed["id"], name, f"{name.lower()}@example.org")
        design(db, person, {"email": {}}, agenda={"opening": {"format": fmt}})
        people[name] = person.attendee["id"]
    revoked = attendees.invite(db, streamed["id"], "Dev", "dev@example.org")
    design(db, revoked, {"email": {}}, agenda={"opening": {"format": "in_person"}})
    attendees.revoke(db, revoked.attendee["id"])
    assert planner.plan(db, moment(db, streamed, "opening", "start", -60)) == 0  # too early
    soon = moment(db, streamed, "opening", "start", -20)
    assert planner.plan(db, soon) == 2
    assert planner.plan(db, soon + timedelta(minutes=1)) == 0
    sent = messages(db, "reminder")
    assert set(sent) == {people["Ana"], people["Ben"]}
    assert "in Main hall" in sent[people["Ana"]][1]
    assert "online: https://stream.example.org/opening" in sent[people["Ben"]][1]
    after = moment(db, streamed, "opening", "end", 10)
    assert planner.plan(db, after) == 3  # Cleo's recording, feedback for Ana and Ben
    assert "https://video.example.org/opening" in messages(db, "reminder")[people["Cleo"]][1]
    assert set(messages(db, "feedback")) == {people["Ana"], people["Ben"]}
    assert planner.plan(db, moment(db, streamed, "opening", "end", 60 * 25)) == 0  # too late


def test_an_attendee_who_stopped_reminders_gets_none_sent(db, streamed, monkeypatch):
    ana = attendees.invite(db, streamed["id"], "Ana", "ana@example.org")
    design(db, ana, {"email": {}}, agenda={"opening": {"format": "in_person"}})
    consent.opt_out(db, ana.attendee["id"], "reminders")
    planner.plan(db, moment(db, streamed, "opening", "start", -10))
    monkeypatch.delenv("CONFIGURATOR_MAIL_URL", raising=False)
    worker.drain(db, "w")
    [state] = db.execute("SELECT state, last_error FROM jobs").fetchall()
    assert state[0] == "cancelled" and "opted out of reminders" in state[1]


def test_a_published_change_that_breaks_a_design_tells_its_attendee(db, streamed):
    ana = attendees.invite(db, streamed["id"], "Ana", "ana@example.org")
    design(db, ana, {"email": {}}, agenda={"maps": {"format": "in_person"}})
    doc = events.draft(events.get_event(db, streamed["slug"]))
    doc["sections"][0]["sessions"] = [
        s for s in doc["sections"][0]["sessions"] if s["id"] != "maps"
    ]
    events.save_draft(db, streamed["slug"], doc)
    changes.publish(db, streamed["slug"])
    [(subject, body)] = messages(db, "design_changed").values()
    assert subject == "Commons Camp changed: your design needs a look"
    assert "version 2" in body


def test_figures_compare_co_created_sessions_and_count_co_creation(db, streamed):
    ana, ben, cleo = (
        attendees.invite(db, streamed["id"], n, f"{n.lower()}@example.org")
        for n in ("Ana", "Ben", "Cleo")
    )
    settings = proposals.settings_for(db, streamed["id"])
    idea = proposals.clean(settings, "Bike repair", "", None, "")
    pid = proposals.propose(db, streamed["id"], ana.attendee["id"], idea)
    proposals.support(db, streamed["id"], pid, ben.attendee["id"])
    proposals.propose(
        db, streamed["id"], cleo.attendee["id"], proposals.clean(settings, "Knitting", "", None, "")
    )
    day = (
        streamed["starts_on"]
        if "starts_on" in streamed
        else events.draft(streamed)["event"]["starts_on"]
    )
    proposal_review.accept(
        db,
        streamed["id"],
        pid,
        "Yes",
        proposal_review.Placement("agenda", f"{day}T16:00:00+01:00", f"{day}T16:45:00+01:00"),
    )
    events.publish(db, streamed["slug"])
    design(db, ana, {"email": {}}, agenda={"opening": {"format": "in_person"}})
    for person, key, rating in (
        (ana, f"proposal-{pid}", "5"),
        (ben, f"proposal-{pid}", "4"),
        (ana, "opening", "2"),
    ):
        token = consent.sign(db, "feedback", [person.attendee["id"], "agenda", key])
        feedback.answer(db, token, rating, "")
    found = figures.figures(db, streamed["id"], events.compiled(db, streamed["id"]))
    assert found.co_created_average == 4.5 and found.co_created_ratings == 2
    assert found.other_average == 2.0 and found.other_ratings == 1
    assert [r.option_id for r in found.rated] == [f"proposal-{pid}", "opening"]
    assert dict(found.kpis) == {
        "invited": 3,
        "designed": 1,
        "confirmed": 0,
        "proposals": 2,
        "accepted": 1,
        "changed the programme": 2,  # Ana proposed it, Ben supported it
    }
