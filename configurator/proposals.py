"""Co-creation: attendees propose sessions, support others' within a budget, and see what came of it."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import designs, events
from .clock import now, stamp
from .db import Database, write
from .errors import BadRequest, Conflict, Forbidden, NotFound, Problem, WindowClosed
from .optionschema import parse_instant

Key = tuple[str, str]
DEFAULT_TITLE = "Proposals"
DEFAULT_MAX_PER_ATTENDEE = 3
DEFAULT_SUPPORTS_PER_ATTENDEE = 5
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
TAGS_MAX = 5
TAG_MAX = 40
STATUSES = ("open", "under_consideration", "accepted", "declined", "merged")
STATUS_TITLES = {
    "open": "Open",
    "under_consideration": "Under consideration",
    "accepted": "Accepted",
    "declined": "Declined",
    "merged": "Merged",
}


# Supports count against a budget only while the proposal can still become something.
SUPPORTABLE = ("open", "under_consideration")
PHASE_WORDS = {"propose": "Proposing", "support": "Supporting", "answer": "Answering"}


@dataclass(frozen=True)
class Settings:
    """The `proposals` block of the latest published version, with its defaults."""

    enabled: bool = False
    title: str = DEFAULT_TITLE
    phases: dict[str, dict[str, str]] = field(default_factory=dict)
    max_per_attendee: int = DEFAULT_MAX_PER_ATTENDEE
    supports_per_attendee: int = DEFAULT_SUPPORTS_PER_ATTENDEE
    threshold: int | None = None
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseState:
    """Whether a phase is open now, and why, in words."""

    open: bool
    reason: str


def settings_for(db: Database, event_id: int) -> Settings:
    """The published proposals settings; proposals are off before the first publish."""
    if events.latest_number(db, event_id) is None:
        return Settings()
    return settings_from(events.compiled(db, event_id).document)


def settings_from(document: dict[str, Any]) -> Settings:
    """The proposals settings of an option-schema document."""
    block = document.get("proposals") or {}
    return Settings(
        enabled=bool(block.get("enabled")),
        title=block.get("title", DEFAULT_TITLE),
        phases={p: block[p] for p in PHASE_WORDS if p in block},
        max_per_attendee=block.get("max_per_attendee", DEFAULT_MAX_PER_ATTENDEE),
        supports_per_attendee=block.get("supports_per_attendee", DEFAULT_SUPPORTS_PER_ATTENDEE),
        threshold=block.get("threshold"),
        formats=tuple(block.get("formats", [])),
    )


def phase(settings: Settings, name: str, moment: datetime | None = None) -> PhaseState:
    """Whether the propose, support or answer phase is open; a phase not given is always open."""
    if not settings.enabled:
        return PhaseState(False, "This event does not take proposals.")
    dates = settings.phases.get(name)
    words = PHASE_WORDS[name]
    if not dates:
        return PhaseState(True, f"{words} is open.")
    moment = moment or now()
    if moment < parse_instant(dates["opens"]):
        return PhaseState(False, f"{words} opens on {local_when(dates['opens'])}.")
    if moment >= parse_instant(dates["closes"]):
        return PhaseState(False, f"{words} closed on {local_when(dates['closes'])}.")
    return PhaseState(True, f"{words} is open until {local_when(dates['closes'])}.")


def require_phase(settings: Settings, name: str, moment: datetime | None = None) -> None:
    """Raise WindowClosed unless the phase is open."""
    state = phase(settings, name, moment)
    if not state.open:
        raise WindowClosed(state.reason)


def local_when(instant: str) -> str:
    return instant[:16].replace("T", " at ")


def format_title(format_id: str | None) -> str:
    """A preferred-format id as words: `hands_on` reads `Hands on`."""
    if not format_id:
        return "No preference"
    words = re.sub(r"[_.-]+", " ", format_id).strip()
    return words[:1].upper() + words[1:]


SELECT_PROPOSALS = (
    "SELECT p.*, a.name AS author_name,"
    " (SELECT count(*) FROM supports s WHERE s.proposal_id = p.id) AS supports"
    " FROM proposals p JOIN attendees a ON a.id = p.author_id"
)


def proposal_dict(row: Any, threshold: int | None = None) -> dict[str, Any]:
    proposal = dict(row)
    proposal["tags"] = json.loads(proposal["tags"])
    proposal["status_title"] = STATUS_TITLES[proposal["status"]]
    proposal["format_title"] = format_title(proposal["format"])
    proposal["ready"] = bool(threshold and proposal["supports"] >= threshold)
    proposal["hidden"] = proposal["hidden_at"] is not None
    proposal["supportable"] = proposal["status"] in SUPPORTABLE and not proposal["hidden"]
    return proposal


def get_proposal(
    db: Database,
    event_id: int,
    proposal_id: int,
    *,
    include_hidden: bool = False,
    threshold: int | None = None,
) -> dict[str, Any]:
    """One proposal of the event; a hidden one only when asked for (staff), else NotFound."""
    row = db.execute(
        SELECT_PROPOSALS + " WHERE p.id = ? AND p.event_id = ?", [proposal_id, event_id]
    )
    found = row.fetchone()
    if found is None or (found["hidden_at"] and not include_hidden):
        raise NotFound(f"There is no proposal number {proposal_id} here.")
    return proposal_dict(found, threshold)


def visible(
    db: Database, event_id: int, threshold: int | None = None
) -> list[dict[str, Any]]:
    """Every proposal attendees may see, most supported first, merged ones left out."""
    rows = db.execute(
        SELECT_PROPOSALS + " WHERE p.event_id = ? AND p.hidden_at IS NULL AND p.status != 'merged'"
        " ORDER BY CASE WHEN p.status IN ('open', 'under_consideration') THEN 0"
        " WHEN p.status = 'accepted' THEN 1 ELSE 2 END, supports DESC, p.id DESC",
        [event_id],
    )
    return [proposal_dict(r, threshold) for r in rows]


def ranked(
    db: Database, event_id: int, threshold: int | None = None
) -> list[dict[str, Any]]:
    """Every proposal for organisers and staff, hidden ones included, most supported first."""
    rows = db.execute(
        SELECT_PROPOSALS
        + " WHERE p.event_id = ? ORDER BY p.hidden_at IS NOT NULL, supports DESC, p.id",
        [event_id],
    )
    return [proposal_dict(r, threshold) for r in rows]


def supported_ids(db: Database, attendee_id: int) -> set[int]:
    """The ids of the proposals an attendee supports."""
    rows = db.execute("SELECT proposal_id FROM supports WHERE attendee_id = ?", [attendee_id])
    return {r[0] for r in rows}


@dataclass(frozen=True)
class Budget:
    """How many supports an attendee has used of the event's budget."""

    total: int
    used: int

    @property
    def left(self) -> int:
        """Supports still to give."""
        return max(self.total - self.used, 0)


def budget(db: Database, event_id: int, attendee_id: int, total: int) -> Budget:
    """The attendee's support budget; supports of declined, merged or hidden proposals are back."""
    used = db.execute(
        "SELECT count(*) FROM supports s JOIN proposals p ON p.id = s.proposal_id"
        " WHERE s.attendee_id = ? AND p.event_id = ? AND p.hidden_at IS NULL"
        " AND p.status IN ('open', 'under_consideration', 'accepted')",
        [attendee_id, event_id],
    ).fetchone()[0]
    return Budget(total, used)


def proposal_count(db: Database, event_id: int, attendee_id: int) -> int:
    """How many proposals an attendee has made (hidden ones count too)."""
    return db.execute(
        "SELECT count(*) FROM proposals WHERE event_id = ? AND author_id = ?",
        [event_id, attendee_id],
    ).fetchone()[0]


@dataclass(frozen=True)
class Draft:
    """A proposal's cleaned fields."""

    title: str
    description: str
    format: str | None
    tags: list[str]


def clean(
    settings: Settings, title: str, description: str, fmt: str | None, tags: str | Iterable[str]
) -> Draft:
    """Trimmed, checked fields; BadRequest naming every field that is wrong."""
    title = " ".join((title or "").split())
    description = (description or "").strip().replace("\r\n", "\n")
    fmt = (fmt or "").strip() or None
    raw_tags = tags.split(",") if isinstance(tags, str) else list(tags)
    cleaned_tags: list[str] = []
    for tag in raw_tags:
        tag = " ".join(str(tag).split())
        if tag and tag.casefold() not in {t.casefold() for t in cleaned_tags}:
            cleaned_tags.append(tag)
    problems = []
    if len(title) < 3:
        problems.append(Problem("/title", "title", "give a title of at least 3 characters"))
    elif len(title) > TITLE_MAX:
        problems.append(
            Problem(
                "/title", "title", f"keep the title to {TITLE_MAX} characters (it has {len(title)})"
            )
        )
    if len(description) > DESCRIPTION_MAX:
        problems.append(
            Problem(
                "/description",
                "description",
                f"keep the description to {DESCRIPTION_MAX} characters (it has {len(description)})",
            )
        )
    if fmt is not None and fmt not in settings.formats:
        offered = ", ".join(format_title(f) for f in settings.formats) or "no formats"
        problems.append(
            Problem("/format", "format", f"choose one of the formats offered: {offered}")
        )
    if len(cleaned_tags) > TAGS_MAX:
        problems.append(Problem("/tags", "tags", f"give at most {TAGS_MAX} tags"))
    if any(len(t) > TAG_MAX for t in cleaned_tags):
        problems.append(Problem("/tags", "tags", f"keep each tag to {TAG_MAX} characters"))
    if problems:
        count = len(problems)
        raise BadRequest(
            f"The proposal has {count} problem{'s' if count != 1 else ''} to fix.", problems
        )
    return Draft(title, description, fmt, cleaned_tags)


def propose(
    db: Database,
    event_id: int,
    attendee_id: int,
    draft: Draft,
    moment: datetime | None = None,
) -> int:
    """Post a proposal within the propose phase and the per-attendee limit; return its id."""
    settings = settings_for(db, event_id)
    require_phase(settings, "propose", moment)
    with write(db, [f"proposals-by:{attendee_id}"]):
        made = proposal_count(db, event_id, attendee_id)
        if made >= settings.max_per_attendee:
            raise Conflict(
                f"You have made {made} proposals, the most this event takes from one person."
                " Support someone else's proposal instead."
            )
        now_text = stamp()
        return db.execute(
            "INSERT INTO proposals (event_id, author_id, title, description, format, tags,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                event_id,
                attendee_id,
                draft.title,
                draft.description,
                draft.format,
                json.dumps(draft.tags, ensure_ascii=False),
                now_text,
                now_text,
            ],
        ).fetchone()[0]


def edit(
    db: Database, event_id: int, proposal_id: int, attendee_id: int, draft: Draft
) -> None:
    """Change one's own proposal, which stays possible until the organiser answers it."""
    if not settings_for(db, event_id).enabled:
        raise WindowClosed("This event does not take proposals.")
    with write(db):
        proposal = get_proposal(db, event_id, proposal_id)
        if proposal["author_id"] != attendee_id:
            raise Forbidden("Only the person who proposed this can change it.")
        if proposal["status"] != "open":
            raise Conflict(
                f"This proposal has been answered ({proposal['status_title'].lower()}),"
                " so it can no longer change."
            )
        db.execute(
            "UPDATE proposals SET title = ?, description = ?, format = ?, tags = ?,"
            " updated_at = ? WHERE id = ?",
            [
                draft.title,
                draft.description,
                draft.format,
                json.dumps(draft.tags, ensure_ascii=False),
                stamp(),
                proposal_id,
            ],
        )


def support(
    db: Database,
    event_id: int,
    proposal_id: int,
    attendee_id: int,
    moment: datetime | None = None,
) -> Budget:
    """Support a proposal; the budget is checked and spent in one write transaction."""
    settings = settings_for(db, event_id)
    require_phase(settings, "support", moment)
    with write(db, [f"supports-by:{attendee_id}"]):
        proposal = get_proposal(db, event_id, proposal_id)
        if proposal["author_id"] == attendee_id:
            raise Conflict("This is your own proposal: it already counts as what you asked for.")
        if not proposal["supportable"]:
            raise Conflict(
                f"This proposal is {proposal['status_title'].lower()}: it takes no more support."
            )
        spent = budget(db, event_id, attendee_id, settings.supports_per_attendee)
        already = db.execute(
            "SELECT 1 FROM supports WHERE proposal_id = ? AND attendee_id = ?",
            [proposal_id, attendee_id],
        ).fetchone()
        if already:
            return spent
        if spent.left == 0:
            raise Conflict(
                f"You have given all {spent.total} of your supports. Withdraw one to support"
                " this proposal; supports of declined or merged proposals come back to you."
            )
        db.execute(
            "INSERT INTO supports (proposal_id, attendee_id, created_at) VALUES (?, ?, ?)",
            [proposal_id, attendee_id, stamp()],
        )
        return Budget(spent.total, spent.used + 1)


def withdraw(
    db: Database,
    event_id: int,
    proposal_id: int,
    attendee_id: int,
    moment: datetime | None = None,
) -> Budget:
    """Take back a support while the proposal is still open or under consideration."""
    settings = settings_for(db, event_id)
    require_phase(settings, "support", moment)
    with write(db, [f"supports-by:{attendee_id}"]):
        proposal = get_proposal(db, event_id, proposal_id)
        if proposal["status"] not in SUPPORTABLE:
            raise Conflict(
                f"This proposal is {proposal['status_title'].lower()}: its supports are settled."
            )
        db.execute(
            "DELETE FROM supports WHERE proposal_id = ? AND attendee_id = ?",
            [proposal_id, attendee_id],
        )
        return budget(db, event_id, attendee_id, settings.supports_per_attendee)


def published_options(db: Database, event_id: int) -> dict[Key, Any]:
    if events.latest_number(db, event_id) is None:
        return {}
    return events.compiled(db, event_id).options


def final_proposal(db: Database, proposal_id: int) -> dict[str, Any] | None:
    """The proposal a chain of merges ends in."""
    seen: set[int] = set()
    current: int | None = proposal_id
    row = None
    while current is not None and current not in seen:
        seen.add(current)
        row = db.execute(SELECT_PROPOSALS + " WHERE p.id = ?", [current]).fetchone()
        if row is None:
            return None
        current = row["merged_into"]
    return dict(row) if row else None


def asked_for(db: Database, attendee_id: int) -> dict[Key, dict[str, Any]]:
    """Published options that began as a proposal the attendee made or supported (or merged in)."""
    event_id = db.execute("SELECT event_id FROM attendees WHERE id = ?", [attendee_id]).fetchone()
    if event_id is None:
        return {}
    options = published_options(db, event_id[0])
    rows = db.execute(
        "SELECT id, 1 AS authored FROM proposals WHERE author_id = ?"
        " UNION SELECT proposal_id, 0 FROM supports WHERE attendee_id = ?",
        [attendee_id, attendee_id],
    )
    found: dict[Key, dict[str, Any]] = {}
    for row in rows:
        final = final_proposal(db, row["id"])
        if not final or final["status"] != "accepted" or final["hidden_at"]:
            continue
        key = (final["option_section"], final["option_id"])
        if key not in options:
            continue
        proposal = proposal_dict(final)
        proposal["authored"] = bool(row["authored"]) or bool(found.get(key, {}).get("authored"))
        found[key] = proposal
    return found


def add_to_design(
    db: Database, attendee: dict[str, Any], proposal_id: int
) -> tuple[Key, str]:
    """Add an accepted proposal's published option to the attendee's design; return key, title.

    A session is taken in its first seated format (else its first); a single choice replaces
    the option picked before. Raises SeatTaken, DesignInvalid or WindowClosed from the save.
    """
    event_id = attendee["event_id"]
    final = final_proposal(db, get_proposal(db, event_id, proposal_id)["id"])
    options = published_options(db, event_id)
    if not final or final["status"] != "accepted" or final["hidden_at"]:
        raise Conflict("This proposal has not become an option of the event.")
    key = (final["option_section"], final["option_id"])
    if key not in options:
        raise Conflict(
            "This option is not published yet: it can be added once the organiser publishes."
        )
    schema = events.compiled(db, event_id)
    section = schema.sections[key[0]]
    stored = designs.get_design(db, attendee["id"])
    document = copy.deepcopy(stored["document"]) if stored else {}
    title = options[key].title
    if key[1] in document.get(key[0], {}):
        return key, title
    if section["kind"] == "sessions":
        session = next(s for s in section["sessions"] if s["id"] == key[1])
        seated = [
            f["id"] for f in section["formats"] if f["seated"] and f["id"] in session["formats"]
        ]
        document.setdefault(key[0], {})[key[1]] = {"format": (seated or session["formats"])[0]}
    elif section["multiple"]:
        document.setdefault(key[0], {})[key[1]] = {}
    else:
        document[key[0]] = {key[1]: {}}
    designs.save_design(db, attendee, document)
    return key, title


def community_options(db: Database, event_id: int) -> list[dict[str, Any]]:
    """The options of the published schema that began as community proposals."""
    options = published_options(db, event_id)
    rows = db.execute(
        SELECT_PROPOSALS + " WHERE p.event_id = ? AND p.status = 'accepted' AND p.hidden_at IS NULL"
        " AND p.option_id IS NOT NULL ORDER BY p.answered_at NULLS FIRST",
        [event_id],
    )
    found = []
    for row in rows:
        key = (row["option_section"], row["option_id"])
        if key in options:
            found.append({"proposal": proposal_dict(row), "key": key, "option": options[key]})
    return found


def mine(db: Database, event_id: int, attendee_id: int) -> dict[str, Any]:
    """An attendee's own proposals and supports, with what became of each."""
    settings = settings_for(db, event_id)
    options = published_options(db, event_id)

    def outcome(row: Any) -> dict[str, Any]:
        proposal = proposal_dict(row, settings.threshold)
        key = (proposal["option_section"], proposal["option_id"])
        proposal["scheduled"] = proposal["status"] == "accepted" and key in options
        final = final_proposal(db, proposal["id"]) if proposal["merged_into"] else None
        proposal["merged_title"] = (
            final["title"]
            if final and not final["hidden_at"] and final["id"] != proposal["id"]
            else None
        )
        return proposal

    authored = db.execute(
        SELECT_PROPOSALS
        + " WHERE p.event_id = ? AND p.author_id = ? AND p.hidden_at IS NULL ORDER BY p.id",
        [event_id, attendee_id],
    )
    supported = db.execute(
        SELECT_PROPOSALS + " JOIN supports mine ON mine.proposal_id = p.id WHERE p.event_id = ?"
        " AND mine.attendee_id = ? AND p.hidden_at IS NULL ORDER BY mine.created_at",
        [event_id, attendee_id],
    )
    return {
        "proposals": [outcome(r) for r in authored],
        "supported": [outcome(r) for r in supported],
        "budget": budget(db, event_id, attendee_id, settings.supports_per_attendee),
        "settings": settings,
    }


def funnel(db: Database, event_id: int) -> dict[str, int]:
    """Proposed, supported, accepted, and scheduled (accepted and in the published version)."""
    row = db.execute(
        "SELECT count(*),"
        " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM supports s WHERE s.proposal_id = p.id)),"
        " count(*) FILTER (WHERE p.status = 'accepted') FROM proposals p WHERE p.event_id = ? AND p.hidden_at IS NULL",
        [event_id],
    ).fetchone()
    options = published_options(db, event_id)
    accepted = db.execute(
        "SELECT option_section, option_id FROM proposals WHERE event_id = ?"
        " AND status = 'accepted' AND hidden_at IS NULL",
        [event_id],
    )
    scheduled = sum(1 for r in accepted if (r[0], r[1]) in options)
    return {
        "proposed": row[0],
        "supported": row[1] or 0,
        "accepted": row[2] or 0,
        "scheduled": scheduled,
    }


def export(db: Database, event_id: int) -> list[dict[str, Any]]:
    """Every visible proposal for staff: fields, answer, support count and supporters' names."""
    settings = settings_for(db, event_id)
    rows = db.execute(
        SELECT_PROPOSALS + " WHERE p.event_id = ? AND p.hidden_at IS NULL ORDER BY p.id", [event_id]
    )
    names: dict[int, list[str]] = {}
    for r in db.execute(
        "SELECT s.proposal_id, a.name FROM supports s JOIN attendees a ON a.id = s.attendee_id"
        " JOIN proposals p ON p.id = s.proposal_id WHERE p.event_id = ? ORDER BY s.created_at",
        [event_id],
    ):
        names.setdefault(r[0], []).append(r[1])
    found = []
    for row in rows:
        p = proposal_dict(row, settings.threshold)
        found.append(
            {
                "id": p["id"],
                "title": p["title"],
                "description": p["description"],
                "format": p["format"],
                "tags": p["tags"],
                "status": p["status"],
                "reason": p["answer_reason"],
                "answered_at": p["answered_at"],
                "supports": p["supports"],
                "supporters": names.get(p["id"], []),
                "ready": p["ready"],
                "merged_into": p["merged_into"],
                "option": (
                    {"section": p["option_section"], "id": p["option_id"]}
                    if p["option_id"]
                    else None
                ),
                "author": p["author_name"],
                "created_at": p["created_at"],
                "updated_at": p["updated_at"],
            }
        )
    return found


def export_document(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """The JSON export and API answer: the event, its funnel, and every visible proposal."""
    return {
        "event": event["slug"],
        "funnel": funnel(db, event["id"]),
        "proposals": export(db, event["id"]),
    }
