"""Seed an event with N attendees and their designs, fast: direct SQL in one transaction.

Every design is valid against the event's compiled schema (confirmed ones are complete), and the
picks and waitlist rows match the designs without ever going over a capacity.

Run: python bench/seed.py --db /tmp/seed.db --attendees 100000 [--event example|fosdem]
Other benchmarks import `example_event`, `fosdem_event` and `seed`.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from configurator import events, tallies
from configurator.compiler import CompiledSchema, dumps
from configurator.db import connect, write
from configurator.demo import demo_schema

ROOT = Path(__file__).resolve().parents[1]
# The shared data sits beside the repository; CONFIGURATOR_SHARED names it elsewhere (a worktree).
SHARED = Path(os.environ.get("CONFIGURATOR_SHARED", ROOT.parent / "shared"))
FOSDEM = SHARED / "data" / "schedules" / "fosdem-2025.xml"
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Eli", "Fatma", "Gus", "Hana", "Ivo", "Jun", "Kofi"]
LAST_NAMES = ["Lima", "Okafor", "Martin", "Patel", "Novak", "Chen", "Haddad", "Ruiz", "Raman"]


@dataclass
class Seeded:
    """What seeding made."""

    attendees: int
    designs: int
    confirmed: int
    picks: int
    waitlisted: int
    seconds: float


def example_event(db: sqlite_utils.Database, slug: str = "commons-camp") -> int:
    """Create and publish the example un-conference (window open today); return its id."""
    doc = demo_schema(date.today())
    doc["event"]["slug"] = slug
    created = events.create_event(db, doc)
    events.publish(db, slug)
    return created["id"]


def fosdem_event(db: sqlite_utils.Database, slug: str = "fosdem-2025") -> int:
    """The example event with FOSDEM 2025's 943 sessions as its agenda; return its id."""
    from configurator import imports

    doc = demo_schema(date.today())
    doc["event"].update(slug=slug, title="FOSDEM 2025")
    agenda = doc["sections"][0]
    agenda.update(rooms=[], sessions=[], per_day={"max": 12}, max=20)
    schedule = imports.read(FOSDEM, timezone=doc["event"]["timezone"])
    imports.merge_into_section(agenda, schedule)
    rng = random.Random(2025)
    for room in agenda["rooms"]:
        room["capacity"] = rng.choice([30, 50, 80, 120, 200, 400, 1400])
    doc["event"]["starts_on"], doc["event"]["ends_on"] = "2025-02-01", "2025-02-02"
    imports.widen_event_days(doc, schedule)
    doc["rules"] = [r for r in doc["rules"] if not r["if"].startswith("agenda/")]
    doc["rules"] = [r for r in doc["rules"] if "agenda/sensors" not in r.get("requires", [])]
    doc["event"]["window"] = {"edit_after_confirm": True}
    created = events.create_event(db, doc)
    events.publish(db, slug)
    return created["id"]


class _Weighted:
    """Draw items by a Zipf-like popularity, so some options are far more wanted than others."""

    def __init__(self, items: list[Any], rng: random.Random) -> None:
        self.items = items[:]
        rng.shuffle(self.items)
        self.cumulative = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(items))))
        self.rng = rng

    def draw(self) -> Any:
        point = self.rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect(self.cumulative, point)]


def seed(
    db: sqlite_utils.Database,
    event_id: int,
    count: int,
    *,
    seed_value: int = 0,
    days: int = 30,
    share: float = 0.83,
) -> Seeded:
    """Add `count` attendees to the event, `share` of them with a design, in one transaction."""
    started = time.perf_counter()
    schema = events.compiled(db, event_id)
    rng = random.Random(seed_value)
    end = datetime.now(UTC).replace(microsecond=0)
    begin = end - timedelta(days=days)
    span = (end - begin).total_seconds()
    seats: dict[tuple[str, str], int] = {}
    pickers = {
        sid: _Weighted(schema.sessions_by_section[sid], rng)
        for sid, s in schema.sections.items()
        if s["kind"] == "sessions" and schema.sessions_by_section[sid]
    }
    first_id = (db.execute("SELECT max(id) FROM attendees").fetchone()[0] or 0) + 1
    attendee_rows, design_rows, pick_rows, waitlist_rows = [], [], [], []
    for n in range(count):
        attendee_id = first_id + n
        invited = begin + timedelta(seconds=rng.random() * span * 0.3)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {attendee_id}"
        opened = invited + timedelta(seconds=rng.random() * 86400 * 3)
        designs = rng.random() < share
        opens = designs or rng.random() < 0.4
        attendee_rows.append(
            (
                attendee_id,
                event_id,
                name,
                f"person{attendee_id}@example.org",
                _hash(f"seed-link-{event_id}-{attendee_id}"),
                _hash(f"seed-feed-{event_id}-{attendee_id}"),
                _stamp(invited),
                _stamp(opened) if opens else None,
            )
        )
        if not designs:
            continue
        saved = opened + timedelta(seconds=rng.random() * (end - opened).total_seconds())
        document, waits = _design(schema, pickers, seats, rng, attendee_id)
        complete = schema.check(document, complete=True).ok
        if not complete and not schema.check(document, complete=False).ok:
            continue
        status = "confirmed" if complete and rng.random() < 0.75 else "draft"
        for sid, value in document.items():
            if schema.sections[sid]["kind"] == "fields":
                continue
            for oid, detail in value.items():
                seated = schema.seated(sid, oid, detail)
                if seated:
                    seats[(sid, oid)] = seats.get((sid, oid), 0) + 1
                picked = opened + timedelta(seconds=rng.random() * (saved - opened).total_seconds())
                pick_rows.append(
                    (event_id, attendee_id, sid, oid, detail.get("format"), int(seated))
                    + (_stamp(picked),)
                )
        for (sid, oid), fmt in waits.items():
            waitlist_rows.append((event_id, attendee_id, sid, oid, fmt, _stamp(saved)))
        design_rows.append(
            (
                attendee_id,
                event_id,
                schema.version,
                status,
                dumps(document),
                _stamp(opened),
                _stamp(saved),
                _stamp(saved) if status == "confirmed" else None,
            )
        )
    with write(db):
        db.conn.executemany(
            "INSERT INTO attendees (id, event_id, name, email, token_hash, feed_token_hash,"
            " invited_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            attendee_rows,
        )
        db.conn.executemany(
            "INSERT INTO designs (attendee_id, event_id, version, status, document, started_at,"
            " updated_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            design_rows,
        )
        db.conn.executemany(
            "INSERT INTO picks (event_id, attendee_id, section_id, option_id, format, seated,"
            " picked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            pick_rows,
        )
        db.conn.executemany(
            "INSERT INTO waitlist (event_id, attendee_id, section_id, option_id, format,"
            " joined_at) VALUES (?, ?, ?, ?, ?, ?)",
            waitlist_rows,
        )
        # The rows went in without save_design: count the dashboard's tallies as saves would have.
        tallies.rebuild(db, event_id, schema)
    return Seeded(
        count,
        len(design_rows),
        sum(1 for r in design_rows if r[3] == "confirmed"),
        len(pick_rows),
        len(waitlist_rows),
        time.perf_counter() - started,
    )


def _design(
    schema: CompiledSchema,
    pickers: dict[str, _Weighted],
    seats: dict[tuple[str, str], int],
    rng: random.Random,
    attendee_id: int,
) -> tuple[dict[str, Any], dict[tuple[str, str], str | None]]:
    """One attendee's design that never takes a seat that is gone, and the waitlists they join."""
    document: dict[str, Any] = {}
    waits: dict[tuple[str, str], str | None] = {}
    spent = 0
    budget = schema.budget["total"] if schema.budget else None
    for sid, section in schema.sections.items():
        kind = section["kind"]
        if kind == "sessions" and sid in pickers:
            wanted = rng.randint(section["min"], section.get("max") or section["min"] + 5)
            per_day_max = section["per_day"].get("max")
            chosen: dict[str, Any] = {}
            taken: list[tuple[float, float]] = []
            per_day: dict[Any, int] = {}
            for _ in range(wanted * 4):
                if len(chosen) >= wanted:
                    break
                option = pickers[sid].draw()
                if option.id in chosen or spent + option.cost > (budget or 10**9):
                    continue
                if per_day_max is not None and per_day.get(option.day, 0) >= per_day_max:
                    continue
                if section["overlap"] == "forbid" and any(
                    option.start < e and s < option.end for s, e in taken
                ):
                    continue
                formats = _session_formats(section, option.id)
                fmt = rng.choice(formats)
                if fmt in option.seated_formats and not _seat_left(option, seats, chosen, sid):
                    others = [f for f in formats if f not in option.seated_formats]
                    if rng.random() < 0.3:
                        waits[(sid, option.id)] = fmt
                    if not others:
                        continue
                    fmt = rng.choice(others)
                chosen[option.id] = {"format": fmt}
                taken.append((option.start, option.end))
                per_day[option.day] = per_day.get(option.day, 0) + 1
                spent += option.cost
            if chosen:
                document[sid] = chosen
        elif kind == "choice":
            options = section["options"]
            low, high = section["min"], section.get("max", len(options))
            picked: dict[str, Any] = {}
            for option in rng.sample(options, k=min(len(options), rng.randint(low, high))):
                key = (sid, option["id"])
                capacity = schema.options[key].capacity
                if capacity is not None and seats.get(key, 0) >= capacity:
                    if rng.random() < 0.3:
                        waits[(sid, option["id"])] = None
                    continue
                if budget is not None and spent + option["cost"] > budget:
                    continue
                spent += option["cost"]
                picked[option["id"]] = {
                    f["id"]: _answer(f, rng, attendee_id, schema) for f in option["follow_up"]
                }
            _apply_rules(schema, sid, picked, document)
            if picked or section["required"]:
                document[sid] = picked
        elif kind == "fields":
            answers = {}
            for f in section["fields"]:
                if f.get("required") or rng.random() < 0.6:
                    answers[f["id"]] = _answer(f, rng, attendee_id, schema)
            document[sid] = answers
    return document, waits


def _session_formats(section: dict[str, Any], session_id: str) -> list[str]:
    return next(s["formats"] for s in section["sessions"] if s["id"] == session_id)


def _seat_left(option: Any, seats: dict[tuple[str, str], int], chosen: dict, sid: str) -> bool:
    return option.capacity is None or seats.get((sid, option.id), 0) < option.capacity


def _apply_rules(
    schema: CompiledSchema, sid: str, picked: dict[str, Any], document: dict[str, Any]
) -> None:
    """Drop picks of this section whose rules are not met, so the design stays valid."""

    def has(ref: str) -> bool:
        other_sid, other_oid = ref.split("/", 1)
        return other_oid in (picked if other_sid == sid else document.get(other_sid, {}))

    for rule in schema.rules:
        rule_sid, rule_oid = rule["if"].split("/", 1)
        if rule_sid != sid or rule_oid not in picked:
            continue
        if not all(has(r) for r in rule.get("requires", [])) or any(
            has(r) for r in rule.get("excludes", [])
        ):
            del picked[rule_oid]


def _answer(field: dict[str, Any], rng: random.Random, n: int, schema: CompiledSchema) -> Any:
    kind = field["type"]
    if kind == "one_of":
        weights = [1 / (i + 1) for i in range(len(field["options"]))]
        return rng.choices([o["id"] for o in field["options"]], weights)[0]
    if kind == "boolean":
        return rng.random() < 0.4
    if kind == "number":
        low, high = int(field.get("min", 0)), int(field.get("max", 10))
        return min(rng.randint(low, low + 3), high)
    if kind == "date":
        return schema.event["starts_on"]
    return {
        "phone": f"+32 470 {n % 1000:03d} {n % 997:03d}",
        "email": f"person{n}@example.org",
        "handle": f"@person_{n}",
        "url": f"https://example.org/{n}",
    }.get(field.get("format", ""), rng.choice(["", "Step-free access, please", "Quiet room"]))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--attendees", type=int, default=1000)
    parser.add_argument("--event", choices=["example", "fosdem"], default="example")
    parser.add_argument("--share", type=float, default=0.83, help="share with a design")
    args = parser.parse_args()
    db = connect(args.db)
    if args.event == "fosdem" and not FOSDEM.exists():
        print(f"{FOSDEM} is missing; the shared schedules sit beside the repository.")
        return 2
    event_id = example_event(db) if args.event == "example" else fosdem_event(db)
    made = seed(db, event_id, args.attendees, share=args.share)
    print(
        f"seeded {made.attendees} attendees, {made.designs} designs ({made.confirmed} confirmed),"
        f" {made.picks} picks, {made.waitlisted} waitlist entries in {made.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
