"""Signing in and out, the login rate limit, CSRF on the forms, and API tokens on the account page."""

from __future__ import annotations

import re

from conftest import PASSWORD, csrf_from

from configurator import api_tokens


def test_login_with_the_right_password_starts_a_server_side_session(organiser, db):
    organiser.create()
    response = organiser.login()
    assert response.status_code == 303
    assert response.headers["Location"] == "/events"
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 1
    assert organiser.client.get("/events").status_code == 200


def test_login_follows_only_same_site_next(organiser):
    organiser.create()
    page = organiser.client.get("/login").get_data(as_text=True)
    response = organiser.client.post(
        "/login?next=//evil.example/x",
        data={"email": "olga@example.org", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"] == "/events"


def test_login_with_a_wrong_password_is_refused_and_says_so(organiser, db):
    organiser.create()
    response = organiser.login(password="not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "That email and password do not match an account." in html
    assert 'aria-describedby="login-error"' in html
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
    assert organiser.client.get("/events").status_code == 302


def test_login_is_rate_limited_after_five_failures(organiser):
    organiser.create()
    statuses = [organiser.login(password=f"wrong {i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    response = organiser.login()  # even the right password waits now
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    assert "Too many failed sign-ins. Wait 15 minutes" in response.get_data(as_text=True)


def test_rate_limit_is_per_address(organiser):
    organiser.create()
    organiser.create("sam@example.org", "Sam")
    for i in range(5):
        organiser.login(password=f"wrong {i}")
    assert organiser.login("sam@example.org").status_code == 303


def test_logout_ends_the_session_so_a_copied_cookie_stops_working(app, organiser, db):
    organiser.create()
    organiser.login()
    cookie = organiser.client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/events").status_code == 200

    response = organiser.client.post("/logout", data={"csrf_token": organiser.csrf()})
    assert response.status_code == 303
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
    assert thief.get("/events").status_code == 302  # to the sign-in page
    assert organiser.client.get("/events").status_code == 302


def test_login_without_a_csrf_token_is_rejected(organiser, db):
    organiser.create()
    response = organiser.client.post(
        "/login", data={"email": "olga@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0


def test_logout_without_a_csrf_token_is_rejected(organiser, db):
    organiser.create()
    organiser.login()
    response = organiser.client.post("/logout")
    assert response.status_code == 400
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 1
    assert organiser.client.get("/events").status_code == 200


def test_account_page_needs_an_account(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_api_token_is_shown_once_then_works_until_revoked(organiser, db):
    account_id = organiser.create()
    organiser.login()
    csrf = organiser.csrf("/account")
    response = organiser.client.post(
        "/account/tokens", data={"label": "export script", "csrf_token": csrf}
    )
    assert response.status_code == 200
    token = re.search(r'id="new-token" type="text" readonly value="(cfg_[^"]+)"', response.text)
    assert token, "the new token is shown once"
    secret = token.group(1)
    assert api_tokens.account_for(db, secret) == account_id
    assert secret not in organiser.client.get("/account").text  # never again

    listed = api_tokens.of_account(db, account_id)
    assert [(t["label"], t["revoked_at"]) for t in listed] == [("export script", None)]
    response = organiser.client.post(
        f"/account/tokens/{listed[0]['id']}/revoke", data={"csrf_token": csrf}
    )
    assert response.status_code == 303
    assert api_tokens.account_for(db, secret) is None
    assert "revoked" in organiser.client.get("/account").text


def test_api_token_needs_a_label(organiser):
    organiser.create()
    organiser.login()
    response = organiser.client.post(
        "/account/tokens", data={"label": " ", "csrf_token": organiser.csrf("/account")}
    )
    assert response.status_code == 422
    assert 'aria-describedby="token-error"' in response.text


def test_nobody_revokes_another_accounts_token(organiser, db):
    organiser.create()
    other = organiser.create("sam@example.org", "Sam")
    secret = api_tokens.issue(db, other, "Sam's")
    token_id = api_tokens.of_account(db, other)[0]["id"]
    organiser.login()
    response = organiser.client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": organiser.csrf("/account")}
    )
    assert response.status_code == 404
    assert api_tokens.account_for(db, secret) == other


def test_revoked_token_is_refused_by_the_api(app, organiser, db):
    account_id = organiser.create()
    secret = api_tokens.issue(db, account_id, "script")
    api_tokens.revoke(
        db, account_id, api_tokens.of_account(db, account_id)[0]["id"]
    )
    response = app.test_client().get(
        "/api/v1/events/nope/design-schema", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 403
    assert response.json["message"] == "This API token is not valid."
