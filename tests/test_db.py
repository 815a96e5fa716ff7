"""The database door on the engine under test: the same `?` SQL, rows, writes, locks and errors."""

from __future__ import annotations

import threading
import time

import pytest

from configurator import attendees, designs, events, migrations, postgres
from configurator.db import (
    POSTGRESQL,
    MissingLocks,
    connect,
    require_locks,
    seat_lock,
    write,
)
from configurator.errors import Busy, Conflict, SchemaBehind


def test_the_same_text_runs_on_both_engines_with_rows_by_name_and_position(db):
    row = db.execute("SELECT 'a%b' AS text, ? AS n, ? AS flag", [41, True]).fetchone()
    assert (row["text"], row[1], row["flag"]) == ("a%b", 41, 1)  # True is stored as SQLite does
    assert dict(row) == {"text": "a%b", "n": 41, "flag": 1}
    text, n, flag = row
    assert (text, n, flag) == ("a%b", 41, 1)
    total = db.execute("SELECT sum(x) FROM (SELECT 2 AS x UNION ALL SELECT 3) t").fetchone()[0]
    assert total == 5 and type(total) is int
    assert "events" in db.table_names() and "jobs" in db.table_names()


def test_write_commits_or_rolls_back_as_one(db):
    with write(db):
        db.execute("INSERT INTO login_attempts (key, attempted_at) VALUES (?, ?)", ["k", 1.5])
    with pytest.raises(RuntimeError), write(db):
        db.execute("INSERT INTO login_attempts (key, attempted_at) VALUES (?, ?)", ["k", 2.5])
        raise RuntimeError("half way")
    rows = db.execute("SELECT attempted_at FROM login_attempts WHERE key = ?", ["k"]).fetchall()
    assert [r[0] for r in rows] == [1.5]
    # Times keep their fractions (REAL is 8 bytes on PostgreSQL too).
    big = 1_780_000_000.123456
    with write(db):
        db.execute("INSERT INTO login_attempts (key, attempted_at) VALUES (?, ?)", ["t", big])
    assert db.execute("SELECT attempted_at FROM login_attempts WHERE key = 't'").fetchone()[0] == big


def test_a_unique_clash_is_a_conflict_not_a_500(db, example):
    created = events.create_event(db, example)
    with pytest.raises(Conflict, match="at the same moment"), write(db):
        db.execute(
            "INSERT INTO events (slug, title, draft, draft_updated_at, created_at)"
            " VALUES (?, 'x', '{}', 't', 't')",
            [created["slug"]],
        )


def test_email_comparison_ignores_case_on_both_engines(db):
    with write(db):
        db.execute(
            "INSERT INTO accounts (email, name, password_hash, created_at)"
            " VALUES ('Ada@Example.org', 'Ada', 'h', 't')"
        )
    assert db.execute("SELECT count(*) FROM accounts WHERE email = 'ada@EXAMPLE.org'").fetchone()[0] == 1
    with pytest.raises(Conflict), write(db):
        db.execute(
            "INSERT INTO accounts (email, name, password_hash, created_at)"
            " VALUES ('ADA@example.ORG', 'Ada', 'h', 't')"
        )


def test_seat_counts_follow_a_save_made_on_another_connection(db_path, db, example):
    """What a second server saves shows at once on the first (no stale seat-count cache)."""
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    person = attendees.invite(db, created["id"], "Ana", "ana@example.org").attendee
    assert designs.seat_counts(db, created["id"]) == {}
    other = connect(db_path)
    designs.save_design(other, person, {"agenda": {"facilitation": {"format": "in_person"}}})
    other.close()
    assert designs.seat_counts(db, created["id"]) == {("agenda", "facilitation"): 1}


@pytest.mark.postgresql
def test_a_write_that_cannot_get_its_lock_in_time_is_busy(db_path, db, monkeypatch):
    monkeypatch.setenv("CONFIGURATOR_LOCK_TIMEOUT", "0.2")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        mine = connect(db_path)
        with write(mine, ["seats:1:agenda/facilitation"]):
            held.set()
            release.wait(10)
        mine.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    started = time.monotonic()
    with pytest.raises(Busy, match="try again"), write(db, ["seats:1:agenda/facilitation"]):
        pass
    assert time.monotonic() - started < 3  # an answer within the timeout, never a hang
    with write(db, ["seats:1:agenda/other"]):  # another option's lock is free
        pass
    release.set()
    holder.join()
    with write(db, ["seats:1:agenda/facilitation"]):  # and free again once committed
        require_locks(db, ["seats:1:agenda/facilitation"])
        with pytest.raises(MissingLocks) as missing:
            require_locks(db, [seat_lock(1, ("agenda", "maps"))])
    assert missing.value.locks == {"seats:1:agenda/maps"}


@pytest.mark.postgresql
def test_servers_started_together_migrate_once_and_others_wait(postgres_databases):
    url = postgres_databases.new()  # migrated from the template: empty it first
    conn = postgres.open_connection(url)
    conn.execute("DROP SCHEMA public CASCADE")
    conn.execute("CREATE SCHEMA public")
    conn.close()
    postgres.close_pool(url)
    with pytest.raises(SchemaBehind, match="configurator init"):
        connect(url)
    ran: list[int] = []
    gate = threading.Barrier(4)

    def init() -> None:
        gate.wait()
        ran.append(postgres.migrate(url))

    threads = [threading.Thread(target=init) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ran) == [0, 0, 0, len(migrations.STEPS)]
    db = connect(url)
    assert db.dialect == POSTGRESQL and migrations.current(db) == len(migrations.STEPS)
    db.close()
    postgres_databases.drop(url)


def test_compiled_schemas_are_kept_per_database_and_bounded(db_path, db, example, monkeypatch):
    monkeypatch.setattr(events, "COMPILED_KEPT", 2)
    monkeypatch.setattr(events, "_compiled", events.OrderedDict())
    created = events.create_event(db, example)
    for n in range(3):
        draft = events.draft(events.get_event(db, created["slug"]))
        draft["event"]["title"] = f"Camp {n}"
        events.save_draft(db, created["slug"], draft)
        events.publish(db, created["slug"])
    for number in (1, 2, 3):
        assert events.compiled(db, created["id"], number).version == number
    assert [key[0] for key in events._compiled] == [db.url, db.url]  # the URL or file, not ""
    assert len(events._compiled) == 2  # the least recently used went first
