"""Moving up: `configurator copy-to` puts a SQLite event database into PostgreSQL, row for row."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import example_schema

from configurator import accounts, attendees, designs, events, proposal_review, proposals
from configurator.cli import cli
from configurator.copy_to import CopyFailed, copy_to
from configurator.db import connect, connect_sqlite

pytestmark = pytest.mark.postgresql


def filled(path) -> dict:
    """A SQLite database with an event, attendees, designs, a waitlist and a merged proposal."""
    db = connect_sqlite(path)
    owner = accounts.create_account(db, "Olga@Example.org", "Olga", "correct horse battery")
    doc = example_schema()
    doc["proposals"] = {"enabled": True, "formats": ["talk", "hands_on"]}
    agenda = next(s for s in doc["sections"] if s["id"] == "agenda")
    next(s for s in agenda["sessions"] if s["id"] == "facilitation")["capacity"] = 1
    created = events.create_event(db, doc, owner)
    events.publish(db, created["slug"])
    event = events.get_event(db, created["slug"])
    people = [attendees.invite(db, event["id"], f"P{n}", f"p{n}@example.org") for n in range(3)]
    seat = {"agenda": {"facilitation": {"format": "in_person"}}}
    designs.save_design(db, people[0].attendee, seat)
    designs.join_waitlist(db, people[1].attendee, "agenda", "facilitation")
    draft = proposals.Draft("Seed swap", "", "talk", [])
    first = proposals.propose(db, event["id"], people[2].attendee["id"], draft)
    second = proposals.propose(db, event["id"], people[1].attendee["id"], draft)
    # The earlier proposal now names a later one: the copy must fill that in afterwards.
    proposal_review.merge(db, event["id"], first, second, "the same idea")
    db.close()
    return {"event": event, "people": people, "proposals": (first, second)}


def test_copy_to_postgresql_checks_every_row_and_the_app_runs_on_the_copy(sqlite_file, db_path):
    made = filled(sqlite_file)
    result = CliRunner().invoke(cli, ["--db", str(sqlite_file), "copy-to", db_path])
    assert result.exit_code == 0, result.output
    assert "every row checked" in result.output and "designs 1" in result.output
    copy = connect(db_path)
    assert copy.execute("SELECT count(*) FROM waitlist").fetchone()[0] == 1
    merged = copy.execute("SELECT merged_into FROM proposals WHERE id = ?", [made["proposals"][0]])
    assert merged.fetchone()[0] == made["proposals"][1]
    # The copy is a working database: new rows get new ids, e-mails stay case-insensitive.
    more = attendees.invite(copy, made["event"]["id"], "New", "new@example.org")
    assert more.attendee["id"] == max(p.attendee["id"] for p in made["people"]) + 1
    assert accounts.authenticate(copy, "olga@example.ORG", "correct horse battery", "t")
    # Freeing the seat promotes the one waiting, as it would have on SQLite.
    saved = designs.save_design(copy, made["people"][0].attendee, {})
    assert saved.promoted == [made["people"][1].attendee["id"]]
    # A second copy into a database that now has data is refused, and changes nothing.
    again = CliRunner().invoke(cli, ["--db", str(sqlite_file), "copy-to", db_path])
    assert again.exit_code == 2 and "already has data" in again.output
    copy.close()


def test_a_copy_that_does_not_check_out_keeps_nothing(sqlite_file, db_path, monkeypatch):
    filled(sqlite_file)
    from configurator import copy_to as module

    real = module._copy_table

    def lossy(lite, conn, table):
        copied = real(lite, conn, table)
        if table == "designs":
            conn.execute("UPDATE designs SET version = version + 1")  # a copy gone wrong
        return copied

    monkeypatch.setattr(module, "_copy_table", lossy)
    with pytest.raises(CopyFailed, match="Row 1 of designs differs"):
        copy_to(str(sqlite_file), db_path)
    target = connect(db_path)
    assert target.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    target.close()
