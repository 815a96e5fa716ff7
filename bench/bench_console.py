"""Time the organiser console on a big event: FOSDEM 2025's 943 sessions and many stored designs.

Run: python bench/bench_console.py [--designs 10000] [--runs 5]
Measures, through the test client: the sessions section page (paged), saving one session (the whole
draft is checked on every save), the publish page (every stored design re-checked against the
draft), and publishing with the designs it touches marked.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from seed import fosdem_event, seed

    from configurator import accounts, create_app, events
    from configurator.db import connect
    from configurator.schema_editor import local_input

    path = Path(tempfile.mkdtemp()) / "console.db"
    db = connect(path)
    event_id = fosdem_event(db)
    seeded = seed(db, event_id, args.designs)
    event = events.get_event_by_id(db, event_id)
    email, password = f"bench-{secrets.token_hex(4)}@example.org", secrets.token_urlsafe(12)
    accounts.grant(db, event_id, accounts.create_account(db, email, "Bench", password), "organiser")
    app = create_app(
        {"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    client = app.test_client()
    client.post("/login", data={"email": email, "password": password})
    base = f"/events/{event['slug']}"
    agenda = events.draft(event)["sections"][0]
    session = agenda["sessions"][100]

    def timed(method: str, url: str, data: dict | None = None, expect: int = 200) -> float:
        started = time.perf_counter()
        response = client.open(url, method=method, data=data)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise SystemExit(f"{method} {url} answered {response.status_code}")
        return elapsed

    section_page = [timed("GET", f"{base}/schema/sections/agenda") for _ in range(args.runs)]
    filtered = [
        timed("GET", f"{base}/schema/sections/agenda/sessions?q=rust") for _ in range(args.runs)
    ]
    saves = []
    for n in range(args.runs):
        form = {
            "title": f"{session['title'][:200]} ({n})",
            "start": local_input(session["start"], "Europe/Brussels"),
            "end": local_input(session["end"], "Europe/Brussels"),
            "room": session.get("room", ""),
            "capacity": str(20 + n),
            "formats": ["in_person", "online", "recording"],
        }
        saves.append(
            timed("POST", f"{base}/schema/sections/agenda/sessions/{session['id']}", form, 303)
        )
    # Make the publish page find work: a popular session loses most of its seats.
    taken = db.execute(
        "SELECT option_id, count(*) n FROM picks WHERE event_id = ? AND seated = 1"
        " GROUP BY option_id ORDER BY n DESC LIMIT 1",
        [event_id],
    ).fetchone()
    popular = next(s for s in agenda["sessions"] if s["id"] == taken["option_id"])
    form = {
        "title": popular["title"],
        "start": local_input(popular["start"], "Europe/Brussels"),
        "end": local_input(popular["end"], "Europe/Brussels"),
        "room": popular.get("room", ""),
        "capacity": str(max(1, taken["n"] // 2)),
        "formats": ["in_person", "online", "recording"],
    }
    timed("POST", f"{base}/schema/sections/agenda/sessions/{popular['id']}", form, 303)
    publish_page = [timed("GET", f"{base}/publish") for _ in range(args.runs)]
    stamp = events.get_event_by_id(db, event_id)["draft_updated_at"]
    publish = timed("POST", f"{base}/publish", {"draft_updated_at": stamp}, 303)
    marked = db.execute(
        "SELECT count(*) FROM designs WHERE event_id = ? AND needs_attention IS NOT NULL",
        [event_id],
    ).fetchone()[0]

    print(
        f"FOSDEM 2025 agenda ({len(agenda['sessions'])} sessions), {seeded.designs:,} stored designs;"
        f" {args.runs} runs each, Python {sys.version.split()[0]}\n"
    )
    print(f"| {'action':<52} | {'best ms':>8} | {'median ms':>9} |")
    print(f"|{'-' * 54}|{'-' * 9}:|{'-' * 10}:|")
    for name, times in [
        ("sessions section page (50 a page)", section_page),
        ("sessions filtered with htmx (q=rust)", filtered),
        ("save one session (whole draft checked and stored)", saves),
        (f"publish page (re-check {seeded.designs:,} designs)", publish_page),
        (f"publish, {marked:,} designs marked for attention", [publish]),
    ]:
        print(f"| {name:<52} | {min(times):>8.0f} | {statistics.median(times):>9.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
