"""The attendee's pages through the Flask test client: link, designer, saving, waitlists, register."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from conftest import csrf_from, example_schema
from docsupport import ROOT, code_blocks

from configurator import attendees, designs, events
from configurator.compiler import CompiledSchema
from configurator.summary import summarise
from configurator.web.design_forms import parse_number

HX = {"HX-Request": "true"}


class Designer:
    """One attendee, signed in through their personal link, using the designer's forms."""

    def __init__(self, client, db, event: dict[str, Any], invitation) -> None:
        self.client, self.db, self.event, self.invitation = client, db, event, invitation
        self.slug = event["slug"]
        self._csrf: str | None = None

    @property
    def id(self) -> int:
        return self.invitation.attendee["id"]

    def page(self, **args: str) -> Any:
        return self.client.get(f"/e/{self.slug}/design", query_string=args)

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = csrf_from(self.page().get_data(as_text=True))
        return self._csrf

    def post(self, path: str, data: dict[str, Any], htmx: bool = False) -> Any:
        return self.client.post(
            f"/e/{self.slug}{path}",
            data={"csrf_token": self.csrf(), **data},
            headers=HX if htmx else {},
        )

    def pick(self, session: str, fmt: str = "in_person", htmx: bool = False, **extra: Any) -> Any:
        data = {"section": "agenda", "session": session, "picked": "yes", "format": fmt, **extra}
        return self.post("/design/pick", data, htmx)

    def unpick(self, session: str, htmx: bool = False) -> Any:
        return self.post("/design/pick", {"section": "agenda", "session": session}, htmx)

    def answers(self, section: str, data: dict[str, Any], htmx: bool = False) -> Any:
        return self.post(f"/design/answers/{section}", data, htmx)

    def confirm(self, htmx: bool = False) -> Any:
        return self.post("/design/confirm", {}, htmx)

    def stored(self) -> dict[str, Any] | None:
        design = designs.get_design(self.db, self.id)
        return design["document"] if design else None

    def status(self) -> str | None:
        design = designs.get_design(self.db, self.id)
        return design["status"] if design else None


def sign_in(client, db, event, name: str = "Ana", email: str = "ana@example.org") -> Designer:
    invitation = attendees.invite(db, event["id"], name, email)
    client.get(f"/a/{invitation.token}")
    return Designer(client, db, event, invitation)


@pytest.fixture
def event(attendee) -> dict[str, Any]:
    return attendee.event()


@pytest.fixture
def ana(client, db, event) -> Designer:
    return sign_in(client, db, event)


def publish_variant(db, change) -> dict[str, Any]:
    """Publish a changed copy of the example under another slug."""
    doc = example_schema()
    change(doc)
    created = events.create_event(db, doc)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


def complete_channels_and_preferences(ana: Designer) -> None:
    assert ana.answers("channels", {"seen": ["pick"], "pick": ["email"]}).status_code == 303
    response = ana.answers("preferences", {"seen": ["a/diet"], "a/diet": "vegan"})
    assert response.status_code == 303


# --- the personal link -------------------------------------------------------------------------


def test_personal_link_becomes_a_session_and_leaves_the_address(client, db, attendee, event):
    invitation = attendee.invite(event)
    response = attendee.open(invitation.token)
    assert response.status_code == 303
    assert response.location == f"/e/{event['slug']}/design"
    assert invitation.token not in response.location
    page = client.get(response.location)
    assert page.status_code == 200
    assert "Welcome, Ana." in page.get_data(as_text=True)
    assert attendees.get_attendee(db, invitation.attendee["id"])["opened_at"]


def test_revoked_link_is_refused_and_changes_nothing(client, db, attendee, event):
    invitation = attendee.invite(event)
    attendees.revoke(db, invitation.attendee["id"])
    sessions_before = db.execute("SELECT count(*) FROM web_sessions").fetchone()[0]
    response = attendee.open(invitation.token)
    assert response.status_code == 403
    assert "revoked" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == sessions_before
    assert attendees.get_attendee(db, invitation.attendee["id"])["opened_at"] is None
    assert client.get(f"/e/{event['slug']}/design").status_code == 403


def test_another_events_attendee_gets_not_found(client, db, ana):
    other = publish_variant(db, lambda d: d["event"].update(slug="other-camp"))
    assert client.get(f"/e/{other['slug']}/design").status_code == 404
    response = client.post(
        f"/e/{other['slug']}/design/pick",
        data={"csrf_token": ana.csrf(), "section": "agenda", "session": "opening", "picked": "yes"},
    )
    assert response.status_code == 404
    assert ana.stored() is None


def test_designer_without_a_session_says_how_to_get_in(client, event):
    response = client.get(f"/e/{event['slug']}/design")
    assert response.status_code == 403
    assert "personal link" in response.get_data(as_text=True)


# --- the designer page ------------------------------------------------------------------------


def test_designer_shows_one_day_with_its_sessions_and_the_sections(ana, event):
    schema = events.compiled(ana.db, event["id"])
    first, second = schema.days("agenda")
    html = ana.page().get_data(as_text=True)
    assert 'id="s-agenda--opening"' in html
    assert 'id="s-agenda--day2-opening"' not in html
    assert f'aria-current="page">{first:%A}' in html
    html2 = ana.page(day=str(second)).get_data(as_text=True)
    assert 'id="s-agenda--day2-opening"' in html2 and 'id="s-agenda--opening"' not in html2
    for section_id in ("channels", "extras", "preferences"):
        assert f'id="sec-{section_id}"' in html
    assert "120 of 120 seats left" in html
    assert 'name="csrf_token"' in html


def test_filters_narrow_the_timetable_and_htmx_gets_only_the_timetable(ana):
    html = ana.page(track="Making").get_data(as_text=True)
    assert 'id="s-agenda--repair-cafe"' in html and 'id="s-agenda--sensors"' in html
    assert 'id="s-agenda--opening"' not in html
    assert ana.page(q="openstreetmap").get_data(as_text=True).count('<article id="s-agenda') == 1
    partial = ana.client.get(f"/e/{ana.slug}/design", query_string={"tag": "talk"}, headers=HX)
    body = partial.get_data(as_text=True)
    assert "HX-Request" in partial.headers["Vary"]
    assert body.lstrip().startswith('<div id="timetables"')
    assert "<html" not in body
    assert 'id="s-agenda--funding"' in body and 'id="s-agenda--maps"' not in body


def test_htmx_history_restore_gets_the_whole_page(ana):
    # htmx refetches a page it lost from its history cache and swaps in the whole body.
    headers = {**HX, "HX-History-Restore-Request": "true"}
    body = ana.client.get(f"/e/{ana.slug}/design", headers=headers).get_data(as_text=True)
    assert "<html" in body and 'id="timetables"' in body


def test_without_javascript_follow_up_fields_are_shown_with_a_note(ana):
    html = ana.page().get_data(as_text=True)
    assert 'name="a/sms/phone"' in html
    assert "Only needed if you pick SMS." in html


# --- picking sessions -------------------------------------------------------------------------


def test_plain_pick_redirects_back_to_the_card_and_stores_it(ana):
    response = ana.pick("opening")
    assert response.status_code == 303
    assert response.location.startswith(f"/e/{ana.slug}/design?day=")
    assert response.location.endswith("#s-agenda--opening")
    assert ana.stored() == {"agenda": {"opening": {"format": "in_person"}}}
    assert ana.status() == "draft"
    html = ana.client.get(response.location).get_data(as_text=True)
    assert "Added “Opening circle: building the agenda together” to your agenda" in html
    assert "119 of 120 left" in html


def test_htmx_pick_returns_the_card_and_the_summary_out_of_band(ana):
    response = ana.pick("repair-cafe", fmt="online", htmx=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<article id="s-agenda--repair-cafe"')
    assert "<html" not in body
    assert '<aside id="summary"' in body and 'hx-swap-oob="true"' in body
    assert "In your agenda: online" in body
    assert "data-announce=" in body
    # Sessions that overlap the new pick are refreshed too, to show the overlap marker.
    assert re.search(r'<article id="s-agenda--open-data-101"[^>]*hx-swap-oob="true"', body)
    assert ana.stored() == {"agenda": {"repair-cafe": {"format": "online"}}}


def test_unpicking_and_changing_format(ana):
    ana.pick("maps")
    ana.pick("maps", fmt="recording")
    assert ana.stored() == {"agenda": {"maps": {"format": "recording"}}}
    ana.unpick("maps")
    assert ana.stored() == {}
    assert db_picks(ana) == []


def card_of(html: str, session: str) -> str:
    """The HTML of one session's card."""
    start = html.index(f'<article id="s-agenda--{session}"')
    return html[start : html.index("</article>", start)]


def db_picks(ana: Designer) -> list[tuple]:
    return [
        tuple(r)
        for r in ana.db.execute(
            "SELECT option_id, format, seated FROM picks WHERE attendee_id = ? ORDER BY 1",
            [ana.id],
        )
    ]


def test_overlap_is_refused_when_the_section_forbids_it(ana):
    ana.pick("repair-cafe")
    for htmx in (True, False):
        response = ana.pick("open-data-101", htmx=htmx)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        error = re.search(
            r'<p class="field-error" id="(s-agenda--open-data-101-e1)">([^<]*)<', html
        )
        assert error, html[:2000]
        assert "overlaps “Running a repair café”" in error.group(2)
        box = card_of(html, "open-data-101")
        box = re.search(r'<input type="checkbox" name="picked"[^>]*>', box).group(0)
        assert "checked" in box and error.group(1) in box
    assert ana.stored() == {"agenda": {"repair-cafe": {"format": "in_person"}}}


def test_overlap_is_flagged_when_the_section_warns(client, db):
    def warn(doc):
        doc["event"]["slug"] = "warn-camp"
        doc["sections"][0]["overlap"] = "warn"

    ana = sign_in(client, db, publish_variant(db, warn))
    ana.pick("repair-cafe")
    response = ana.pick("open-data-101", htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Overlaps “Running a repair café”" in body
    assert "“Open data for neighbourhoods” and “Running a repair café” overlap" in body
    assert set(ana.stored()["agenda"]) == {"repair-cafe", "open-data-101"}
    page = ana.page().get_data(as_text=True)
    assert page.count('class="overlap"') >= 2


def test_a_session_of_another_section_or_unknown_is_a_clear_400(ana):
    assert ana.pick("no-such-session").status_code == 400
    response = ana.post("/design/pick", {"section": "channels", "session": "sms", "picked": "yes"})
    assert response.status_code == 400


def test_full_session_offers_the_waitlist_and_promotion_shows_on_the_page(client, db):
    def small_garden(doc):
        doc["event"]["slug"] = "small-camp"
        doc["sections"][0]["rooms"][2]["capacity"] = 1

    event = publish_variant(db, small_garden)
    ana = sign_in(client, db, event)
    ana.csrf()
    bo_client = client.application.test_client()
    bo = sign_in(bo_client, db, event, "Bo", "bo@example.org")
    assert bo.pick("facilitation").status_code == 303

    html = ana.page().get_data(as_text=True)
    card = card_of(html, "facilitation")
    assert "Full: join the waitlist" in card
    assert "Join the waitlist" in card
    refused = ana.pick("facilitation")
    assert refused.status_code == 409
    assert "is full: join the waitlist" in refused.get_data(as_text=True)

    joined = ana.post(
        "/design/waitlist",
        {"section": "agenda", "option": "facilitation", "action": "join", "back": ""},
        htmx=True,
    )
    assert joined.status_code == 200
    assert "You are #1 on the waitlist." in joined.get_data(as_text=True)
    assert designs.waitlist_positions(db, ana.id) == {("agenda", "facilitation"): 1}

    assert bo.unpick("facilitation").status_code == 303
    assert ana.stored() == {"agenda": {"facilitation": {"format": "in_person"}}}
    html = ana.page().get_data(as_text=True)
    assert "You have a seat: Facilitation for un-conferences" in html
    assert re.search(r'name="picked" value="yes" checked', card_of(html, "facilitation"))
    assert "You have a seat. 0 of 1 left" in html


def test_leaving_the_waitlist(client, db):
    def small_garden(doc):
        doc["event"]["slug"] = "small-camp"
        doc["sections"][0]["rooms"][2]["capacity"] = 1

    event = publish_variant(db, small_garden)
    ana = sign_in(client, db, event)
    ana.csrf()
    bo = sign_in(client.application.test_client(), db, event, "Bo", "bo@example.org")
    bo.pick("facilitation")
    data = {"section": "agenda", "option": "facilitation", "back": ""}
    assert ana.post("/design/waitlist", {**data, "action": "join"}).status_code == 303
    response = ana.post("/design/waitlist", {**data, "action": "leave"})
    assert response.status_code == 303
    assert designs.waitlist_positions(db, ana.id) == {}


# --- choice and fields sections ---------------------------------------------------------------


def test_picking_sms_shows_the_phone_field(ana):
    response = ana.answers("channels", {"seen": ["pick"], "pick": ["email"]}, htmx=True)
    assert response.status_code == 200
    assert 'name="a/sms/phone"' not in response.get_data(as_text=True)
    response = ana.answers("channels", {"seen": ["pick"], "pick": ["email", "sms"]}, htmx=True)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="questions" id="sec-channels"')
    assert re.search(r'<label for="f-channels--sms--phone">Mobile number', body)
    assert 'name="a/sms/phone"' in body
    assert "Only needed if you pick" not in body
    assert ana.stored() == {"channels": {"email": {}, "sms": {}}}


def test_malformed_phone_is_refused_next_to_the_field_and_nothing_is_stored(ana):
    ana.answers("channels", {"seen": ["pick"], "pick": ["email"]})
    before = ana.stored()
    data = {"seen": ["pick", "a/sms/phone"], "pick": ["email", "sms"], "a/sms/phone": "call me"}
    for htmx in (True, False):
        response = ana.answers("channels", data, htmx=htmx)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        error = re.search(
            r'<p class="field-error" id="(f-channels--sms--phone-error1)">([^<]*)<', html
        )
        assert error
        assert error.group(2) == "Mobile number must be a phone number such as +32 470 12 34 56"
        field = re.search(r"<input[^>]*id=\"f-channels--sms--phone\"[^>]*>", html).group(0)
        assert error.group(1) in field and 'value="call me"' in field
        assert 'aria-invalid="true"' in field
        assert re.search(r'id="f-channels--sms"[^>]*checked', html)
    assert ana.stored() == before
    fixed = ana.answers("channels", {**data, "a/sms/phone": "+32 470 12 34 56"})
    assert fixed.status_code == 303
    assert ana.stored()["channels"] == {"email": {}, "sms": {"phone": "+32 470 12 34 56"}}


def test_follow_up_answers_of_an_option_not_picked_are_ignored(ana):
    data = {"seen": ["pick", "a/sms/phone"], "pick": ["email"], "a/sms/phone": "not a phone"}
    assert ana.answers("channels", data).status_code == 303
    assert ana.stored() == {"channels": {"email": {}}}


def test_form_strings_become_typed_answers(ana):
    seen = ["a/diet", "a/access", "a/first_time", "a/arrival", "a/guests"]
    response = ana.answers(
        "preferences",
        {"seen": seen, "a/diet": "vegan", "a/access": "", "a/first_time": "yes", "a/guests": "2"},
    )
    assert response.status_code == 303
    assert ana.stored() == {"preferences": {"diet": "vegan", "first_time": True, "guests": 2}}
    ana.answers("preferences", {"seen": seen, "a/diet": "vegan", "a/arrival": "2027-03-12"})
    assert ana.stored() == {
        "preferences": {"diet": "vegan", "first_time": False, "arrival": "2027-03-12"}
    }


def test_unparsable_number_is_a_422_next_to_the_field(ana):
    for htmx in (True, False):
        response = ana.answers("preferences", {"seen": ["a/guests"], "a/guests": "two"}, htmx)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert re.search(
            r'id="f-preferences--guests-error1">Children coming with you must be a whole number',
            html,
        )
        assert 'value="two"' in html
    assert ana.stored() is None


def test_out_of_range_number_is_explained(ana):
    response = ana.answers("preferences", {"seen": ["a/guests"], "a/guests": "9"}, htmx=True)
    assert response.status_code == 422
    assert "must be at most 5" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "integer", "expected"),
    [
        ("2", True, 2),
        (" 3 ", False, 3),
        ("2.5", False, 2.5),
        ("2,5", False, 2.5),
        ("2.0", True, 2),
        ("2.5", True, None),
        ("two", False, None),
        ("nan", False, None),
        ("1e400", False, None),
    ],
)
def test_parse_number(text, integer, expected):
    got = parse_number(text, integer)
    assert got == expected and type(got) is type(expected)


def test_full_extra_shows_its_waitlist_and_seats(client, db):
    def tiny_dinner(doc):
        doc["event"]["slug"] = "dinner-camp"
        doc["sections"][2]["options"][0]["capacity"] = 1

    event = publish_variant(db, tiny_dinner)
    bo = sign_in(client.application.test_client(), db, event, "Bo", "bo@example.org")
    assert bo.answers("extras", {"seen": ["pick"], "pick": ["dinner"]}).status_code == 303
    ana = sign_in(client, db, event)
    html = ana.page().get_data(as_text=True)
    assert re.search(r'id="f-extras--dinner"[^>]*disabled', html)
    assert "Full: join the waitlist" in html
    response = ana.post(
        "/design/waitlist", {"section": "extras", "option": "dinner", "action": "join"}, htmx=True
    )
    assert response.status_code == 200
    assert "you are #1 on the waitlist" in response.get_data(as_text=True)


# --- summary, confirming, the window -----------------------------------------------------------


def test_summary_counts_and_what_is_still_needed(ana):
    ana.pick("opening")
    html = ana.page().get_data(as_text=True)
    summary = html[html.index('<aside id="summary"') :]
    assert "1 picked, 7 left" in summary
    assert "2 more needed" in summary
    assert "pick at least 3 sessions (you have 1)" in summary
    assert "Dietary needs is required" in summary
    assert "3 left" in summary  # workshop points


def test_confirm_lists_what_is_missing_then_confirms(ana):
    ana.pick("opening")
    response = ana.confirm(htmx=True)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<aside id="summary"')
    assert "Not confirmed yet." in body
    assert "pick at least 3 sessions (you have 1)" in body
    assert ana.status() == "draft"
    for session in ("open-data-101", "maps"):
        assert ana.pick(session).status_code == 303
    complete_channels_and_preferences(ana)
    response = ana.confirm()
    assert response.status_code == 303
    assert ana.status() == "confirmed"
    html = ana.client.get(response.location).get_data(as_text=True)
    assert "Confirmed" in html and "Your design is confirmed" in html


def test_closed_window_makes_the_page_read_only(ana, db, event):
    ana.pick("opening")
    csrf = ana.csrf()
    events.set_window(db, event["slug"], "closed")
    html = ana.page().get_data(as_text=True)
    assert "Read only." in html and "The organiser has closed the design window." in html
    main = html[html.index('<main id="main"') :]
    # Only the day tabs and filters stay usable: they change what is shown, not the design.
    main = re.sub(r'<form class="filters".*?</form>', "", main, flags=re.S)
    assert "<button" not in main
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", main)
    visible = [c for c in controls if 'type="hidden"' not in c and "filter-" not in c]
    assert visible and all("disabled" in c for c in visible)
    assert 'name="picked"' not in main
    response = ana.client.post(
        f"/e/{ana.slug}/design/pick",
        data={"csrf_token": csrf, "section": "agenda", "session": "maps", "picked": "yes"},
    )
    assert response.status_code == 409
    assert ana.stored() == {"agenda": {"opening": {"format": "in_person"}}}


def test_confirmed_design_is_read_only_when_the_event_says_so(client, db):
    def final(doc):
        doc["event"]["slug"] = "final-camp"
        doc["event"]["window"]["edit_after_confirm"] = False

    ana = sign_in(client, db, publish_variant(db, final))
    for session in ("opening", "open-data-101", "maps"):
        ana.pick(session)
    complete_channels_and_preferences(ana)
    assert ana.confirm().status_code == 303
    html = ana.page().get_data(as_text=True)
    assert "does not allow changes after that" in html
    assert ana.pick("sensors").status_code == 409


def test_needs_attention_banner(ana, db):
    ana.pick("opening")
    db.execute(
        "UPDATE designs SET needs_attention = 'Look at your agenda' WHERE attendee_id = ?", [ana.id]
    )
    html = ana.page().get_data(as_text=True)
    assert "Needs your attention:" in html and "Look at your agenda" in html


def test_post_without_csrf_token_is_refused(ana):
    response = ana.client.post(
        f"/e/{ana.slug}/design/pick",
        data={"section": "agenda", "session": "opening", "picked": "yes"},
    )
    assert response.status_code == 400
    assert ana.stored() is None


# --- open registration ------------------------------------------------------------------------


def outbox(db, event_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in db.execute("SELECT * FROM outbox WHERE event_id = ? ORDER BY id", [event_id])
    ]


def test_open_registration_gives_a_new_attendee_their_link(client, db, event):
    page = client.get(f"/e/{event['slug']}/register")
    assert page.status_code == 200
    csrf = csrf_from(page.get_data(as_text=True))
    response = client.post(
        f"/e/{event['slug']}/register",
        data={"csrf_token": csrf, "name": "Cleo", "email": "cleo@example.org"},
    )
    assert response.status_code == 303
    done = client.get(response.location).get_data(as_text=True)
    link = re.search(r'value="(http://localhost/a/[^"]+)"', done).group(1)
    assert "You are registered." in done
    mail = outbox(db, event["id"])
    assert len(mail) == 1 and link in mail[0]["body"] and mail[0]["kind"] == "registered"
    row = db.execute("SELECT source FROM attendees WHERE email = 'cleo@example.org'").fetchone()
    assert row["source"] == "registered"
    # The link is shown once: a reload sends the visitor back to the form.
    assert client.get(response.location).status_code == 303
    opened = client.get(link.removeprefix("http://localhost"))
    assert opened.status_code == 303 and opened.location.endswith("/design")


def test_registering_a_known_address_never_shows_its_link(client, db, event):
    known = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    csrf = csrf_from(client.get(f"/e/{event['slug']}/register").get_data(as_text=True))
    response = client.post(
        f"/e/{event['slug']}/register",
        data={"csrf_token": csrf, "name": "Mallory", "email": "ANA@example.org"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "we've sent your link to that address" in html.lower()
    assert "/a/" not in html
    mail = outbox(db, event["id"])
    assert len(mail) == 1 and mail[0]["kind"] == "link_reissued"
    assert mail[0]["attendee_id"] == known.attendee["id"]
    assert "Hello Ana," in mail[0]["body"]
    assert attendees.get_attendee(db, known.attendee["id"])["name"] == "Ana"


def test_a_stranger_typing_a_known_address_cannot_lock_its_owner_out(client, db, event):
    known = attendees.invite(db, event["id"], "Ana", "ana@example.org")
    csrf = csrf_from(client.get(f"/e/{event['slug']}/register").get_data(as_text=True))
    for _ in range(3):
        client.post(
            f"/e/{event['slug']}/register",
            data={"csrf_token": csrf, "name": "Mallory", "email": "ana@example.org"},
        )
    # One new link went out by mail; the repeats changed nothing, and the calendar feed lives on.
    mail = [m for m in outbox(db, event["id"]) if m["kind"] == "link_reissued"]
    assert len(mail) == 1
    mailed = re.search(r"/a/(\S+)", mail[0]["body"]).group(1)
    assert attendees.by_token(db, mailed)["id"] == known.attendee["id"]
    assert attendees.by_feed_token(db, known.feed_token)["id"] == known.attendee["id"]


def test_registration_is_rate_limited_per_client(client, db, event):
    from configurator.attendees import REGISTRATIONS_PER_CLIENT

    csrf = csrf_from(client.get(f"/e/{event['slug']}/register").get_data(as_text=True))
    statuses = [
        client.post(
            f"/e/{event['slug']}/register",
            data={"csrf_token": csrf, "name": f"P{n}", "email": f"p{n}@example.org"},
        ).status_code
        for n in range(REGISTRATIONS_PER_CLIENT + 1)
    ]
    assert statuses == [303] * REGISTRATIONS_PER_CLIENT + [429]
    refused = client.post(
        f"/e/{event['slug']}/register",
        data={"csrf_token": csrf, "name": "Late", "email": "late@example.org"},
    )
    assert "Too many registrations from here" in refused.get_data(as_text=True)
    assert (
        db.execute("SELECT count(*) FROM attendees WHERE email = 'late@example.org'").fetchone()[0]
        == 0
    )


def test_registration_refuses_bad_input_next_to_the_form(client, event):
    csrf = csrf_from(client.get(f"/e/{event['slug']}/register").get_data(as_text=True))
    response = client.post(
        f"/e/{event['slug']}/register", data={"csrf_token": csrf, "name": "", "email": "nope"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="register-error"' in html and "an email address such as" in html
    assert 'value="nope"' in html


def test_registration_closed_is_a_clear_403(client, db):
    event = publish_variant(
        db, lambda d: d["event"].update(slug="closed-camp", open_registration=False)
    )
    response = client.get(f"/e/{event['slug']}/register")
    assert response.status_code == 403
    assert "does not take registrations" in response.get_data(as_text=True)
    assert client.get("/e/no-such-event/register").status_code == 404


# --- the summary as a pure function -----------------------------------------------------------


def test_summarise_counts_days_budget_overlaps_and_waitlists(example):
    doc = copy.deepcopy(example)
    doc["sections"][0]["overlap"] = "warn"
    schema = CompiledSchema(doc)
    design = {
        "agenda": {"repair-cafe": {"format": "in_person"}, "open-data-101": {"format": "online"}},
        "extras": {"tour": {}},
    }
    summary = summarise(schema, design, {("extras", "kit"): 24}, {("extras", "kit"): 2})
    agenda = summary.sections[0]
    assert (agenda.id, agenda.used, agenda.left) == ("agenda", 2, 6)
    assert [(d.used, d.left) for d in summary.days] == [(2, 3), (0, 5)]
    assert (summary.budget.used, summary.budget.left) == (2, 1)
    assert [(o.first.id, o.second.id) for o in summary.overlaps] == [
        ("open-data-101", "repair-cafe")
    ]
    assert [w.message for w in summary.warnings] == [
        "The city tour ends at the community dinner, so the tour needs the dinner too."
    ]
    assert [(w.title, w.position, w.seat_free) for w in summary.waiting] == [
        ("Sensor kit to take home", 2, True)
    ]
    assert not summary.ready
    assert any(p.message == "Dietary needs is required" for p in summary.todo)


# --- the manual -------------------------------------------------------------------------------


def test_attendee_manual_examples_are_valid_designs(example):
    schema = CompiledSchema(example)
    blocks = code_blocks(ROOT / "docs" / "attendee.md", "json design")
    assert blocks
    for _info, body in blocks:
        assert schema.check(json.loads(body), complete=True).errors == []
