"""The dashboard's delivery figures: deliveries per status, satisfaction, the co-creation KPIs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compiler import CompiledSchema
from ..db import Database
from . import feedback, log


@dataclass(frozen=True)
class Rated:
    """The ratings of one session."""

    section_id: str
    option_id: str
    title: str
    co_created: bool
    count: int
    average: float


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard's delivery strip shows."""

    deliveries: dict[str, int]
    rated: list[Rated] = field(default_factory=list)
    co_created_average: float | None = None
    other_average: float | None = None
    co_created_ratings: int = 0
    other_ratings: int = 0
    kpis: list[tuple[str, int]] = field(default_factory=list)


def co_created(schema: CompiledSchema) -> set[tuple[str, str]]:
    """The sessions and options that came from attendees' proposals."""
    found = set()
    for section in schema.document["sections"]:
        items = section.get("sessions", []) + section.get("options", [])
        for item in items:
            if (item.get("source") or {}).get("system") == "proposal":
                found.add((section["id"], item["id"]))
    return found


def figures(db: Database, event_id: int, schema: CompiledSchema) -> Figures:
    """The delivery counts, satisfaction per session and the co-creation KPI strip."""
    made = co_created(schema)
    rated, pools = [], {True: [], False: []}
    for key, ratings in sorted(feedback.ratings(db, event_id).items()):
        option = schema.options.get(key)
        if option is None:
            continue
        pools[key in made] += ratings
        rated.append(
            Rated(*key, option.title, key in made, len(ratings), sum(ratings) / len(ratings))
        )
    rated.sort(key=lambda r: (-r.average, -r.count, r.title))

    def mean(values: list[int]) -> float | None:
        return sum(values) / len(values) if values else None

    return Figures(
        log.counts(db, event_id),
        rated,
        mean(pools[True]),
        mean(pools[False]),
        len(pools[True]),
        len(pools[False]),
        kpis(db, event_id),
    )


def kpis(db: Database, event_id: int) -> list[tuple[str, int]]:
    """Invited, designed, confirmed; proposals, accepted; attendees whose input changed the programme."""
    row = db.execute(
        "SELECT count(*), count(d.attendee_id), count(*) FILTER (WHERE d.status = 'confirmed')"
        " FROM attendees a LEFT JOIN designs d ON d.attendee_id = a.id"
        " WHERE a.event_id = ? AND a.revoked_at IS NULL",
        [event_id],
    ).fetchone()
    proposed = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'accepted') FROM proposals"
        " WHERE event_id = ? AND hidden_at IS NULL",
        [event_id],
    ).fetchone()
    changed = db.execute(
        "SELECT count(*) FROM (SELECT author_id AS who FROM proposals"
        " WHERE event_id = ? AND status = 'accepted' UNION SELECT s.attendee_id FROM supports s"
        " JOIN proposals p ON p.id = s.proposal_id WHERE p.event_id = ? AND p.status = 'accepted')"
        " AS contributors",
        [event_id, event_id],
    ).fetchone()[0]
    return [
        ("invited", row[0]),
        ("designed", row[1]),
        ("confirmed", row[2]),
        ("proposals", proposed[0]),
        ("accepted", proposed[1]),
        ("changed the programme", changed),
    ]
