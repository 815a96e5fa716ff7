"""The designer page and the demand dashboard at 100,000 designs, on SQLite and on PostgreSQL.

Seeds (or reuses) bench_export.py's database of the example event with 100,000 designs, copies
it into a throwaway PostgreSQL (Debian's server, tests/pgcluster.py) with `configurator copy-to`,
then renders both pages through the test client on each engine: an attendee's designer page, and
the staff dashboard (first render in the process, then with nothing changed, then right after a
save). Medians in milliseconds.

Run: python bench/bench_pg_pages.py [--designs 100000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))


def timed(work: Callable[[], None]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def pages(target: str, runs: int) -> dict[str, list[float]]:
    """Render the designer page and the dashboard on one database; times per kind of render."""
    from configurator import accounts, attendees, create_app, designs, events
    from configurator.db import connect

    db = connect(target)
    event = events.get_event(db, "commons-camp")
    email, password = f"bench-{secrets.token_hex(4)}@example.org", secrets.token_urlsafe(12)
    staff = accounts.create_account(db, email, "Bench Staff", password)
    accounts.grant(db, event["id"], staff, "staff")
    app = create_app(
        {"TESTING": True, "DATABASE": target, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    organiser, visitor = app.test_client(), app.test_client()
    organiser.post("/login", data={"email": email, "password": password})
    first_id = db.execute("SELECT min(attendee_id) FROM designs").fetchone()[0]
    # bench/seed.py makes each link's token from the event and attendee ids.
    if visitor.get(f"/a/seed-link-{event['id']}-{first_id}").status_code != 303:
        raise SystemExit("the seeded personal link did not open")

    def get(client: object, url: str) -> Callable[[], None]:
        def fetch() -> None:
            response = client.get(url)  # type: ignore[attr-defined]
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")

        return fetch

    dashboard = get(organiser, f"/events/{event['slug']}/dashboard")
    designer = get(visitor, f"/e/{event['slug']}/design")
    found: dict[str, list[float]] = {"dashboard, first render": [timed(dashboard)]}
    found["dashboard, nothing changed"] = [timed(dashboard) for _ in range(runs)]
    person = attendees.get_attendee(db, first_id + 1)
    after = []
    for n in range(runs):
        document = designs.get_design(db, person["id"])["document"]
        document.setdefault("preferences", {})["guests"] = n % 3
        designs.save_design(db, person, document)
        after.append(timed(dashboard))
    found["dashboard, right after a save"] = after
    designer()
    found["designer page"] = [timed(designer) for _ in range(runs)]
    db.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import pgcluster
    import psycopg
    from bench_export import seeded

    from configurator.copy_to import copy_to

    lite = seeded(args.designs)
    os.environ.pop("CONFIGURATOR_TEST_POSTGRES_URL", None)
    cluster = pgcluster.start(durable=True)
    try:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE pages TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
            url = pgcluster.database_url(cluster.url, "pages")
        work = Path(lite).with_suffix(".copy.db")
        work.write_bytes(Path(lite).read_bytes())  # the copy's staff account stays out of the cache
        started = time.perf_counter()
        copy_to(str(work), url)
        print(f"{args.designs:,} designs; copy-to PostgreSQL {time.perf_counter() - started:.1f} s")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        results = {"SQLite": pages(str(work), args.runs), "PostgreSQL": pages(url, args.runs)}
        work.unlink(missing_ok=True)
    finally:
        cluster.stop()
    load = os.getloadavg()[0]
    print(f"{args.runs} runs each; {os.cpu_count()} CPUs, load average {load:.1f}\n")
    print(f"| {'render':<32} | {'SQLite ms':>9} | {'PostgreSQL ms':>13} | {'PG ÷ SQLite':>11} |")
    print(f"|{'-' * 34}|{'-' * 10}:|{'-' * 14}:|{'-' * 12}:|")
    for name in results["SQLite"]:
        lite_ms = statistics.median(results["SQLite"][name])
        pg_ms = statistics.median(results["PostgreSQL"][name])
        print(f"| {name:<32} | {lite_ms:>9.1f} | {pg_ms:>13.1f} | {pg_ms / lite_ms:>11.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
