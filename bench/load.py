"""Load: 200 concurrent attendees designing on FOSDEM 2025, and 1,000 saves racing for 100 seats.

Run:  .venv/bin/pip install -e ".[bench]" && .venv/bin/python bench/load.py [--users 200] [--seconds 30]

Phase 1 seeds FOSDEM 2025 (943 sessions) with 10,000 attendees holding designs, starts the
production server (waitress) on 127.0.0.1 and runs locust headless against it: p50/p95/p99 save
latency, errors and throughput. Phase 2 gives 10 sessions 10 seats each and fires 1,000 saves at
once from 1,000 threads: exactly 100 seats must be taken, with no overbooking and no 5xx.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crash import Server, free_port  # noqa: E402
from seed import fosdem_event, seed  # noqa: E402

from configurator import attendees, events  # noqa: E402
from configurator.db import connect  # noqa: E402


def load_phase(users: int, seconds: int, work: Path) -> None:
    db_path = work / "load.db"
    db = connect(db_path)
    event_id = fosdem_event(db)
    seeded = seed(db, event_id, 10_000)
    schema = events.compiled(db, event_id)
    sessions = [[o.id, o.start, o.end] for o in schema.sessions_by_section["agenda"]]
    first = db.execute("SELECT min(id) FROM attendees WHERE event_id = ?", [event_id]).fetchone()[0]
    tokens = [f"seed-link-{event_id}-{first + i}" for i in range(0, 10_000, 7)]
    db.conn.close()
    print(
        f"seeded {seeded.attendees} attendees, {seeded.designs} designs, {len(sessions)} sessions"
    )
    server = Server(db_path, free_port())
    server.start()
    try:
        env = dict(os.environ, LOAD_TOKENS=",".join(tokens), LOAD_SESSIONS=json.dumps(sessions))
        prefix = work / "locust"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{seconds}s",
                "--host",
                f"http://127.0.0.1:{server.port}",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            check=False,
            capture_output=True,
        )
    finally:
        server.kill()
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] in ("PUT design", "GET design", "Aggregated"):
                print(
                    f"{row['Name']:<11} requests {int(row['Request Count']):>7}  "
                    f"failures {int(row['Failure Count']):>3}  p50 {row['50%']:>4} ms  "
                    f"p95 {row['95%']:>4} ms  p99 {row['99%']:>4} ms  "
                    f"{float(row['Requests/s']):.0f} req/s"
                )


def contested_phase(work: Path) -> bool:
    from datetime import date

    from configurator.demo import demo_schema

    db_path = work / "contested.db"
    db = connect(db_path)
    doc = demo_schema(date.today())
    section = doc["sections"][0]
    section.update(overlap="allow", min=0, per_day={})
    ten = section["sessions"][:10]
    for session in ten:
        session["capacity"] = 10
    event = events.create_event(db, doc)
    events.publish(db, event["slug"])
    tokens = [
        attendees.invite(db, event["id"], f"C{i}", f"c{i}@example.org").token for i in range(1000)
    ]
    db.conn.close()
    server = Server(db_path, free_port())
    server.start()
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(1000)

    def save(n: int) -> None:
        body = json.dumps({"design": {"agenda": {ten[n % 10]["id"]: {"format": "in_person"}}}})
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/v1/designs/{tokens[n]}",
            data=body.encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.kill()
    conn = sqlite3.connect(db_path)
    taken = conn.execute("SELECT count(*) FROM picks WHERE seated = 1").fetchone()[0]
    over = conn.execute(
        "SELECT count(*) FROM (SELECT option_id FROM picks WHERE seated = 1"
        " GROUP BY option_id HAVING count(*) > 10)"
    ).fetchone()[0]
    ok, full = statuses.count(200), statuses.count(409)
    errors = sum(1 for s in statuses if s >= 500)
    print(
        f"contested: 1000 saves, {ok} seated (200), {full} full (409), {errors} server errors, "
        f"{taken} seats taken, {over} sessions over capacity"
    )
    return taken == 100 and ok == 100 and over == 0 and errors == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="load-"))
    load_phase(args.users, args.seconds, work)
    passed = contested_phase(work)
    print("RESULT", "PASS" if passed else "FAIL")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
