"""Every route declares who may use it, and each kind of visitor gets what that declaration says."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlite_utils
from conftest import PASSWORD, AttendeeActions, OrganiserActions, csrf_from, example_schema
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from configurator import accounts, api_tokens, create_app, events, exports, worker
from configurator.db import close_thread_connections, connect
from configurator.delivery import consent, outbox
from configurator.exports import jobs as export_jobs
from configurator.web import csrf

ACCESS = {"public", "account", "attendee", "staff", "organiser"}
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
VISITORS = ("anonymous", "attendee", "other_attendee", "staff", "other_organiser", "organiser")
EMAILS = {
    "organiser": "olga@example.org",
    "other_organiser": "otto@example.org",
    "staff": "sam@example.org",
}
CSRF_MESSAGE = b"did not come from this site"
OWN = "the visitor's own"  # CSRF token, valid for their session

# What a visitor can get back. OK is any answer from the view itself: a page, a redirect that is
# not to the sign-in page, or a 409/422 about the (empty) form. Never a 5xx, never a 404 (which
# would mean the test filled the URL with something that does not exist).
OK, LOGIN, FORBIDDEN, HIDDEN = "ok", "sign-in redirect", "403", "404"
OK_STATUSES = {200, 201, 204, 302, 303, 409, 422}

SIGNED_OUT = {"anonymous": LOGIN, "attendee": LOGIN, "other_attendee": LOGIN}
BY_ACCESS = {
    "public": dict.fromkeys(VISITORS, OK),
    "account": {**SIGNED_OUT, "staff": OK, "other_organiser": OK, "organiser": OK},
    # Another organiser's event looks exactly like no event at all (access.role_required).
    "staff": {**SIGNED_OUT, "staff": OK, "other_organiser": HIDDEN, "organiser": OK},
    "organiser": {**SIGNED_OUT, "staff": FORBIDDEN, "other_organiser": HIDDEN, "organiser": OK},
    "attendee": {
        "anonymous": FORBIDDEN,
        "attendee": OK,
        "other_attendee": HIDDEN,
        "staff": FORBIDDEN,
        "other_organiser": FORBIDDEN,
        "organiser": FORBIDDEN,
    },
}
# The secret in the address is the credential: whoever holds event A's attendee's personal link
# or feed address acts as that attendee, whatever cookie they carry. (A wrong secret is refused:
# test_a_wrong_secret_in_the_address_is_refused_whatever_the_cookie.)
THE_SECRET_DECIDES = dict.fromkeys(VISITORS, OK)
SPECIAL = {
    "attendee.open_link": THE_SECRET_DECIDES,
    "attendee.feed": THE_SECRET_DECIDES,
    "api.get_design": THE_SECRET_DECIDES,
    "api.put_design": THE_SECRET_DECIDES,
    "api.join_waitlist": THE_SECRET_DECIDES,
    "api.leave_waitlist": THE_SECRET_DECIDES,
    # Signed links in messages: unsubscribing from a kind of message, answering a feedback request.
    "unsubscribe.unsubscribe": THE_SECRET_DECIDES,
    "messages.give_feedback": THE_SECRET_DECIDES,
    # The API token being revoked is the organiser's own: anyone else's account finds no such token.
    "auth.revoke_token": {
        **SIGNED_OUT,
        "staff": HIDDEN,
        "other_organiser": HIDDEN,
        "organiser": OK,
    },
    # The htmx script is a static asset: it declares no access and is served to everyone.
    "htmx_js": dict.fromkeys(VISITORS, OK),
}
# Request bodies where an empty form would test nothing (everything else posts an empty form).
FORMS = {
    ("auth.login", "POST"): {"email": EMAILS["organiser"], "password": PASSWORD},
    ("attendee.registration", "POST"): {"name": "Cleo", "email": "cleo@example.org"},
    ("designer.pick", "POST"): {"section": "agenda", "session": "opening", "picked": "yes"},
    ("designer.waitlist", "POST"): {"section": "agenda", "option": "opening"},
    ("cocreation.answer", "POST"): {"status": "declined", "reason": "Not this year."},
    ("cocreation.accept", "POST"): {"section": "extras", "reason": "Less waste."},
    ("cocreation.hide", "POST"): {"reason": "Posted twice."},
    ("cocreation.merge", "POST"): {"into": "{into}", "reason": "The same session."},
    ("organiser.reissue", "POST"): {"attendee": "{attendee_id}"},
}
JSON = {
    ("api.put_design", "PUT"): {"design": {}},
    ("api.join_waitlist", "POST"): {"section": "agenda", "option": "opening"},
}
QUERY = {("api.leave_waitlist", "DELETE"): {"section": "agenda", "option": "opening"}}
# The JSON API authenticates with a Bearer token or the personal link in its address.
# One-click unsubscribing (RFC 8058) is a bare POST from a mail program; its signed link decides.
CSRF_EXEMPT_BLUEPRINTS = {"api", "api_exports", "cocreation_api", "unsubscribe"}
SIGNED = {"unsubscribe_token", "feedback_token"}  # signed links that messages carry


@dataclass
class World:
    """Two events, six kinds of visitor with their cookies and CSRF tokens, and a way back."""

    app: Flask
    db: sqlite_utils.Database
    slug: str
    ids: dict[str, Any]
    theirs: dict[str, Any] = field(default_factory=dict)
    bearer: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str | None] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    snapshot: sqlite3.Connection | None = None

    def save(self) -> None:
        """Remember the database as it is now."""
        self.snapshot = sqlite3.connect(":memory:")
        self.db.conn.backup(self.snapshot)

    def restore(self) -> None:
        """Put the database back as it was saved, so no request sees another's changes."""
        assert self.snapshot is not None
        self.snapshot.backup(self.db.conn)
        # Compiled schemas are cached by version row id, and a restore can reuse an id.
        events._compiled.clear()

    def request(
        self,
        visitor: str,
        method: str,
        path: str,
        endpoint: str,
        csrf_header: str | None = OWN,
        ids: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """Send one request in a fresh browser holding the visitor's cookie (and CSRF token)."""
        self.restore()
        client = self.app.test_client()
        if self.cookies[visitor]:
            client.set_cookie("session", self.cookies[visitor])
        headers = dict(headers or {})
        if method in STATE_CHANGING and csrf_header:
            headers["X-CSRFToken"] = self.tokens[visitor] if csrf_header == OWN else csrf_header
        response = client.open(
            path,
            method=method,
            headers=headers,
            data=self.form(endpoint, method, ids or self.ids),
            json=JSON.get((endpoint, method)),
            query_string=QUERY.get((endpoint, method)),
        )
        # A prepared export is written by the worker: let it run before the next restore.
        worker.drain(self.db)
        response.get_data()  # run a streamed export to its end
        response.close()
        return response

    def form(self, endpoint: str, method: str, ids: dict[str, Any]) -> dict[str, str] | None:
        """The form the request posts, with these ids filled in."""
        if (endpoint, method) in JSON:
            return None
        return {k: v.format(**ids) for k, v in FORMS.get((endpoint, method), {}).items()}


def fingerprint(db: sqlite_utils.Database) -> tuple[dict[str, int], str]:
    """Every table's row count and a hash of the whole database's contents."""
    counts = {t: db[t].count for t in db.table_names()}
    digest = hashlib.sha256("\n".join(db.conn.iterdump()).encode()).hexdigest()
    return counts, digest


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Event A (organiser, staff, an attendee, a proposal), event B (its own organiser, attendee)."""
    # Built once for the module (hashing six passwords is slow); every request restores it.
    path = tmp_path_factory.mktemp("authorization") / "test.db"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(path),
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": True,
        }
    )
    db = connect(path)
    organiser_id = accounts.create_account(db, EMAILS["organiser"], "Olga", PASSWORD)
    other_id = accounts.create_account(db, EMAILS["other_organiser"], "Otto", PASSWORD)
    staff_id = accounts.create_account(db, EMAILS["staff"], "Sam", PASSWORD)
    doc = example_schema()
    doc["proposals"] = {"enabled": True, "formats": ["talk", "hands_on"]}
    maker = AttendeeActions(app.test_client(), db)
    event_a = maker.event(doc, organiser_id)
    accounts.grant(db, event_a["id"], staff_id, "staff")
    doc_b = example_schema()
    doc_b["event"].update(slug="other-camp", title="Other Camp")
    doc_b["proposals"] = doc["proposals"]
    event_b = maker.event(doc_b, other_id)
    ana = maker.invite(event_a, "Ana", "ana@example.org")
    ben = maker.invite(event_b, "Ben", "ben@example.org")

    w = World(app, db, event_a["slug"], {})
    for visitor in VISITORS:
        client = app.test_client()
        if visitor in EMAILS:
            assert OrganiserActions(client, db).login(EMAILS[visitor]).status_code == 303
        elif visitor != "anonymous":
            link = (ana if visitor == "attendee" else ben).token
            assert AttendeeActions(client, db).open(link).status_code == 303
        w.tokens[visitor] = csrf_from(client.get("/login").get_data(as_text=True))
        cookie = client.get_cookie("session")
        w.cookies[visitor] = cookie.value if cookie else None

    def propose(visitor: str, slug: str, title: str) -> int:
        author = app.test_client()
        author.set_cookie("session", w.cookies[visitor] or "")
        posted = author.post(
            f"/e/{slug}/proposals",
            data={"title": title},
            headers={"X-CSRFToken": w.tokens[visitor]},
        )
        assert posted.status_code == 303, posted.get_data(as_text=True)
        return int(posted.headers["Location"].rsplit("/", 1)[1])

    def delivery_of(event: dict, invitation: Any) -> int:
        [message] = outbox.queue(db, event["id"], [invitation.attendee["id"]], "broadcast", "Hi", ".")
        return db.execute("SELECT id FROM jobs WHERE ref_id = ?", [message]).fetchone()[0]

    def token_id(account_id: int) -> int:
        api_tokens.issue(db, account_id, "export script")
        return db.execute("SELECT max(id) FROM api_tokens").fetchone()[0]

    w.ids = {
        "attendee_id": ana.attendee["id"],
        "token": ana.token,
        "feed_token": ana.feed_token,
        "unsubscribe_token": consent.unsubscribe_token(db, ana.attendee["id"], "broadcast"),
        "feedback_token": consent.sign(db, "feedback", [ana.attendee["id"], "agenda", "opening"]),
        "pid": propose("attendee", w.slug, "Bicycle repair cafe"),
        "into": propose("attendee", w.slug, "Seed swap"),
        "account_id": staff_id,
        "token_id": token_id(organiser_id),
        "job_id": export_jobs.start(db, event_a, "json").id,
        "delivery_id": delivery_of(event_a, ana),
    }
    # The same kinds of thing, belonging to event B or to its organiser.
    w.theirs = {
        "attendee_id": ben.attendee["id"],
        "pid": propose("other_attendee", "other-camp", "Knitting circle"),
        "into": propose("other_attendee", "other-camp", "Sock darning"),
        "account_id": other_id,
        "token_id": token_id(other_id),
        "job_id": export_jobs.start(db, event_b, "json").id,
        "delivery_id": delivery_of(event_b, ben),
    }
    worker.drain(db)
    w.bearer = {
        "organiser": api_tokens.issue(db, organiser_id, "script"),
        "staff": api_tokens.issue(db, staff_id, "script"),
        "other_organiser": api_tokens.issue(db, other_id, "script"),
    }
    w.save()
    yield w
    assert w.snapshot is not None
    w.snapshot.close()
    db.conn.close()
    close_thread_connections()


def _section_for(rule: str) -> str:
    """A section of the kind the route edits: sessions, choice options, or questions."""
    if "/options/" in rule or rule.endswith("/options"):
        return "channels"
    if "/fields" in rule:
        return "preferences"
    return "agenda"


def url_values(rule: Rule, w: World) -> list[dict[str, Any]]:
    """Every way to fill the rule's parameters with real things of event A (a list, for formats)."""
    path = rule.rule
    known: dict[str, list[Any]] = {
        "slug": [w.slug],
        "token": [w.ids["token"]],
        "feed_token": [w.ids["feed_token"]],
        "unsubscribe_token": [w.ids["unsubscribe_token"]],
        "feedback_token": [w.ids["feedback_token"]],
        "attendee_id": [w.ids["attendee_id"]],
        "account_id": [w.ids["account_id"]],  # the staff member, whom the organiser may remove
        "token_id": [w.ids["token_id"]],  # the organiser's own API token
        "pid": [w.ids["pid"]],
        "index": [0],
        "section_id": ["preferences"],  # the attendee's answers to a section of questions
        "section": ["agenda"],
        "option": ["opening"],
        "sid": [_section_for(path)],
        "oid": ["sms"],  # channels > SMS, which asks a follow-up question (phone)
        "session_id": ["opening"],
        "rid": ["hall"],
        "fid": ["in_person"]
        if "/formats/" in path
        else ["phone" if "/options/" in path else "diet"],
        "fmt": ["csv", "json"] if "/proposals/export." in path else list(exports.FORMATS),
        "job_id": [w.ids["job_id"]],  # an export of event A prepared in the background
        "delivery_id": [w.ids["delivery_id"]],  # a delivery of a message to event A's attendee
    }
    unknown = sorted(set(rule.arguments) - set(known))
    assert not unknown, f"{path}: the test does not know how to fill {unknown}; add them above"
    names = sorted(rule.arguments)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(known[n] for n in names))
    ]


def expected_for(rule: Rule, w: World) -> dict[str, str]:
    """What each visitor should get from the route, from its declaration or the explicit table."""
    if rule.endpoint in SPECIAL:
        return SPECIAL[rule.endpoint]
    access = getattr(w.app.view_functions[rule.endpoint], "access", None)
    expected = dict(BY_ACCESS[access])
    if rule.rule.startswith("/api/"):
        # The API never redirects to a sign-in page: it says 403.
        expected = {v: FORBIDDEN if o == LOGIN else o for v, o in expected.items()}
    return expected


def outcome(response: TestResponse) -> str:
    """What the visitor got, in the words of the expectations."""
    status = response.status_code
    location = urlsplit(response.headers.get("Location", "")).path
    if status in (301, 302, 303, 307, 308) and location == "/login":
        return LOGIN
    if CSRF_MESSAGE in response.get_data():
        return f"CSRF refusal ({status})"
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return HIDDEN
    if status in OK_STATUSES:
        return OK
    return f"status {status}"


def routes(app: Flask) -> list[Rule]:
    """Every route but the static files."""
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def methods_of(rule: Rule) -> list[str]:
    """GET (when the route has it) and every state-changing method."""
    return [m for m in ("GET", *STATE_CHANGING) if m in (rule.methods or ())]


def build(rule: Rule, values: dict[str, Any]) -> str:
    """The path of the rule with these values."""
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return built[1]


def test_every_route_declares_who_may_use_it(app: Flask):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "htmx_js"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) not in ACCESS:
            undeclared.append(f"{rule.rule} ({rule.endpoint})")
    assert undeclared == []


def test_every_visitor_gets_what_each_route_declares(world: World):
    wrong, checked = [], 0
    for rule in routes(world.app):
        expected = expected_for(rule, world)
        for values, method in itertools.product(url_values(rule, world), methods_of(rule)):
            path = build(rule, values)
            for visitor in VISITORS:
                response = world.request(visitor, method, path, rule.endpoint)
                got = outcome(response)
                checked += 1
                if got != expected[visitor]:
                    wrong.append(
                        f"{method} {path} as {visitor}: {got}, expected {expected[visitor]}"
                    )
    assert wrong == []
    assert checked > 500


def _most_powerful(rule: Rule, w: World) -> str:
    expected = expected_for(rule, w)
    return next(v for v in reversed(VISITORS) if expected[v] == OK)


def test_every_state_change_needs_a_valid_csrf_token(world: World):
    exempt = {
        r.endpoint for r in routes(world.app) if r.endpoint.split(".")[0] in CSRF_EXEMPT_BLUEPRINTS
    }
    assert {bp.name for bp in csrf._exempt_blueprints} == CSRF_EXEMPT_BLUEPRINTS
    assert not csrf._exempt_views
    wrong, checked = [], 0
    for rule in routes(world.app):
        if rule.endpoint in exempt:
            continue
        for method in (m for m in methods_of(rule) if m != "GET"):
            path = build(rule, url_values(rule, world)[0])
            visitor = _most_powerful(rule, world)
            # A token from another visitor's session is as wrong as no token at all.
            other = "anonymous" if visitor != "anonymous" else "organiser"
            for token in (None, "forged", world.tokens[other]):
                world.restore()
                before = fingerprint(world.db)
                response = world.request(visitor, method, path, rule.endpoint, csrf_header=token)
                checked += 1
                if response.status_code != 400 or CSRF_MESSAGE not in response.get_data():
                    wrong.append(
                        f"{method} {path} as {visitor}, token {token!r}: {response.status_code}"
                    )
                elif fingerprint(world.db) != before:
                    wrong.append(f"{method} {path} as {visitor}, token {token!r}: database changed")
    assert wrong == []
    assert checked > 100


def test_the_api_exempt_from_csrf_is_not_authorised_by_a_browser_cookie(world: World):
    wrong = []
    for rule in routes(world.app):
        if rule.endpoint.split(".")[0] not in CSRF_EXEMPT_BLUEPRINTS:
            continue
        for method in (m for m in methods_of(rule) if m != "GET"):
            values = {**url_values(rule, world)[0], "token": "not-a-personal-link"}
            values.update(dict.fromkeys(set(rule.arguments) & SIGNED, "not-a-signed-link"))
            path = build(rule, values)
            for visitor in ("attendee", "organiser"):
                world.restore()
                before = fingerprint(world.db)
                response = world.request(visitor, method, path, rule.endpoint, csrf_header=None)
                if response.status_code not in (401, 403, 404):
                    wrong.append(f"{method} {path} with {visitor}'s cookie: {response.status_code}")
                elif fingerprint(world.db) != before:
                    wrong.append(f"{method} {path} with {visitor}'s cookie: database changed")
    assert wrong == []


def test_a_wrong_secret_in_the_address_is_refused_whatever_the_cookie(world: World):
    wrong = []
    for rule in routes(world.app):
        secrets = set(rule.arguments) & {"token", "feed_token", *SIGNED}
        if not secrets:
            continue
        values = {**url_values(rule, world)[0], **dict.fromkeys(secrets, "not-a-secret")}
        path = build(rule, values)
        for method, visitor in itertools.product(methods_of(rule), VISITORS):
            got = outcome(world.request(visitor, method, path, rule.endpoint))
            if got != HIDDEN:
                wrong.append(f"{method} {path} as {visitor}: {got}")
    assert wrong == []


def test_staff_is_read_only(world: World):
    writable = [
        f"{rule.rule} ({rule.endpoint})"
        for rule in routes(world.app)
        if set(methods_of(rule)) - {"GET"}
        and getattr(world.app.view_functions[rule.endpoint], "access", None) == "staff"
    ]
    # Preparing an export writes a file for the one who asked, and changes no event data.
    assert writable == ["/events/<slug>/exports/<fmt>/prepare (staff.export_prepare)"]


def test_ids_of_another_event_reach_nothing_through_your_own(world: World):
    wrong, checked = [], 0
    for rule, method in ((r, m) for r in routes(world.app) for m in methods_of(r)):
        form = FORMS.get((rule.endpoint, method), {})
        posted = {k for k in world.theirs if any(f"{{{k}}}" in v for v in form.values())}
        visitor = _most_powerful(rule, world)
        for key in sorted((set(rule.arguments) | posted) & set(world.theirs)):
            ids = {**world.ids, key: world.theirs[key]}
            path = build(rule, {k: ids.get(k, v) for k, v in url_values(rule, world)[0].items()})
            world.restore()
            before = fingerprint(world.db)
            response = world.request(visitor, method, path, rule.endpoint, ids=ids)
            checked += 1
            if response.status_code not in (404, 422):
                wrong.append(f"{method} {path} as {visitor} with B's {key}: {response.status_code}")
            elif fingerprint(world.db) != before:
                wrong.append(f"{method} {path} as {visitor} with B's {key}: database changed")
    assert wrong == []
    assert checked >= 10


def test_an_api_token_speaks_for_its_account_and_only_on_the_api(world: World):
    wrong = []
    for rule in routes(world.app):
        access = getattr(world.app.view_functions[rule.endpoint], "access", None)
        if access not in ("staff", "organiser") or "GET" not in methods_of(rule):
            continue
        path = build(rule, url_values(rule, world)[0])
        on_api = rule.rule.startswith("/api/")
        for visitor, token in [*world.bearer.items(), ("forged", "cfg_not-a-token")]:
            expected = BY_ACCESS[access].get(visitor, FORBIDDEN) if on_api else LOGIN
            headers = {"Authorization": f"Bearer {token}"}
            got = outcome(world.request("anonymous", "GET", path, rule.endpoint, headers=headers))
            if got != expected:
                wrong.append(f"GET {path} with {visitor}'s API token: {got}, expected {expected}")
    assert wrong == []
