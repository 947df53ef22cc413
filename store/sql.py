"""Raw, set-based SQL that runs unchanged on SQLite and PostgreSQL.

Billing, ingestion and VEE are bulk jobs: a query per table per chunk of accounts, not per
account, and multi-row inserts (``INSERT … ON CONFLICT DO NOTHING RETURNING``) so the
database's unique constraint, not a prior check, decides which process bills an account.
The SQL is written once with ``?`` placeholders and works on SQLite (3.35+) and
PostgreSQL; :class:`Sql` turns placeholders and values into each driver's form
(:func:`placeholders`: a literal ``?`` operator is written ``??``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

# Both drivers allow 32,766 parameters or more in one statement; stay well under.
MAX_PARAMS = 30_000


@functools.lru_cache(maxsize=256)
def placeholders(sql: str, *, numbered: bool) -> str:
    """The statement with each ``?`` placeholder as the driver wants it.

    ``?`` inside a quoted string (``'…'``), a quoted name (``"…"``) or a comment is text,
    not a placeholder. PostgreSQL's jsonb operators ``?``, ``?|`` and ``?&`` are written
    doubled (``??``, ``??|``, ``??&``) and come out single. On PostgreSQL (``numbered``)
    placeholders become ``$1, $2, …``; SQLite keeps ``?``.
    """
    out: list[str] = []
    n = 0
    i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"":
            end = sql.find(char, i + 1)
            while end != -1 and sql[end + 1 : end + 2] == char:  # '' inside a string
                end = sql.find(char, end + 2)
            end = len(sql) if end == -1 else end + 1
            out.append(sql[i:end])
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end == -1 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = len(sql) if end == -1 else end + 2
            out.append(sql[i:end])
            i = end
        elif sql.startswith("??", i):
            out.append("?")
            i += 2
        elif char == "?":
            n += 1
            out.append(f"${n}" if numbered else "?")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


class Sql:
    """One connection (often a transaction) and its dialect's value forms."""

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.postgres = client.capabilities.dialect == "postgres"

    # --- values ---------------------------------------------------------------------------

    def day(self, value: date | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.isoformat()

    def ts(self, value: datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.astimezone(UTC).isoformat(" ")

    def flag(self, value: bool) -> Any:
        return value if self.postgres else int(value)

    def uuid(self, value: UUID) -> Any:
        return value if self.postgres else str(value)

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    # --- statements -------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return placeholders(sql, numbered=self.postgres)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return await self.client.execute_query_dict(self._sql(sql), list(params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        count, _ = await self.client.execute_query(self._sql(sql), list(params))
        return count

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.client.execute_many(self._sql(sql), [list(r) for r in rows])

    async def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        suffix: str = "",
        returning: str = "",
    ) -> list[dict[str, Any]]:
        """Multi-row INSERT in batches under the parameter limit; RETURNING rows if asked.

        Batches have power-of-two sizes, so a long run prepares a handful of statement
        shapes per table (the drivers cache prepared statements by their text).
        """
        per_row = len(columns)
        batch = _power_of_two(max(1, MAX_PARAMS // per_row))
        names = ", ".join(columns)
        marks = "(" + ", ".join("?" for _ in columns) + ")"
        returned: list[dict[str, Any]] = []
        pending = list(rows)
        start = 0
        while start < len(pending):
            size = min(batch, _power_of_two(len(pending) - start))
            chunk = pending[start : start + size]
            start += size
            values = ", ".join(marks for _ in chunk)
            sql = f"INSERT INTO {table} ({names}) VALUES {values} {suffix}"  # noqa: S608 - our own constants
            if returning:
                sql += f" RETURNING {returning}"
            params = [v for row in chunk for v in row]
            if returning:
                returned += await self.rows(sql, params)
            else:
                await self.execute(sql, params)
        return returned

    def days_between(self, later: str, earlier: str) -> str:
        """SQL for the whole days from the date expression ``earlier`` to ``later``."""
        if self.postgres:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    @staticmethod
    def marks(count: int) -> str:
        return ", ".join("?" for _ in range(count))

    @staticmethod
    def inlist(values: Sequence[Any]) -> tuple[str, list[Any]]:
        """Placeholders and values for ``IN (…)``, padded to a power-of-two length by
        repeating the last value, so statement texts repeat (and stay cached)."""
        padded = list(values)
        if padded:
            padded += [padded[-1]] * (_power_of_two(len(padded), up=True) - len(padded))
        return Sql.marks(len(padded)), padded

    async def insert_columns(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[Any]],
        *,
        suffix: str = "",
        returning: str = "",
    ) -> list[dict[str, Any]]:
        """:meth:`insert`, but on PostgreSQL one statement whatever the number of rows.

        ``columns`` are (name, PostgreSQL type) pairs. PostgreSQL gets one array per column
        (``INSERT … SELECT … FROM unnest(?::int8[], ?::text[], …)``): one statement text,
        prepared once, and a few parameters instead of one per value, which spares the
        server parsing and planning thousand-row ``VALUES`` lists (the bill run's bills
        and their lines). A ``jsonb`` column travels as text and is cast in the SELECT.
        SQLite gets :meth:`insert`'s multi-row ``VALUES``.
        """
        if not self.postgres:
            names = [name for name, _ in columns]
            return await self.insert(table, names, rows, suffix=suffix, returning=returning)
        if not rows:
            return []
        arrays = [list(values) for values in zip(*rows, strict=True)]
        kinds = ["text" if kind == "jsonb" else kind for _, kind in columns]
        picks = [
            f"c{i}::jsonb" if kind == "jsonb" else f"c{i}" for i, (_, kind) in enumerate(columns)
        ]
        sql = (
            f"INSERT INTO {table} ({', '.join(name for name, _ in columns)}) "  # noqa: S608 - our own constants
            f"SELECT {', '.join(picks)} FROM unnest({', '.join(f'?::{k}[]' for k in kinds)}) "
            f"AS u({', '.join(f'c{i}' for i in range(len(columns)))}) {suffix}"
        )
        if returning:
            return await self.rows(f"{sql} RETURNING {returning}", arrays)
        await self.execute(sql, arrays)
        return []


def _power_of_two(n: int, *, up: bool = False) -> int:
    """The largest power of two ≤ ``n`` (or the smallest ≥ ``n`` with ``up``)."""
    if n <= 1:
        return 1
    below = 1 << (n.bit_length() - 1)
    return below if not up or below == n else below * 2


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def as_date_or_none(value: Any) -> date | None:
    return None if value is None else as_date(value)


def as_dt(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_dt_or_none(value: Any) -> datetime | None:
    return None if value is None else as_dt(value)


def as_json(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    return json.loads(value)


def chunks_of(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
