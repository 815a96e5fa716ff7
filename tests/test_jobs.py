"""The job table: enqueue once per key, claim under a lease, retry with backoff, give up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from configurator import jobs
from configurator.clock import now
from configurator.db import close_thread_connections, connect
from configurator.errors import NotFound


def test_a_key_queues_its_work_once(db):
    first = jobs.enqueue(db, "delivery", key="message:1:email", payload={"to": "ana@example.org"})
    again = jobs.enqueue(db, "delivery", key="message:1:email", payload={"to": "other"})
    assert first is not None and again is None
    assert jobs.get(db, first).payload == {"to": "ana@example.org"}
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1
    # Without a key every call is new work.
    assert jobs.enqueue(db, "export") != jobs.enqueue(db, "export")


def test_claim_takes_due_jobs_of_a_kind_once(db):
    due = jobs.enqueue(db, "delivery")
    later = jobs.enqueue(db, "delivery", run_after=now() + timedelta(hours=1))
    other = jobs.enqueue(db, "export")
    day = timedelta(days=1)
    taken = jobs.claim(db, "w1", "delivery", lease=day)
    assert [j.id for j in taken] == [due]
    assert taken[0].state == "running" and taken[0].attempts == 1 and taken[0].worker == "w1"
    assert jobs.claim(db, "w2", "delivery") == []
    assert [j.id for j in jobs.claim(db, "w2", lease=day)] == [other]
    assert [j.id for j in jobs.claim(db, "w3", moment=now() + timedelta(hours=2))] == [later]


def test_a_job_whose_worker_died_is_taken_again_when_its_lease_runs_out(db):
    job = jobs.enqueue(db, "delivery")
    jobs.claim(db, "dead-worker", lease=timedelta(seconds=30))
    assert jobs.claim(db, "w2") == []
    retaken = jobs.claim(db, "w2", moment=now() + timedelta(minutes=1))
    assert [(j.id, j.worker, j.attempts) for j in retaken] == [(job, "w2", 2)]
    # The first worker's late answer no longer counts: the job is w2's.
    assert jobs.complete(db, job, "dead-worker") is False
    assert jobs.complete(db, job, "w2", {"answer": "250 OK"}) is True
    done = jobs.get(db, job)
    assert (done.state, done.result, done.percent) == ("done", {"answer": "250 OK"}, 100)


def test_failures_back_off_then_the_job_is_dead(db):
    job = jobs.enqueue(db, "delivery", max_attempts=3)
    waits = []
    for attempt in range(1, 4):
        at = now() + timedelta(days=attempt)
        [claimed] = jobs.claim(db, "w", moment=at)
        assert claimed.attempts == attempt
        state = jobs.fail(db, job, "w", f"550 mailbox full ({attempt})")
        row = jobs.get(db, job)
        if attempt < 3:
            assert state == "queued"
            waits.append(row.run_after)
        else:
            assert state == "dead" and row.finished_at
    assert row.last_error == "550 mailbox full (3)"
    assert [jobs.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
    ]
    assert jobs.backoff(40) == jobs.BACKOFF_CAP
    assert jobs.claim(db, "w", moment=now() + timedelta(days=30)) == []


def test_a_failure_that_cannot_succeed_is_dead_at_once_and_staff_can_retry_it(db, example):
    from configurator import events

    event = events.create_event(db, example)
    job = jobs.enqueue(db, "delivery", event_id=event["id"])
    jobs.claim(db, "w")
    assert jobs.fail(db, job, "w", "no such address", retry=False) == "dead"
    assert jobs.counts(db, event["id"], "delivery")["dead"] == 1
    with pytest.raises(NotFound):
        jobs.retry_now(db, job, event["id"] + 1)
    again = jobs.retry_now(db, job, event["id"])
    assert (again.state, again.attempts) == ("queued", 0)
    assert jobs.counts(db, event["id"], "delivery") == {
        "queued": 1,
        "running": 0,
        "done": 0,
        "dead": 0,
        "cancelled": 0,
    }


def test_progress_is_kept_for_a_progress_bar(db):
    job = jobs.enqueue(db, "export", total_steps=200)
    jobs.claim(db, "w")
    jobs.progress(db, job, 50)
    assert jobs.get(db, job).percent == 25
    jobs.progress(db, job, 200, 400)
    assert jobs.get(db, job).percent == 50


def test_two_workers_racing_never_take_the_same_job(db_path):
    """On SQLite one writer at a time; on PostgreSQL FOR UPDATE SKIP LOCKED keeps them apart."""
    path = db_path
    db = connect(path)
    for n in range(300):
        jobs.enqueue(db, "delivery", key=f"m{n}")
    taken: dict[str, list[int]] = {}
    gate = threading.Barrier(4)

    def work(name: str) -> None:
        mine = taken.setdefault(name, [])
        own = connect(path)
        gate.wait()
        while claimed := jobs.claim(own, name, limit=7):
            mine += [j.id for j in claimed]
        own.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_thread_connections()
    every = [job for ids in taken.values() for job in ids]
    assert len(every) == len(set(every)) == 300


# --- the worker ---------------------------------------------------------------------------------


@pytest.fixture
def handlers(monkeypatch):
    """A clean handler registry for one test."""
    from configurator import worker

    monkeypatch.setattr(worker, "HANDLERS", {})
    return worker


def test_the_worker_runs_each_kind_and_records_every_outcome(db, handlers):
    seen = []

    @handlers.handler("greet")
    def greet(_db, job):
        seen.append(job.payload["name"])
        if job.payload["name"] == "busy":
            raise handlers.Retry("421 try again later")
        if job.payload["name"] == "nobody":
            raise handlers.GiveUp("550 no such user")
        if job.payload["name"] == "bug":
            raise KeyError("oops")
        return {"said": "hello " + job.payload["name"]}

    ids = {
        n: jobs.enqueue(db, "greet", payload={"name": n}) for n in ("ana", "busy", "nobody", "bug")
    }
    assert handlers.drain(db, "w") == 4
    assert sorted(seen) == ["ana", "bug", "busy", "nobody"]
    state = {n: jobs.get(db, i) for n, i in ids.items()}
    assert (state["ana"].state, state["ana"].result) == ("done", {"said": "hello ana"})
    assert (state["busy"].state, state["busy"].last_error) == ("queued", "421 try again later")
    assert (state["nobody"].state, state["nobody"].last_error) == ("dead", "550 no such user")
    assert (state["bug"].state, state["bug"].last_error) == ("queued", "KeyError: 'oops'")
    # What was retried waits for its backoff, so draining again finds nothing due.
    assert handlers.drain(db, "w") == 0


def test_worker_once_from_the_command_line(db_path, handlers):
    from click.testing import CliRunner

    from configurator.cli import cli

    path = db_path
    db = connect(path)
    done = []
    handlers.handler("note")(lambda _db, job: done.append(job.id) or None)
    for _ in range(3):
        jobs.enqueue(db, "note")
    result = CliRunner().invoke(cli, ["--db", str(path), "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output == "Ran 3 job(s).\n"
    assert len(done) == 3
