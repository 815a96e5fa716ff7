"""The dashboard's running counts, kept in the database and changed inside each save's transaction.

Every count the dashboard reads from designs (statuses, confirmations per day, picks with and
without a seat, picks per day, answers to counted questions, pairs of sessions picked together)
is a row of `tallies`, keyed by event. A save computes what it changes
(the stored design before, inside its write transaction, against the design after) and adds
the difference in the same transaction, so the counts are exact whatever number of servers
write the database, and a fresh process reads them instead of walking every design.

Answers and pairs are counted the way the latest version defines its questions and sessions
sections (a save that raced a publish counts with the newer version, see designs.py). The
`built` row names that way of counting (`basis`): `rebuild` writes every row from the designs
in one write transaction, and publishing rebuilds only when the new version counts differently
(`carry`); the dashboard rebuilds when the rows are missing or disagree with the designs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from .compiler import CompiledSchema
from .db import Database, write

COUNTED = ("one_of", "boolean", "number")  # question types the dashboard draws
Key = tuple[str, str]
Tally = tuple[str, str, str, str]  # kind, k1, k2, k3


@dataclass(frozen=True)
class Facts:
    """What one stored design contributes: its status, confirmation day, document and picks."""

    status: str
    confirmed_day: str | None
    document: Mapping[str, Any]
    picks: Mapping[Key, tuple[int, str]]  # (section, option) -> (seated 0/1, day picked)


def contributions(schema: CompiledSchema, facts: Facts | None) -> Counter[Tally]:
    """Every count one design adds to its event's tallies."""
    return Counter(_counted(schema, facts))


def _counted(schema: CompiledSchema, facts: Facts | None) -> Iterator[Tally]:
    """Each tally one design adds one to (a generator, so Counter counts it in C)."""
    if facts is None:
        return
    yield ("status", facts.status, "", "")
    if facts.status == "confirmed" and facts.confirmed_day:
        yield ("confirmed_day", facts.confirmed_day, "", "")
    for (sid, oid), (seated, day) in facts.picks.items():
        yield ("pick", sid, oid, str(seated))
        yield ("pick_day", day, "", "")
    for sid, fid in counted_questions(schema):
        value = _answer(facts.document, sid, fid)
        if value is not None:
            yield ("answer", sid, fid, value)
    for sid, chosen in _session_picks(schema, facts.document):
        for first, second in combinations(sorted(chosen), 2):
            yield ("pair", sid, first, second)


def difference(schema: CompiledSchema, before: Facts | None, after: Facts | None) -> Counter[Tally]:
    """What replacing one stored design by another changes in the tallies (zeros left out).

    The same as contributions(after) less contributions(before), but it only looks at what
    differs: a save that changes one pick of twenty does not recount 190 pairs twice.
    """
    change: Counter[Tally] = Counter()
    for facts, sign in ((before, -1), (after, 1)):
        if facts is not None:
            change[("status", facts.status, "", "")] += sign
            if facts.status == "confirmed" and facts.confirmed_day:
                change[("confirmed_day", facts.confirmed_day, "", "")] += sign
    old_picks = before.picks if before else {}
    new_picks = after.picks if after else {}
    for key in old_picks.keys() | new_picks.keys():
        old, new = old_picks.get(key), new_picks.get(key)
        if old == new:
            continue
        for held, sign in ((old, -1), (new, 1)):
            if held is not None:
                change[("pick", *key, str(held[0]))] += sign
                change[("pick_day", held[1], "", "")] += sign
    empty: Mapping[str, Any] = {}
    old_doc = before.document if before else empty
    new_doc = after.document if after else empty
    for sid, fid in counted_questions(schema):
        old_answer, new_answer = _answer(old_doc, sid, fid), _answer(new_doc, sid, fid)
        if old_answer != new_answer:
            if old_answer is not None:
                change[("answer", sid, fid, old_answer)] -= 1
            if new_answer is not None:
                change[("answer", sid, fid, new_answer)] += 1
    old_sessions, new_sessions = dict(_session_picks(schema, old_doc)), dict(
        _session_picks(schema, new_doc)
    )
    for sid in old_sessions.keys() | new_sessions.keys():
        old_set, new_set = set(old_sessions.get(sid, ())), set(new_sessions.get(sid, ()))
        if old_set == new_set:
            continue
        old_pairs = set(combinations(sorted(old_set), 2))
        new_pairs = set(combinations(sorted(new_set), 2))
        for first, second in old_pairs - new_pairs:
            change[("pair", sid, first, second)] -= 1
        for first, second in new_pairs - old_pairs:
            change[("pair", sid, first, second)] += 1
    return Counter({k: n for k, n in change.items() if n})


def add(db: Database, event_id: int, change: Mapping[Tally, int]) -> None:
    """Add a difference to the event's tallies (inside the caller's write transaction)."""
    # In key order, so two saves on PostgreSQL lock the rows they share in the same order.
    for (kind, k1, k2, k3), n in sorted(change.items()):
        db.execute(
            "INSERT INTO tallies (event_id, kind, k1, k2, k3, n) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (event_id, kind, k1, k2, k3) DO UPDATE SET n = tallies.n + excluded.n",
            [event_id, kind, k1, k2, k3, n],
        )


def basis(schema: CompiledSchema) -> str:
    """What the version's way of counting depends on: its counted questions, its sessions
    sections (everything else is counted the same in every version)."""
    cached = schema.__dict__.get("_tally_basis")
    if cached is None:
        text = json.dumps([counted_questions(schema), _sessions_sections(schema)])
        cached = schema.__dict__["_tally_basis"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return cached


def counted_questions(schema: CompiledSchema) -> list[Key]:
    """The (section, question) pairs whose answers the dashboard counts, in schema order."""
    cached = schema.__dict__.get("_counted_questions")
    if cached is None:
        cached = schema.__dict__["_counted_questions"] = [
            (sid, f["id"])
            for sid, section in schema.sections.items()
            if section["kind"] == "fields"
            for f in section["fields"]
            if f["type"] in COUNTED
        ]
    return cached


def _answer(document: Mapping[str, Any], sid: str, fid: str) -> str | None:
    """An answer as its JSON text (so true, 1 and "1" stay apart); None when not a plain value."""
    answers = document.get(sid)
    if not isinstance(answers, dict):
        return None
    value = answers.get(fid)
    if value is None or isinstance(value, dict | list):
        return None
    return json.dumps(value, ensure_ascii=False)


def _session_picks(
    schema: CompiledSchema, document: Mapping[str, Any]
) -> Iterable[tuple[str, list[str]]]:
    for sid, value in document.items():
        section = schema.sections.get(sid)
        if section is not None and section["kind"] == "sessions" and isinstance(value, dict):
            yield sid, list(value)


def is_built(db: Database, event_id: int, schema: CompiledSchema) -> bool:
    """Whether the event's tallies are complete and counted the way this version counts."""
    return (
        db.execute(
            "SELECT 1 FROM tallies WHERE event_id = ? AND kind = 'built' AND k1 = ?",
            [event_id, basis(schema)],
        ).fetchone()
        is not None
    )


def rebuild(db: Database, event_id: int, schema: CompiledSchema) -> None:
    """Count the version's tallies afresh from every stored design, in one write transaction."""
    with write(db):
        picks: dict[int, dict[Key, tuple[int, str]]] = {}
        for attendee_id, sid, oid, seated, picked_at in db.execute(
            "SELECT attendee_id, section_id, option_id, seated, picked_at FROM picks"
            " WHERE event_id = ?",
            [event_id],
        ):
            picks.setdefault(attendee_id, {})[(sid, oid)] = (seated, picked_at[:10])
        total: Counter[Tally] = Counter()
        for attendee_id, status, confirmed_at, document in db.execute(
            "SELECT attendee_id, status, confirmed_at, document FROM designs WHERE event_id = ?",
            [event_id],
        ):
            facts = Facts(
                status,
                confirmed_at[:10] if confirmed_at else None,
                json.loads(document),
                picks.pop(attendee_id, {}),
            )
            total.update(_counted(schema, facts))
        db.execute("DELETE FROM tallies WHERE event_id = ?", [event_id])
        total[("built", basis(schema), "", "")] = 1
        for (kind, k1, k2, k3), n in total.items():
            db.execute(
                "INSERT INTO tallies (event_id, kind, k1, k2, k3, n) VALUES (?, ?, ?, ?, ?, ?)",
                [event_id, kind, k1, k2, k3, n],
            )


def carry(db: Database, event_id: int, after: CompiledSchema) -> None:
    """Keep the tallies for a newly published version when it counts as they were counted
    (nothing to write), else count them afresh; inside the caller's write transaction."""
    if not is_built(db, event_id, after):
        rebuild(db, event_id, after)


def _sessions_sections(schema: CompiledSchema) -> list[str]:
    return [sid for sid, s in schema.sections.items() if s["kind"] == "sessions"]


def read(db: Database, event_id: int) -> Counter[Tally]:
    """The event's tallies other than pairs (zeros left out)."""
    return Counter(
        {
            (kind, k1, k2, k3): n
            for kind, k1, k2, k3, n in db.execute(
                "SELECT kind, k1, k2, k3, n FROM tallies WHERE event_id = ? AND kind <> 'pair'"
                " AND n <> 0",
                [event_id],
            )
        }
    )


def top_pairs(
    db: Database, event_id: int, limit: int
) -> list[tuple[str, str, str, int]]:
    """The pairs of sessions most often picked together: (section, first, second, count)."""
    rows = db.execute(
        "SELECT k1, k2, k3, n FROM tallies WHERE event_id = ? AND kind = 'pair' AND n > 0"
        " ORDER BY n DESC, k1, k2, k3 LIMIT ?",
        [event_id, limit],
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
