"""Saves through the real servers: SQLite vs PostgreSQL with one server, and PostgreSQL with 1, 2
and 3 servers behind HAProxy, all in one run so the ratios share the machine's load.

Seeds the example event with 10,000 attendees into SQLite, copies it into a throwaway,
durable PostgreSQL (fsync on, as in production; Debian's server, tests/pgcluster.py) with
`configurator copy-to`, starts one `configurator serve` on SQLite and three on PostgreSQL (shared
secret key, one trusted proxy hop), and three HAProxy front ends (over the first 1, 2 and 3
PostgreSQL servers). Then 32 keep-alive clients PUT real design changes as fast as they can
(bench_save.py's hammer), target after target, round after round.

Run: python bench/bench_scaleout.py [--clients 32] [--seconds 20] [--rounds 2] [--attendees 10000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench_save import Phase, free_port, hammer, owned_designs, serving, warm
from seed import example_event, seed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
HAPROXY = "/usr/sbin/haproxy"


def haproxy_config(front: int, backends: list[int]) -> str:
    """Round robin over the given servers, as docs/deploy.md shows it."""
    lines = [
        "global",
        "  maxconn 4000",
        "defaults",
        "  mode http",
        "  timeout connect 5s",
        "  timeout client 120s",
        "  timeout server 120s",
        "  timeout queue 120s",
        "  option forwardfor",
        "  option http-keep-alive",
        "frontend web",
        f"  bind 127.0.0.1:{front}",
        "  default_backend app",
        "backend app",
        "  balance roundrobin",
    ]
    lines += [f"  server s{n} 127.0.0.1:{port} maxconn 64" for n, port in enumerate(backends)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0, help="per target, all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (as serve)")
    args = parser.parse_args()
    import pgcluster
    import psycopg

    from configurator.copy_to import copy_to
    from configurator.db import connect

    work = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    lite = work / "product.db"
    db = connect(lite)
    made = seed(db, example_event(db), args.attendees)
    db.close()
    os.environ.pop("CONFIGURATOR_TEST_POSTGRES_URL", None)
    cluster = pgcluster.start(durable=True)
    try:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
        url = pgcluster.database_url(cluster.url, "bench")
        started = time.perf_counter()
        copy_to(str(lite), url)
        copied = time.perf_counter() - started
        owned = owned_designs(lite, args.clients * 4)
        print(
            f"The example event with {made.attendees:,} attendees, {made.designs:,} designs,"
            f" {made.picks:,} picks; copy-to PostgreSQL {copied:.1f} s;"
            f" {len(owned)} attendees saved by {args.clients} clients"
        )
        base = dict(os.environ, PYTHONPATH=str(ROOT), CONFIGURATOR_FILES=str(work / "files"))
        base.pop("CONFIGURATOR_PUBLIC_URL", None)
        hosted = dict(
            base,
            CONFIGURATOR_DATABASE_URL=url,
            CONFIGURATOR_SECRET_KEY=secrets.token_hex(16),
            CONFIGURATOR_PROXY_HOPS="1",
        )
        serve = [sys.executable, "-m", "configurator", "serve", "--threads", str(args.threads)]
        targets: list[tuple[Phase, int]] = []
        with ExitStack() as stack:
            port = free_port()
            stack.enter_context(
                serving([*serve, "--port", str(port)], port, dict(base, CONFIGURATOR_DB=str(lite)), work / "sqlite.log")
            )
            targets.append((Phase("SQLite, 1 server"), port))
            pg_ports = []
            for n in range(3):
                pg_port = free_port()
                stack.enter_context(
                    serving([*serve, "--port", str(pg_port)], pg_port, hosted, work / f"pg{n}.log")
                )
                pg_ports.append(pg_port)
            targets.append((Phase("PostgreSQL, 1 server"), pg_ports[0]))
            for count in (1, 2, 3):
                front = free_port()
                config = work / f"haproxy{count}.cfg"
                config.write_text(haproxy_config(front, pg_ports[:count]))
                stack.enter_context(
                    serving([HAPROXY, "-db", "-f", str(config)], front, base, work / f"haproxy{count}.log")
                )
                targets.append((Phase(f"PostgreSQL, {count} behind HAProxy"), front))
            for _phase, target in targets:
                warm(target, owned)
            slice_seconds = args.seconds / args.rounds
            for _ in range(args.rounds):
                for phase, target in targets:
                    hammer(target, owned, args.clients, slice_seconds, phase)
        load = os.getloadavg()
        print(
            f"{args.clients} clients, waitress {args.threads} threads per server,"
            f" {args.rounds} rounds, {args.seconds:.0f} s per target; {os.cpu_count()} CPUs,"
            f" load average {load[0]:.1f} at the end; Python {sys.version.split()[0]}\n"
        )
        sqlite_rate = targets[0][0].rate
        behind_one = targets[2][0].rate
        print(
            f"| {'target':<32} | {'saves/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |"
            f" {'÷ SQLite':>8} | {'÷ 1 behind HAProxy':>18} |"
        )
        print(f"|{'-' * 34}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 7}:|{'-' * 9}:|{'-' * 19}:|")
        for n, (phase, _port) in enumerate(targets):
            versus = f"{phase.rate / behind_one:.2f}" if n >= 2 and behind_one else ""
            print(
                f"| {phase.name:<32} | {phase.rate:>8.0f} | {phase.percentile(50):>7.1f} |"
                f" {phase.percentile(99):>7.1f} | {sum(phase.errors.values()):>6} |"
                f" {phase.rate / sqlite_rate:>8.2f} | {versus:>18} |"
            )
        errors = {p.name: p.errors for p, _ in targets if p.errors}
        if errors:
            print(f"\nnon-200 answers: {errors}")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
