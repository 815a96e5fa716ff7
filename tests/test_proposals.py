"""Co-creation domain: proposing, supporting within a budget, answering, and what came of it."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlite_utils
from conftest import example_schema

from configurator import (
    attendees,
    designs,
    events,
    optionschema,
    proposal_review,
    proposals,
    similarity,
)
from configurator.db import close_thread_connections, connect
from configurator.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    SchemaInvalid,
    WindowClosed,
)
from configurator.exports import proposals as proposal_csv


def proposals_schema(**block: Any) -> dict[str, Any]:
    """The example event with proposals switched on."""
    doc = example_schema()
    doc["proposals"] = {
        "enabled": True,
        "max_per_attendee": 2,
        "supports_per_attendee": 3,
        "threshold": 2,
        "formats": ["talk", "hands_on"],
        **block,
    }
    return doc


@pytest.fixture
def event(db: sqlite_utils.Database) -> dict[str, Any]:
    created = events.create_event(db, proposals_schema())
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


def person(db: sqlite_utils.Database, event: dict[str, Any], name: str) -> int:
    return attendees.invite(db, event["id"], name, f"{name.lower()}@example.org").attendee["id"]


def post(db, event, author: int, title: str, description: str = "", **kw: Any) -> int:
    settings = proposals.settings_for(db, event["id"])
    draft = proposals.clean(settings, title, description, kw.get("fmt"), kw.get("tags", ""))
    return proposals.propose(db, event["id"], author, draft)


def outbox(db, kind: str = "proposal_answered") -> list[tuple[int, str]]:
    rows = db.execute(
        "SELECT attendee_id, subject FROM outbox WHERE kind = ? ORDER BY id", [kind]
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def republish(db, event: dict[str, Any], **block: Any) -> None:
    doc = events.draft(events.get_event(db, event["slug"]))
    doc["proposals"] = {**doc.get("proposals", {}), **block}
    events.save_draft(db, event["slug"], doc)
    events.publish(db, event["slug"])


# --- settings and phases ---------------------------------------------------------------------


def test_settings_come_from_the_published_version_with_defaults(db):
    doc = example_schema()
    created = events.create_event(db, {**doc, "proposals": {"enabled": True}})
    assert proposals.settings_for(db, created["id"]).enabled is False  # nothing published yet
    events.publish(db, created["slug"])
    settings = proposals.settings_for(db, created["id"])
    assert settings.enabled is True
    assert (settings.max_per_attendee, settings.supports_per_attendee) == (3, 5)
    assert settings.threshold is None and settings.title == "Proposals"
    assert proposals.phase(settings, "propose").open is True  # no dates: open while enabled


def test_phases_open_and_close_on_their_dates():
    settings = proposals.settings_from(
        {
            "proposals": {
                "enabled": True,
                "propose": {
                    "opens": "2030-01-01T09:00:00+01:00",
                    "closes": "2030-02-01T00:00:00+01:00",
                },
            }
        }
    )
    before = datetime(2029, 12, 31, tzinfo=UTC)
    during = datetime(2030, 1, 15, tzinfo=UTC)
    after = datetime(2030, 3, 1, tzinfo=UTC)
    assert proposals.phase(settings, "propose", before) == proposals.PhaseState(
        False, "Proposing opens on 2030-01-01 at 09:00."
    )
    assert proposals.phase(settings, "propose", during).open is True
    assert proposals.phase(settings, "propose", after).reason == (
        "Proposing closed on 2030-02-01 at 00:00."
    )
    assert proposals.phase(settings, "support", after).open is True
    off = proposals.settings_from({"proposals": {"enabled": False}})
    assert proposals.phase(off, "support").reason == "This event does not take proposals."


def test_proposing_outside_the_phase_is_refused(db, event):
    ana = person(db, event, "Ana")
    past = datetime.now(UTC) - timedelta(days=2)
    republish(
        db,
        event,
        propose={
            "opens": past.isoformat(timespec="seconds"),
            "closes": (past + timedelta(days=1)).isoformat(timespec="seconds"),
        },
    )
    with pytest.raises(WindowClosed, match="Proposing closed on"):
        post(db, event, ana, "Repair café for bicycles")


def test_disabled_proposals_take_nothing(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Repair café for bicycles")
    republish(db, event, enabled=False)
    with pytest.raises(WindowClosed, match="does not take proposals"):
        post(db, event, ana, "Another one")
    with pytest.raises(WindowClosed):
        proposals.support(db, event["id"], pid, ben)


# --- proposing and editing -------------------------------------------------------------------


def test_cleaning_names_every_wrong_field():
    settings = proposals.settings_from(proposals_schema())
    with pytest.raises(BadRequest) as caught:
        proposals.clean(settings, " x ", "ok", "lecture", "a,b,c,d,e,f")
    assert [(p.pointer, p.message) for p in caught.value.problems] == [
        ("/title", "give a title of at least 3 characters"),
        ("/format", "choose one of the formats offered: Talk, Hands on"),
        ("/tags", "give at most 5 tags"),
    ]
    draft = proposals.clean(
        settings, "  Bicycle   repair ", "", "hands_on", "Bikes, bikes ,,Repair"
    )
    assert draft == proposals.Draft("Bicycle repair", "", "hands_on", ["Bikes", "Repair"])


def test_limit_of_proposals_per_attendee(db, event):
    ana = person(db, event, "Ana")
    post(db, event, ana, "Repair café for bicycles")
    post(db, event, ana, "Seed swap")
    with pytest.raises(Conflict, match="You have made 2 proposals"):
        post(db, event, ana, "A third idea")
    assert proposals.proposal_count(db, event["id"], ana) == 2


def test_author_may_edit_until_the_proposal_is_answered(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Repair café")
    settings = proposals.settings_for(db, event["id"])
    better = proposals.clean(settings, "Repair café for bicycles", "Bring a bike", "talk", "bikes")
    with pytest.raises(Forbidden):
        proposals.edit(db, event["id"], pid, ben, better)
    proposals.edit(db, event["id"], pid, ana, better)
    stored = proposals.get_proposal(db, event["id"], pid)
    assert (stored["title"], stored["description"], stored["format"], stored["tags"]) == (
        "Repair café for bicycles",
        "Bring a bike",
        "talk",
        ["bikes"],
    )
    proposal_review.answer(db, event["id"], pid, "under_consideration", "We like it")
    with pytest.raises(Conflict, match="can no longer change"):
        proposals.edit(db, event["id"], pid, ana, better)


# --- similarity --------------------------------------------------------------------------------


def test_similar_proposals_are_found_before_posting(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    repair = post(db, event, ana, "Repair café for bicycles", "Fix bikes together")
    post(db, event, ana, "Open data in schools")
    seeds = post(db, event, ben, "Seed swap and community gardening")
    found = similarity.similar(db, event["id"], "Bicycle repair cafe")
    assert [s.proposal["id"] for s in found] == [repair]
    assert found[0].score >= 0.9
    assert [
        s.proposal["id"] for s in similarity.similar(db, event["id"], "Repiar cafe for bicyles")
    ] == [repair]
    assert similarity.similar(db, event["id"], "Textile mending circle") == []
    assert similarity.similar(db, event["id"], "the of and") == []
    # Hidden proposals are never offered as similar.
    proposal_review.hide(db, event["id"], seeds, "Spam")
    assert similarity.similar(db, event["id"], "Community gardening seed swap") == []


def test_similarity_scores():
    assert similarity.similarity("Bicycle repair café", "Repair café for bicycles") == 1.0
    assert similarity.similarity("Kids coding club", "Coding for kids") > 0.6
    assert similarity.similarity("Workshop on soldering", "Workshop on knitting") < 0.4
    assert similarity.similarity("Open data for neighbourhoods", "Textile repair") < 0.2


# --- supporting ----------------------------------------------------------------------------------


def test_supports_spend_a_budget_and_come_back_when_declined(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    cid = person(db, event, "Cleo")
    ids = [post(db, event, ana, f"Idea number {n}") for n in (1, 2)]
    ids += [post(db, event, cid, f"Other idea {n}") for n in (3, 4)]
    for pid in ids[:3]:
        used = proposals.support(db, event["id"], pid, ben)
    assert used == proposals.Budget(3, 3)
    assert proposals.support(db, event["id"], ids[0], ben) == proposals.Budget(3, 3)  # again: no-op
    with pytest.raises(Conflict, match="You have given all 3 of your supports"):
        proposals.support(db, event["id"], ids[3], ben)
    with pytest.raises(Conflict, match="your own proposal"):
        proposals.support(db, event["id"], ids[0], ana)
    assert proposals.withdraw(db, event["id"], ids[2], ben).left == 1
    proposals.support(db, event["id"], ids[3], ben)
    proposal_review.answer(db, event["id"], ids[0], "declined", "Out of scope this year")
    assert proposals.budget(db, event["id"], ben, 3) == proposals.Budget(3, 2)
    with pytest.raises(Conflict, match="declined: it takes no more support"):
        proposals.support(db, event["id"], ids[0], cid)
    assert proposals.supported_ids(db, ben) == {ids[0], ids[1], ids[3]}


def test_support_phase_closed(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Repair café")
    future = datetime.now(UTC) + timedelta(days=3)
    republish(
        db,
        event,
        support={
            "opens": future.isoformat(timespec="seconds"),
            "closes": (future + timedelta(days=1)).isoformat(timespec="seconds"),
        },
    )
    with pytest.raises(WindowClosed, match="Supporting opens on"):
        proposals.support(db, event["id"], pid, ben)


def test_racing_supports_of_one_attendee_never_exceed_the_budget(db_path):
    db = connect(db_path)
    created = events.create_event(db, proposals_schema(supports_per_attendee=5))
    events.publish(db, created["slug"])
    event = events.get_event(db, created["slug"])
    racer = person(db, event, "Racer")
    authors = [person(db, event, f"Author{n}") for n in range(6)]
    ids = [post(db, event, authors[n // 2], f"Distinct topic {n} alpha{n}") for n in range(12)]
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(pid: int) -> None:
        mine = connect(db_path)
        try:
            barrier.wait()
            proposals.support(mine, event["id"], pid, racer)
            result = "ok"
        except Conflict:
            result = "refused"
        finally:
            mine.close()  # on PostgreSQL: back to the pool
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_thread_connections()
    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * 7
    stored = db.execute("SELECT count(*) FROM supports WHERE attendee_id = ?", [racer]).fetchone()
    assert stored[0] == 5


def test_threshold_marks_a_proposal_ready_for_review(db, event):
    ana, ben, cleo = (person(db, event, n) for n in ("Ana", "Ben", "Cleo"))
    pid = post(db, event, ana, "Repair café")
    proposals.support(db, event["id"], pid, ben)
    assert proposals.get_proposal(db, event["id"], pid, threshold=2)["ready"] is False
    proposals.support(db, event["id"], pid, cleo)
    listed = proposals.visible(db, event["id"], threshold=2)
    assert [(p["id"], p["supports"], p["ready"]) for p in listed] == [(pid, 2, True)]


# --- moderation and answers ----------------------------------------------------------------------


def test_merge_carries_supports_over_and_gives_duplicates_back(db, event):
    ana, ben, cleo, dan = (person(db, event, n) for n in ("Ana", "Ben", "Cleo", "Dan"))
    target = post(db, event, ana, "Repair café for bicycles")
    duplicate = post(db, event, ben, "Bike repair café")
    proposals.support(db, event["id"], target, cleo)
    proposals.support(db, event["id"], duplicate, cleo)  # supports both
    proposals.support(db, event["id"], duplicate, dan)
    proposals.support(db, event["id"], duplicate, ana)  # the target's own author
    assert proposals.budget(db, event["id"], cleo, 3).used == 2
    moved = proposal_review.merge(db, event["id"], duplicate, target, "Same idea as the repair café")
    assert moved == 1  # Dan's; Cleo already supported the target, Ana wrote it
    merged = proposals.get_proposal(db, event["id"], target)
    assert merged["supports"] == 2
    assert sorted(
        r[0] for r in db.execute("SELECT attendee_id FROM supports WHERE proposal_id = ?", [target])
    ) == sorted([cleo, dan])
    assert proposals.budget(db, event["id"], cleo, 3).used == 1  # the duplicate's came back
    assert proposals.budget(db, event["id"], dan, 3).used == 1
    assert proposals.budget(db, event["id"], ana, 3).used == 0
    gone = proposals.get_proposal(db, event["id"], duplicate)
    assert (gone["status"], gone["merged_into"], gone["answer_reason"]) == (
        "merged",
        target,
        "Same idea as the repair café",
    )
    assert [p["id"] for p in proposals.visible(db, event["id"])] == [target]
    assert sorted(outbox(db)) == sorted(
        [
            (ben, "Your proposal “Bike repair café” was merged into “Repair café for bicycles”"),
            (ana, "A proposal you support was merged: “Bike repair café”"),
            (cleo, "A proposal you support was merged: “Bike repair café”"),
            (dan, "A proposal you support was merged: “Bike repair café”"),
        ]
    )
    with pytest.raises(BadRequest, match="into itself"):
        proposal_review.merge(db, event["id"], target, target, "x")
    with pytest.raises(Conflict, match="already merged"):
        proposal_review.merge(db, event["id"], duplicate, target, "again")


def test_merge_into_a_declined_proposal_is_refused(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    declined = post(db, event, ana, "Repair café")
    other = post(db, event, ben, "Bike repair")
    proposal_review.answer(db, event["id"], declined, "declined", "No room")
    with pytest.raises(Conflict, match="is declined"):
        proposal_review.merge(db, event["id"], other, declined, "Same")


def test_hidden_proposals_leave_every_list_and_give_supports_back(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Buy my product")
    keep = post(db, event, ana, "Repair café")
    proposals.support(db, event["id"], pid, ben)
    proposal_review.hide(db, event["id"], pid, "Advertising")
    assert [p["id"] for p in proposals.visible(db, event["id"])] == [keep]
    assert [r["id"] for r in proposals.export(db, event["id"])] == [keep]
    assert proposals.funnel(db, event["id"])["proposed"] == 1
    assert proposals.budget(db, event["id"], ben, 3).used == 0
    assert proposals.mine(db, event["id"], ben)["supported"] == []
    assert [p["id"] for p in proposals.mine(db, event["id"], ana)["proposals"]] == [keep]
    with pytest.raises(NotFound):
        proposals.get_proposal(db, event["id"], pid)
    staff_view = proposals.get_proposal(db, event["id"], pid, include_hidden=True)
    assert (staff_view["hidden"], staff_view["hidden_reason"]) == (True, "Advertising")
    # Only the author hears of it, with the reason.
    assert outbox(db, "proposal_hidden") == [(ana, "Your proposal “Buy my product” was hidden")]
    with pytest.raises(Conflict, match="hidden proposals get no answer"):
        proposal_review.answer(db, event["id"], pid, "declined", "No")


def test_answers_need_a_reason_and_reach_author_and_supporters(db, event):
    ana, ben, cleo = (person(db, event, n) for n in ("Ana", "Ben", "Cleo"))
    pid = post(db, event, ana, "Repair café")
    proposals.support(db, event["id"], pid, ben)
    proposals.support(db, event["id"], pid, cleo)
    with pytest.raises(BadRequest) as caught:
        proposal_review.answer(db, event["id"], pid, "declined", "   ")
    assert caught.value.problems[0].pointer == "/reason"
    with pytest.raises(BadRequest):
        proposal_review.answer(db, event["id"], pid, "accepted", "Use the accept form")
    proposal_review.answer(db, event["id"], pid, "under_consideration", "Looking for a room")
    proposal_review.answer(db, event["id"], pid, "declined", "No room left")
    stored = proposals.get_proposal(db, event["id"], pid)
    assert (stored["status"], stored["answer_reason"]) == ("declined", "No room left")
    assert outbox(db) == [
        (ana, "Your proposal “Repair café” is under consideration"),
        (ben, "A proposal you support is under consideration: “Repair café”"),
        (cleo, "A proposal you support is under consideration: “Repair café”"),
        (ana, "Your proposal “Repair café” was declined"),
        (ben, "A proposal you support was declined: “Repair café”"),
        (cleo, "A proposal you support was declined: “Repair café”"),
    ]
    body = db.execute("SELECT body FROM outbox ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert "Their reason: No room left" in body and "come back to you" in body
    with pytest.raises(Conflict, match="already declined; that answer is final"):
        proposal_review.answer(db, event["id"], pid, "under_consideration", "Maybe after all")


def test_answer_phase_closed(db, event):
    ana = person(db, event, "Ana")
    pid = post(db, event, ana, "Repair café")
    future = datetime.now(UTC) + timedelta(days=3)
    republish(
        db,
        event,
        answer={
            "opens": future.isoformat(timespec="seconds"),
            "closes": (future + timedelta(days=1)).isoformat(timespec="seconds"),
        },
    )
    with pytest.raises(WindowClosed, match="Answering opens on"):
        proposal_review.answer(db, event["id"], pid, "declined", "No")


# --- accepting: a new option of the draft ----------------------------------------------------------


def slot(event_doc: dict[str, Any], hour: int) -> tuple[str, str]:
    day = event_doc["event"]["starts_on"]
    start = f"{day}T{hour:02d}:00:00+01:00"
    return start, f"{day}T{hour:02d}:45:00+01:00"


def test_accepting_as_a_session_adds_it_to_the_draft_with_provenance(db, event):
    ana, ben, cleo = (person(db, event, n) for n in ("Ana", "Ben", "Cleo"))
    pid = post(db, event, ana, "Repair café for bicycles", "Bring a bike", tags="bikes, repair")
    proposals.support(db, event["id"], pid, ben)
    proposals.support(db, event["id"], pid, cleo)
    start, end = slot(events.draft(event), 16)
    key = proposal_review.accept(
        db,
        event["id"],
        pid,
        "A favourite",
        proposal_review.Placement("agenda", start, end, room="garden", capacity=20),
    )
    assert key == ("agenda", f"proposal-{pid}")
    draft = events.draft(events.get_event(db, event["slug"]))
    assert optionschema.problems_in(draft) == []
    session = next(s for s in draft["sections"][0]["sessions"] if s["id"] == key[1])
    assert session == {
        "id": f"proposal-{pid}",
        "title": "Repair café for bicycles",
        "description": "Bring a bike",
        "start": start,
        "end": end,
        "room": "garden",
        "tags": ["bikes", "repair"],
        "capacity": 20,
        "source": {"system": "proposal", "proposal_id": pid},
    }
    stored = proposals.get_proposal(db, event["id"], pid)
    assert (stored["status"], stored["option_section"], stored["option_id"]) == (
        "accepted",
        "agenda",
        f"proposal-{pid}",
    )
    # Provenance: who proposed it, and the supports it had (they are frozen once accepted).
    assert (stored["author_id"], stored["supports"]) == (ana, 2)
    with pytest.raises(Conflict, match="accepted: its supports are settled"):
        proposals.withdraw(db, event["id"], pid, ben)
    assert proposals.budget(db, event["id"], ben, 3).used == 1  # an accepted support stays spent
    assert len(outbox(db)) == 3
    # Not scheduled until a version containing it is published.
    assert proposals.funnel(db, event["id"]) == {
        "proposed": 1,
        "supported": 1,
        "accepted": 1,
        "scheduled": 0,
    }
    assert proposals.asked_for(db, ben) == {}
    events.publish(db, event["slug"])
    assert proposals.funnel(db, event["id"])["scheduled"] == 1
    assert set(proposals.asked_for(db, ben)) == {key}
    assert proposals.asked_for(db, ana)[key]["authored"] is True


def test_a_bad_placement_is_explained_at_its_field_and_changes_nothing(db, event):
    ana = person(db, event, "Ana")
    pid = post(db, event, ana, "Repair café")
    start, end = slot(events.draft(event), 16)
    with pytest.raises(SchemaInvalid) as caught:
        proposal_review.accept(db, event["id"], pid, "Yes", proposal_review.Placement("agenda", end, start))
    assert [p.pointer for p in caught.value.problems] == ["/end"]
    with pytest.raises(SchemaInvalid) as caught:
        proposal_review.accept(
            db, event["id"], pid, "Yes", proposal_review.Placement("agenda", start, end, room="roof")
        )
    assert [(p.pointer, p.message) for p in caught.value.problems] == [
        ("/room", 'room "roof" is not one of this section\'s rooms')
    ]
    with pytest.raises(BadRequest) as missing:
        proposal_review.accept(db, event["id"], pid, "Yes", proposal_review.Placement("agenda"))
    assert [p.pointer for p in missing.value.problems] == ["/start", "/end"]
    with pytest.raises(BadRequest):
        proposal_review.accept(db, event["id"], pid, "Yes", proposal_review.Placement("preferences"))
    assert proposals.get_proposal(db, event["id"], pid)["status"] == "open"
    assert events.draft(events.get_event(db, event["slug"])) == events.draft(event)
    assert outbox(db) == []


def test_accepting_as_a_choice_option(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Bike tour along the canal")
    proposals.support(db, event["id"], pid, ben)
    key = proposal_review.accept(
        db, event["id"], pid, "Lovely", proposal_review.Placement("extras", capacity=12)
    )
    draft = events.draft(events.get_event(db, event["slug"]))
    extras = next(s for s in draft["sections"] if s["id"] == "extras")
    assert extras["options"][-1] == {
        "id": f"proposal-{pid}",
        "title": "Bike tour along the canal",
        "capacity": 12,
        "source": {"system": "proposal", "proposal_id": pid},
    }
    events.publish(db, event["slug"])
    assert list(proposals.asked_for(db, ben)) == [key]
    community = proposals.community_options(db, event["id"])
    assert [(c["key"], c["option"].title) for c in community] == [
        (key, "Bike tour along the canal")
    ]


def test_asked_for_follows_merges(db, event):
    ana, ben, cleo = (person(db, event, n) for n in ("Ana", "Ben", "Cleo"))
    target = post(db, event, ana, "Repair café for bicycles")
    duplicate = post(db, event, ben, "Bike repair café")
    proposals.support(db, event["id"], duplicate, cleo)
    proposal_review.merge(db, event["id"], duplicate, target, "Same")
    proposal_review.accept(db, event["id"], target, "Yes", proposal_review.Placement("extras"))
    events.publish(db, event["slug"])
    key = ("extras", f"proposal-{target}")
    # The duplicate's author proposed it too; the duplicate's supporter asked for it.
    assert proposals.asked_for(db, ben)[key]["authored"] is True
    assert proposals.asked_for(db, cleo)[key]["id"] == target
    assert proposals.asked_for(db, cleo)[key]["authored"] is False
    mine = proposals.mine(db, event["id"], ben)
    assert [(p["status"], p["merged_title"]) for p in mine["proposals"]] == [
        ("merged", "Repair café for bicycles")
    ]
    assert [p["scheduled"] for p in proposals.mine(db, event["id"], ana)["proposals"]] == [True]


def test_an_accepted_option_can_be_added_to_a_design(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    pid = post(db, event, ana, "Repair café")
    proposals.support(db, event["id"], pid, ben)
    start, end = slot(events.draft(event), 17)
    proposal_review.accept(
        db, event["id"], pid, "Yes", proposal_review.Placement("agenda", start, end, capacity=1)
    )
    events.publish(db, event["slug"])
    attendee = attendees.get_attendee(db, ben)
    saved = designs.save_design(
        db, attendee, {"agenda": {f"proposal-{pid}": {"format": "in_person"}}}
    )
    assert saved.status == "draft"
    assert designs.seats_taken(db, event["id"])[("agenda", f"proposal-{pid}")] == 1


# --- funnel and exports --------------------------------------------------------------------------


def test_funnel_counts(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "Ben")
    first = post(db, event, ana, "Repair café")
    post(db, event, ana, "Seed swap")
    third = post(db, event, ben, "Spam spam")
    proposals.support(db, event["id"], first, ben)
    proposal_review.hide(db, event["id"], third, "Spam")
    assert proposals.funnel(db, event["id"]) == {
        "proposed": 2,
        "supported": 1,
        "accepted": 0,
        "scheduled": 0,
    }


def test_csv_export_defuses_formulas(db, event):
    ana, ben = person(db, event, "Ana"), person(db, event, "=Ben")
    pid = post(db, event, ana, '=HYPERLINK("http://evil")', "-2+3", tags="@risky, plain")
    proposals.support(db, event["id"], pid, ben)
    proposal_review.answer(db, event["id"], pid, "declined", "+1 from us, but no")
    rows = list(csv.reader(io.StringIO(proposal_csv.export_csv(proposals.export(db, event["id"])))))
    assert rows[0] == proposal_csv.EXPORT_COLUMNS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["title"] == '\'=HYPERLINK("http://evil")'
    assert record["description"] == "'-2+3"
    assert record["tags"] == "'@risky; plain"
    assert record["reason"] == "'+1 from us, but no"
    assert record["supporters"] == "'=Ben"
    assert (record["status"], record["supports"], record["author"]) == ("declined", "1", "Ana")
    assert [proposal_csv.defuse(v) for v in ("\tx", "\rx", "ok", None, 3)] == [
        "'\tx",
        "'\rx",
        "ok",
        "",
        "3",
    ]
