"""WSGI servers side by side in one run: waitress, gunicorn (gthread) and granian, each serving the
product and the bare ceiling (bench/ceiling.py), saving designs from 32 keep-alive clients.

Every server gets one process with 8 threads (as `configurator serve` has): the product's
writers queue on a per-process lock, and one process is what makes that lock the only queue.
Phases alternate server by server, round by round, so background load hits all alike; the
ratio product / ceiling is taken within each server, the ratio between servers within the run.

Run: python bench/bench_servers.py [--clients 32] [--seconds 6] [--rounds 2] [--attendees 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench_save import (
    PER_CLIENT,
    Phase,
    free_port,
    hammer,
    owned_designs,
    print_table,
    serving,
    warm,
)
from seed import FOSDEM, fosdem_event, seed

from configurator.db import connect

ROOT = Path(__file__).resolve().parents[1]


def commands(server: str, target: str, port: int, threads: int, workers: int = 1) -> list[str]:
    """The command line that serves a WSGI factory ("module:function") with one server."""
    py = sys.executable
    host = "127.0.0.1"
    if server == "waitress":
        return [py, "-m", "waitress", f"--host={host}", f"--port={port}", f"--threads={threads}"] + [
            "--ident=bench",
            "--call",
            target,
        ]
    if server == "gunicorn":
        return [py, "-m", "gunicorn", "-k", "gthread", "--workers", str(workers)] + [
            "--threads",
            str(threads),
            "--bind",
            f"{host}:{port}",
            "--keep-alive",
            "75",
            f"{target}()",
        ]
    if server == "granian":
        return [py, "-m", "granian", "--interface", "wsgi", "--workers", str(workers)] + [
            "--blocking-threads",
            str(threads),
            "--host",
            host,
            "--port",
            str(port),
            "--no-ws",
            "--factory",
            target,
        ]
    raise ValueError(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=6.0, help="per phase, all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--servers", default="waitress,gunicorn,granian")
    parser.add_argument("--workers", type=int, default=1, help="processes (gunicorn, granian)")
    args = parser.parse_args()
    if not FOSDEM.exists():
        print(f"{FOSDEM} is missing; the shared schedules sit beside the repository.")
        return 2
    servers = args.servers.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-servers-"))
    template = work / "seeded.db"
    db = connect(template)
    made = seed(db, fosdem_event(db), args.attendees)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    owned = owned_designs(template, args.clients * PER_CLIENT)
    print(
        f"FOSDEM 2025 with {made.attendees:,} attendees, {made.designs:,} designs;"
        f" {len(owned)} attendees saved by {args.clients} clients"
    )
    phases: dict[tuple[str, str], Phase] = {}
    ports: dict[tuple[str, str], int] = {}
    with ExitStack() as stack:
        for server in servers:
            for kind in ("ceiling", "product"):
                port = ports[(server, kind)] = free_port()
                env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'bench'}")
                env.pop("CONFIGURATOR_PUBLIC_URL", None)
                if kind == "product":
                    path = work / f"{server}-product.db"
                    shutil.copy(template, path)
                    env.update(CONFIGURATOR_DB=str(path), CONFIGURATOR_SECRET_KEY="bench")  # noqa: S106
                    target = "configurator:create_app"
                else:
                    env.update(CEILING_DB=str(work / f"{server}-ceiling.db"))
                    target = "ceiling:app_from_env"
                command = commands(server, target, port, args.threads, args.workers)
                stack.enter_context(serving(command, port, env, work / f"{server}-{kind}.log"))
                warm(port, owned)
                phases[(server, kind)] = Phase(f"{server}: {kind}")
        slice_seconds = args.seconds / args.rounds
        for _ in range(args.rounds):
            for server in servers:
                for kind in ("ceiling", "product"):
                    port = ports[(server, kind)]
                    hammer(port, owned, args.clients, slice_seconds, phases[(server, kind)])
    print(
        f"\n{args.clients} clients; each server one process with {args.threads} threads;"
        f" {args.rounds} alternating rounds, {args.seconds:.0f} s per phase;"
        f" Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    print_table(list(phases.values()))
    print()
    print(f"| {'server':<10} | {'product / its ceiling':>21} | {'product / waitress product':>26} |")
    print(f"|{'-' * 12}|{'-' * 22}:|{'-' * 27}:|")
    base = phases.get(("waitress", "product"))
    for server in servers:
        ceiling, product = phases[(server, "ceiling")], phases[(server, "product")]
        ratio = product.rate / ceiling.rate if ceiling.rate else 0.0
        versus = product.rate / base.rate if base and base.rate else float("nan")
        print(f"| {server:<10} | {ratio:>21.2f} | {versus:>26.2f} |")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
