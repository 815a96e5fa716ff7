"""The request's database: the calling thread's connection to the app's configured database."""

from __future__ import annotations

from flask import Flask, current_app

from ..db import Database, release_thread_connections, thread_connection


def init_app(app: Flask) -> None:
    """Give pooled connections back when each request ends (PostgreSQL; SQLite keeps its own)."""
    app.teardown_appcontext(lambda _error: release_thread_connections())


def get_db() -> Database:
    """The database of the running app, on this thread's connection."""
    return thread_connection(current_app.config["DATABASE"])
