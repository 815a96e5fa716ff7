"""Co-creation figures: the similar-proposals check as proposals pile up, and supports per second.

Run: .venv/bin/python bench/bench_proposals.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from configurator import events, proposals, similarity
from configurator.clock import stamp
from configurator.db import connect, write
from configurator.demo import demo_schema

WORDS = [
    "repair",
    "bike",
    "community",
    "garden",
    "data",
    "open",
    "map",
    "sensor",
    "textile",
    "knit",
    "code",
    "kids",
    "music",
    "film",
    "energy",
    "solar",
    "compost",
    "seed",
    "swap",
    "zine",
    "print",
    "wood",
    "metal",
    "solder",
    "radio",
    "mesh",
    "network",
    "privacy",
    "archive",
    "library",
    "history",
    "walk",
    "tour",
    "food",
    "bread",
    "ferment",
    "soap",
    "paint",
    "clay",
    "game",
    "board",
]


def title(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(2, 5))).capitalize()


def main() -> None:
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp())
    db = connect(folder / "bench.db")
    doc = demo_schema(date.today())
    doc["proposals"] = {"enabled": True, "max_per_attendee": 100, "supports_per_attendee": 5}
    event = events.create_event(db, doc)
    events.publish(db, event["slug"])
    with write(db):
        people = [
            db.execute(
                "INSERT INTO attendees (event_id, name, email, token_hash, feed_token_hash,"
                " invited_at) VALUES (?, ?, ?, ?, ?, ?)",
                [event["id"], f"P{n}", f"p{n}@example.org", f"t{n}", f"f{n}", stamp()],
            ).lastrowid
            for n in range(400)
        ]
    print("similar-proposals check (one call, over every visible proposal):")
    made = 0
    for target in (100, 500, 2000):
        with write(db):
            for _ in range(target - made):
                db.execute(
                    "INSERT INTO proposals (event_id, author_id, title, description, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [event["id"], rng.choice(people), title(rng), title(rng), stamp(), stamp()],
                )
        made = target
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            similarity.similar(db, event["id"], title(rng))
            timings.append((time.perf_counter() - start) * 1000)
        print(
            f"  {target:>5} proposals: median {statistics.median(timings):6.1f} ms,"
            f" max {max(timings):6.1f} ms"
        )

    ids = [r[0] for r in db.execute("SELECT id FROM proposals ORDER BY id")]
    supporters = people[:200]
    done = []
    lock = threading.Lock()

    def worker(mine: list[int]) -> None:
        conn = connect(folder / "bench.db")
        count = 0
        for attendee in mine:
            for pid in rng.sample(ids, 6):  # one more than the budget: the sixth is refused
                try:
                    proposals.support(conn, event["id"], pid, attendee)
                    count += 1
                except proposals.Conflict:
                    pass
        conn.conn.close()
        with lock:
            done.append(count)

    threads = [threading.Thread(target=worker, args=(supporters[i::8],)) for i in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    attempts = len(supporters) * 6
    over = db.execute(
        "SELECT count(*) FROM (SELECT attendee_id FROM supports GROUP BY attendee_id"
        " HAVING count(*) > 5)"
    ).fetchone()[0]
    print(
        f"supports: {attempts} attempts from 8 threads in {elapsed:.2f} s"
        f" ({attempts / elapsed:.0f}/s), {sum(done)} given, attendees over budget: {over}"
    )


if __name__ == "__main__":
    main()
