"""Rows into bytes: defused UTF-8 CSV and a streamed zip, in chunks of bounded size."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CHUNK = 64 * 1024
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STARTS = frozenset(_FORMULA_STARTS)
ROWS_PER_WRITE = 256
ZIP_LEVEL = 1


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


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what is written until it is taken (zipfile streams)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data, self.parts, self.size = b"".join(self.parts), [], 0
        return data


def zip_chunks(files: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A zip archive written as a stream (no seeking), a member at a time."""
    sink = _Sink()
    # Level 1: calendars and CSV compress nearly as well as at zlib's default, several times faster.
    with zipfile.ZipFile(
        sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
    ) as archive:
        for name, data in files:
            archive.writestr(name, data)
            if sink.size >= CHUNK:
                yield sink.take()
    yield sink.take()
