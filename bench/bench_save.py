"""Save-a-change round trips through the production server, beside the bare SQLite ceiling.

Seeds FOSDEM 2025 (943 sessions) with 10,000 attendees holding designs, starts the product
(`configurator serve`: waitress, 8 threads) and bench/ceiling.py (a bare Flask endpoint doing one
INSERT per request, same pragmas, same waitress settings, its writers behind the same kind of
per-process lock as the product's; and once more without the lock, as the ceiling was measured
before issue 12) as subprocesses on 127.0.0.1, then has 32 clients with keep-alive connections
PUT changes as fast as they can. Each client owns its own
attendees and alternates two versions of each one's design (a pick's format and an answer
change), so every save is a real change through PUT /api/v1/designs/<token>.

Phases alternate (ceiling, unlocked ceiling, product, ceiling ...) so background load hits all
alike.

Run: python bench/bench_save.py [--clients 32] [--seconds 10] [--rounds 2] [--attendees 10000]
Targets: product saves/s >= 0.8 x the (locked) ceiling's, product p99 < 50 ms and p99.9 < 200 ms
at 32 clients.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seed import FOSDEM, fosdem_event, seed

from configurator.db import connect

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.8
TARGET_P99_MS = 50.0
TARGET_P999_MS = 200.0
PER_CLIENT = 4


@dataclass
class Phase:
    """What one timed phase measured."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Successful saves per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """A latency percentile in milliseconds."""
        ordered = sorted(self.latencies) or [float("nan")]
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    """Run a server subprocess until the block ends; wait until it accepts connections."""
    # Its log goes to a file: waitress warns about queue depth, and a full pipe would block it.
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{command[1:4]} did not start: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def two_versions(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored design and a changed one: an unseated pick's format and an answer differ."""
    changed = copy.deepcopy(document)
    for detail in changed.get("agenda", {}).values():
        if detail.get("format") in ("online", "recording"):
            detail["format"] = "recording" if detail["format"] == "online" else "online"
            break
    answers = changed.setdefault("preferences", {})
    answers["first_time"] = not answers.get("first_time", False)
    return document, changed


def owned_designs(db_path: Path, count: int) -> list[tuple[str, bytes, bytes]]:
    """(path, body A, body B) for `count` attendees with designs, spread over the seed."""
    db = connect(db_path)
    rows = db.execute(
        "SELECT attendee_id, event_id, document FROM designs ORDER BY attendee_id"
    ).fetchall()
    step = max(1, len(rows) // count)
    owned = []
    for row in rows[::step][:count]:
        # bench/seed.py makes each link's token from the event and attendee ids.
        token = f"seed-link-{row['event_id']}-{row['attendee_id']}"
        first, second = two_versions(json.loads(row["document"]))
        owned.append(
            (
                f"/api/v1/designs/{token}",
                json.dumps({"design": first}).encode(),
                json.dumps({"design": second}).encode(),
            )
        )
    db.conn.close()
    return owned


def hammer(
    port: int, owned: list[tuple[str, bytes, bytes]], clients: int, seconds: float, phase: Phase
) -> None:
    """`clients` keep-alive connections saving as fast as they can for `seconds`."""
    gate = threading.Barrier(clients + 1)
    results: list[tuple[list[float], dict[int, int]]] = []
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}

    def client(n: int) -> None:
        mine = owned[n * PER_CLIENT : (n + 1) * PER_CLIENT]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies: list[float] = []
        errors: dict[int, int] = {}
        gate.wait()
        stop_at = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < stop_at:
            path, first, second = mine[i % len(mine)]
            body = first if (i // len(mine)) % 2 else second
            started = time.perf_counter()
            conn.request("PUT", path, body, headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status == 200:
                latencies.append(elapsed)
            else:
                errors[response.status] = errors.get(response.status, 0) + 1
            i += 1
        conn.close()
        with lock:
            results.append((latencies, errors))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    phase.seconds += time.perf_counter() - started
    for latencies, errors in results:
        phase.latencies.extend(latencies)
        for status, n in errors.items():
            phase.errors[status] = phase.errors.get(status, 0) + n


def warm(port: int, owned: list[tuple[str, bytes, bytes]]) -> None:
    """A few saves first, so each server has compiled and cached what it needs."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path, first, _ in owned[:16]:
        conn.request("PUT", path, first, {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"warm-up save failed: {response.status} {body[:500]!r}")
    conn.close()


def print_table(phases: list[Phase]) -> None:
    """The phases as a Markdown table: rate and latency percentiles."""
    print(
        f"| {'server':<44} | {'saves/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'p99.9 ms':>8} |"
        f" {'max ms':>7} | {'errors':>6} |"
    )
    print(f"|{'-' * 46}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 9}:|{'-' * 8}:|{'-' * 7}:|")
    for phase in phases:
        errors = sum(phase.errors.values())
        print(
            f"| {phase.name:<44} | {phase.rate:>8.0f} | {phase.percentile(50):>7.1f} |"
            f" {phase.percentile(99):>7.1f} | {phase.percentile(99.9):>8.1f} |"
            f" {phase.percentile(100):>7.1f} | {errors:>6} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase, all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (as serve)")
    parser.add_argument("--keep", help="keep the databases in this folder")
    args = parser.parse_args()
    if not FOSDEM.exists():
        print(f"{FOSDEM} is missing; the shared schedules sit beside the repository.")
        return 2
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-save-"))
    work.mkdir(parents=True, exist_ok=True)
    product_db, ceiling_db = work / "product.db", work / "ceiling.db"
    unlocked_db = work / "unlocked.db"
    for path in (product_db, ceiling_db, unlocked_db):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    db = connect(product_db)
    event_id = fosdem_event(db)
    made = seed(db, event_id, args.attendees)
    db.conn.close()
    owned = owned_designs(product_db, args.clients * PER_CLIENT)
    print(
        f"FOSDEM 2025 with {made.attendees} attendees, {made.designs} designs, {made.picks} picks"
        f" (seeded in {made.seconds:.1f} s); {len(owned)} attendees saved by {args.clients} clients"
    )

    env = dict(os.environ, PYTHONPATH=str(ROOT), CONFIGURATOR_DB=str(product_db))
    env.pop("CONFIGURATOR_PUBLIC_URL", None)
    product_port, ceiling_port, unlocked_port = free_port(), free_port(), free_port()
    product_cmd = [sys.executable, "-m", "configurator", "--db", str(product_db), "serve"]
    product_cmd += ["--port", str(product_port), "--threads", str(args.threads)]
    ceiling_script = [sys.executable, str(ROOT / "bench" / "ceiling.py")]
    ceiling_cmd = [*ceiling_script, "--db", str(ceiling_db), "--port", str(ceiling_port)]
    ceiling_cmd += ["--threads", str(args.threads)]
    unlocked_cmd = [*ceiling_script, "--db", str(unlocked_db), "--port", str(unlocked_port)]
    unlocked_cmd += ["--threads", str(args.threads), "--no-lock"]
    ceiling, product = Phase("ceiling: bare Flask + one INSERT"), Phase("product: PUT design")
    unlocked = Phase("ceiling without the writer lock")
    slice_seconds = args.seconds / args.rounds
    with (
        serving(product_cmd, product_port, env, work / "product.log"),
        serving(ceiling_cmd, ceiling_port, env, work / "ceiling.log"),
        serving(unlocked_cmd, unlocked_port, env, work / "unlocked.log"),
    ):
        warm(product_port, owned)
        warm(ceiling_port, owned)
        warm(unlocked_port, owned)
        for _ in range(args.rounds):
            hammer(ceiling_port, owned, args.clients, slice_seconds, ceiling)
            hammer(unlocked_port, owned, args.clients, slice_seconds, unlocked)
            hammer(product_port, owned, args.clients, slice_seconds, product)

    print(
        f"{args.clients} clients, waitress {args.threads} threads, {args.rounds} alternating"
        f" rounds, {args.seconds:.0f} s per server; Python {sys.version.split()[0]},"
        f" {os.cpu_count()} CPUs\n"
    )
    print_table([ceiling, unlocked, product])
    ratio = product.rate / ceiling.rate if ceiling.rate else 0.0
    p99, p999 = product.percentile(99), product.percentile(99.9)
    print(f"\nproduct / ceiling: {ratio:.2f} (target >= {TARGET_RATIO})")
    if unlocked.rate:
        print(f"product / ceiling without the lock: {product.rate / unlocked.rate:.2f}")
    print(f"product p99: {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms)")
    print(f"product p99.9: {p999:.1f} ms (target < {TARGET_P999_MS:.0f} ms)")
    if product.errors or ceiling.errors or unlocked.errors:
        print(f"non-200 answers: product {product.errors}, ceiling {ceiling.errors}")
    met = (
        ratio >= TARGET_RATIO
        and p99 < TARGET_P99_MS
        and p999 < TARGET_P999_MS
        and not product.errors
    )
    print("targets met" if met else "targets MISSED")
    if args.keep:
        print(f"databases kept in {work}")
    else:
        shutil.rmtree(work)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
