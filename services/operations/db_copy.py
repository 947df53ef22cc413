"""Moving an installation's database to another one: SQLite to PostgreSQL as a utility grows.

The target is migrated by our own migrations first (so its tables, constraints and
triggers are exactly what ``gridbill migrate`` makes on PostgreSQL), then every table's
rows are streamed into it with ``COPY`` in foreign-key order, in **one transaction**:
PostgreSQL parses each value by its column's type (SQLite keeps times, UUIDs, JSON and
decimals as text), checks every constraint, and runs the triggers (the ledger's
append-only guard allows inserts). Then the id sequences are moved past the copied ids,
and every table's row count and the ledger's sum are compared before the commit, so a
copy is all or nothing. The server must be stopped: rows written during the copy would
be left behind. Procedure: docs/operations.md, "Moving from SQLite to PostgreSQL".
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

import psycopg

from gridbill.errors import UserError
from services.operations.backup import Snapshot, libpq_target, snapshot
from store.db import is_postgres, sqlite_path

NOT_COPIED = ("tortoise_migrations", "sqlite_sequence")
BATCH = 5_000

FOREIGN_KEYS = """
SELECT tc.table_name, ccu.table_name
FROM information_schema.table_constraints tc
JOIN information_schema.constraint_column_usage ccu
  ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()
"""
SEQUENCES = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema()
  AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')
"""


class CopyError(UserError):
    """The database cannot be copied; the message says why and what state the target is in."""


@dataclass
class Copied:
    tables: int
    rows: int
    ledger_sum_paise: int
    migration: str


def copy_database(
    source_url: str, target_url: str, *, progress: Callable[[str, int], object] | None = None
) -> Copied:
    """Copy every row of the (migrated) SQLite ``source_url`` into the migrated, empty target."""
    source_path = sqlite_path(source_url)
    if source_path is None or not source_path.exists():
        raise CopyError(
            "gridbill db copy moves an embedded SQLite database: DATABASE_URL must be sqlite://PATH of an existing file"
        )
    if not is_postgres(target_url):
        raise CopyError("--to must be a postgres://USER:PASSWORD@HOST:PORT/DBNAME URL")
    before = snapshot(source_url)
    wanted = [t for t in before.tables if t not in NOT_COPIED]
    url, env = libpq_target(target_url)
    with psycopg.connect(url, password=env.get("PGPASSWORD")) as target:
        there = _target_tables(target)
        if missing := sorted(set(wanted) - set(there)):
            raise CopyError(
                f"the target lacks tables {', '.join(missing[:5])}: both databases must be "
                "migrated by the same gridbill version (run `gridbill migrate` on the source)"
            )
        if full := [t for t in there if t not in NOT_COPIED and _has_rows(target, t)]:
            raise CopyError(
                f"the target database is not empty ({full[0]} has rows): copy into a new database"
            )
        order = _fk_order(target, wanted)
        with contextlib.closing(sqlite3.connect(source_path)) as source:
            for table in order:
                rows = _copy_table(source, target, table)
                if progress is not None:
                    progress(table, rows)
        _reset_sequences(target)
        _verify(target, before, wanted)
        target.commit()
    return Copied(
        len(wanted),
        sum(before.tables[t] for t in wanted),
        before.ledger_sum_paise,
        before.migration,
    )


def _target_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    return conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone() == (True,)  # noqa: S608


def _fk_order(conn: psycopg.Connection[Any], wanted: list[str]) -> list[str]:
    """Referenced tables before the tables that reference them (self-references aside)."""
    graph: dict[str, set[str]] = {t: set() for t in wanted}
    for child, parent in conn.execute(FOREIGN_KEYS).fetchall():
        if child in graph and parent in graph and child != parent:
            graph[child].add(parent)
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise CopyError(f"tables reference each other in a cycle: {exc.args[1]}") from None


def _copy_table(source: sqlite3.Connection, target: psycopg.Connection[Any], table: str) -> int:
    """Stream the table through COPY, in id order; PostgreSQL parses each text by its type."""
    columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = source.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid')  # noqa: S608
    count = 0
    with target.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:  # names: catalogue
        while rows := cursor.fetchmany(BATCH):
            for row in rows:
                copy.write_row(row)
            count += len(rows)
    return count


def _reset_sequences(conn: psycopg.Connection[Any]) -> None:
    """Move each id sequence past the copied ids, so the next insert does not collide."""
    for table, column in conn.execute(SEQUENCES).fetchall():
        conn.execute(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX("{column}"), 1), '  # noqa: S608
            f'MAX("{column}") IS NOT NULL) FROM "{table}"',
            (f'"{table}"', column),
        )


def _verify(conn: psycopg.Connection[Any], before: Snapshot, wanted: list[str]) -> None:
    """Row counts and the ledger sum, read inside the copy's own transaction."""
    for table in wanted:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
        if row is None or row[0] != before.tables[table]:
            raise CopyError(
                f"{table}: {row[0] if row else 0} rows arrived of {before.tables[table]}; "
                "nothing was committed"
            )
    if "ledger_entries" in wanted:
        row = conn.execute("SELECT COALESCE(SUM(amount_paise), 0) FROM ledger_entries").fetchone()
        if row is None or int(row[0]) != before.ledger_sum_paise:
            raise CopyError("the ledger's sum differs after the copy; nothing was committed")
