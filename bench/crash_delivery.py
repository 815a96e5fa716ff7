"""Crash safety of delivery: the worker is SIGKILLed mid-batch again and again; nothing is lost.

Run: .venv/bin/python bench/crash_delivery.py [--messages 3000] [--kills 20] [--workers 1]
     [--concurrency 1]

Queues one email per attendee, starts `configurator worker` processes against a real aiosmtpd
server in this process, and SIGKILLs a worker at random moments while it sends, starting a new
one each time. Then a last worker drains what is left (the dead workers' leases run out after
--lease seconds). Counts every arrival by Message-ID: lost = messages that never arrived or whose
job is not done; repeats = arrivals beyond one per message. The documented bound is one repeat
per kill and sender (the messages in hand when the worker died), each with the same Message-ID.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_delivery import seed  # noqa: E402

from configurator.db import connect  # noqa: E402
from configurator.delivery import mailsink  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1, help="senders per worker")
    parser.add_argument("--lease", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"load: {os.getloadavg()[0]:.2f} (1-minute average before the run)")

    path = Path(tempfile.mkdtemp(prefix="crash-delivery-")) / "delivery.db"
    sink = mailsink.start(keep=False)
    arrived: Counter[str] = Counter()
    lock = threading.Lock()
    original = sink.keeper.handle_DATA

    async def counting(server, session, envelope):
        raw = bytes(envelope.original_content or envelope.content)
        for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with lock:
                    arrived[line.split(b":", 1)[1].strip().decode()] += 1
        return await original(server, session, envelope)

    sink.keeper.handle_DATA = counting  # type: ignore[method-assign]
    made, _ = seed(path, args.messages, "email", "")
    env = dict(
        os.environ, CONFIGURATOR_MAIL_URL=sink.url, CONFIGURATOR_MAIL_FROM="bench@example.org"
    )
    command = [
        sys.executable,
        "-m",
        "configurator",
        "--db",
        str(path),
        "worker",
        "--batch",
        "50",
        "--poll",
        "0.2",
        "--lease",
        str(args.lease),
        "--concurrency",
        str(args.concurrency),
    ]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    procs = [start() for _ in range(args.workers)]
    kills, mid_batch = 0, 0
    while kills < args.kills:
        before = sum(arrived.values())
        time.sleep(rng.uniform(0.8, 2.5))  # a worker starts in about a second, then sends
        if sum(arrived.values()) == before:
            continue  # still starting up: a kill now would test nothing
        victim = rng.randrange(len(procs))
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        kills += 1
        db = connect(path)
        running = db.execute("SELECT count(*) FROM jobs WHERE state = 'running'").fetchone()[0]
        left = db.execute("SELECT count(*) FROM jobs WHERE state = 'queued'").fetchone()[0]
        db.conn.close()
        mid_batch += running > 0
        procs[victim] = start()
        if left == 0 and running == 0:
            print("  every message went out before all the kills were done")
            break
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        db = connect(path)
        pending = db.execute(
            "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"
        ).fetchone()[0]
        db.conn.close()
        if pending == 0:
            break
        time.sleep(0.5)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    seconds = time.perf_counter() - started
    sink.stop()

    db = connect(path)
    states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    ids = [
        f"<delivery.{r[0]}.email.commons-camp@example.org>"
        for r in db.execute("SELECT ref_id FROM jobs WHERE kind = 'delivery'")
    ]
    db.conn.close()
    never = sum(1 for i in ids if arrived[i] == 0)
    not_done = sum(n for state, n in states.items() if state != "done")
    repeats = sum(n - 1 for n in arrived.values() if n > 1)
    print(f"messages {made:,}, kills {kills} ({mid_batch} with a batch claimed), {seconds:.1f} s")
    print(f"arrived {sum(arrived.values()):,}, distinct {len(arrived):,}, jobs {states}")
    print(f"lost: {never} never arrived, {not_done} not recorded as sent")
    bound = kills * args.concurrency
    print(f"repeats: {repeats} (bound: one per sender per kill = {bound}); same Message-ID each")
    ok = never == 0 and not_done == 0 and repeats <= bound
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
