"""The ceiling for a save: a bare Flask endpoint doing one SQLite INSERT per request.

Same database settings as the product (WAL, synchronous=FULL, foreign keys, busy timeout, one
connection per thread, BEGIN IMMEDIATE behind a per-process lock, as configurator/db.py's write())
and the same waitress settings as `configurator serve`, so the gap between the two is what the
product's own work costs. `--no-lock` leaves the lock out (the product before issue 12).

Run: python bench/ceiling.py --db /tmp/ceiling.db [--port 5001] [--threads 8] [--no-lock]
Then: curl -X PUT --data '{"design": {}}' http://127.0.0.1:5001/api/v1/designs/any
Other WSGI servers load `ceiling:app_from_env()` with CEILING_DB (and CEILING_LOCK=0) set.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import threading
import time

from flask import Flask, Response, jsonify, request

from configurator.db import BUSY_TIMEOUT_MS

MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # as the product's create_app


def create_app(path: str, lock: bool = True) -> Flask:
    """A Flask app with one write endpoint over a per-thread SQLite connection."""
    app = Flask(__name__)
    local = threading.local()
    writers = threading.Lock() if lock else contextlib.nullcontext()

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn

    connection().execute(
        "CREATE TABLE IF NOT EXISTS saves (id INTEGER PRIMARY KEY, token TEXT NOT NULL,"
        " body TEXT NOT NULL, saved_at REAL NOT NULL)"
    )

    @app.put("/api/v1/designs/<token>")
    def save(token: str) -> Response:
        conn = connection()
        body = request.get_data(as_text=True)
        with writers:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO saves (token, body, saved_at) VALUES (?, ?, ?)",
                [token, body, time.time()],
            )
            conn.execute("COMMIT")
        return jsonify({"saved": True})

    return app


def app_from_env() -> Flask:
    """The ceiling app for other WSGI servers: CEILING_DB names the database."""
    return create_app(os.environ["CEILING_DB"], os.environ.get("CEILING_LOCK", "1") != "0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-lock", action="store_true", help="BEGIN IMMEDIATE without the lock")
    args = parser.parse_args()
    from waitress import serve

    print(f"Ceiling serving on http://{args.host}:{args.port}", flush=True)
    serve(
        create_app(args.db, lock=not args.no_lock),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="ceiling",
        max_request_body_size=MAX_CONTENT_LENGTH,
    )


if __name__ == "__main__":
    main()
