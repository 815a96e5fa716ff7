"""Schedule imports: one door, read(), over a reader per format; then merge.py upserts into a section.

Each format is a module (frab.py, csv_format.py, json_format.py) with one parse function that
returns an ImportedSchedule; a new format is a new module and one line in READERS.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import ImportFailed, Problem
from .common import ImportedSchedule, ImportReport
from .csv_format import parse_csv
from .frab import parse_frab
from .json_format import parse_json
from .merge import merge_into_section, parse_room_capacities, widen_event_days

__all__ = [
    "ImportReport",
    "ImportedSchedule",
    "merge_into_section",
    "parse_room_capacities",
    "read",
    "widen_event_days",
]
ACCEPTED_FORMATS = "frab XML (.xml), CSV (.csv) or JSON (.json)"


def _csv(data: bytes, timezone: str | None) -> ImportedSchedule:
    return parse_csv(decoded(data, "CSV file"), timezone)


READERS: dict[str, Callable[[bytes, str | None], ImportedSchedule]] = {
    "frab": parse_frab,
    "csv": _csv,
    "json": lambda data, _timezone: parse_json(data),
}
EXTENSIONS = {"xml": "frab", "csv": "csv", "json": "json"}


def read(
    source: bytes | str | os.PathLike[str],
    format: str | None = None,
    *,
    filename: str | None = None,
    timezone: str | None = None,
) -> ImportedSchedule:
    """Read a schedule from bytes or a file path, in the format named or the one it looks like."""
    if isinstance(source, bytes):
        data, name = source, filename or "The schedule"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ImportFailed(f'"{path}" cannot be read: {error.strerror or error}.') from None
        name = filename or path.name
    if format is not None and format not in READERS:
        raise ImportFailed(
            f"There is no schedule format {format!r}; there are {', '.join(READERS)}."
        )
    if not data.strip():
        raise ImportFailed(f'"{name}" is empty.')
    kind = format or _format_of(name, data)
    if kind is None:
        raise ImportFailed(f'"{name}" is not a schedule we can read: send {ACCEPTED_FORMATS}.')
    return READERS[kind](data, timezone)


def _format_of(name: str, data: bytes) -> str | None:
    """The format a file's extension names, or else the one its first byte suggests."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    head = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = data[:64].decode("utf-16", errors="ignore").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if head == b"<":
        return "frab"
    if head in (b"{", b"["):
        return "json"
    return None


def decoded(data: bytes, what: str) -> str:
    """Bytes as UTF-8 text (a byte-order mark dropped), or ImportFailed naming the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed(
            f"The {what} is not UTF-8 text.",
            [
                Problem(
                    "",
                    f"byte {error.start + 1}",
                    "this byte is not UTF-8; save the file as “CSV UTF-8” and try again.",
                )
            ],
        ) from None
