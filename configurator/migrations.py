"""Numbered schema steps, each applied once in one transaction and recorded in a table."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .clock import stamp
from .database import POSTGRESQL, Database

INITIAL = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    owner_id INTEGER REFERENCES accounts(id),
    draft TEXT NOT NULL,
    draft_updated_at TEXT NOT NULL,
    window_override TEXT CHECK (window_override IN ('open', 'closed')),
    registration_open INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE event_roles (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('organiser', 'staff')),
    PRIMARY KEY (event_id, account_id)
);
CREATE TABLE schema_versions (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    document TEXT NOT NULL,
    published_at TEXT NOT NULL,
    published_by INTEGER REFERENCES accounts(id),
    UNIQUE (event_id, number)
);
CREATE TABLE attendees (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    feed_token_hash TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL DEFAULT 'invited',
    invited_at TEXT NOT NULL,
    opened_at TEXT,
    revoked_at TEXT,
    UNIQUE (event_id, email)
);
CREATE TABLE designs (
    attendee_id INTEGER PRIMARY KEY REFERENCES attendees(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'confirmed')),
    document TEXT NOT NULL,
    needs_attention TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE INDEX designs_event_status ON designs(event_id, status);
CREATE TABLE design_history (
    id INTEGER PRIMARY KEY,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    reason TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
CREATE INDEX design_history_attendee ON design_history(attendee_id, id);
-- One row per picked option: what capacity is counted on and what demand is read from.
CREATE TABLE picks (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    format TEXT,
    seated INTEGER NOT NULL,
    picked_at TEXT NOT NULL,
    PRIMARY KEY (attendee_id, section_id, option_id)
);
CREATE INDEX picks_option ON picks(event_id, section_id, option_id, seated);
CREATE TABLE waitlist (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    format TEXT,
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    joined_at TEXT NOT NULL,
    UNIQUE (attendee_id, section_id, option_id)
);
CREATE INDEX waitlist_option ON waitlist(event_id, section_id, option_id, position);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id INTEGER REFERENCES attendees(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    attendee_id INTEGER REFERENCES attendees(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    attempted_at REAL NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts(key, attempted_at);
"""

PROPOSALS = """
CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    format TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN
        ('open', 'under_consideration', 'accepted', 'declined', 'merged')),
    answer_reason TEXT,
    answered_at TEXT,
    merged_into INTEGER REFERENCES proposals(id),
    hidden_at TEXT,
    hidden_reason TEXT,
    option_section TEXT,
    option_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX proposals_event ON proposals(event_id, status);
CREATE TABLE supports (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, attendee_id)
);
CREATE INDEX supports_attendee ON supports(attendee_id);
"""

# The dashboard's per-block freshness check and its funnel read only these columns: covering
# indexes answer them without touching the design documents.
DASHBOARD_INDEXES = """
CREATE INDEX designs_event_blocks ON designs(event_id, attendee_id, updated_at);
CREATE INDEX attendees_event_opened ON attendees(event_id, opened_at);
"""

# One queue for every kind of background work (deliveries, prepared exports, webhooks): see jobs.py.
JOBS = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT UNIQUE,
    event_id INTEGER REFERENCES events(id) ON DELETE CASCADE,
    attendee_id INTEGER REFERENCES attendees(id) ON DELETE CASCADE,
    ref_id INTEGER,
    topic TEXT,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after TEXT NOT NULL,
    lease_until TEXT,
    worker TEXT,
    last_error TEXT,
    result TEXT,
    done_steps INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_due ON jobs(state, run_after);
CREATE INDEX jobs_event ON jobs(event_id, kind, state);
"""

# Delivering the outbox (configurator/delivery/): each message keeps a key (planned messages are
# queued once), what it carries besides its text, and how it reaches the attendee is one job per
# channel in the job table. Per event: how to deliver; per attendee: what they opted out of and the
# feedback they gave.
DELIVERY = """
ALTER TABLE outbox ADD COLUMN key TEXT;
ALTER TABLE outbox ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX outbox_key ON outbox(key);
CREATE INDEX outbox_event ON outbox(event_id, kind, id);
CREATE TABLE delivery_settings (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE delivery_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE message_optouts (
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (attendee_id, category)
);
CREATE TABLE feedback (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id INTEGER NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (attendee_id, section_id, option_id)
);
CREATE INDEX feedback_event ON feedback(event_id, section_id, option_id);
CREATE INDEX jobs_event_topic ON jobs(event_id, kind, topic, finished_at);
CREATE INDEX jobs_ref ON jobs(kind, ref_id);
CREATE INDEX jobs_attendee ON jobs(attendee_id, kind);
"""

# A big event's draft is megabytes of JSON, and SQLite walks a long value's overflow pages to
# reach any column stored after it: every read of an event's settings paid for the whole draft.
# The draft moves to a table of its own; events keeps an empty string in its old column.
EVENT_DRAFTS = """
CREATE TABLE event_drafts (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    draft TEXT NOT NULL
);
INSERT INTO event_drafts (event_id, draft) SELECT id, draft FROM events;
UPDATE events SET draft = '';
"""

# The dashboard's counts, kept exact by every save's transaction (see tallies.py).
TALLIES = """
CREATE TABLE tallies (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    k1 TEXT NOT NULL,
    k2 TEXT NOT NULL,
    k3 TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (event_id, kind, k1, k2, k3)
);
CREATE INDEX tallies_ranked ON tallies(event_id, kind, n);
"""

# Append new steps; never edit one that has shipped. A step is one script for both engines,
# translated for PostgreSQL by postgres_statement(), or a {"sqlite": ..., "postgresql": ...} pair
# where the translation cannot say it.
STEPS: list[str | dict[str, str]] = [
    INITIAL,
    PROPOSALS,
    DASHBOARD_INDEXES,
    JOBS,
    DELIVERY,
    EVENT_DRAFTS,
    TALLIES,
]
MIGRATIONS_LOCK = "configurator:migrations"
# SQLite's NOCASE under the same name: `COLLATE NOCASE` folds to nocase, so the texts stay one.
NOCASE = (
    "CREATE COLLATION IF NOT EXISTS nocase"
    " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
)


def current(db: Database) -> int:
    """The number of the last applied step (0 for an empty database)."""
    if "migrations" not in db.table_names():
        return 0
    row = db.execute("SELECT max(step) FROM migrations").fetchone()
    return row[0] or 0


def apply(db: Database) -> int:
    """Apply every step not yet recorded, all in one transaction; return how many ran."""
    if db.dialect == POSTGRESQL:
        return _apply_postgres(db)
    conn: sqlite3.Connection = db.conn  # type: ignore[attr-defined]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations"
            " (step INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = current(db)
        for number, step in enumerate(STEPS, start=1):
            if number <= done:
                continue
            for statement in statements(script(step, "sqlite")):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations (step, applied_at) VALUES (?, ?)", [number, stamp()])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(STEPS) - done


def _apply_postgres(db: Any) -> int:
    """The same on PostgreSQL, under an advisory lock: servers started together migrate once."""
    with db.transaction([MIGRATIONS_LOCK], timeout=600):
        db.execute(NOCASE)
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations"
            " (step BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = current(db)
        for number, step in enumerate(STEPS, start=1):
            if number <= done:
                continue
            for statement in statements(script(step, POSTGRESQL)):
                db.execute(postgres_statement(statement) if isinstance(step, str) else statement)
            db.execute("INSERT INTO migrations (step, applied_at) VALUES (?, ?)", [number, stamp()])
    return len(STEPS) - done


def script(step: str | dict[str, str], dialect: str) -> str:
    """A step's script for one engine."""
    return step if isinstance(step, str) else step[dialect]


# SQLite's types and keys, said the PostgreSQL way: rowid keys become identity columns, REAL is
# 8 bytes there too, text compares byte by byte as in SQLite (ISO timestamps are compared as text).
_RULES = [
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER PRIMARY KEY(?=\s*(,|\n|$))"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b(?![^,\n]*\bCOLLATE\b)"), 'TEXT COLLATE "C"'),
]


def postgres_statement(statement: str) -> str:
    """A SQLite DDL statement of ours as PostgreSQL runs it (the few mechanical differences)."""
    for pattern, replacement in _RULES:
        statement = pattern.sub(replacement, statement)
    return statement


def statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit the open transaction)."""
    found, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            found.append(buffer.strip())
            buffer = ""
    return [s for s in found if s]
