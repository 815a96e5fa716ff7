"""The proposals export: one proposal a row, with its answer, supporters and the option it became."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import writers

EXPORT_COLUMNS = [
    "id",
    "title",
    "description",
    "format",
    "tags",
    "status",
    "reason",
    "answered_at",
    "supports",
    "supporters",
    "ready",
    "merged_into",
    "option_section",
    "option_id",
    "author",
    "created_at",
    "updated_at",
]


def defuse(value: Any) -> str:
    """A CSV cell as text a spreadsheet will not run as a formula."""
    return writers.defuse("" if value is None else str(value))


def export_csv(rows: list[dict[str, Any]]) -> str:
    """The export as CSV, one proposal a row, every cell defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        option = row["option"] or {}
        cells = {
            **row,
            "tags": "; ".join(row["tags"]),
            "supporters": "; ".join(row["supporters"]),
            "ready": "yes" if row["ready"] else "no",
            "option_section": option.get("section"),
            "option_id": option.get("id"),
        }
        writer.writerow([defuse(cells[c]) for c in EXPORT_COLUMNS])
    return out.getvalue()
