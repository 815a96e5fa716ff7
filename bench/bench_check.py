"""Time checking one design against FOSDEM 2025's compiled rules (943 sessions, 20 picked).

The check is what every save runs: the compiled JSON Schema (jsonschema-rs) and then the
cross-record checks (overlaps, per-day limits, budget, rules). For comparison the same design is
also validated with the `jsonschema` package, which the product uses only to explain failures.

Run: python bench/bench_check.py [--seconds 2]. Target: a complete check under 50 µs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seed import FOSDEM, fosdem_event

from configurator import events
from configurator.compiler import CompiledSchema, Report
from configurator.db import connect

TARGET_US = 50.0
PICKS = 20


def fosdem_schema() -> CompiledSchema:
    """FOSDEM 2025 imported into the example event's agenda, published and compiled."""
    db = connect(":memory:")
    return events.compiled(db, fosdem_event(db))


def twenty_picks(schema: CompiledSchema) -> dict[str, Any]:
    """A complete design with 20 sessions that never overlap, spread over both days."""
    section = schema.sections["agenda"]
    per_day = section["per_day"].get("max", PICKS)
    chosen: dict[str, Any] = {}
    ends: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    sessions = sorted(schema.sessions_by_section["agenda"], key=lambda o: (o.start, o.end))
    # Spread the picks: take every seventh session that fits, so both days and many rooms are hit.
    for option in sessions[::7] + sessions:
        if len(chosen) == PICKS:
            break
        if option.id in chosen or counts.get(option.day, 0) >= per_day:
            continue
        if option.start < ends.get(option.day, 0.0):
            continue
        formats = next(s["formats"] for s in section["sessions"] if s["id"] == option.id)
        fmt = "in_person" if len(chosen) % 2 and "in_person" in formats else formats[-1]
        chosen[option.id] = {"format": fmt}
        ends[option.day] = option.end
        counts[option.day] = counts.get(option.day, 0) + 1
    return {
        "agenda": dict(sorted(chosen.items(), key=lambda kv: kv[0])),
        "channels": {"sms": {"phone": "+32 470 12 34 56"}, "email": {}},
        "extras": {"dinner": {}},
        "preferences": {
            "diet": "vegetarian",
            "access": "Step-free access, please",
            "first_time": True,
            "arrival": schema.event["starts_on"],
            "guests": 1,
        },
    }


def per_call_us(work: Callable[[], object], seconds: float) -> float:
    """Best-of-five mean microseconds per call, each round running about seconds / 5."""
    work()
    started, calls = time.perf_counter(), 0
    while time.perf_counter() - started < 0.05:
        work()
        calls += 1
    batch = max(1, int(calls * seconds / 5 / 0.05))
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(batch):
            work()
        rounds.append((time.perf_counter() - started) / batch * 1e6)
    return min(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    if not FOSDEM.exists():
        print(f"{FOSDEM} is missing; the shared schedules sit beside the repository.")
        return 2
    schema = fosdem_schema()
    design = twenty_picks(schema)
    report = schema.check(design, complete=True)
    if not report.ok or len(design["agenda"]) != PICKS:
        print(f"the benchmark design is not a valid {PICKS}-pick design: {report.errors}")
        return 2
    fast, slow = schema._fast[True], schema._slow[True]

    def cross_record() -> None:
        schema._cross_record(design, True, Report())

    def python_check() -> None:
        slow.is_valid(design)
        cross_record()

    rows = [
        (
            "check(): jsonschema-rs + cross-record",
            per_call_us(lambda: schema.check(design, True), args.seconds),
        ),
        ("  jsonschema-rs is_valid", per_call_us(lambda: fast.is_valid(design), args.seconds)),
        ("  cross-record checks", per_call_us(cross_record, args.seconds)),
        ("jsonschema (Python) is_valid", per_call_us(lambda: slow.is_valid(design), args.seconds)),
        ("jsonschema (Python) + cross-record", per_call_us(python_check, args.seconds)),
    ]
    sessions = len(schema.sessions_by_section["agenda"])
    print(f"{Path(FOSDEM).name}: {sessions} sessions; design with {PICKS} picks + 3 sections")
    print(f"Python {sys.version.split()[0]}, best of 5 rounds of ~{args.seconds / 5:.1f} s\n")
    print(f"| {'what':<38} | {'µs per design':>13} |")
    print(f"|{'-' * 40}|{'-' * 14}:|")
    for name, us in rows:
        print(f"| {name:<38} | {us:>13.1f} |")
    total, rs, python, python_total = rows[0][1], rows[1][1], rows[3][1], rows[4][1]
    print(f"\njsonschema / jsonschema-rs (schema only): {python / rs:.0f}x")
    print(f"full check with jsonschema / with jsonschema-rs: {python_total / total:.1f}x")
    verdict = "within" if total < TARGET_US else "OVER"
    print(f"check() {total:.1f} µs: {verdict} the {TARGET_US:.0f} µs target")
    return 0 if total < TARGET_US else 1


if __name__ == "__main__":
    raise SystemExit(main())
