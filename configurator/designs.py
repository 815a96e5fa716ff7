"""Attendees' designs: validated saves, seats taken in one write transaction, waitlists."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import events, tallies
from .clock import stamp
from .compiler import CompiledSchema, dumps
from .db import SQLITE, Database, MissingLocks, require_locks, seat_lock, write
from .delivery import outbox, settings
from .errors import BadRequest, Conflict, DesignInvalid, NotFound, Problem, SeatTaken, WindowClosed
from .optionschema import pointer

Key = tuple[str, str]


@dataclass
class Saved:
    """What a save did: the stored status and version, warnings, who got promoted, and what the
    answer to the attendee shows (so it needs no second read)."""

    status: str
    version: int
    document: dict[str, Any]
    warnings: list[Problem]
    promoted: list[int]
    event: dict[str, Any]
    window: events.Window
    updated_at: str
    seats: list[dict[str, Any]]
    waitlists: list[dict[str, Any]]


def get_design(db: Database, attendee_id: int) -> dict[str, Any] | None:
    """The attendee's stored design row with its document parsed, or None before any save."""
    row = db.execute("SELECT * FROM designs WHERE attendee_id = ?", [attendee_id]).fetchone()
    if row is None:
        return None
    design = dict(row)
    design["document"] = json.loads(design["document"])
    return design


@dataclass
class _Held:
    """What the attendee has stored, read in one statement inside the save's transaction."""

    design: tuple[str, str | None, str] | None = None  # status, confirmed_at, document
    picks: dict[Key, tuple[str | None, bool, str]] = field(default_factory=dict)
    waiting: set[Key] = field(default_factory=set)
    latest: int | None = None  # the newest published version

    def facts(self) -> tallies.Facts | None:
        """What the stored design adds to the dashboard's tallies."""
        if self.design is None:
            return None
        status, confirmed_at, document = self.design
        picks = {k: (int(seated), at[:10]) for k, (_f, seated, at) in self.picks.items()}
        return tallies.Facts(
            status, confirmed_at[:10] if confirmed_at else None, json.loads(document), picks
        )


# One prepared read of everything a save compares against; portable SQL, fixed text.
_HELD = (
    "SELECT 'pick', section_id, option_id, format, seated, picked_at FROM picks"
    " WHERE attendee_id = ?"
    " UNION ALL SELECT 'wait', section_id, option_id, NULL, position, NULL FROM waitlist"
    " WHERE attendee_id = ?"
    " UNION ALL SELECT 'design', status, confirmed_at, document, NULL, NULL FROM designs"
    " WHERE attendee_id = ?"
    " UNION ALL SELECT 'version', NULL, NULL, NULL, max(number), NULL FROM schema_versions"
    " WHERE event_id = ?"
)


def _held(db: Database, attendee: dict[str, Any]) -> _Held:
    held = _Held()
    aid = attendee["id"]
    for kind, a, b, c, n, t in db.execute(_HELD, [aid, aid, aid, attendee["event_id"]]):
        if kind == "pick":
            held.picks[(a, b)] = (c, bool(n), t)
        elif kind == "wait":
            held.waiting.add((a, b))
        elif kind == "design":
            held.design = (a, b, c)
        else:
            held.latest = n
    return held


def save_design(
    db: Database,
    attendee: dict[str, Any],
    document: Any,
    *,
    confirm: bool = False,
    moment: datetime | None = None,
    schema: CompiledSchema | None = None,
) -> Saved:
    """Check and store an attendee's whole design, taking and freeing seats atomically.

    `schema` is the event's compiled latest version when the caller has it already; the save
    checks inside its transaction that no newer one was published meanwhile (and then checks
    the design against that one).
    """
    event = events.get_event_by_id(db, attendee["event_id"], with_draft=False)
    schema = schema or events.compiled(db, event["id"])
    window = events.window(event, schema, moment)
    if not window.open:
        raise WindowClosed(window.reason + " Your design can no longer change.")
    if attendee.get("revoked_at"):
        raise WindowClosed("This personal link has been revoked.")
    report = schema.check(document, complete=confirm)
    if report.errors:
        raise DesignInvalid(_count_sentence(report.errors), report.errors)
    settings.check_contacts(db, event["id"], schema, document)
    locks = _seat_locks(db, schema, attendee, document) | {design_lock(attendee["id"])}
    while True:
        try:
            return _save(db, schema, window, event, attendee, document, report, confirm, locks)
        except MissingLocks as more:  # seats changed hands since the guess: again, with those
            locks |= more.locks


def _save(
    db: Database,
    schema: CompiledSchema,
    window: events.Window,
    event: dict[str, Any],
    attendee: dict[str, Any],
    document: dict[str, Any],
    report: Any,
    confirm: bool,
    locks: set[str],
) -> Saved:
    """The save's one write transaction, holding the seat locks of every option it may change."""
    with write(db, locks):
        held = _held(db, attendee)
        if held.latest is not None and held.latest != schema.version:
            schema = events.compiled(db, event["id"], held.latest)
            report = schema.check(document, complete=confirm)
            if report.errors:
                raise DesignInvalid(_count_sentence(report.errors), report.errors)
        was_confirmed = held.design is not None and held.design[0] == "confirmed"
        if was_confirmed and not window.edit_after_confirm:
            raise WindowClosed(
                "Your design is confirmed, and this event does not allow changes after confirming."
            )
        now = stamp()
        wanted, freed = _sync_picks(db, schema, attendee, document, held, now)
        if confirm or was_confirmed and schema.check(document, complete=True).ok:
            status = "confirmed"
        else:
            status = "draft"
        _store(
            db,
            attendee["id"],
            event["id"],
            schema.version,
            status,
            document,
            "confirm" if confirm else "edit",
            now=now,
        )
        picks_after = {
            k: (int(seated), held.picks[k][2][:10] if k in held.picks else now[:10])
            for k, (_fmt, seated) in wanted.items()
        }
        after = tallies.Facts(
            status, now[:10] if status == "confirmed" else None, document, picks_after
        )
        tallies.add(db, event["id"], tallies.difference(schema, held.facts(), after))
        promoted = [p for key in freed for p in _promote(db, schema, event["id"], key)]
        changed = {k for k, v in wanted.items() if k not in held.picks or held.picks[k][:2] != v}
        lists = waitlists(db, attendee["id"]) if held.waiting - changed else []
    seats = [
        {"section": sid, "option": oid, "format": fmt}
        for (sid, oid), (fmt, seated) in sorted(wanted.items())
        if seated
    ]
    return Saved(
        status, schema.version, document, report.warnings, promoted, event, window, now, seats, lists
    )


def design_lock(attendee_id: int) -> str:
    """The lock that lets one change at a time at an attendee's design (and their picks)."""
    return f"design:{attendee_id}"


def _seat_locks(
    db: Database, schema: CompiledSchema, attendee: dict[str, Any], document: dict[str, Any]
) -> set[str]:
    """The seat locks a save will need: options with a capacity it newly seats or frees.

    Read before the transaction from the seats held now; the transaction checks its guess
    (require_locks). SQLite needs none: BEGIN IMMEDIATE already lets one writer in at a time.
    """
    if db.dialect == SQLITE:
        return set()
    held = {
        (r[0], r[1])
        for r in db.execute(
            "SELECT section_id, option_id FROM picks WHERE attendee_id = ? AND seated = 1",
            [attendee["id"]],
        )
    }
    wanted = {
        (sid, oid)
        for sid, value in document.items()
        if schema.sections[sid]["kind"] != "fields"
        for oid, detail in value.items()
        if schema.seated(sid, oid, detail)
    }
    return {
        seat_lock(attendee["event_id"], key)
        for key in wanted ^ held
        if key in schema.options and schema.options[key].capacity is not None
    }


def _count_sentence(problems: list[Problem]) -> str:
    n = len(problems)
    return f"Your design has {n} problem{'s' if n != 1 else ''} to fix."


def _sync_picks(
    db: Database,
    schema: CompiledSchema,
    attendee: dict[str, Any],
    document: dict[str, Any],
    held_now: _Held,
    now: str,
) -> tuple[dict[Key, tuple[str | None, bool]], list[Key]]:
    """Make the picks table match the design; raise SeatTaken if a new seat is gone.

    Returns the picks wanted, as (format, seated) per option, and the seats freed.
    """
    wanted: dict[Key, tuple[str | None, bool]] = {}
    for sid, value in document.items():
        if schema.sections[sid]["kind"] == "fields":
            continue
        for oid, detail in value.items():
            fmt = detail.get("format") if isinstance(detail, dict) else None
            wanted[(sid, oid)] = (fmt, schema.seated(sid, oid, detail))
    held = {k: (fmt, seated) for k, (fmt, seated, _at) in held_now.picks.items()}
    freed = [k for k, (_f, seated) in held.items() if seated and not wanted.get(k, (0, False))[1]]
    newly = [k for k, (_f, seated) in wanted.items() if seated and not held.get(k, (None, False))[1]]
    require_locks(
        db,
        [
            seat_lock(attendee["event_id"], key)
            for key in newly + freed
            if key in schema.options and schema.options[key].capacity is not None
        ],
    )
    full = []
    for key, (_fmt, seated) in wanted.items():
        if seated and not held.get(key, (None, False))[1]:
            capacity = schema.options[key].capacity
            if capacity is not None and seats_taken_for(db, attendee["event_id"], key) >= capacity:
                full.append(key)
    if full:
        problems = [
            Problem(
                pointer(list(k)),
                schema.title_path(list(k)),
                f"“{schema.options[k].title}” is full: join the waitlist"
                + (
                    " or choose another format"
                    if len(schema.options[k].seated_formats) < len(_formats(schema, k))
                    else ""
                ),
            )
            for k in full
        ]
        raise SeatTaken("A seat you picked was just taken by someone else.", problems)
    for key in held.keys() - wanted.keys():
        db.execute(
            "DELETE FROM picks WHERE attendee_id = ? AND section_id = ? AND option_id = ?",
            [attendee["id"], *key],
        )
    for key, (fmt, seated) in wanted.items():
        if held.get(key) == (fmt, seated):
            continue
        db.execute(
            "INSERT INTO picks (event_id, attendee_id, section_id, option_id, format, seated,"
            " picked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (attendee_id, section_id,"
            " option_id) DO UPDATE SET format = excluded.format, seated = excluded.seated",
            [attendee["event_id"], attendee["id"], *key, fmt, int(seated), now],
        )
        if key in held_now.waiting:
            db.execute(
                "DELETE FROM waitlist WHERE attendee_id = ? AND section_id = ? AND option_id = ?",
                [attendee["id"], *key],
            )
    return wanted, freed


def _formats(schema: CompiledSchema, key: Key) -> list[str]:
    section = schema.sections[key[0]]
    if section["kind"] != "sessions":
        return []
    return next(s["formats"] for s in section["sessions"] if s["id"] == key[1])


def _store(
    db: Database,
    attendee_id: int,
    event_id: int,
    version: int,
    status: str,
    document: dict[str, Any],
    reason: str,
    needs_attention: str | None = None,
    now: str | None = None,
) -> None:
    now, text = now or stamp(), dumps(document)
    db.execute(
        "INSERT INTO designs (attendee_id, event_id, version, status, document, needs_attention,"
        " started_at, updated_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (attendee_id) DO UPDATE SET version = excluded.version,"
        " status = excluded.status, document = excluded.document,"
        " needs_attention = excluded.needs_attention, updated_at = excluded.updated_at,"
        " confirmed_at = CASE WHEN excluded.status = 'confirmed'"
        "   THEN coalesce(excluded.confirmed_at, designs.confirmed_at) ELSE NULL END",
        [
            attendee_id,
            event_id,
            version,
            status,
            text,
            needs_attention,
            now,
            now,
            now if status == "confirmed" else None,
        ],
    )
    db.execute(
        "INSERT INTO design_history (attendee_id, version, status, document, reason, saved_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [attendee_id, version, status, text, reason, now],
    )


def seats_taken_for(db: Database, event_id: int, key: Key) -> int:
    """How many seats of one option are taken."""
    return db.execute(
        "SELECT count(*) FROM picks WHERE event_id = ? AND section_id = ? AND option_id = ?"
        " AND seated = 1",
        [event_id, *key],
    ).fetchone()[0]


def seats_taken(db: Database, event_id: int) -> dict[Key, int]:
    """Seats taken per option, for every option of the event that has any."""
    rows = db.execute(
        "SELECT section_id, option_id, count(*) FROM picks WHERE event_id = ? AND seated = 1"
        " GROUP BY section_id, option_id",
        [event_id],
    )
    return {(r[0], r[1]): r[2] for r in rows}


def seat_counts(db: Database, event_id: int) -> dict[tuple[str, str], int]:
    """Seats taken per option, counted again only when the database changed since last time.

    Counting scans every pick of the event (milliseconds at FOSDEM size, on every page view);
    on SQLite the door's change marker moves whenever anyone commits, so a count is reused only
    while nothing at all was written. PostgreSQL has no such marker for another server's commit:
    there every view counts (one indexed GROUP BY).
    """
    version = db.change_marker()
    if version is None:
        return seats_taken(db, event_id)
    cache: dict[int, Any] = db.__dict__.setdefault("_attendee_seat_counts", {})
    found = cache.get(event_id)
    if found is None or found[0] != version:
        found = cache[event_id] = (version, seats_taken(db, event_id))
    return found[1]


def promotion_notices(db: Database, attendee_id: int) -> list[dict[str, Any]]:
    """Seats won from a waitlist since the attendee last saved their design themselves."""
    rows = db.execute(
        "SELECT subject, body, created_at FROM outbox WHERE attendee_id = ?"
        " AND kind = 'waitlist_promoted' AND created_at > coalesce((SELECT max(saved_at)"
        " FROM design_history WHERE attendee_id = ? AND reason IN ('edit', 'confirm')), '')"
        " ORDER BY id",
        [attendee_id, attendee_id],
    )
    return [dict(r) for r in rows]


def waitlist_lengths(db: Database, event_id: int) -> dict[Key, int]:
    """How many attendees wait for each option."""
    rows = db.execute(
        "SELECT section_id, option_id, count(*) FROM waitlist WHERE event_id = ?"
        " GROUP BY section_id, option_id",
        [event_id],
    )
    return {(r[0], r[1]): r[2] for r in rows}


def waitlist_positions(db: Database, attendee_id: int) -> dict[Key, int]:
    """Where the attendee stands (1 = next) on each waitlist they joined."""
    rows = db.execute(
        "SELECT w.section_id, w.option_id, (SELECT count(*) FROM waitlist o"
        " WHERE o.event_id = w.event_id AND o.section_id = w.section_id"
        " AND o.option_id = w.option_id AND o.position <= w.position)"
        " FROM waitlist w WHERE w.attendee_id = ?",
        [attendee_id],
    )
    return {(r[0], r[1]): r[2] for r in rows}


def join_waitlist(
    db: Database,
    attendee: dict[str, Any],
    section_id: str,
    option_id: str,
    fmt: str | None = None,
    moment: datetime | None = None,
) -> int:
    """Join the waitlist of a full session; return the position (1 = next in line)."""
    event = events.get_event_by_id(db, attendee["event_id"], with_draft=False)
    schema = events.compiled(db, event["id"])
    window = events.window(event, schema, moment)
    if not window.open:
        raise WindowClosed(window.reason)
    key = (section_id, option_id)
    option = schema.options.get(key)
    if option is None or option.capacity is None:
        raise NotFound("There is no such session with limited seats.")
    if schema.sections[section_id]["kind"] == "sessions":
        fmt = fmt or next(iter(sorted(option.seated_formats)), None)
        if fmt not in option.seated_formats:
            raise BadRequest(
                "Only seats in the room have a waitlist; pick another format directly."
            )
    with write(db, [seat_lock(event["id"], key), design_lock(attendee["id"])]):
        if seats_taken_for(db, event["id"], key) < option.capacity:
            raise Conflict(f"“{option.title}” has seats left: pick it instead of waiting.")
        if db.execute(
            "SELECT 1 FROM picks WHERE attendee_id = ? AND section_id = ? AND option_id = ?"
            " AND seated = 1",
            [attendee["id"], *key],
        ).fetchone():
            raise Conflict(f"You already have a seat in “{option.title}”.")
        db.execute(
            "INSERT INTO waitlist (event_id, attendee_id, section_id, option_id, format, joined_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [event["id"], attendee["id"], *key, fmt, stamp()],
        )
    return waitlist_positions(db, attendee["id"])[key]


def leave_waitlist(
    db: Database, attendee: dict[str, Any], section_id: str, option_id: str
) -> None:
    """Leave a waitlist."""
    with write(db, [design_lock(attendee["id"])]):
        db.execute(
            "DELETE FROM waitlist WHERE attendee_id = ? AND section_id = ? AND option_id = ?",
            [attendee["id"], section_id, option_id],
        )


def _promote(
    db: Database, schema: CompiledSchema, event_id: int, key: Key
) -> list[int]:
    """Give freed seats to the first attendees waiting, in order; queue their notifications."""
    capacity = schema.options[key].capacity
    promoted: list[int] = []
    while capacity is not None and seats_taken_for(db, event_id, key) < capacity:
        waiting = db.execute(
            "SELECT * FROM waitlist WHERE event_id = ? AND section_id = ? AND option_id = ?"
            " ORDER BY position LIMIT 1",
            [event_id, *key],
        ).fetchone()
        if waiting is None:
            break
        attendee_id = waiting["attendee_id"]
        # Their design changes too: the save starts again holding their lock, in sorted order.
        require_locks(db, [design_lock(attendee_id)])
        db.execute("DELETE FROM waitlist WHERE position = ?", [waiting["position"]])
        row = db.execute(
            "SELECT status, confirmed_at, document FROM designs WHERE attendee_id = ?",
            [attendee_id],
        ).fetchone()
        document = json.loads(row["document"]) if row else {}
        old = db.execute(
            "SELECT seated, picked_at FROM picks WHERE attendee_id = ? AND section_id = ?"
            " AND option_id = ?",
            [attendee_id, *key],
        ).fetchone()
        before = (
            tallies.Facts(
                row["status"],
                row["confirmed_at"][:10] if row["confirmed_at"] else None,
                json.loads(row["document"]),
                {key: (old["seated"], old["picked_at"][:10])} if old else {},
            )
            if row
            else None
        )
        detail: dict[str, Any] = {"format": waiting["format"]} if waiting["format"] else {}
        document.setdefault(key[0], {})[key[1]] = detail
        report = schema.check(document, complete=False)
        attention = None
        if not report.ok:
            attention = "A seat you waited for is yours, but your design now needs a look: " + (
                report.errors[0].message
            )
        now = stamp()
        db.execute(
            "INSERT INTO picks (event_id, attendee_id, section_id, option_id, format, seated,"
            " picked_at) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (attendee_id, section_id,"
            " option_id) DO UPDATE SET seated = 1, format = excluded.format",
            [event_id, attendee_id, *key, waiting["format"], now],
        )
        status = row["status"] if row else "draft"
        _store(
            db,
            attendee_id,
            event_id,
            schema.version,
            status,
            document,
            "promoted from the waitlist",
            attention,
            now=now,
        )
        after = tallies.Facts(
            status,
            now[:10] if status == "confirmed" else None,
            document,
            {key: (1, old["picked_at"][:10] if old else now[:10])},
        )
        tallies.add(db, event_id, tallies.difference(schema, before, after))
        title = schema.options[key].title
        outbox.queue(
            db,
            event_id,
            [attendee_id],
            "waitlist_promoted",
            f"You have a seat: {title}",
            f"A seat in “{title}” freed up and is now yours. It is on your agenda.",
        )
        promoted.append(attendee_id)
    return promoted


def history(db: Database, attendee_id: int) -> list[dict[str, Any]]:
    """Every stored state of an attendee's design, oldest first."""
    rows = db.execute(
        "SELECT version, status, document, reason, saved_at FROM design_history"
        " WHERE attendee_id = ? ORDER BY id",
        [attendee_id],
    )
    return [dict(r, document=json.loads(r["document"])) for r in rows]


def design_state(
    db: Database,
    attendee: dict[str, Any],
    schema: CompiledSchema,
    warnings: list[Problem],
) -> dict[str, Any]:
    """The attendee's design as the API shows it (see DesignState in docs/openapi.json)."""
    event = events.get_event_by_id(db, attendee["event_id"], with_draft=False)
    stored = get_design(db, attendee["id"])
    return _state(
        event["slug"],
        stored["version"] if stored else schema.version,
        stored["status"] if stored else "none",
        stored["document"] if stored else {},
        stored["updated_at"] if stored else None,
        stored["needs_attention"] if stored else None,
        seats_held(db, attendee["id"]),
        waitlists(db, attendee["id"]),
        events.window(event, schema),
        warnings,
    )


def saved_state(saved: Saved) -> dict[str, Any]:
    """The design as the API shows it right after the attendee saved it, with no further read."""
    return _state(
        saved.event["slug"],
        saved.version,
        saved.status,
        saved.document,
        saved.updated_at,
        None,  # the attendee's own save clears any attention mark
        saved.seats,
        saved.waitlists,
        saved.window,
        saved.warnings,
    )


def _state(
    slug: str,
    version: int,
    status: str,
    document: dict[str, Any],
    updated_at: str | None,
    needs_attention: str | None,
    seats: list[dict[str, Any]],
    lists: list[dict[str, Any]],
    window: events.Window,
    warnings: list[Problem],
) -> dict[str, Any]:
    return {
        "event": slug,
        "version": version,
        "status": status,
        "design": document,
        "updated_at": updated_at,
        "needs_attention": needs_attention,
        "seats": seats,
        "waitlists": lists,
        "window": {
            "open": window.open,
            "reason": window.reason,
            "edit_after_confirm": window.edit_after_confirm,
        },
        "warnings": [{"path": w.pointer, "where": w.path, "message": w.message} for w in warnings],
    }


def seats_held(db: Database, attendee_id: int) -> list[dict[str, Any]]:
    """The seats the attendee holds, as section, option and format."""
    rows = db.execute(
        "SELECT section_id, option_id, format FROM picks WHERE attendee_id = ? AND seated = 1"
        " ORDER BY section_id, option_id",
        [attendee_id],
    )
    return [{"section": r[0], "option": r[1], "format": r[2]} for r in rows]


def waitlists(db: Database, attendee_id: int) -> list[dict[str, Any]]:
    """The waitlists the attendee is on, with their position (1 = next in line)."""
    rows = db.execute(
        "SELECT w.section_id, w.option_id, w.format, (SELECT count(*) FROM waitlist o"
        " WHERE o.event_id = w.event_id AND o.section_id = w.section_id"
        " AND o.option_id = w.option_id AND o.position <= w.position)"
        " FROM waitlist w WHERE w.attendee_id = ? ORDER BY w.position",
        [attendee_id],
    )
    return [{"section": r[0], "option": r[1], "format": r[2], "position": r[3]} for r in rows]
