"""Fast inserts for the demo loader: parameterised batches on SQLite, COPY on PostgreSQL.

Going through model instances costs tens of microseconds a row, which is most of a
minute for the smart meters' ~900,000 intervals. Rows here are plain tuples in column
order, already in the form the driver takes (see :class:`Dialect`), and ids are left to
the database, so PostgreSQL's sequences stay right without any resetting afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

Row = tuple[Any, ...]
CHUNK_ROWS = 20_000


class Dialect:
    """Python values as each driver wants them.

    SQLite gets the text Tortoise itself stores (``2026-04-01 04:00:00+00:00``, so the
    ORM reads the rows back unchanged); asyncpg gets native objects for its binary codecs.
    """

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def ts(self, value: datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.isoformat(" ")

    def day(self, value: date | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.isoformat()

    def uuid(self, value: uuid.UUID) -> Any:
        return value if self.postgres else str(value)

    def json(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))


def quoted(name: str) -> str:
    """A table or column name for SQL text; only this package's own constants come here."""
    if not name.isidentifier():
        raise ValueError(f"not an SQL identifier: {name!r}")
    return f'"{name}"'


def chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class BulkWriter:
    """Inserts rows through one (transactional) connection and reports progress in rows."""

    def __init__(self, client: BaseDBAsyncClient, progress: Callable[[int], object]) -> None:
        self.client = client
        self.dialect = Dialect(client.capabilities.dialect == "postgres")
        self.progress = progress

    async def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        written = 0
        for chunk in chunks(rows, CHUNK_ROWS):
            if self.dialect.postgres:
                await self._copy(table, columns, chunk)
            else:
                await self.client.execute_many(self._insert_sql(table, columns), chunk)  # type: ignore[arg-type]
            written += len(chunk)
            self.progress(len(chunk))
        return written

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        names = ", ".join(quoted(column) for column in columns)
        marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {quoted(table)} ({names}) VALUES ({marks})"  # noqa: S608 - quoted() names

    async def _copy(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """PostgreSQL's COPY, through the transaction's own asyncpg connection."""
        async with self.client.acquire_connection() as connection:
            await connection.copy_records_to_table(table, records=rows, columns=list(columns))

    async def ids(self, table: str, *key: str) -> dict[Any, int]:
        """``key`` value(s) → id for every row of ``table``: how rows find their parents."""
        columns = ", ".join(quoted(column) for column in key)
        rows = await self.client.execute_query_dict(f"SELECT id, {columns} FROM {quoted(table)}")  # noqa: S608
        if len(key) == 1:
            return {row[key[0]]: row["id"] for row in rows}
        return {tuple(row[column] for column in key): row["id"] for row in rows}

    async def ids_where(
        self, table: str, key: Sequence[str], column: str, values: Sequence[Any]
    ) -> dict[Any, int]:
        """Like :meth:`ids`, for the rows whose ``column`` is one of ``values`` only."""
        if not values:
            return {}
        names = ", ".join(quoted(c) for c in key)
        if self.dialect.postgres:
            marks = ", ".join(f"${n}" for n in range(1, len(values) + 1))
        else:
            marks = ", ".join("?" for _ in values)
        rows = await self.client.execute_query_dict(
            f"SELECT id, {names} FROM {quoted(table)} WHERE {quoted(column)} IN ({marks})",  # noqa: S608
            list(values),
        )
        if len(key) == 1:
            return {row[key[0]]: row["id"] for row in rows}
        return {tuple(row[c] for c in key): row["id"] for row in rows}

    async def count(self, table: str) -> int:
        rows = await self.client.execute_query_dict(f"SELECT COUNT(*) AS n FROM {quoted(table)}")  # noqa: S608
        return int(rows[0]["n"])

    async def grouped(self, table: str, column: str) -> dict[str, int]:
        """Rows of ``table`` counted by ``column``, the biggest group first."""
        name = quoted(column)
        rows = await self.client.execute_query_dict(
            f"SELECT {name} AS k, COUNT(*) AS n FROM {quoted(table)} GROUP BY {name} ORDER BY n DESC, k"  # noqa: S608
        )
        return {str(row["k"]): int(row["n"]) for row in rows}
