"""The attendee's live summary: picks used and left, budget, conflicts and what still needs doing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .compiler import CompiledSchema, Option, day_name
from .errors import Problem
from .optionschema import pointer

Key = tuple[str, str]


@dataclass(frozen=True)
class SectionCount:
    """How many picks a sessions or choice section holds, against its bounds."""

    id: str
    title: str
    kind: str
    used: int
    min: int
    max: int | None

    @property
    def left(self) -> int | None:
        """Picks still allowed, or None when there is no upper bound."""
        return None if self.max is None else max(self.max - self.used, 0)


@dataclass(frozen=True)
class DayCount:
    """How many sessions of a section fall on one day, against its per-day bounds."""

    section_id: str
    day: date
    used: int
    min: int
    max: int | None

    @property
    def label(self) -> str:
        """The day as people say it."""
        return day_name(self.day)

    @property
    def left(self) -> int | None:
        """Sessions still allowed on this day, or None without a per-day maximum."""
        return None if self.max is None else max(self.max - self.used, 0)


@dataclass(frozen=True)
class Budget:
    """Points spent and left."""

    title: str
    total: int
    used: int

    @property
    def left(self) -> int:
        """Points not yet spent (negative when over budget)."""
        return self.total - self.used


@dataclass(frozen=True)
class Overlap:
    """Two picked sessions of one section that run at the same time."""

    section_id: str
    first: Option
    second: Option
    policy: str


@dataclass(frozen=True)
class Waiting:
    """A waitlist the attendee stands on."""

    key: Key
    title: str
    position: int
    seat_free: bool


@dataclass
class Summary:
    """Everything the summary panel shows, computed from the schema and one design."""

    sections: list[SectionCount]
    days: list[DayCount]
    budget: Budget | None
    overlaps: list[Overlap]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    todo: list[Problem] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """True when the design could be confirmed as it stands."""
        return not self.errors and not self.todo

    @property
    def picks(self) -> int:
        """How many sessions and options are picked in all."""
        return sum(s.used for s in self.sections)


def summarise(
    schema: CompiledSchema,
    document: dict[str, Any],
    seats_taken: dict[Key, int],
    waitlists: dict[Key, int],
) -> Summary:
    """The summary of a design: counts per section and day, budget, overlaps, rules, waitlists."""
    sections: list[SectionCount] = []
    days: list[DayCount] = []
    spent = 0
    for sid, section in schema.sections.items():
        kind = section["kind"]
        if kind == "fields":
            continue
        picked = document.get(sid, {})
        spent += sum(schema.options[(sid, oid)].cost for oid in picked)
        sections.append(
            SectionCount(
                sid, section["title"], kind, len(picked), section["min"], section.get("max")
            )
        )
        if kind == "sessions" and section["per_day"]:
            per_day = Counter(schema.options[(sid, oid)].day for oid in picked)
            for day in schema.days(sid):
                days.append(
                    DayCount(
                        sid,
                        day,
                        per_day[day],
                        section["per_day"].get("min", 0),
                        section["per_day"].get("max"),
                    )
                )
    budget = None
    if schema.budget:
        budget = Budget(schema.budget_title, schema.budget["total"], spent)
    found = overlaps(schema, document)
    draft = schema.check(document, complete=False)
    complete = schema.check(filled(schema, document), complete=True)
    seen = {(p.pointer, p.message) for p in draft.errors}
    todo = [p for p in complete.errors if (p.pointer, p.message) not in seen]
    waiting = [
        Waiting(
            key,
            schema.options[key].title,
            position,
            (schema.options[key].capacity or 0) > seats_taken.get(key, 0),
        )
        for key, position in sorted(waitlists.items(), key=lambda kv: kv[1])
        if key in schema.options
    ]
    return Summary(
        sections=sections,
        days=days,
        budget=budget,
        overlaps=found,
        errors=list(draft.errors),
        warnings=[w for w in draft.warnings if not _is_overlap(w, found)],
        todo=todo,
        waiting=waiting,
    )


def filled(schema: CompiledSchema, document: dict[str, Any]) -> dict[str, Any]:
    """The document with an empty value for each section not answered yet.

    Checked for completeness, this names what is missing inside a section ("pick at least 3
    sessions", "Dietary needs is required") instead of only "Your agenda needs an answer".
    """
    return {**{sid: {} for sid in schema.sections}, **document}


def overlaps(schema: CompiledSchema, document: dict[str, Any]) -> list[Overlap]:
    """Every pair of picked sessions, in one section, whose times overlap; earliest first."""
    found: list[Overlap] = []
    for sid, section in schema.sections.items():
        if section["kind"] != "sessions":
            continue
        chosen = sorted(
            (schema.options[(sid, oid)] for oid in document.get(sid, {})),
            key=lambda o: (o.start, o.end, o.id),
        )
        for i, first in enumerate(chosen):
            for second in chosen[i + 1 :]:
                if second.start >= first.end:
                    break
                found.append(Overlap(sid, first, second, section["overlap"]))
    return found


def _is_overlap(problem: Problem, found: list[Overlap]) -> bool:
    """Whether a warning is the compiler's word for an overlap the summary already lists."""
    return any(
        problem.pointer == pointer([o.section_id, option.id])
        and problem.message.startswith(f"“{option.title}” overlaps ")
        for o in found
        for option in (o.first, o.second)
    )
