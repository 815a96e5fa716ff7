"""The app factory, database pragmas, migrations, security headers and error pages."""

from __future__ import annotations

import sqlite3

from configurator import migrations
from configurator.db import connect, write


def test_database_pragmas(sqlite_file):
    db = connect(sqlite_file)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_apply_once(sqlite_file):
    db = connect(sqlite_file)
    assert migrations.current(db) == len(migrations.STEPS)
    assert migrations.apply(db) == 0
    assert [r[0] for r in db.execute("SELECT step FROM migrations")] == list(
        range(1, len(migrations.STEPS) + 1)
    )


def test_a_database_from_an_older_release_takes_only_the_new_steps(sqlite_file):
    import sqlite3

    conn = sqlite3.connect(sqlite_file, isolation_level=None)
    conn.execute("CREATE TABLE migrations (step INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for number, step in enumerate(migrations.STEPS[:2], start=1):
        conn.executescript(step)
        conn.execute("INSERT INTO migrations VALUES (?, 'then')", [number])
    conn.close()
    db = connect(sqlite_file)
    assert migrations.current(db) == len(migrations.STEPS)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT attendee_id >> 10, count(*), max(updated_at) FROM designs"
        " WHERE event_id = 1 GROUP BY 1"
    ).fetchall()
    assert "COVERING INDEX designs_event_blocks" in " ".join(row[-1] for row in plan)


def test_write_rolls_back_on_error(sqlite_file):
    db = connect(sqlite_file)
    try:
        with write(db):
            db.execute(
                "INSERT INTO accounts (email, name, password_hash, created_at)"
                " VALUES ('a@b.co', 'A', 'x', 'now')"
            )
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_write_takes_the_write_lock_at_begin(sqlite_file):
    db = connect(sqlite_file)
    other = sqlite3.connect(sqlite_file, timeout=0.05, isolation_level=None)
    with write(db):
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        else:
            raise AssertionError("a second writer got in during BEGIN IMMEDIATE")


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_htmx_is_served_from_npm_install(client):
    response = client.get("/assets/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data[:2000]


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/v1/events/nope/design-schema")
    assert response.status_code == 404
    assert response.json["message"] == "There is no event called 'nope'."


def test_templates_translate_through_flask_babel(app):
    from flask import render_template_string

    with app.test_request_context("/", headers={"Accept-Language": "de, en;q=0.5"}):
        # Until a language has a catalogue the English source text shows, through gettext.
        assert render_template_string('{{ _("Save %(n)s", n=3) }}') == "Save 3"
        assert render_template_string("{% trans %}Hello{% endtrans %}") == "Hello"
        from flask_babel import get_locale

        assert str(get_locale()) == "en"
