"""The XLSX workbook: a sheet per section, a row per attendee, streamed by XlsxWriter."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from typing import Any

from ..compiler import CompiledSchema
from ..db import Database
from .batches import ATTENDEE_COLUMNS, Progress, attendee_batches, attendee_cells, attendee_count
from .exporter import ExportFormat
from .wide import Column, wide_columns, wide_value
from .writers import CHUNK, defuse

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def section_sheets(
    db: Database, event_id: int, schema: CompiledSchema, tick: Progress
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
                person = attendee_cells(row)
                yield [
                    person + [wide_value(c, design) for c in cols] for cols in by_section.values()
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
    """An XLSX workbook written by XlsxWriter in constant-memory mode on disk, then streamed.

    Constant memory: each sheet's rows go to its own temporary file as they come (strings
    inline, no shared table), so memory stays flat however many attendees there are. Text is
    always text: no cell is turned into a formula, a link or a number.
    """
    import xlsxwriter

    headers, rows = sheets
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryFile() as file:
        workbook = xlsxwriter.Workbook(
            file,
            {
                "constant_memory": True,
                "tmpdir": scratch,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        worksheets = []
        for title, header in headers:
            worksheet = workbook.add_worksheet(title)
            worksheet.write_row(0, 0, header)
            worksheets.append(worksheet)
        for n, per_sheet in enumerate(rows, start=1):
            for worksheet, row in zip(worksheets, per_sheet, strict=True):
                worksheet.write_row(n, 0, [_xlsx_cell(v) for v in row])
        workbook.close()
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def build(
    db: Database,
    event_id: int,
    schema: CompiledSchema,
    tick: Progress,
    section: str | None,
    option: str | None,
) -> tuple[Iterator[bytes], int]:
    """The export's byte chunks, and how many steps its progress counts."""
    return xlsx_chunks(section_sheets(db, event_id, schema, tick)), attendee_count(db, event_id)


FORMAT = ExportFormat(
    "xlsx",
    "Everything as a spreadsheet (XLSX)",
    "A sheet per section, a row per attendee.",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
    build,
)
