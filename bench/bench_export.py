"""Time each export of 100,000 designs and measure its peak memory, one subprocess per format.

Run: python bench/bench_export.py [--designs 100000] [--formats csv-wide,csv-long,...]
Seeds the example event once into /tmp (reused by later runs). Target for CSV: < 3 s, < 100 MB.
The pseudo-format `xlsx-ceiling` writes the XLSX export's first 1,000 rows over and over, from
memory, with the same writer: what XLSX costs with no reading at all.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
TMP = Path(tempfile.gettempdir())
FORMATS = ["csv-wide", "csv-long", "xlsx", "json", "roster", "channels", "ics-zip"]
XLSX_CEILING = "xlsx-ceiling"  # the XLSX writer alone on rows held in memory: the export's floor
CSV_SECONDS, CSV_MB = 3.0, 100.0


def seeded(designs: int) -> Path:
    """A database with the example event and `designs` attendees who all saved a design."""
    from seed import example_event, seed

    from configurator import migrations
    from configurator.db import connect

    # Named by the schema's migration steps too: a database seeded by other code is not reused.
    steps = hashlib.sha256("".join(migrations.STEPS).encode()).hexdigest()[:10]
    path = TMP / f"configurator-bench-{designs}-{steps}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    db = connect(partial)
    made = seed(db, example_event(db), designs, share=1.0)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    partial.rename(path)
    print(f"seeded {made.designs:,} designs, {made.picks:,} picks in {made.seconds:.1f} s")
    return path


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def xlsx_ceiling(db: Any, event: dict[str, Any], schema: Any) -> Iterator[bytes]:
    """The XLSX writer's own floor: the export's first 1,000 rows, already in memory, written
    again and again to as many rows as the export has (no database, no JSON)."""
    from configurator.exports import batches, xlsx

    headers, rows = xlsx.section_sheets(db, event["id"], schema, lambda _n: None)
    sample = list(itertools.islice(rows, 1000))
    count = batches.attendee_count(db, event["id"])
    return xlsx.xlsx_chunks((headers, (sample[n % len(sample)] for n in range(count))))


def one(path: str, fmt: str, out: str) -> None:
    """Export one format to a file in this process and print seconds and peak memory as JSON."""
    from configurator import events, exports
    from configurator.db import connect

    db = connect(path)
    event = events.get_event(db, "commons-camp")
    schema = events.compiled(db, event["id"])
    before = peak_rss_kb()
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    if fmt == XLSX_CEILING:
        chunks = xlsx_ceiling(db, event, schema)
    else:
        chunks = exports.download(db, event, schema, fmt).chunks
    with open(out, "wb") as file:
        for chunk in chunks:
            size += file.write(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = peak_rss_kb()
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "peak_kb": peak, "before_kb": before, "bytes": size}
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--one", nargs=3, metavar=("DB", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return 0
    path = seeded(args.designs)
    print(f"{args.designs:,} designs of the example event; Python {sys.version.split()[0]}\n")
    print(
        f"| {'format':<9} | {'seconds':>7} | {'CPU s':>5} | {'peak RSS MB':>11} |"
        f" {'of which before':>15} | {'size MB':>7} |"
    )
    print(f"|{'-' * 11}|{'-' * 8}:|{'-' * 6}:|{'-' * 12}:|{'-' * 16}:|{'-' * 8}:|")
    failed = False
    for fmt in args.formats.split(","):
        out = str(TMP / f"configurator-bench-export.{fmt}")
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(path), fmt, out],
            capture_output=True,
            text=True,
            check=True,
        )
        got = json.loads(done.stdout.strip().splitlines()[-1])
        peak_mb, before_mb = got["peak_kb"] / 1024, got["before_kb"] / 1024
        print(
            f"| {fmt:<9} | {got['seconds']:>7.2f} | {got['cpu']:>5.2f} | {peak_mb:>11.1f} |"
            f" {before_mb:>15.1f} |"
            f" {got['bytes'] / 1e6:>7.1f} |"
        )
        Path(out).unlink(missing_ok=True)
        if fmt.startswith("csv") and (got["seconds"] >= CSV_SECONDS or peak_mb >= CSV_MB):
            failed = True
    verdict = "OVER" if failed else "within"
    print(f"\nCSV exports: {verdict} the {CSV_SECONDS:.0f} s and {CSV_MB:.0f} MB targets")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
