"""Crash safety: saves from several clients while the real server is SIGKILLed at random moments.

Run:  .venv/bin/python bench/crash.py [--saves 10000] [--kills 20] [--clients 8]

Each client owns a slice of attendees and saves their designs one after another through
PUT /api/v1/designs/<token>, logging every save the server acknowledged (HTTP 200). A killer
thread SIGKILLs the server at random moments and restarts it. Afterwards the harness checks
that the database is intact, that every acknowledged save is present (in the design history, and
as the current design unless a later unacknowledged save replaced it), that no session is over
capacity and that no design is half-written (its picks match its document).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from configurator import attendees, events  # noqa: E402
from configurator.db import connect  # noqa: E402
from configurator.demo import demo_schema  # noqa: E402

SESSIONS = [
    "opening",
    "open-data-101",
    "maps",
    "sensors",
    "day2-opening",
    "textiles",
    "moderation",
    "closing",
    "facilitation",
    "datasets",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The production server (`configurator serve`) in a subprocess we can kill."""

    def __init__(self, db_path: Path, port: int) -> None:
        self.db_path, self.port, self.proc = db_path, port, None

    def start(self) -> None:
        env = dict(os.environ, CONFIGURATOR_DB=str(self.db_path))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "configurator",
                "--db",
                str(self.db_path),
                "serve",
                "--port",
                str(self.port),
                "--threads",
                "8",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def design_for(rng: random.Random) -> dict:
    picked = rng.sample(SESSIONS, rng.randint(0, 4))
    chosen = {s: {"format": rng.choice(["in_person", "in_person", "online"])} for s in picked}
    if "facilitation" in chosen:
        chosen["facilitation"] = {"format": "in_person"}
    doc = {"agenda": chosen, "channels": {rng.choice(["email", "app"]): {}}}
    if rng.random() < 0.3:
        doc["preferences"] = {"diet": rng.choice(["vegan", "none"]), "access": f"n{rng.random()}"}
    return doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--attendees", type=int, default=160)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crash-"))
    db_path = work / "crash.db"
    db = connect(db_path)
    doc = demo_schema(date.today())
    doc["sections"][0]["overlap"] = "allow"
    doc["sections"][0]["min"] = 0
    for room in doc["sections"][0]["rooms"]:
        room["capacity"] = 6  # small rooms: seats are contested all the time
    event = events.create_event(db, doc)
    events.publish(db, event["slug"])
    tokens = [
        attendees.invite(db, event["id"], f"P{i}", f"p{i}@example.org").token
        for i in range(args.attendees)
    ]
    capacities = {s["id"]: 6 for s in doc["sections"][0]["sessions"]}
    db.conn.close()

    server = Server(db_path, free_port())
    server.start()
    base = f"http://127.0.0.1:{server.port}/api/v1/designs/"
    lock = threading.Lock()
    sent = {t: [] for t in tokens}  # every document sent, in order, per attendee
    acked = {t: [] for t in tokens}  # indexes into sent[t] the server acknowledged
    counts = {"acked": 0, "refused": 0, "lost": 0, "errors5xx": 0}
    stop = threading.Event()

    def client(mine: list[str], seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            token = rng.choice(mine)
            document = design_for(rng)
            body = json.dumps({"design": document}).encode()
            sent[token].append(document)
            request = urllib.request.Request(
                base + token, data=body, method="PUT", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                with lock:
                    counts["lost"] += 1
                time.sleep(0.02)
                continue
            with lock:
                if status == 200:
                    acked[token].append(len(sent[token]) - 1)
                    counts["acked"] += 1
                    if counts["acked"] >= args.saves:
                        stop.set()
                elif status >= 500:
                    counts["errors5xx"] += 1
                else:
                    counts["refused"] += 1

    slices = [tokens[i :: args.clients] for i in range(args.clients)]
    threads = [threading.Thread(target=client, args=(s, n)) for n, s in enumerate(slices)]
    started = time.monotonic()
    for t in threads:
        t.start()
    kills = 0
    rng = random.Random(99)
    while not stop.is_set() or kills < args.kills:
        time.sleep(rng.uniform(0.2, 1.2))
        server.kill()
        kills += 1
        server.start()
        if kills >= args.kills and stop.is_set():
            break
    stop.set()
    for t in threads:
        t.join()
    server.kill()
    elapsed = time.monotonic() - started

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    ids = {r["email"]: r["id"] for r in conn.execute("SELECT id, email FROM attendees")}
    missing = wrong_current = half_written = 0
    for i, token in enumerate(tokens):
        attendee_id = ids[f"p{i}@example.org"]
        history = [
            json.loads(r[0])
            for r in conn.execute(
                "SELECT document FROM design_history WHERE attendee_id = ? ORDER BY id",
                [attendee_id],
            )
        ]
        position = 0
        for index in acked[token]:
            try:
                position = history.index(sent[token][index], position) + 1
            except ValueError:
                missing += 1
        row = conn.execute(
            "SELECT document FROM designs WHERE attendee_id = ?", [attendee_id]
        ).fetchone()
        if acked[token]:
            current = json.loads(row[0]) if row else None
            allowed = sent[token][acked[token][-1] :]
            if current not in allowed:
                wrong_current += 1
        if row:
            document = json.loads(row[0])
            picks = {
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT section_id, option_id FROM picks WHERE attendee_id = ?", [attendee_id]
                )
            }
            if picks != {(s, o) for s, v in document.items() if s != "preferences" for o in v}:
                half_written += 1
    over = [
        r
        for r in conn.execute(
            "SELECT option_id, count(*) FROM picks WHERE section_id = 'agenda' AND seated = 1"
            " GROUP BY option_id"
        )
        if r[1] > capacities[r[0]]
    ]
    print(f"saves acknowledged      {counts['acked']}")
    print(f"saves refused (4xx)     {counts['refused']}")
    print(f"requests lost in kills  {counts['lost']}")
    print(f"server errors (5xx)     {counts['errors5xx']}")
    print(f"SIGKILLs survived       {kills}")
    print(f"elapsed                 {elapsed:.1f} s")
    print(f"integrity_check         {integrity}")
    print(f"acknowledged missing    {missing}")
    print(f"current design wrong    {wrong_current}")
    print(f"half-written designs    {half_written}")
    print(f"sessions over capacity  {len(over)}")
    ok = (
        integrity == "ok"
        and not missing
        and not wrong_current
        and not half_written
        and not over
        and not counts["errors5xx"]
        and kills >= args.kills
    )
    print("RESULT", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
