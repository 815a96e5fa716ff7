"""The demand dashboard's figures: SQL aggregates over attendees, designs, picks and waitlists.

Everything that reads designs or picks is summed per block of 1,024 attendee ids and kept per
process; a view recomputes only the blocks whose designs changed since (a block's key is its count
of designs and their latest `updated_at`, and every save or promotion rewrites `updated_at`). So a
dashboard over 100,000 designs costs a few small queries plus the blocks touched since last time.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from .compiler import CompiledSchema

BLOCK_BITS = 10  # blocks of 1,024 attendee ids (the block query shifts by this literal)
TOP_PAIRS = 10
PAIR_SESSIONS = 50  # pairs are counted among this many most-picked sessions of each section
HISTOGRAM_BINS = 10
Key = tuple[str, str]


@dataclass(frozen=True)
class Funnel:
    """How far attendees got: invited, opened their link, started a design, confirmed it."""

    invited: int
    opened: int
    started: int
    confirmed: int

    def steps(self) -> list[tuple[str, int]]:
        """The four steps with their names, in order."""
        return [
            ("Invited", self.invited),
            ("Opened their link", self.opened),
            ("Started a design", self.started),
            ("Confirmed", self.confirmed),
        ]


@dataclass(frozen=True)
class Demand:
    """Who wants one session or choice option, against its capacity."""

    section_id: str
    option_id: str
    section_title: str
    title: str
    capacity: int | None
    seated: int  # picks holding a seat
    waiting: int  # attendees on the waitlist
    unseated: int  # picks that take no seat: online or recording, or an option without capacity

    @property
    def wants_seat(self) -> int:
        """Attendees holding or waiting for a seat: the figure to set against the capacity."""
        return self.seated + self.waiting

    @property
    def picked(self) -> int:
        """Every pick, with or without a seat (waitlists not included)."""
        return self.seated + self.unseated

    @property
    def demand(self) -> int:
        """Seats held, waits and picks without a seat (one who waits while following online
        counts twice, once for the seat they want and once for how they follow meanwhile)."""
        return self.seated + self.waiting + self.unseated

    @property
    def pressure(self) -> float | None:
        """Seats wanted per seat there is (above 1: over-asked); None without a capacity."""
        return None if self.capacity is None else self.wants_seat / self.capacity


@dataclass(frozen=True)
class Pair:
    """Two sessions of one section picked together by `count` attendees."""

    section_id: str
    first: str
    second: str
    first_title: str
    second_title: str
    count: int


@dataclass(frozen=True)
class Distribution:
    """The answers to one question: (label, count) bars, with how many left it unanswered."""

    section_id: str
    question_id: str
    title: str
    kind: str
    bars: list[tuple[str, int]]
    unanswered: int


@dataclass(frozen=True)
class Dashboard:
    """Every figure of the demand dashboard."""

    funnel: Funnel
    demand: list[Demand]
    pairs: list[Pair]
    pairs_bound: int  # 0 when the pairs are exact, else the most a pair left out could count
    channels: list[tuple[str, list[Demand]]]  # per choice section: its options' picks
    distributions: list[Distribution]
    picks_per_day: list[tuple[str, int]]
    confirmations_per_day: list[tuple[str, int]]


@dataclass
class _Sums:
    """Counts that add up over blocks of designs (and subtract when a block changes)."""

    status: Counter[str] = field(default_factory=Counter)
    confirmed_days: Counter[str] = field(default_factory=Counter)
    picks: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    pick_days: Counter[str] = field(default_factory=Counter)
    answers: Counter[tuple[str, str, str, Any]] = field(default_factory=Counter)

    def add(self, other: _Sums, sign: int = 1) -> None:
        """Add (or with sign -1, take away) another block's counts."""
        for name in self.__dataclass_fields__:
            _add(getattr(self, name), getattr(other, name), sign)


def _add(mine: Counter[Any], other: Counter[Any], sign: int) -> None:
    for key, value in other.items():
        left = mine[key] + sign * value
        if left:
            mine[key] = left
        else:
            del mine[key]


BlockKey = tuple[int, str]


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    blocks: dict[int, tuple[BlockKey, _Sums]] = field(default_factory=dict)
    total: _Sums = field(default_factory=_Sums)
    # Pairs of sessions, counted only among `pair_scope` (the most-picked sessions).
    pair_scope: frozenset[Key] = frozenset()
    pair_blocks: dict[int, tuple[BlockKey, Counter[tuple[str, str, str]]]] = field(
        default_factory=dict
    )
    pairs: Counter[tuple[str, str, str]] = field(default_factory=Counter)


_caches: dict[tuple[str, int, int], _Cache] = {}
_caches_lock = threading.Lock()


def dashboard(db: sqlite_utils.Database, event_id: int, schema: CompiledSchema) -> Dashboard:
    """All figures of the event's demand dashboard, as of now."""
    cache_key = (getattr(db, "path", ""), event_id, schema.version)
    with _caches_lock:
        if cache_key not in _caches:
            # A newly published version replaces the previous one's counts.
            for old in [k for k in _caches if k[:2] == cache_key[:2]]:
                del _caches[old]
        cache = _caches.setdefault(cache_key, _Cache())
    with cache.lock:
        keys = _refresh(db, event_id, schema, cache)
        bound = _refresh_pairs(db, event_id, schema, cache, keys)
        sums = cache.total
        by_option = demand(db, event_id, schema, sums)
        pairs = popular_pairs(schema, cache.pairs)
        exact = bound == 0 or (len(pairs) == TOP_PAIRS and pairs[-1].count >= bound)
        return Dashboard(
            funnel=funnel(db, event_id, sums),
            demand=by_option,
            pairs=pairs,
            pairs_bound=0 if exact else bound,
            channels=channel_split(schema, by_option),
            distributions=distributions(schema, sums),
            picks_per_day=sorted(sums.pick_days.items()),
            confirmations_per_day=sorted(sums.confirmed_days.items()),
        )


def _refresh(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, cache: _Cache
) -> dict[int, BlockKey]:
    """Bring the cached sums up to date, recomputing only the blocks whose designs changed."""
    keys = {
        row[0]: (row[1], row[2])
        for row in db.execute(
            "SELECT attendee_id >> 10, count(*), max(updated_at) FROM designs"
            " WHERE event_id = ? GROUP BY 1",
            [event_id],
        )
    }
    for block in list(cache.blocks):
        if block not in keys:
            cache.total.add(cache.blocks.pop(block)[1], -1)
    for block, key in keys.items():
        held = cache.blocks.get(block)
        if held and held[0] == key:
            continue
        fresh = _block_sums(db, event_id, schema, block)
        if held:
            cache.total.add(held[1], -1)
        cache.total.add(fresh)
        cache.blocks[block] = (key, fresh)
    return keys


def _refresh_pairs(
    db: sqlite_utils.Database,
    event_id: int,
    schema: CompiledSchema,
    cache: _Cache,
    keys: dict[int, BlockKey],
) -> int:
    """Bring the pair counts up to date; return the most any pair left out of scope could count.

    Counting every pair is quadratic in the picks per attendee (FOSDEM-sized events have
    millions), so pairs are counted among the most-picked sessions only; a pair with any other
    session cannot count more than that session's picks, which is the bound returned.
    """
    picked: Counter[Key] = Counter()
    for (sid, oid, _seated), count in cache.total.picks.items():
        if schema.sections.get(sid, {}).get("kind") == "sessions":
            picked[(sid, oid)] += count
    scope: set[Key] = set()
    bound = 0
    for sid in {key[0] for key in picked}:
        ranked = sorted((k for k in picked if k[0] == sid), key=lambda k: (-picked[k], k))
        scope.update(ranked[:PAIR_SESSIONS])
        if len(ranked) > PAIR_SESSIONS:
            bound = max(bound, picked[ranked[PAIR_SESSIONS]])
    if scope != cache.pair_scope:
        cache.pair_scope = frozenset(scope)
        cache.pair_blocks.clear()
        cache.pairs.clear()
    for block in list(cache.pair_blocks):
        if block not in keys:
            _add(cache.pairs, cache.pair_blocks.pop(block)[1], -1)
    wanted = _json_list(f"{sid}/{oid}" for sid, oid in sorted(scope))
    for block, key in keys.items():
        held = cache.pair_blocks.get(block)
        if held and held[0] == key:
            continue
        low, high = block << BLOCK_BITS, ((block + 1) << BLOCK_BITS) - 1
        fresh: Counter[tuple[str, str, str]] = Counter()
        for sid, first, second, count in db.execute(
            "WITH p AS (SELECT attendee_id, section_id, option_id FROM picks"
            " WHERE +event_id = ? AND attendee_id BETWEEN ? AND ?"
            " AND section_id || '/' || option_id IN (SELECT value FROM json_each(?)))"
            " SELECT a.section_id, a.option_id, b.option_id, count(*) FROM p a JOIN p b"
            " ON b.attendee_id = a.attendee_id AND b.section_id = a.section_id"
            " AND b.option_id > a.option_id GROUP BY 1, 2, 3",
            [event_id, low, high, wanted],
        ):
            fresh[(sid, first, second)] = count
        if held:
            _add(cache.pairs, held[1], -1)
        _add(cache.pairs, fresh, 1)
        cache.pair_blocks[block] = (key, fresh)
    return bound


def _block_sums(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, block: int
) -> _Sums:
    """Every design-derived count of the attendees whose ids fall in one block."""
    low, high = block << BLOCK_BITS, ((block + 1) << BLOCK_BITS) - 1
    where = [event_id, low, high]
    sums = _Sums()
    for status, day, count in db.execute(
        "SELECT status, substr(confirmed_at, 1, 10), count(*) FROM designs"
        " WHERE +event_id = ? AND attendee_id BETWEEN ? AND ? GROUP BY 1, 2",
        where,
    ):
        sums.status[status] += count
        if status == "confirmed" and day:
            sums.confirmed_days[day] += count
    for sid, oid, seated, day, count in db.execute(
        "SELECT section_id, option_id, seated, substr(picked_at, 1, 10), count(*) FROM picks"
        " WHERE +event_id = ? AND attendee_id BETWEEN ? AND ? GROUP BY 1, 2, 3, 4",
        where,
    ):
        sums.picks[(sid, oid, seated)] += count
        sums.pick_days[day] += count
    for sid, section in schema.sections.items():
        wanted = [f["id"] for f in section.get("fields", []) if f["type"] in _COUNTED]
        if section["kind"] != "fields" or not wanted:
            continue
        for fid, kind, value, count in db.execute(
            "SELECT j.key, j.type, j.atom, count(*) FROM designs d,"
            " json_each(d.document, ?) j WHERE +d.event_id = ? AND d.attendee_id BETWEEN ? AND ?"
            " AND j.key IN (SELECT value FROM json_each(?)) GROUP BY 1, 2, 3",
            [f'$."{sid}"', *where, _json_list(wanted)],
        ):
            answer = kind == "true" if kind in ("true", "false") else value
            sums.answers[(sid, fid, kind, answer)] += count
    return sums


_COUNTED = ("one_of", "boolean", "number")


def _json_list(items: Any) -> str:
    return json.dumps(list(items))


def funnel(db: sqlite_utils.Database, event_id: int, sums: _Sums) -> Funnel:
    """Invited (every attendee on the list), opened, started a design, confirmed."""
    invited, opened = db.execute(
        "SELECT count(*), count(opened_at) FROM attendees WHERE event_id = ?", [event_id]
    ).fetchone()
    started = sum(sums.status.values())
    return Funnel(invited, opened, started, sums.status["confirmed"])


def demand(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, sums: _Sums
) -> list[Demand]:
    """Every session and choice option with its demand, the most over-asked first."""
    waiting = {
        (row[0], row[1]): row[2]
        for row in db.execute(
            "SELECT section_id, option_id, count(*) FROM waitlist WHERE event_id = ? GROUP BY 1, 2",
            [event_id],
        )
    }
    rows = [
        Demand(
            sid,
            oid,
            schema.sections[sid]["title"],
            option.title,
            option.capacity,
            sums.picks[(sid, oid, 1)],
            waiting.get((sid, oid), 0),
            sums.picks[(sid, oid, 0)],
        )
        for (sid, oid), option in schema.options.items()
    ]
    order = {key: n for n, key in enumerate(schema.options)}
    return sorted(
        rows,
        key=lambda d: (
            d.pressure is None,
            -(d.pressure or 0),
            -d.demand,
            order[(d.section_id, d.option_id)],
        ),
    )


def channel_split(
    schema: CompiledSchema, by_option: list[Demand]
) -> list[tuple[str, list[Demand]]]:
    """For each choice section, its options in schema order with how many picked each."""
    by_key = {(d.section_id, d.option_id): d for d in by_option}
    return [
        (sid, [by_key[(sid, o["id"])] for o in section["options"]])
        for sid, section in schema.sections.items()
        if section["kind"] == "choice"
    ]


def popular_pairs(
    schema: CompiledSchema, pairs: Counter[tuple[str, str, str]], limit: int = TOP_PAIRS
) -> list[Pair]:
    """The pairs of sessions most often picked together (within one sessions section)."""
    best = heapq.nsmallest(limit, pairs.items(), key=lambda item: (-item[1], item[0]))
    found = []
    for (sid, first, second), count in best:
        a, b = schema.options.get((sid, first)), schema.options.get((sid, second))
        if a and b:
            found.append(Pair(sid, first, second, a.title, b.title, count))
    return found


def distributions(schema: CompiledSchema, sums: _Sums) -> list[Distribution]:
    """The answers to every one-of, yes/no and number question of the fields sections."""
    started = sum(sums.status.values())
    found = []
    for sid, section in schema.sections.items():
        if section["kind"] != "fields":
            continue
        for fld in section["fields"]:
            kind = fld["type"]
            if kind not in _COUNTED:
                continue
            counts: Counter[Any] = Counter()
            for (s, f, _type, value), count in sums.answers.items():
                if (s, f) == (sid, fld["id"]):
                    counts[value] += count
            if kind == "one_of":
                known = [o["id"] for o in fld["options"]]
                bars = [(o["title"], counts[o["id"]]) for o in fld["options"]]
                bars += [(str(v), c) for v, c in sorted(counts.items()) if v not in known]
            elif kind == "boolean":
                bars = [("Yes", counts[True]), ("No", counts[False])]
            else:
                bars = histogram(counts, fld)
            answered = sum(counts.values())
            found.append(Distribution(sid, fld["id"], fld["title"], kind, bars, started - answered))
    return found


def histogram(counts: Counter[Any], fld: dict[str, Any]) -> list[tuple[str, int]]:
    """Number answers as bars: one per value for small whole-number ranges, else ten bins."""
    values = [v for v in counts if isinstance(v, int | float)]
    if not values:
        return []
    low = fld.get("min", min(values))
    high = fld.get("max", max(values))
    low, high = min(low, min(values)), max(high, max(values))
    whole = all(float(v).is_integer() for v in values) and float(low).is_integer()
    if whole and high - low < 2 * HISTOGRAM_BINS:
        return [(_num(v), counts.get(v, 0)) for v in range(int(low), int(high) + 1)]
    width = (high - low) / HISTOGRAM_BINS or 1
    bins = [0] * HISTOGRAM_BINS
    for value in values:
        bins[min(int((value - low) / width), HISTOGRAM_BINS - 1)] += counts[value]
    return [
        (f"{_num(low + i * width)}–{_num(low + (i + 1) * width)}", n) for i, n in enumerate(bins)
    ]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
