"""Messages per second from the outbox to a local SMTP server and to a local webhook receiver.

Run: .venv/bin/python bench/bench_delivery.py [--messages 10000] [--channel email|webhook|both]
     [--workers 1] [--concurrency 1]

Seeds the example event with one attendee per message, queues one broadcast to all of them
(email: attendees who chose email; webhook: attendees who chose SMS, routed to a json:// URL),
then times `configurator worker --once` (in its own processes, like production) until every
message has arrived at the real receiver: an aiosmtpd server or an HTTP server in this process.
Checks that every message arrived exactly once. Target: 10,000 emails in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from configurator import attendees, events  # noqa: E402
from configurator.clock import stamp  # noqa: E402
from configurator.db import connect, write  # noqa: E402
from configurator.delivery import mailsink, outbox, settings  # noqa: E402
from configurator.demo import demo_schema  # noqa: E402

TARGET_EMAILS_PER_MINUTE = 10_000


def seed(path: Path, count: int, channel: str, hook: str) -> tuple[int, float]:
    """The example event with `count` attendees who chose email or SMS; the broadcast queued."""
    db = connect(path)
    event = events.create_event(db, demo_schema(date.today()))
    events.publish(db, event["slug"])
    schema = events.compiled(db, event["id"])
    form = {"sender_name": "Commons Camp", "route-email": "email", "reminder_minutes": "0"}
    if channel == "webhook":
        form["route-sms"] = f"json://{hook}/sms/{{phone}}"
    settings.save(db, event["id"], schema, form)
    ids = []
    with write(db):
        for n in range(count):
            person = attendees.invite(db, event["id"], f"Person {n}", f"p{n}@example.org")
            chosen = {"email": {}} if channel == "email" else {"sms": {"phone": f"+3247{n:07d}"}}
            db.execute(
                "INSERT INTO designs (attendee_id, event_id, version, status, document,"
                " started_at, updated_at) VALUES (?, ?, 1, 'draft', ?, ?, ?)",
                [
                    person.attendee["id"],
                    event["id"],
                    json.dumps({"channels": chosen}),
                    stamp(),
                    stamp(),
                ],
            )
            ids.append(person.attendee["id"])
    started = time.perf_counter()
    outbox.queue(
        db,
        event["id"],
        ids,
        "broadcast",
        "Lunch moved",
        "Lunch is at 13:00 today.\n\nSee you there!",
    )
    queued = time.perf_counter() - started
    db.conn.close()
    return len(ids), queued


class Hooks:
    """An HTTP receiver counting POSTs and their idempotency keys."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        lock = threading.Lock()
        keys = self.keys

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


def run(channel: str, count: int, workers: int, concurrency: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    path = work / "delivery.db"
    sink = mailsink.start(keep=False)
    arrived_ids: list[str] = []
    keeper = sink.keeper
    original = keeper.handle_DATA

    async def counting(server, session, envelope):  # keep each Message-ID to count repeats
        raw = bytes(envelope.original_content or envelope.content)
        head = raw.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                arrived_ids.append(line.split(b":", 1)[1].strip().decode())
        return await original(server, session, envelope)

    keeper.handle_DATA = counting  # type: ignore[method-assign]
    hooks = Hooks()
    made, queued = seed(path, count, channel, hooks.address)
    env = dict(os.environ, CONFIGURATOR_MAIL_URL=sink.url, CONFIGURATOR_DB=str(path))
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "configurator",
                "--db",
                str(path),
                "worker",
                "--once",
                "--concurrency",
                str(concurrency),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait()
    seconds = time.perf_counter() - started
    got = arrived_ids if channel == "email" else hooks.keys
    sink.stop()
    hooks.server.shutdown()
    hooks.server.server_close()
    db = connect(path)
    states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    db.conn.close()
    return {
        "messages": made,
        "queue_s": queued,
        "seconds": seconds,
        "per_s": made / seconds,
        "arrived": len(got),
        "distinct": len(set(got)),
        "states": states,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--channel", choices=["email", "webhook", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1, help="senders per worker")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1-minute average before the run)")
    print(
        f"{'channel':<8} {'messages':>9} {'workers':>7} {'queue s':>8} {'send s':>8} {'msg/s':>8} {'arrived':>8} {'repeats':>7}"
    )
    channels = ["email", "webhook"] if args.channel == "both" else [args.channel]
    ok = True
    for channel in channels:
        r = run(channel, args.messages, args.workers, args.concurrency)
        repeats = r["arrived"] - r["distinct"]
        print(
            f"{channel:<8} {r['messages']:>9,} {args.workers:>7} {r['queue_s']:>8.2f}"
            f" {r['seconds']:>8.2f} {r['per_s']:>8.0f} {r['arrived']:>8,} {repeats:>7}"
        )
        if r["distinct"] != r["messages"] or repeats:
            ok = False
            print(f"  NOT every message arrived exactly once: {r['states']}")
        if channel == "email":
            minute = r["seconds"] * TARGET_EMAILS_PER_MINUTE / r["messages"]
            met = minute < 60
            ok = ok and met
            print(
                f"  10,000 emails would take {minute:.1f} s: target < 60 s {'met' if met else 'MISSED'}"
            )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
