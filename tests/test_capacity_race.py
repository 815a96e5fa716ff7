"""32 clients race for the last seats through the domain, each on its own connection: none oversold.

On PostgreSQL the check-then-insert is safe only because write() takes the option's advisory lock
first; the control switches the locks off (postgres.TAKE_LOCKS, a test-only switch) and must
oversell, which shows the race is real and the test able to fail. On SQLite BEGIN IMMEDIATE does
the same work with no lock at all.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from configurator import attendees, designs, events, postgres
from configurator.db import connect, write
from configurator.errors import SeatTaken

CLIENTS = 32
SEATS_LEFT = 4
TRIALS = 3


def race(db_path: Any, example: dict[str, Any], slow_inserts: bool) -> list[int]:
    """Seats sold per trial: each trial 32 clients want the last 4 seats of a fresh session."""
    db = connect(db_path)
    agenda = next(s for s in example["sections"] if s["id"] == "agenda")
    agenda.update(overlap="allow", min=0, per_day={})
    sessions = [s["id"] for s in agenda["sessions"][:TRIALS]]
    for session in agenda["sessions"][:TRIALS]:
        session["capacity"] = SEATS_LEFT
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    with write(db):
        crowd = [
            attendees.invite(db, created["id"], f"R{n}", f"r{n}@example.org").attendee
            for n in range(CLIENTS * TRIALS)
        ]
    if slow_inserts and db.dialect == "postgresql":
        # Widen the window between counting the seats and taking one, as a busy server would.
        db.execute(
            "CREATE FUNCTION slow_pick() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$"
        )
        db.execute(
            "CREATE TRIGGER slow_pick BEFORE INSERT ON picks FOR EACH ROW EXECUTE FUNCTION slow_pick()"
        )
    sold = []
    for trial, session in enumerate(sessions):
        people = crowd[trial * CLIENTS : (trial + 1) * CLIENTS]
        outcomes = one_trial(db_path, people, session)
        seated = db.execute(
            "SELECT count(*) FROM picks WHERE event_id = ? AND option_id = ? AND seated = 1",
            [created["id"], session],
        ).fetchone()[0]
        assert outcomes["saved"] == seated and outcomes["saved"] + outcomes["full"] == CLIENTS
        sold.append(seated)
    db.close()
    return sold


def one_trial(db_path: Any, people: list[dict[str, Any]], session: str) -> Counter[str]:
    """Everyone saves the same session at one instant, each on a connection of their own."""
    gate = threading.Barrier(len(people))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def save(person: dict[str, Any]) -> None:
        own = connect(db_path)
        gate.wait()
        try:
            designs.save_design(own, person, {"agenda": {session: {"format": "in_person"}}})
            outcome = "saved"
        except SeatTaken:
            outcome = "full"
        finally:
            own.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=save, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_thirty_two_clients_for_the_last_seats_never_oversell(db_path, example):
    assert race(db_path, example, slow_inserts=True) == [SEATS_LEFT] * TRIALS


@pytest.mark.postgresql
def test_without_the_lock_the_same_race_oversells(db_path, example, monkeypatch):
    monkeypatch.setattr(postgres, "TAKE_LOCKS", False)
    sold = race(db_path, example, slow_inserts=True)
    assert max(sold) > SEATS_LEFT, sold
