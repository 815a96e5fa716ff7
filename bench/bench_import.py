"""Time a frab import of FOSDEM 2025 (943 sessions, 40 rooms): first import and re-import.

Run: python bench/bench_import.py [--runs N]. Target: each under 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from configurator.imports import merge_into_section
from configurator.imports.frab import parse_frab

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE = ROOT.parent / "shared" / "data" / "schedules" / "fosdem-2025.xml"
TARGET_MS = 1000.0


def empty_section() -> dict:
    return {"id": "talks", "kind": "sessions", "title": "Talks"}


def timed(work: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds taken by each of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if not SCHEDULE.exists():
        print(f"{SCHEDULE} is missing; the shared schedules sit beside the repository.")
        return 2
    data = SCHEDULE.read_bytes()

    def first_import() -> dict:
        section = empty_section()
        merge_into_section(section, parse_frab(data))
        return section

    imported = first_import()
    before = json.dumps(imported, sort_keys=True)

    def reimport() -> None:
        report = merge_into_section(imported, parse_frab(data))
        if report.added or report.updated:
            raise SystemExit(f"re-import changed the section: {report}")

    rows = [
        ("parse_frab only", timed(lambda: parse_frab(data), args.runs)),
        ("parse_frab + merge (first import)", timed(first_import, args.runs)),
        ("parse_frab + merge (re-import)", timed(reimport, args.runs)),
    ]
    if json.dumps(imported, sort_keys=True) != before:
        raise SystemExit("re-import did not leave the section byte-identical")

    sessions, rooms = len(imported["sessions"]), len(imported["rooms"])
    print(f"{SCHEDULE.name}: {len(data) / 1e6:.1f} MB, {sessions} sessions, {rooms} rooms")
    print(f"{args.runs} runs, Python {sys.version.split()[0]}\n")
    print(f"| {'step':<34} | {'best ms':>8} | {'median ms':>9} |")
    print(f"|{'-' * 36}|{'-' * 9}:|{'-' * 10}:|")
    for name, times in rows:
        print(f"| {name:<34} | {min(times):>8.1f} | {statistics.median(times):>9.1f} |")
    slowest = max(statistics.median(times) for _, times in rows)
    verdict = "within" if slowest < TARGET_MS else "OVER"
    print(f"\nslowest median {slowest:.0f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    return 0 if slowest < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
