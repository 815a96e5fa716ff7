"""The request's database: the calling thread's connection to the app's configured database."""

from __future__ import annotations

import sqlite_utils
from flask import current_app

from ..db import thread_connection


def get_db() -> sqlite_utils.Database:
    """The database of the running app, on this thread's connection."""
    return thread_connection(current_app.config["DATABASE"])
