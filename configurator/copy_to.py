"""Moving up: copy a SQLite database into an empty PostgreSQL one, then check it row by row.

The copy reads one SQLite snapshot, writes every table in one PostgreSQL transaction (parents
before children, a table's references to itself filled in afterwards), moves each identity
sequence past the ids copied, and compares every row of every table on both sides before it
commits; any difference rolls the whole copy back, so the target is either complete or empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from psycopg import sql

from . import postgres
from .db import connect_sqlite
from .errors import ConfiguratorError

BATCH = 2000


class CopyFailed(ConfiguratorError):
    """The copy could not be made or did not check out: nothing was kept."""


def copy_to(source: str, target_url: str) -> dict[str, int]:
    """Copy the SQLite file source into the PostgreSQL database at target_url; rows per table."""
    postgres.migrate(target_url)
    lite = connect_sqlite(source).conn
    conn = postgres.open_connection(target_url)
    try:
        lite.execute("BEGIN")  # one read snapshot for the copy and the check
        tables = _ordered_tables(lite)
        counts: dict[str, int] = {}
        with conn.transaction():
            _refuse_if_not_empty(conn, tables)
            for table in tables:
                counts[table] = _copy_table(lite, conn, table)
            _move_sequences(conn)
            for table in tables:
                _check_table(lite, conn, table)
        return counts
    finally:
        lite.execute("ROLLBACK")
        lite.close()
        conn.close()


def _ordered_tables(lite: sqlite3.Connection) -> list[str]:
    """The app's tables, each after every table it refers to (migrations left out: init wrote it)."""
    names = [
        r[0]
        for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'migrations' ORDER BY name"
        )
    ]
    parents = {
        name: {r[2] for r in lite.execute("SELECT * FROM pragma_foreign_key_list(?)", [name])} - {name}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise CopyFailed("The tables refer to each other in a circle; nothing was copied.")
        ordered.extend(ready)
    return ordered


def _columns(lite: sqlite3.Connection, table: str) -> tuple[list[str], list[str], list[str]]:
    """Every column, the primary key's columns, and the columns that refer to the table itself."""
    info = lite.execute("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", [table]).fetchall()
    columns = [r[0] for r in info]
    key = [r[0] for r in sorted((r for r in info if r[1]), key=lambda r: r[1])] or columns
    own = [r[3] for r in lite.execute("SELECT * FROM pragma_foreign_key_list(?)", [table]) if r[2] == table]
    return columns, key, own


def _refuse_if_not_empty(conn: Any, tables: list[str]) -> None:
    for table in tables:
        if conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table))).fetchone():
            raise CopyFailed(
                f"The PostgreSQL database already has data (table {table}): copy into an empty one."
            )


def _rows(lite: sqlite3.Connection, table: str, columns: list[str], key: list[str]) -> Iterator[tuple]:
    # The names come from SQLite's own catalogue of our tables, never from input; quoted anyway.
    listed = ", ".join(_quoted(c) for c in columns)
    order = ", ".join(_quoted(c) for c in key)
    cursor = lite.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT {listed} FROM {_quoted(table)} ORDER BY {order}")  # noqa: S608 # nosec B608
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_table(lite: sqlite3.Connection, conn: Any, table: str) -> int:
    columns, key, own = _columns(lite, table)
    copied = 0
    later: list[tuple[Any, ...]] = []
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    own_at = [columns.index(c) for c in own]
    key_at = [columns.index(c) for c in key]
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in _rows(lite, table, columns, key):
            if own_at and any(row[i] is not None for i in own_at):
                later.append(row)
                row = tuple(None if i in own_at else v for i, v in enumerate(row))
            copy.write_row(row)
            copied += 1
    for row in later:  # a row that names another of its table: filled in once all are there
        conn.execute(
            sql.SQL("UPDATE {} SET {} WHERE {}").format(
                sql.Identifier(table),
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in own),
                sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key),
            ),
            [row[i] for i in own_at] + [row[i] for i in key_at],
        )
    return copied


def _move_sequences(conn: Any) -> None:
    """Each identity column's next value past the largest id copied into it."""
    identities = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false)"
                " FROM {}"
            ).format(sql.Identifier(column), sql.Identifier(table)),
            [table, column],
        )


def _check_table(lite: sqlite3.Connection, conn: Any, table: str) -> None:
    """Every row of the table, compared value by value on both sides, in primary-key order."""
    columns, key, _own = _columns(lite, table)
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, key)),
    )
    with conn.cursor(name=f"check_{table}") as cursor:
        cursor.itersize = BATCH
        cursor.execute(query)
        theirs = iter(cursor)
        for n, mine in enumerate(_rows(lite, table, columns, key), start=1):
            copied = next(theirs, None)
            if copied is None or tuple(copied) != tuple(mine):
                raise CopyFailed(
                    f"Row {n} of {table} differs after the copy ({mine!r} became {copied!r});"
                    " nothing was kept."
                )
        if next(theirs, None) is not None:
            raise CopyFailed(f"{table} has more rows in PostgreSQL than in SQLite; nothing was kept.")
