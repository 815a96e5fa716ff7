"""The demand dashboard's figures: the event's tallies, attendee counts and waitlists.

Everything that reads designs or picks comes from `tallies` (tallies.py), which every save
keeps exact inside its own transaction; so a dashboard over 100,000 designs, in a fresh process
or on any of several servers, costs a handful of small queries.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import tallies
from .compiler import CompiledSchema
from .db import Database, write

TOP_PAIRS = 10
# Pairs used to be counted among this many most-picked sessions only; the tallies count every
# pair, so `Dashboard.pairs_bound` is always 0 and the page's note about the bound never shows.
PAIR_SESSIONS = 50
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
    """The counts read from the event's tallies."""

    status: Counter[str] = field(default_factory=Counter)
    confirmed_days: Counter[str] = field(default_factory=Counter)
    picks: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    pick_days: Counter[str] = field(default_factory=Counter)
    answers: Counter[tuple[str, str, Any]] = field(default_factory=Counter)

    @classmethod
    def of(cls, counts: Counter[tallies.Tally]) -> _Sums:
        """Sort the tally rows into the dashboard's counters."""
        sums = cls()
        for (kind, k1, k2, k3), n in counts.items():
            if kind == "status":
                sums.status[k1] += n
            elif kind == "confirmed_day":
                sums.confirmed_days[k1] += n
            elif kind == "pick":
                sums.picks[(k1, k2, int(k3))] += n
            elif kind == "pick_day":
                sums.pick_days[k1] += n
            elif kind == "answer":
                sums.answers[(k1, k2, json.loads(k3))] += n
        return sums


def dashboard(db: Database, event_id: int, schema: CompiledSchema) -> Dashboard:
    """All figures of the event's demand dashboard, as of now."""
    _ensure_tallies(db, event_id, schema)
    sums = _Sums.of(tallies.read(db, event_id))
    by_option = demand(db, event_id, schema, sums)
    return Dashboard(
        funnel=funnel(db, event_id, sums),
        demand=by_option,
        pairs=popular_pairs(db, event_id, schema),
        pairs_bound=0,
        channels=channel_split(schema, by_option),
        distributions=distributions(schema, sums),
        picks_per_day=sorted(sums.pick_days.items()),
        confirmations_per_day=sorted(sums.confirmed_days.items()),
    )


# One statement, so one snapshot: the designs counted and the designs tallied.
_TALLIED = (
    "SELECT (SELECT count(*) FROM designs WHERE event_id = ?),"
    " (SELECT coalesce(sum(n), 0) FROM tallies WHERE event_id = ? AND kind = 'status'),"
    " (SELECT count(*) FROM tallies WHERE event_id = ? AND kind = 'built' AND k1 = ?)"
)


def _ensure_tallies(db: Database, event_id: int, schema: CompiledSchema) -> None:
    """Count the version's tallies afresh when they are missing or disagree with the designs.

    Saves keep them exact; this heals what bypassed the saves (a version published before the
    tallies existed, rows deleted by hand or by a cascade), checked again inside the write.
    """

    def fresh() -> bool:
        stored, tallied, built = db.execute(
            _TALLIED, [event_id, event_id, event_id, tallies.basis(schema)]
        ).fetchone()
        return bool(built) and stored == tallied

    if fresh():
        return
    with write(db):
        if not fresh():
            tallies.rebuild(db, event_id, schema)


def funnel(db: Database, event_id: int, sums: _Sums) -> Funnel:
    """Invited (every attendee on the list), opened, started a design, confirmed."""
    invited, opened = db.execute(
        "SELECT count(*), count(opened_at) FROM attendees WHERE event_id = ?", [event_id]
    ).fetchone()
    started = sum(sums.status.values())
    return Funnel(invited, opened, started, sums.status["confirmed"])


def demand(
    db: Database, event_id: int, schema: CompiledSchema, sums: _Sums
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
    db: Database, event_id: int, schema: CompiledSchema, limit: int = TOP_PAIRS
) -> list[Pair]:
    """The pairs of sessions most often picked together (within one sessions section)."""
    found = []
    for sid, first, second, count in tallies.top_pairs(db, event_id, limit):
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
            if kind not in tallies.COUNTED:
                continue
            counts: Counter[Any] = Counter()
            for (s, f, value), count in sums.answers.items():
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
