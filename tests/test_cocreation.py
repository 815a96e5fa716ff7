"""Co-creation pages, exports and API: the flows, htmx partials, access, hiding and escaping."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import jsonschema
import pytest
import sqlite_utils
from conftest import PASSWORD, csrf_from, example_schema
from docsupport import ROOT, code_blocks
from flask import Flask
from flask.testing import FlaskClient

from configurator import (
    accounts,
    api_tokens,
    attendees,
    designs,
    events,
    optionschema,
    proposal_review,
)
from configurator.exports import proposals as proposal_csv

SLUG = "commons-camp"
HX = {"HX-Request": "true"}
DOC = ROOT / "docs" / "cocreation.md"
OPENAPI = ROOT / "docs" / "openapi.json"


class Person:
    """An attendee with their own browser (test client) and CSRF token."""

    def __init__(self, app: Flask, db: sqlite_utils.Database, event: dict[str, Any], name: str):
        invitation = attendees.invite(db, event["id"], name, f"{name.lower()}@example.org")
        self.id = invitation.attendee["id"]
        self.client = app.test_client()
        assert self.client.get(f"/a/{invitation.token}").status_code == 303
        self.token = csrf_from(self.get(f"/e/{SLUG}/my-input").get_data(as_text=True))

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kw)

    def support(self, pid: int) -> None:
        response = self.post(f"/e/{SLUG}/proposals/{pid}/support", {"action": "support"})
        assert response.status_code == 303, response.get_data(as_text=True)
        self.get(response.headers["Location"])

    def propose(self, title: str, **fields: str) -> int:
        response = self.post(f"/e/{SLUG}/proposals", {"title": title, **fields})
        assert response.status_code == 303, response.get_data(as_text=True)
        self.get(response.headers["Location"])  # shows (and so clears) the "posted" message
        return int(response.headers["Location"].rsplit("/", 1)[1])


def proposals_schema(**block: Any) -> dict[str, Any]:
    doc = example_schema()
    doc["proposals"] = {
        "enabled": True,
        "title": "Propose a session",
        "supports_per_attendee": 2,
        "threshold": 2,
        "formats": ["talk", "hands_on"],
        **block,
    }
    return doc


@pytest.fixture
def owner(organiser) -> int:
    return organiser.create()


@pytest.fixture
def event(db, owner) -> dict[str, Any]:
    created = events.create_event(db, proposals_schema(), owner)
    events.publish(db, SLUG)
    return events.get_event(db, created["slug"])


@pytest.fixture
def people(app, db, event):
    return lambda name: Person(app, db, event, name)


@pytest.fixture
def signed_in(organiser, client) -> FlaskClient:
    """The organiser's own client, signed in."""
    assert organiser.login().status_code == 303
    return client


def organiser_post(client: FlaskClient, path: str, data: dict[str, str], **kw: Any) -> Any:
    token = csrf_from(client.get(f"/events/{SLUG}/proposals").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kw)


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


# --- proposing -------------------------------------------------------------------------------------


def test_proposing_without_similar_ones_posts_at_once(people):
    ana = people("Ana")
    page = text_of(ana.get(f"/e/{SLUG}/proposals"))
    assert "Propose a session" in page and 'hx-trigger="keyup changed delay:300ms"' in page
    response = ana.post(
        f"/e/{SLUG}/proposals/check",
        {"title": "Repair café for bicycles", "description": "Fix bikes", "format": "talk"},
    )
    assert response.status_code == 303
    detail = text_of(ana.get(response.headers["Location"]))
    assert "Your proposal “Repair café for bicycles” is posted." in detail
    assert "Your proposal." in detail and "Not answered yet." in detail


def test_similar_proposals_are_shown_before_posting_and_can_be_supported(people):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café for bicycles")
    check = ben.post(f"/e/{SLUG}/proposals/check", {"title": "Bicycle repair cafe"})
    assert check.status_code == 200
    page = text_of(check)
    assert "Before you post “Bicycle repair cafe”" in page
    assert f'id="check-{pid}"' in page and "Post my proposal anyway" in page
    # Support the similar one instead (no JavaScript: a plain POST, then back to the list).
    supported = ben.post(
        f"/e/{SLUG}/proposals/{pid}/support", {"action": "support", "card": "check"}
    )
    assert supported.status_code == 303
    assert supported.headers["Location"].endswith(f"/e/{SLUG}/proposals#proposal-{pid}")
    listing = text_of(ben.get(f"/e/{SLUG}/proposals"))
    assert "You support “Repair café for bicycles”." in listing
    assert "1 support<" in listing and "You have <strong>1 of 2</strong>" in listing
    # Or post anyway: the second step creates it.
    anyway = ben.post(f"/e/{SLUG}/proposals", {"title": "Bicycle repair cafe", "tags": "bikes"})
    assert anyway.status_code == 303


def test_live_similar_list_is_an_htmx_partial(people):
    ana, ben = people("Ana"), people("Ben")
    ana.propose("Repair café for bicycles")
    response = ben.get(f"/e/{SLUG}/proposals/similar?title=bicycle+repair", headers=HX)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    html = text_of(response)
    assert "<html" not in html and "Repair café for bicycles" in html and "Support" in html
    assert "No similar proposals yet." in text_of(
        ben.get(f"/e/{SLUG}/proposals/similar?title=knitting", headers=HX)
    )
    # Without htmx the same address is a page of its own.
    assert "<html" in text_of(ben.get(f"/e/{SLUG}/proposals/similar?title=bicycle+repair"))


def test_a_bad_proposal_is_explained_next_to_its_field(people):
    ana = people("Ana")
    response = ana.post(f"/e/{SLUG}/proposals/check", {"title": "x", "format": "lecture"})
    assert response.status_code == 422
    html = text_of(response)
    assert 'aria-describedby="p-title-error p-title-help"' in html
    assert (
        '<p class="field-error" id="p-title-error">give a title of at least 3 characters</p>'
        in html
    )
    assert 'id="p-format-error">choose one of the formats offered: Talk, Hands on</p>' in html
    assert 'value="x"' in html  # nothing typed is lost


def test_the_limit_of_proposals_is_a_clear_conflict(app, db, owner):
    events.create_event(db, proposals_schema(max_per_attendee=1), owner)
    events.publish(db, SLUG)
    ana = Person(app, db, events.get_event(db, SLUG), "Ana")
    ana.propose("Repair café")
    response = ana.post(f"/e/{SLUG}/proposals", {"title": "Seed swap"})
    assert response.status_code == 409
    assert "the most this event takes from one person" in text_of(response)


def test_the_author_edits_until_answered_and_nobody_else_can(people, signed_in):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café")
    edited = ana.post(f"/e/{SLUG}/proposals/{pid}", {"title": "Repair café for bicycles"})
    assert edited.status_code == 303
    assert "<h1>Repair café for bicycles</h1>" in text_of(ana.get(f"/e/{SLUG}/proposals/{pid}"))
    assert ben.post(f"/e/{SLUG}/proposals/{pid}", {"title": "Mine now"}).status_code == 403
    assert 'id="edit"' not in text_of(ben.get(f"/e/{SLUG}/proposals/{pid}"))
    organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{pid}/answer",
        {"status": "under_consideration", "reason": "Looking for a room"},
    )
    late = ana.post(f"/e/{SLUG}/proposals/{pid}", {"title": "Changed after all"})
    assert late.status_code == 409 and "can no longer change" in text_of(late)


# --- supporting ------------------------------------------------------------------------------------


def test_htmx_support_swaps_the_card_and_the_budget(people):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café")
    response = ben.post(
        f"/e/{SLUG}/proposals/{pid}/support", {"action": "support", "card": "proposal"}, headers=HX
    )
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith(f'<article class="proposal supported" id="proposal-{pid}"')
    assert 'data-announce="You support “Repair café”."' in html
    assert '<p id="budget" class="budget" hx-swap-oob="true">' in html
    assert "1 support<" in html and "Withdraw my support" in html
    withdrawn = ben.post(
        f"/e/{SLUG}/proposals/{pid}/support", {"action": "withdraw", "card": "proposal"}, headers=HX
    )
    assert "0 supports" in text_of(withdrawn) and ">Support<" in text_of(withdrawn)
    assert 'hx-swap-oob="true">' not in text_of(withdrawn).split('id="budget"')[0]


def test_supporting_from_the_live_similar_list_updates_the_list_card_too(people):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café")
    html = text_of(
        ben.post(
            f"/e/{SLUG}/proposals/{pid}/support",
            {"action": "support", "card": "similar"},
            headers=HX,
        )
    )
    assert html.lstrip().startswith(f'<article class="proposal supported" id="similar-{pid}"')
    assert f'id="proposal-{pid}" aria-labelledby="proposal-{pid}-h" hx-swap-oob="true">' in html


def test_an_exhausted_budget_is_a_409_with_the_reason(people):
    ana, ben = people("Ana"), people("Ben")
    ids = [ana.propose(f"Idea number {n} topic{n}") for n in range(3)]
    for pid in ids[:2]:
        ben.support(pid)
    htmx = ben.post(f"/e/{SLUG}/proposals/{ids[2]}/support", {"action": "support"}, headers=HX)
    assert htmx.status_code == 409
    assert "You have given all 2 of your supports." in text_of(htmx)
    plain = ben.post(f"/e/{SLUG}/proposals/{ids[2]}/support", {"action": "support"})
    assert plain.status_code == 409 and "<html" in text_of(plain)
    assert 'role="alert">You have given all 2 of your supports.' in text_of(plain)


def test_threshold_shows_ready_for_review(people, signed_in):
    ana, ben, cleo = people("Ana"), people("Ben"), people("Cleo")
    pid = ana.propose("Repair café")
    for person in (ben, cleo):
        person.support(pid)
    assert "Ready for review" in text_of(ana.get(f"/e/{SLUG}/proposals"))
    assert "Ready for review" in text_of(signed_in.get(f"/events/{SLUG}/proposals"))


# --- organisers: answers, merges, acceptance -----------------------------------------------------


def test_organisers_see_proposals_ranked_and_answer_them(people, signed_in, db):
    ana, ben = people("Ana"), people("Ben")
    low = ana.propose("Seed swap")
    high = ana.propose("Repair café")
    ben.support(high)
    page = text_of(signed_in.get(f"/events/{SLUG}/proposals"))
    assert page.index(f'id="review-{high}"') < page.index(f'id="review-{low}"')
    assert "by Ana" in page and "<dt>Proposed</dt><dd>2</dd>" in page
    missing = organiser_post(
        signed_in, f"/events/{SLUG}/proposals/{low}/answer", {"status": "declined"}, headers=HX
    )
    assert missing.status_code == 422
    assert (
        f'id="r{low}a-reason-error">give a reason the author and supporters will read'
        in text_of(missing)
    )
    done = organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{low}/answer",
        {"status": "declined", "reason": "Not this year"},
    )
    assert done.status_code == 303
    detail = text_of(ana.get(f"/e/{SLUG}/proposals/{low}"))
    assert "Declined" in detail and "Their reason:</strong> Not this year" in detail
    mine = text_of(ana.get(f"/e/{SLUG}/my-input"))
    assert "Not this year" in mine
    assert (
        db.execute("SELECT count(*) FROM outbox WHERE kind = 'proposal_answered'").fetchone()[0]
        == 1
    )


def test_merging_through_the_form_carries_supports(people, signed_in):
    ana, ben, cleo = people("Ana"), people("Ben"), people("Cleo")
    target = ana.propose("Repair café for bicycles")
    duplicate = ben.propose("Bike repair café")
    cleo.support(duplicate)
    response = organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{duplicate}/merge",
        {"into": str(target), "reason": "Same idea"},
        headers=HX,
    )
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith('<div id="review">')
    assert "1 support(s) moved over" in html
    detail = text_of(cleo.get(f"/e/{SLUG}/proposals/{duplicate}"))
    assert f'into <a href="/e/{SLUG}/proposals/{target}">Repair café for bicycles</a>' in detail
    assert "1 support<" in text_of(cleo.get(f"/e/{SLUG}/proposals/{target}"))
    assert "You have <strong>1 of 2</strong>" in text_of(cleo.get(f"/e/{SLUG}/my-input"))


def test_accepting_as_a_session_through_the_form(people, signed_in, db, event):
    ana = people("Ana")
    pid = ana.propose("Repair café for bicycles")
    day = event_day(db)
    bad = organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{pid}/accept",
        {
            "section": "agenda",
            "start": f"{day}T17:00",
            "end": f"{day}T16:00",
            "room": "garden",
            "capacity": "20",
            "reason": "Yes",
        },
        headers=HX,
    )
    assert bad.status_code == 422
    assert f'id="r{pid}c-end-error">end (' in text_of(bad)
    good = organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{pid}/accept",
        {
            "section": "agenda",
            "start": f"{day}T16:00",
            "end": f"{day}T16:45",
            "room": "garden",
            "capacity": "20",
            "reason": "Everyone wants this",
        },
    )
    assert good.status_code == 303
    draft = events.draft(events.get_event(db, SLUG))
    session = next(s for s in draft["sections"][0]["sessions"] if s["id"] == f"proposal-{pid}")
    assert (session["start"], session["capacity"], session["source"]) == (
        f"{day}T16:00:00+01:00",
        20,
        {"system": "proposal", "proposal_id": pid},
    )
    page = text_of(signed_in.get(f"/events/{SLUG}/proposals"))
    assert f"In the draft as <code>agenda/proposal-{pid}</code>" in page


def event_day(db) -> str:
    return events.draft(events.get_event(db, SLUG))["event"]["starts_on"]


def accept_and_publish(db, event, pid: int, capacity: int = 20) -> tuple[str, str]:
    day = event_day(db)
    key = proposal_review.accept(
        db,
        event["id"],
        pid,
        "Everyone wants this",
        proposal_review.Placement(
            "agenda", f"{day}T16:00:00+01:00", f"{day}T16:45:00+01:00", "garden", capacity
        ),
    )
    events.publish(db, SLUG)
    return key


def test_supporters_see_what_they_asked_for_and_add_it_in_one_click(people, db, event):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café for bicycles")
    ben.support(pid)
    accept_and_publish(db, event, pid)
    page = text_of(ben.get(f"/e/{SLUG}/my-input"))
    assert "On the programme because you asked" in page and "You asked for this" in page
    assert f'action="/e/{SLUG}/proposals/{pid}/add"' in page
    assert "You proposed this" in text_of(ana.get(f"/e/{SLUG}/my-input"))
    added = ben.post(f"/e/{SLUG}/proposals/{pid}/add")
    assert added.status_code == 303 and added.headers["Location"] == f"/e/{SLUG}/design"
    stored = designs.get_design(db, ben.id)
    assert stored["document"] == {"agenda": {f"proposal-{pid}": {"format": "in_person"}}}
    assert "It is in your design." in text_of(ben.get(f"/e/{SLUG}/my-input"))
    author = text_of(ana.get(f"/e/{SLUG}/my-input"))
    assert "Accepted" in author and "Scheduled" in author and "Everyone wants this" in author


def card_of(page: str, dom: str) -> str:
    """The HTML of one session card on the designer page."""
    start = page.index(f'<article id="{dom}"')
    return page[start : page.index("</article>", start)]


def test_the_designer_marks_what_a_supporter_asked_for_and_adds_it_in_one_click(people, db, event):
    ana, ben, cleo = people("Ana"), people("Ben"), people("Cleo")
    pid = ana.propose("Repair café for bicycles")
    ben.support(pid)
    accept_and_publish(db, event, pid)
    design = f"/e/{SLUG}/design?day={event_day(db)}"
    dom = f"s-agenda--proposal-{pid}"
    card = card_of(text_of(ben.get(design)), dom)
    assert "You asked for this" in card
    assert f'href="/e/{SLUG}/proposals/{pid}"' in card
    assert 'name="picked" value="yes">Add it to my agenda' in card
    assert "You proposed this" in card_of(text_of(ana.get(design)), dom)
    others = card_of(text_of(cleo.get(design)), dom)
    assert "Proposed by the community" in others and "Add it to my agenda" not in others
    # The button is the card's own pick form: one click, with htmx or without.
    added = ben.post(
        f"/e/{SLUG}/design/pick",
        {"section": "agenda", "session": f"proposal-{pid}", "format": "in_person", "picked": "yes"},
        headers=HX,
    )
    assert added.status_code == 200
    card = card_of(text_of(added), dom)
    assert "In your agenda" in card and "You asked for this" in card
    assert "Add it to my agenda" not in card
    assert designs.get_design(db, ben.id)["document"]["agenda"] == {
        f"proposal-{pid}": {"format": "in_person"}
    }
    plain = cleo.post(
        f"/e/{SLUG}/design/pick",
        {"section": "agenda", "session": f"proposal-{pid}", "format": "in_person", "picked": "yes"},
    )
    assert plain.status_code == 303


def test_a_proposal_accepted_into_a_choice_section_is_marked_with_a_one_click_add(
    people, db, event
):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Bring your own cup")
    ben.support(pid)
    proposal_review.accept(db, event["id"], pid, "Less waste", proposal_review.Placement("extras"))
    events.publish(db, SLUG)
    page = text_of(ben.get(f"/e/{SLUG}/design"))
    assert "You asked for this" in page
    form_id = f"f-extras--proposal-{pid}-add"
    assert f'form="{form_id}"' in page
    assert f'id="{form_id}" method="post" action="/e/{SLUG}/proposals/{pid}/add"' in page
    added = ben.post(f"/e/{SLUG}/proposals/{pid}/add")
    assert added.status_code == 303 and added.headers["Location"] == f"/e/{SLUG}/design"
    page = text_of(ben.get(f"/e/{SLUG}/design"))
    assert "Added “Bring your own cup” to your design." in page
    assert "You asked for this" in page and f'form="{form_id}"' not in page


def test_the_attendee_menu_links_to_proposals_only_where_they_are_on(app, db, owner, people):
    ana = people("Ana")
    for path in (f"/e/{SLUG}/design", f"/e/{SLUG}/agenda", f"/e/{SLUG}/my-input"):
        page = text_of(ana.get(path))
        assert f'href="/e/{SLUG}/proposals"' in page and ">Propose a session</a>" in page
        assert f'href="/e/{SLUG}/my-input"' in page


def test_without_proposals_the_attendee_menu_has_no_proposal_links(app, db, owner):
    events.create_event(db, proposals_schema(enabled=False), owner)
    events.publish(db, SLUG)
    ana = Person(app, db, events.get_event(db, SLUG), "Ana")
    page = text_of(ana.get(f"/e/{SLUG}/design"))
    assert f'href="/e/{SLUG}/proposals"' not in page
    assert f'href="/e/{SLUG}/my-input"' not in page


def test_the_console_links_the_staff_pages_and_the_proposals(people, signed_in, db, event):
    nav_links = [
        f'href="/events/{SLUG}/dashboard"',
        f'href="/events/{SLUG}/exports"',
        f'href="/events/{SLUG}/rosters"',
        f'href="/events/{SLUG}/proposals"',
    ]
    for path in ("", "/dashboard", "/exports", "/rosters", "/proposals", "/schema"):
        page = text_of(signed_in.get(f"/events/{SLUG}{path}"))
        start = page.index('<nav class="event-nav"')
        nav = page[start : page.index("</nav>", start)]
        assert all(link in nav for link in nav_links), path
    review = text_of(signed_in.get(f"/events/{SLUG}/proposals"))
    assert f'href="/events/{SLUG}/proposals" aria-current="page">Proposals</a>' in review


def test_the_dashboard_shows_the_proposal_funnel(people, signed_in, db, event):
    ana, ben = people("Ana"), people("Ben")
    first = ana.propose("Repair café for bicycles")
    ana.propose("Seed swap")
    ben.propose("Night walk")
    ben.support(first)
    accept_and_publish(db, event, first)
    page = text_of(signed_in.get(f"/events/{SLUG}/dashboard"))
    assert "Community proposals" in page
    for step, count in (
        ("Proposed", 3),
        ("Supported by someone", 1),
        ("Accepted", 1),
        ("Scheduled (in the published programme)", 1),
    ):
        assert f"<dt>{step}</dt><dd>{count}</dd>" in page
    partial = text_of(signed_in.get(f"/events/{SLUG}/dashboard", headers=HX))
    assert "<dt>Accepted</dt><dd>1</dd>" in partial


def test_the_dashboard_has_no_proposal_funnel_when_proposals_are_off(app, db, owner, signed_in):
    events.create_event(db, proposals_schema(enabled=False), owner)
    events.publish(db, SLUG)
    page = text_of(signed_in.get(f"/events/{SLUG}/dashboard"))
    assert page.count("<h2") > 1 and "Community proposals" not in page
    assert f'href="/events/{SLUG}/proposals"' not in page


def test_htmx_add_returns_a_partial_and_a_taken_seat_is_explained(people, db, event):
    ana, ben, cleo = people("Ana"), people("Ben"), people("Cleo")
    pid = ana.propose("Repair café for bicycles")
    for person in (ben, cleo):
        person.support(pid)
    accept_and_publish(db, event, pid, capacity=1)
    won = ben.post(f"/e/{SLUG}/proposals/{pid}/add", headers=HX)
    assert won.status_code == 200
    assert text_of(won).lstrip().startswith(f'<div id="add-{pid}" class="add">')
    assert "Added “Repair café for bicycles” to your design." in text_of(won)
    lost = cleo.post(f"/e/{SLUG}/proposals/{pid}/add", headers=HX)
    assert lost.status_code == 409
    assert "The last seat was just taken." in text_of(lost)
    plain = cleo.post(f"/e/{SLUG}/proposals/{pid}/add")
    assert plain.status_code == 409 and "The last seat was just taken." in text_of(plain)


def test_adding_a_proposal_that_is_not_an_option_is_refused(people):
    ana = people("Ana")
    pid = ana.propose("Repair café")
    response = ana.post(f"/e/{SLUG}/proposals/{pid}/add", headers=HX)
    assert response.status_code == 409
    assert "has not become an option" in text_of(response)


# --- access ----------------------------------------------------------------------------------------


def test_access_rules(app, db, people, signed_in, owner, event):
    ana = people("Ana")
    pid = ana.propose("Repair café")
    stranger = app.test_client()
    assert stranger.get(f"/e/{SLUG}/proposals").status_code == 403
    assert stranger.get(f"/events/{SLUG}/proposals").status_code == 302  # to sign in
    assert ana.get(f"/events/{SLUG}/proposals").status_code == 302  # attendees are not staff
    assert ana.get(f"/events/{SLUG}/proposals/export.csv").status_code == 302
    # Staff read, but may not answer.
    staff_id = accounts.create_account(db, "sam@example.org", "Sam", PASSWORD)
    accounts.grant(db, event["id"], staff_id, "staff")
    staff = app.test_client()
    token = csrf_from(text_of(staff.get("/login")))
    staff.post(
        "/login", data={"email": "sam@example.org", "password": PASSWORD, "csrf_token": token}
    )
    page = text_of(staff.get(f"/events/{SLUG}/proposals"))
    assert "read-only (staff)" in page and "Answer: under consideration" not in page
    refused = organiser_post(
        staff, f"/events/{SLUG}/proposals/{pid}/answer", {"status": "declined", "reason": "x"}
    )
    assert refused.status_code == 403
    assert staff.get(f"/events/{SLUG}/proposals/export.json").status_code == 200
    # An attendee of another event does not find this one.
    other = example_schema()
    other["event"]["slug"] = "other-camp"
    events.create_event(db, other, owner)
    events.publish(db, "other-camp")
    outsider = attendees.invite(
        db, events.get_event(db, "other-camp")["id"], "Zoe", "z@example.org"
    )
    zoe = app.test_client()
    zoe.get(f"/a/{outsider.token}")
    assert zoe.get(f"/e/{SLUG}/proposals").status_code == 404
    assert zoe.get("/e/other-camp/proposals").status_code == 404  # proposals are off there


def test_the_api_needs_a_staff_token(app, db, people, owner, event):
    ana = people("Ana")
    ana.propose("Repair café")
    client = app.test_client()
    assert client.get(f"/api/v1/events/{SLUG}/proposals").status_code == 403
    bad = client.get(f"/api/v1/events/{SLUG}/proposals", headers={"Authorization": "Bearer no"})
    assert bad.status_code == 403 and bad.json["error"] == "Forbidden"
    token = api_tokens.issue(db, owner, "script")
    good = client.get(
        f"/api/v1/events/{SLUG}/proposals", headers={"Authorization": f"Bearer {token}"}
    )
    assert good.status_code == 200 and good.json["proposals"][0]["title"] == "Repair café"
    loner = accounts.create_account(db, "x@example.org", "X", PASSWORD)
    elsewhere = api_tokens.issue(db, loner, "script")
    assert (
        client.get(
            f"/api/v1/events/{SLUG}/proposals", headers={"Authorization": f"Bearer {elsewhere}"}
        ).status_code
        == 404
    )


# --- hidden proposals never reach attendees, exports or the API -------------------------------------


def test_hidden_proposals_never_reach_attendees_exports_or_the_api(people, signed_in, db, owner):
    ana, ben = people("Ana"), people("Ben")
    spam = ana.propose("Cheap watches here", description="buy buy")
    keep = ana.propose("Repair café")
    ben.support(spam)
    hidden = organiser_post(
        signed_in, f"/events/{SLUG}/proposals/{spam}/hide", {"reason": "Advertising"}
    )
    assert hidden.status_code == 303
    for person in (ana, ben):
        for path in (
            f"/e/{SLUG}/proposals",
            f"/e/{SLUG}/my-input",
            f"/e/{SLUG}/proposals/{keep}",
            f"/e/{SLUG}/proposals/similar?title=cheap+watches",
        ):
            assert "Cheap watches" not in text_of(person.get(path)), path
        assert person.get(f"/e/{SLUG}/proposals/{spam}").status_code == 404
    assert ben.post(f"/e/{SLUG}/proposals/{spam}/support", {"action": "support"}).status_code == 404
    for fmt in ("csv", "json"):
        assert "Cheap watches" not in text_of(
            signed_in.get(f"/events/{SLUG}/proposals/export.{fmt}")
        )
    token = api_tokens.issue(db, owner, "script")
    api = signed_in.get(
        f"/api/v1/events/{SLUG}/proposals", headers={"Authorization": f"Bearer {token}"}
    )
    assert [p["id"] for p in api.json["proposals"]] == [keep]
    # The organisers still see it, with the reason, in their own list.
    assert "Advertising" in text_of(signed_in.get(f"/events/{SLUG}/proposals"))


# --- escaping ----------------------------------------------------------------------------------------

EVIL = '<script>alert("x")</script>'


def test_titles_and_reasons_are_escaped_in_every_output(people, signed_in, db, owner):
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose(EVIL, description="=1+2", tags="@tag")
    ben.support(pid)
    organiser_post(
        signed_in,
        f"/events/{SLUG}/proposals/{pid}/answer",
        {"status": "declined", "reason": '=HYPERLINK("x") <b>no</b>'},
    )
    pages = [
        ana.get(f"/e/{SLUG}/proposals"),
        ana.get(f"/e/{SLUG}/proposals/{pid}"),
        ana.get(f"/e/{SLUG}/my-input"),
        ben.get(f"/e/{SLUG}/my-input"),
        ben.get(f"/e/{SLUG}/proposals/similar?title=alert+script", headers=HX),
        signed_in.get(f"/events/{SLUG}/proposals"),
    ]
    for response in pages:
        html = text_of(response)
        assert EVIL not in html and "<b>no</b>" not in html
    detail = text_of(pages[1])
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in detail
    assert "&lt;b&gt;no&lt;/b&gt;" in detail
    rows = list(
        csv.DictReader(io.StringIO(text_of(signed_in.get(f"/events/{SLUG}/proposals/export.csv"))))
    )
    assert rows[0]["title"] == EVIL
    assert rows[0]["description"] == "'=1+2"
    assert rows[0]["tags"] == "'@tag"
    assert rows[0]["reason"] == '\'=HYPERLINK("x") <b>no</b>'
    exported = signed_in.get(f"/events/{SLUG}/proposals/export.json")
    assert exported.mimetype == "application/json"
    assert (
        exported.headers["Content-Disposition"] == f'attachment; filename="{SLUG}-proposals.json"'
    )
    assert json.loads(text_of(exported))["proposals"][0]["title"] == EVIL
    body = db.execute("SELECT subject FROM outbox WHERE attendee_id = ?", [ana.id]).fetchone()[0]
    assert EVIL in body  # plain text; whoever sends it as HTML must escape it


def test_csv_export_is_a_download(people, signed_in):
    ana = people("Ana")
    ana.propose("Repair café", tags="bikes, repair")
    response = signed_in.get(f"/events/{SLUG}/proposals/export.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{SLUG}-proposals.csv"'
    rows = list(csv.reader(io.StringIO(text_of(response))))
    assert rows[0] == proposal_csv.EXPORT_COLUMNS
    assert rows[1][1:6] == ["Repair café", "", "", "bikes; repair", "open"]
    assert signed_in.get(f"/events/{SLUG}/proposals/export.xlsx").status_code == 404


def test_disabled_proposals_are_not_found_but_my_input_stays(app, db, owner):
    doc = proposals_schema(enabled=False)
    events.create_event(db, doc, owner)
    events.publish(db, SLUG)
    ana = Person(app, db, events.get_event(db, SLUG), "Ana")
    response = ana.get(f"/e/{SLUG}/proposals")
    assert response.status_code == 404 and "does not take proposals" in text_of(response)
    assert ana.get(f"/e/{SLUG}/my-input").status_code == 200


# --- partials for other pages ------------------------------------------------------------------------


def test_the_badge_and_funnel_partials_render_on_their_own(app, event):
    with app.test_request_context():
        env = app.jinja_env
        badge = env.get_template("cocreation/_asked_for_badge.html")
        html = badge.render(asked={"id": 7, "authored": False}, event=event)
        assert f'href="/e/{SLUG}/proposals/7"' in html and "You asked for this" in html
        assert badge.render(asked=None, event=event).strip() == ""
        funnel = env.get_template("cocreation/_funnel.html").render(
            proposal_funnel={"proposed": 4, "supported": 3, "accepted": 2, "scheduled": 1}
        )
        assert "<dt>Scheduled (in the published programme)</dt><dd>1</dd>" in funnel


# --- the manual and the OpenAPI description ----------------------------------------------------------


def test_the_manuals_settings_example_is_a_valid_option_schema():
    blocks = code_blocks(DOC, "json option-schema")
    assert blocks, "docs/cocreation.md shows the settings block"
    for _, body in blocks:
        doc = json.loads(body)
        assert optionschema.problems_in(doc) == []
        assert doc["proposals"]["enabled"] is True


def openapi_schema(name: str) -> dict[str, Any]:
    spec = json.loads(OPENAPI.read_text())
    schema = dict(spec["components"]["schemas"][name])
    schema["$defs"] = spec["components"]["schemas"]
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    return json.loads(text)


def test_openapi_describes_the_endpoint_and_the_real_answer_fits(people, db, owner, event):
    spec = json.loads(OPENAPI.read_text())
    assert spec["openapi"].startswith("3.1")
    operation = spec["paths"]["/api/v1/events/{slug}/proposals"]["get"]
    assert set(operation["responses"]) >= {"200", "403", "404"}
    ana, ben = people("Ana"), people("Ben")
    pid = ana.propose("Repair café", tags="bikes")
    ben.support(pid)
    accept_and_publish(db, event, pid)
    token = api_tokens.issue(db, owner, "script")
    answer = ben.client.get(
        f"/api/v1/events/{SLUG}/proposals", headers={"Authorization": f"Bearer {token}"}
    ).json
    validator = jsonschema.Draft202012Validator(openapi_schema("ProposalsExport"))
    assert list(validator.iter_errors(answer)) == []
    assert answer["proposals"][0]["supporters"] == ["Ben"]


def test_the_manuals_api_example_fits_the_openapi_schema():
    validator = jsonschema.Draft202012Validator(openapi_schema("ProposalsExport"))
    examples = [json.loads(body) for _, body in code_blocks(DOC, "json")]
    assert examples
    for example in examples:
        assert list(validator.iter_errors(example)) == []


def test_the_manuals_http_example_runs(app, db, owner):
    doc = json.loads(code_blocks(DOC, "json option-schema")[0][1])
    created = events.create_event(db, doc, owner)
    events.publish(db, created["slug"])
    ((_, request_text),) = code_blocks(DOC, "http")
    method, path, _ = request_text.splitlines()[0].split(" ")
    assert (method, path) == ("GET", f"/api/v1/events/{created['slug']}/proposals")
    token = api_tokens.issue(db, owner, "docs")
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == {
        "event": "repair-days",
        "funnel": {"proposed": 0, "supported": 0, "accepted": 0, "scheduled": 0},
        "proposals": [],
    }
