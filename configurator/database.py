"""The `Database` type every domain function takes: what it may use of a connection, either engine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

SQLITE, POSTGRESQL = "sqlite", "postgresql"
SAME_MOMENT = "Someone else saved the same thing at the same moment; reload the page and try again."
BUSY = "The database is busy with many changes at once; try again in a few seconds."


class Database(Protocol):
    """What the domain may use: `?` SQL, per-dialect texts keyed by `dialect`, batches."""

    dialect: str
    url: str

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        """Run one statement; the cursor has fetchone, fetchall, iteration and rowcount."""
        ...

    def batches(self, sql: str, parameters: Sequence[Any], size: int) -> Iterator[list[Any]]:
        """The rows of one query, size at a time, from one snapshot (a server cursor on PG)."""
        ...

    def table_names(self) -> list[str]:
        """The tables of the database."""
        ...

    def change_marker(self) -> Any:
        """A value that changes whenever anyone commits, or None when there is no cheap one."""
        ...

    def close(self) -> None:
        """Give the connection back (close it, or return it to its pool)."""
        ...


class MissingLocks(Exception):
    """A write found it needs locks it did not take first; run it again with these as well.

    A save learns which seats it frees only inside its transaction; taking a lock then, out of
    the sorted order, could deadlock, so the transaction is rolled back and retried with them.
    """

    def __init__(self, locks: set[str]) -> None:
        super().__init__(", ".join(sorted(locks)))
        self.locks = locks
