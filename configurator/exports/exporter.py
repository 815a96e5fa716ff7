"""What an exporter is: a described format and a build function that yields bytes and counts steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..compiler import CompiledSchema
from ..db import Database
from .batches import Progress

# build(db, event id, schema, progress, section, option) -> (byte chunks, steps the progress counts)
Build = Callable[
    [Database, int, CompiledSchema, Progress, str | None, str | None],
    tuple[Iterator[bytes], int],
]


@dataclass(frozen=True)
class ExportFormat:
    """One kind of export staff can download, and how to build it."""

    id: str
    title: str
    description: str
    mimetype: str
    extension: str
    build: Build
