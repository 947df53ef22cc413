"""Tortoise's SQLite backend, counting only the rows a statement itself changed.

Tortoise counts a statement's changes as the growth of the connection's
``total_changes``, which includes rows changed by triggers. gridbill's triggers stamp
route stops whenever what a pulled stop is built from changes (migration
``0004_sync_promises``), so an ``UPDATE register_reads … WHERE id = ?`` would report 2
rows. Use cases rely on exact counts (a conditional update that claims one row), so this
backend asks SQLite for ``changes()``, the direct count, whenever a statement changed
anything. Selected in ``store.db.tortoise_config`` for every SQLite URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)


class _DirectCounts:
    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        query = query.replace("\x00", "'||CHAR(0)||'")
        async with self.acquire_connection() as connection:  # type: ignore[attr-defined]
            self.log.debug("%s: %s", query, values)  # type: ignore[attr-defined]
            start = connection.total_changes
            rows = await connection.execute_fetchall(query, values)
            if connection.total_changes == start:
                return len(rows), rows
            [(direct,)] = await connection.execute_fetchall("SELECT changes()")
            return int(direct) or len(rows), rows


class GridbillSqliteTransactionWrapper(_DirectCounts, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(GridbillSqliteTransactionWrapper(self))


class GridbillSqliteClient(_DirectCounts, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(GridbillSqliteTransactionWrapper(self), self._lock)


client_class = GridbillSqliteClient
