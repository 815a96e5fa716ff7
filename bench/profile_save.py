"""Where one save's time goes, through the real server: a table of exclusive times per part.

Seeds FOSDEM 2025 with attendees holding designs (as bench_save.py does), serves the product
app in this process with waitress (the same settings as `configurator serve`), and has one
keep-alive client PUT changed designs one after another. Timers wrap, for this process only:
the WSGI app as the server calls it, each of Flask's before/after-request hooks (the session,
CSRF, the locale), the view, the token lookup, reading the JSON body, the compiled-schema cache,
the design check, the answer (design_state) and every SQL statement the connection runs
(BEGIN and COMMIT included, by a sqlite3.Connection subclass). Times are exclusive (a part's
children are not counted in it), so the rows add up to the client's round trip; what is left
outside the app is the HTTP client and waitress (socket, parsing, thread hand-off).

Run: python bench/profile_save.py [--saves 2000] [--attendees 10000]
"""

from __future__ import annotations

import argparse
import functools
import http.client
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


class Profile:
    """Exclusive time and calls per part, kept per thread as a stack of open parts."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.on = False

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time a block as `name`, less the parts timed inside it."""
        if not self.on:
            yield
            return
        stack = self.local.__dict__.setdefault("stack", [])
        frame = [0.0]  # time spent in children
        stack.append(frame)
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            stack.pop()
            if stack:
                stack[-1][0] += elapsed
            with self.lock:
                self.exclusive[name] += elapsed - frame[0]
                self.calls[name] += 1

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """The function, timed as `name`."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.part(name):
                return function(*args, **kwargs)

        return timed


PROFILE = Profile()
_NUMBERS = re.compile(r"\s+")


def statement_name(sql: str) -> str:
    """A statement's text cut to a readable label."""
    text = _NUMBERS.sub(" ", sql).strip()
    return "SQL " + (text if len(text) <= 78 else text[:75] + "...")


class TimedConnection(sqlite3.Connection):
    """A connection that times every statement it executes (stepping to its first row)."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        with PROFILE.part(statement_name(sql)):
            return super().execute(sql, *args)


def instrument() -> None:
    """Wrap the product's parts with timers (this process only)."""
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", TimedConnection)
        return real_connect(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]
    from configurator import attendees, compiler, designs, events
    from configurator.web.api import designs as api_designs

    events.compiled = PROFILE.wrap("compiled-schema cache (events.compiled)", events.compiled)
    attendees.by_token = PROFILE.wrap("token lookup (hash)", attendees.by_token)
    api_designs.read_json = PROFILE.wrap("read and parse the JSON body", api_designs.read_json)
    compiler.CompiledSchema.check = PROFILE.wrap(
        "the check (JSON Schema + cross-record rules)", compiler.CompiledSchema.check
    )
    designs.save_design = PROFILE.wrap("save_design (Python around its SQL)", designs.save_design)
    designs.design_state = PROFILE.wrap("the answer (design_state)", designs.design_state)


def wrap_app(app: Any) -> Any:
    """Time Flask's hooks and views on the app, and the WSGI call around them."""
    for funcs in app.before_request_funcs.values():
        funcs[:] = [PROFILE.wrap(f"Flask hook before: {f.__qualname__}", f) for f in funcs]
    for funcs in app.after_request_funcs.values():
        funcs[:] = [PROFILE.wrap(f"Flask hook after: {f.__qualname__}", f) for f in funcs]
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = PROFILE.wrap(f"view {endpoint} (its own code)", view)
    flask_wsgi = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with PROFILE.part("Flask (routing, request/response objects, jsonify, teardown)"):
            body = flask_wsgi(environ, start_response)
            chunks = list(body)
            if hasattr(body, "close"):
                body.close()
        return chunks

    app.wsgi_app = wsgi_app
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    from bench_save import free_port, owned_designs
    from seed import FOSDEM, fosdem_event, seed

    if not FOSDEM.exists():
        print(f"{FOSDEM} is missing; the shared schedules sit beside the repository.")
        return 2
    instrument()
    from waitress.server import create_server

    from configurator import create_app
    from configurator.db import connect

    work = Path(tempfile.mkdtemp(prefix="profile-save-"))
    path = work / "product.db"
    db = connect(path)
    made = seed(db, fosdem_event(db), args.attendees)
    db.conn.close()
    owned = owned_designs(path, 64)
    app = wrap_app(create_app({"DATABASE": str(path), "SECRET_KEY": "profile"}))
    port = free_port()
    server = create_server(
        app,
        host="127.0.0.1",
        port=port,
        threads=args.threads,
        ident="configurator",
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}

    def save(i: int) -> float:
        where, first, second = owned[i % len(owned)]
        body = first if (i // len(owned)) % 2 else second
        started = time.perf_counter()
        conn.request("PUT", where, body, headers)
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"save answered {response.status}")
        return elapsed

    for i in range(len(owned) * 2):
        save(i)  # warm: compiled schema, timetables, connections
    PROFILE.on = True
    trips = [save(i) for i in range(args.saves)]
    PROFILE.on = False
    server.close()
    total = sum(trips)
    inside = sum(PROFILE.exclusive.values())
    rows = sorted(PROFILE.exclusive.items(), key=lambda kv: -kv[1])
    rows.append(("HTTP client + waitress (socket, parsing, threads)", total - inside))
    per = args.saves
    statements = sum(n for name, n in PROFILE.calls.items() if name.startswith("SQL "))
    print(
        f"FOSDEM 2025, {made.attendees:,} attendees, {made.designs:,} designs; {per:,} saves by"
        f" one keep-alive client through waitress ({args.threads} threads) in this process;"
        f" Python {sys.version.split()[0]}\n"
    )
    print(f"round trip: mean {total / per * 1000:.3f} ms, median"
          f" {statistics.median(trips) * 1000:.3f} ms; {statements / per:.1f} SQL statements"
          " per save\n")
    print(f"| {'part (exclusive time)':<84} | {'calls/save':>10} | {'ms/save':>7} | {'share':>5} |")
    print(f"|{'-' * 86}|{'-' * 11}:|{'-' * 8}:|{'-' * 6}:|")
    for name, seconds in sorted(rows, key=lambda kv: -kv[1]):
        calls = PROFILE.calls.get(name, per) / per
        print(
            f"| {name:<84} | {calls:>10.1f} | {seconds / per * 1000:>7.3f} |"
            f" {seconds / total:>5.0%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
