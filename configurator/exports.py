"""Staff exports: exporters yield a header and rows; writers turn rows into CSV, XLSX, JSON or zip.

Every exporter reads the database through one cursor in batches, so exporting 100,000 designs
streams in bounded memory. Text that a spreadsheet would run as a formula is defused on the way
into CSV and XLSX (as pretix does): a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlite_utils

from .compiler import CompiledSchema
from .errors import BadRequest, NotFound

BATCH = 1000
CHUNK = 64 * 1024
Progress = Callable[[int], None]
Cell = str | int | float | None
ATTENDEE_COLUMNS = ["attendee_id", "name", "email", "status", "schema_version", "confirmed_at"]
LONG_COLUMNS = ["attendee_id", "name", "email", "section", "option", "field", "value", "format"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STARTS = frozenset(_FORMULA_STARTS)
ROWS_PER_WRITE = 256
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class ExportFormat:
    """One kind of export staff can download."""

    id: str
    title: str
    description: str
    mimetype: str
    extension: str


FORMATS: dict[str, ExportFormat] = {
    f.id: f
    for f in (
        ExportFormat(
            "csv-wide",
            "Everything, one row per attendee (CSV)",
            "A column per question: sessions with the chosen format, choice options,"
            " follow-up answers and fields.",
            "text/csv",
            "csv",
        ),
        ExportFormat(
            "csv-long",
            "Everything, one row per answer (CSV)",
            "A row per attendee and pick or answer: section, option, field, value, format.",
            "text/csv",
            "csv",
        ),
        ExportFormat(
            "xlsx",
            "Everything as a spreadsheet (XLSX)",
            "A sheet per section, a row per attendee.",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ExportFormat(
            "json",
            "Complete designs (JSON)",
            "A JSON array: every saved design with its attendee, status and schema version.",
            "application/json",
            "json",
        ),
        ExportFormat(
            "roster",
            "Rosters (CSV)",
            "For every session and limited option: who is seated, who follows without a seat,"
            " and the waitlist in order.",
            "text/csv",
            "csv",
        ),
        ExportFormat(
            "channels",
            "Channel lists (CSV)",
            "For every choice option, everyone who chose it with their follow-up answers"
            " (for example everyone who chose SMS, with their numbers).",
            "text/csv",
            "csv",
        ),
        ExportFormat(
            "ics-zip",
            "Calendars (zip of .ics files)",
            "One iCalendar file per attendee with a design, with the sessions they picked.",
            "application/zip",
            "zip",
        ),
    )
}


@dataclass
class Download:
    """A streamed export: its file name, media type, byte chunks and how many steps it counts."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]
    steps: int


def export_format(fmt: str) -> ExportFormat:
    """The export format with this id; NotFound naming the ones there are."""
    if fmt not in FORMATS:
        raise NotFound(f"There is no export called {fmt!r}; there are {', '.join(FORMATS)}.")
    return FORMATS[fmt]


def download(
    db: sqlite_utils.Database,
    event: dict[str, Any],
    schema: CompiledSchema,
    fmt: str,
    *,
    section: str | None = None,
    option: str | None = None,
    progress: Progress | None = None,
) -> Download:
    """Prepare an export of the event; nothing is read until the chunks are iterated."""
    kind = export_format(fmt)
    tick = progress or (lambda _n: None)
    event_id = event["id"]
    if fmt in ("roster", "channels"):
        scope = (roster_scope if fmt == "roster" else channel_scope)(schema, section, option)
        rows = (roster_rows if fmt == "roster" else channel_rows)(db, event_id, schema, scope, tick)
        chunks, steps = csv_chunks(rows), len(scope)
    elif fmt in ("csv-wide", "csv-long"):
        producer = wide_rows if fmt == "csv-wide" else long_rows
        chunks = csv_chunks(producer(db, event_id, schema, tick))
        # The long form walks only attendees with a design, so its steps are those.
        steps = (attendee_count if fmt == "csv-wide" else design_count)(db, event_id)
    elif fmt == "xlsx":
        chunks, steps = (
            xlsx_chunks(section_sheets(db, event_id, schema, tick)),
            attendee_count(db, event_id),
        )
    elif fmt == "json":
        chunks, steps = json_chunks(db, event_id, tick), design_count(db, event_id)
    else:
        chunks, steps = (
            zip_chunks(calendar_files(db, event_id, schema, tick)),
            design_count(db, event_id),
        )
    suffix = "-".join(p for p in (section, option) if p)
    name = f"{event['slug']}-{fmt}{'-' + suffix if suffix else ''}.{kind.extension}"
    return Download(name, kind.mimetype, chunks, steps)


# --- reading the database in batches ----------------------------------------------------------


def attendee_count(db: sqlite_utils.Database, event_id: int) -> int:
    """How many attendees the event has."""
    return db.execute("SELECT count(*) FROM attendees WHERE event_id = ?", [event_id]).fetchone()[0]


def design_count(db: sqlite_utils.Database, event_id: int) -> int:
    """How many attendees of the event have saved a design."""
    return db.execute("SELECT count(*) FROM designs WHERE event_id = ?", [event_id]).fetchone()[0]


class AttendeeRow(NamedTuple):
    """An attendee with their design's row (all design columns None before a first save)."""

    id: int
    name: str
    email: str
    opened_at: str | None
    status: str | None
    version: int | None
    document: str | None
    updated_at: str | None
    confirmed_at: str | None


def attendee_batches(
    db: sqlite_utils.Database, event_id: int, tick: Progress, with_design_only: bool = False
) -> Iterator[list[AttendeeRow]]:
    """Every attendee of the event with their design row, in id order, a batch at a time.

    One cursor reads the whole export, so it sees one consistent snapshot of the database.
    """
    cursor = db.conn.cursor()
    cursor.row_factory = lambda _cursor, values: AttendeeRow(*values)
    cursor.execute(_BATCH_QUERIES[with_design_only], [event_id])
    try:
        while batch := cursor.fetchmany(BATCH):
            yield batch
            tick(len(batch))
    finally:
        cursor.close()


# `+a.event_id` keeps SQLite on the rowid order instead of sorting every row in memory.
_SELECT = (
    "SELECT a.id, a.name, a.email, a.opened_at, d.status, d.version, d.document,"
    " d.updated_at, d.confirmed_at FROM attendees a"
)
_BATCH_QUERIES = {
    False: _SELECT + " LEFT JOIN designs d ON d.attendee_id = a.id"
    " WHERE +a.event_id = ? ORDER BY a.id",
    True: _SELECT + " JOIN designs d ON d.attendee_id = a.id WHERE +a.event_id = ? ORDER BY a.id",
}


def status_of(row: AttendeeRow) -> str:
    """An attendee's progress: confirmed, draft, opened (their link) or invited."""
    return row.status or ("opened" if row.opened_at else "invited")


def _attendee_cells(row: AttendeeRow) -> list[Cell]:
    return [
        row.id,
        row.name,
        row.email,
        status_of(row),
        row.version,
        row.confirmed_at,
    ]


# --- exporters: a header, then rows -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One question's column in the wide export."""

    header: str
    kind: str  # session, option, follow_up or field
    path: tuple[str, ...]


def wide_columns(schema: CompiledSchema) -> list[Column]:
    """A column per question of the schema, in schema order."""
    columns = []
    for sid, section in schema.sections.items():
        if section["kind"] == "sessions":
            columns += [
                Column(f"{sid}/{s['id']}", "session", (sid, s["id"])) for s in section["sessions"]
            ]
        elif section["kind"] == "choice":
            for o in section["options"]:
                columns.append(Column(f"{sid}/{o['id']}", "option", (sid, o["id"])))
                columns += [
                    Column(f"{sid}/{o['id']}/{f['id']}", "follow_up", (sid, o["id"], f["id"]))
                    for f in o["follow_up"]
                ]
        else:
            columns += [
                Column(f"{sid}/{f['id']}", "field", (sid, f["id"])) for f in section["fields"]
            ]
    return columns


def _wide_value(column: Column, design: dict[str, Any]) -> Any:
    section = design.get(column.path[0]) or {}
    if column.kind == "session":
        pick = section.get(column.path[1])
        return pick.get("format") if isinstance(pick, dict) else None
    if column.kind == "option":
        return "yes" if column.path[1] in section else None
    if column.kind == "follow_up":
        return (section.get(column.path[1]) or {}).get(column.path[2])
    return section.get(column.path[1])


def wide_rows(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[list[Any]]:
    """A header, then a row per attendee with a column per question of the schema."""
    columns = wide_columns(schema)
    yield ATTENDEE_COLUMNS + [c.header for c in columns]
    for batch in attendee_batches(db, event_id, tick):
        for row in batch:
            design = json.loads(row.document) if row.document else {}
            yield _attendee_cells(row) + [_wide_value(c, design) for c in columns]


def long_rows(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[tuple[Any, ...]]:
    """A header, then a row per attendee and pick, follow-up answer or field answer."""
    yield tuple(LONG_COLUMNS)
    kinds = {sid: section["kind"] for sid, section in schema.sections.items()}
    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        rows: list[tuple[Any, ...]] = []  # a batch at a time: far fewer generator resumes
        for row in batch:
            person = (row.id, row.name, row.email)
            design = json.loads(row.document)
            for sid in [s for s in kinds if s in design] + sorted(design.keys() - kinds.keys()):
                _long_section(rows, person, sid, design[sid], kinds.get(sid))
        yield from rows


def _long_section(
    rows: list[tuple[Any, ...]],
    person: tuple[Any, ...],
    sid: str,
    value: Any,
    kind: str | None,
) -> None:
    """Add the long rows of one section of a design (sections of older versions too)."""
    if kind == "fields" or (kind is None and not _all_dicts(value)):
        rows += [(*person, sid, None, fid, answer, None) for fid, answer in value.items()]
        return
    for oid, detail in value.items():
        rows.append(
            (*person, sid, oid, None, None, detail.get("format") if kind != "choice" else None)
        )
        for fid, answer in detail.items():
            if kind == "choice" or fid != "format":
                rows.append((*person, sid, oid, fid, answer, None))


def _all_dicts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())


def roster_scope(
    schema: CompiledSchema, section: str | None, option: str | None
) -> list[tuple[str, str]]:
    """The sessions (and limited choice options) a roster covers, optionally one section/option."""
    keys = [
        key
        for key, o in schema.options.items()
        if schema.sections[key[0]]["kind"] == "sessions" or o.capacity is not None
    ]
    return _narrow(schema, keys, section, option, "session or limited option")


def channel_scope(
    schema: CompiledSchema, section: str | None, option: str | None
) -> list[tuple[str, str]]:
    """The choice options a channel list covers, optionally one section/option."""
    keys = [key for key in schema.options if schema.sections[key[0]]["kind"] == "choice"]
    return _narrow(schema, keys, section, option, "choice option")


def _narrow(
    schema: CompiledSchema,
    keys: list[tuple[str, str]],
    section: str | None,
    option: str | None,
    noun: str,
) -> list[tuple[str, str]]:
    if section is not None:
        keys = [k for k in keys if k[0] == section]
        if not keys:
            raise BadRequest(f"There is no section {section!r} with a {noun} to export.")
    if option is not None:
        keys = [k for k in keys if k[1] == option]
        if not keys:
            raise BadRequest(
                f"There is no {noun} {option!r} to export"
                + (f" in section {section!r}." if section else ".")
            )
    return keys


ROSTER_COLUMNS = [
    "section",
    "session",
    "session_title",
    "attendee_id",
    "name",
    "email",
    "format",
    "seat",
    "waitlist_position",
]


@dataclass(frozen=True)
class RosterLine:
    """One person on a session's roster."""

    attendee_id: int
    name: str
    email: str
    format: str | None
    seat: str  # seated, no seat (online, recording...) or waitlist
    position: int | None


def roster_lines(
    db: sqlite_utils.Database, event_id: int, key: tuple[str, str]
) -> Iterator[tuple[int, str, str, str | None, str, int | None]]:
    """Who is on one option: seated and without a seat by name, then the waitlist in order.

    Each line is (attendee id, name, email, format, seat, waitlist position), straight from SQL.
    """
    cursor = db.conn.cursor()
    cursor.row_factory = None  # plain tuples: this runs once per person on every roster
    yield from cursor.execute(
        "SELECT a.id, a.name, a.email, p.format,"
        " CASE p.seated WHEN 1 THEN 'seated' ELSE 'no seat' END, NULL FROM picks p"
        " JOIN attendees a ON a.id = p.attendee_id"
        " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ?"
        " ORDER BY p.seated DESC, a.name COLLATE NOCASE, a.id",
        [event_id, *key],
    )
    yield from cursor.execute(
        "SELECT a.id, a.name, a.email, w.format, 'waitlist',"
        " row_number() OVER (ORDER BY w.position) FROM waitlist w"
        " JOIN attendees a ON a.id = w.attendee_id"
        " WHERE w.event_id = ? AND w.section_id = ? AND w.option_id = ?"
        " ORDER BY w.position",
        [event_id, *key],
    )


def roster(db: sqlite_utils.Database, event_id: int, key: tuple[str, str]) -> list[RosterLine]:
    """One option's roster as lines a page can show."""
    return [RosterLine(*line) for line in roster_lines(db, event_id, key)]


def roster_rows(
    db: sqlite_utils.Database,
    event_id: int,
    schema: CompiledSchema,
    scope: list[tuple[str, str]],
    tick: Progress,
) -> Iterator[tuple[Any, ...]]:
    """A header, then everyone on each roster of the scope, session by session."""
    yield tuple(ROSTER_COLUMNS)
    for key in scope:
        prefix = (*key, schema.options[key].title)
        for line in roster_lines(db, event_id, key):
            yield prefix + line
        tick(1)


def channel_rows(
    db: sqlite_utils.Database,
    event_id: int,
    schema: CompiledSchema,
    scope: list[tuple[str, str]],
    tick: Progress,
) -> Iterator[list[Any]]:
    """A header, then everyone who chose each option of the scope, with follow-up answers."""
    follow_ups = [
        (key, f["id"])
        for key in scope
        for o in schema.sections[key[0]]["options"]
        if o["id"] == key[1]
        for f in o["follow_up"]
    ]
    yield ["section", "option", "option_title", "attendee_id", "name", "email"] + [
        f"{key[1]}/{fid}" for key, fid in follow_ups
    ]
    for key in scope:
        mine = [i for i, (k, _f) in enumerate(follow_ups) if k == key]
        rows = db.execute(
            "SELECT a.id, a.name, a.email, json_extract(d.document, ?) FROM picks p"
            " JOIN attendees a ON a.id = p.attendee_id"
            " LEFT JOIN designs d ON d.attendee_id = p.attendee_id"
            " WHERE p.event_id = ? AND p.section_id = ? AND p.option_id = ?"
            " ORDER BY a.name COLLATE NOCASE, a.id",
            [f'$."{key[0]}"."{key[1]}"', event_id, *key],
        )
        title = schema.options[key].title
        for attendee_id, name, email, answers_text in rows:
            answers = json.loads(answers_text) if answers_text else {}
            answer_cells: list[Any] = [None] * len(follow_ups)
            for i in mine:
                answer_cells[i] = answers.get(follow_ups[i][1])
            yield [*key, title, attendee_id, name, email, *answer_cells]
        tick(1)


def section_sheets(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> tuple[list[tuple[str, list[str]]], Iterator[list[list[Any]]]]:
    """Sheet titles with their headers, and per attendee a row for every sheet."""
    columns = wide_columns(schema)
    by_section: dict[str, list[Column]] = {sid: [] for sid in schema.sections}
    for c in columns:
        by_section[c.path[0]].append(c)
    titles = sheet_titles([schema.sections[sid]["title"] for sid in by_section])
    headers = [
        (title, ATTENDEE_COLUMNS + [c.header for c in cols])
        for title, cols in zip(titles, by_section.values(), strict=True)
    ]

    def rows() -> Iterator[list[list[Any]]]:
        for batch in attendee_batches(db, event_id, tick):
            for row in batch:
                design = json.loads(row.document) if row.document else {}
                person = _attendee_cells(row)
                yield [
                    person + [_wide_value(c, design) for c in cols] for cols in by_section.values()
                ]

    return headers, rows()


def sheet_titles(titles: list[str]) -> list[str]:
    """Sheet names Excel accepts: no []:*?/\\ or control characters, 31 at most, all different."""
    found: list[str] = []
    for title in titles:
        # A control character in a sheet name corrupts workbook.xml, and with it the whole file.
        base = re.sub(r"[\[\]:*?/\\\x00-\x1f\x7f]", " ", title).strip(" '")[:31] or "Section"
        name, n = base, 2
        while name.casefold() in (f.casefold() for f in found):
            name = f"{base[: 31 - len(str(n)) - 1]} {n}"
            n += 1
        found.append(name)
    return found


# --- writers: rows into bytes -----------------------------------------------------------------


def defuse(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made inert with a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV (with a byte-order mark, so spreadsheets read it as UTF-8), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    pending = iter(rows)
    while batch := list(itertools.islice(pending, ROWS_PER_WRITE)):
        # Inlined per cell (this runs a million times): defuse text, yes/no for booleans;
        # csv itself writes None as an empty cell and numbers as they are.
        writer.writerows(
            [
                ("'" + v if v[:1] in _STARTS else v)
                if v.__class__ is str
                else (("yes" if v else "no") if v.__class__ is bool else v)
                for v in row
            ]
            for row in batch
        )
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        # XML cannot carry these control characters at all; everything else passes intact.
        return defuse(_XML_ILLEGAL.sub("\ufffd", value))
    return value


def xlsx_chunks(
    sheets: tuple[list[tuple[str, list[str]]], Iterator[list[list[Any]]]],
) -> Iterator[bytes]:
    """An XLSX workbook built in openpyxl's write-only mode on disk, then streamed in chunks."""
    from openpyxl import Workbook

    headers, rows = sheets
    workbook = Workbook(write_only=True)
    worksheets = []
    for title, header in headers:
        worksheet = workbook.create_sheet(title)
        worksheet.append(header)
        worksheets.append(worksheet)
    for per_sheet in rows:
        for worksheet, row in zip(worksheets, per_sheet, strict=True):
            worksheet.append([_xlsx_cell(v) for v in row])
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def json_chunks(db: sqlite_utils.Database, event_id: int, tick: Progress) -> Iterator[bytes]:
    """A JSON array of every saved design with its attendee, status and schema version."""
    yield b"[\n"
    first = True
    parts: list[str] = []
    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        for row in batch:
            head = json.dumps(
                {
                    "attendee": {"id": row.id, "name": row.name, "email": row.email},
                    "status": row.status,
                    "schema_version": row.version,
                    "updated_at": row.updated_at,
                    "confirmed_at": row.confirmed_at,
                },
                ensure_ascii=False,
            )
            # The stored document is already compact JSON: splice it in without re-parsing.
            parts.append(("" if first else ",\n") + head[:-1] + ', "design": ' + row.document + "}")
            first = False
        yield "".join(parts).encode("utf-8")
        parts.clear()
    yield b"\n]\n"


def calendar_files(
    db: sqlite_utils.Database, event_id: int, schema: CompiledSchema, tick: Progress
) -> Iterator[tuple[str, bytes]]:
    """(file name, iCalendar bytes) for every attendee with a design."""
    from .agenda import calendar

    for batch in attendee_batches(db, event_id, tick, with_design_only=True):
        for row in batch:
            modified = datetime.fromisoformat(row.updated_at)
            ics = calendar(schema, row.id, json.loads(row.document), modified)
            yield f"{row.id:07d}-{_file_word(row.name)}.ics", ics


def _file_word(name: str) -> str:
    word = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40]
    return word or "attendee"


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what is written until it is taken (zipfile streams)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_chunks(files: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A zip archive written as a stream (no seeking), a member at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
            if sum(len(p) for p in sink.parts) >= CHUNK:
                yield sink.take()
    yield sink.take()
