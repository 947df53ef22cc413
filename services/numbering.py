"""The gapless counters behind every document and party number.

One row per series and counter label in ``document_sequences`` (the financial year, or
``all`` for series that never restart), counted up with ``UPDATE … RETURNING`` inside the
caller's transaction: concurrent takers queue on the row (a row lock on PostgreSQL,
SQLite's single writer), and a rolled-back transaction gives its numbers back, so no
number is skipped or given twice. The numbers are written by
:mod:`domain.document_number`.
"""

from __future__ import annotations

from datetime import date

from tortoise.connection import get_connection

from domain.document_number import counter_label, document_number
from store.sql import Sql


async def take(series: str, on: date, count: int = 1, *, sql: Sql | None = None) -> list[str]:
    """Reserve ``count`` consecutive numbers of ``series`` for a document dated ``on``.

    Call it inside the transaction that stores the documents (``sql`` is that
    transaction's connection; without it, the current one): the numbers are only spent if
    it commits.
    """
    if count < 1:
        raise ValueError(f"take at least one number, not {count}")
    label = counter_label(series, on)
    sql = sql or Sql(get_connection("default"))
    await sql.execute(
        "INSERT INTO document_sequences (series, financial_year, last_value) VALUES (?, ?, 0) "
        "ON CONFLICT (series, financial_year) DO NOTHING",
        [series, label],
    )
    rows = await sql.rows(
        "UPDATE document_sequences SET last_value = last_value + ? "
        "WHERE series = ? AND financial_year = ? RETURNING last_value",
        [count, series, label],
    )
    first = int(rows[0]["last_value"]) - count + 1
    return [document_number(series, label, first + offset) for offset in range(count)]


async def take_one(series: str, on: date, *, sql: Sql | None = None) -> str:
    """The next number of ``series`` (see :func:`take`)."""
    return (await take(series, on, 1, sql=sql))[0]
