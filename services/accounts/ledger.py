"""Posting to the append-only account ledger, and reading balances from it.

Every entry names what posted it in ``source_key`` (unique): ``bill:<bill id>``,
``late_fee:<id of the overdue bill>``, ``credit_note:<cancelled bill id>``; payments
post ``payment:…`` in the payments issue. Posting the same thing twice is refused by the
database, so a retried or concurrent issue can never debit an account twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.enums import LedgerKind
from domain.ledger import Entry
from store.sql import Sql, as_date

ENTRY_COLUMNS = (
    "account_id", "kind", "amount_paise", "effective_on", "posted_at", "source_key",
    "description", "bill_id", "payment_id", "adjustment_id", "reverses_id",
)  # fmt: skip


@dataclass(frozen=True)
class Posting:
    account_id: int
    kind: LedgerKind
    amount_paise: int
    effective_on: date
    source_key: str
    description: str = ""
    bill_id: int | None = None
    adjustment_id: int | None = None


def bill_key(bill_id: int) -> str:
    return f"bill:{bill_id}"


def late_fee_key(overdue_bill_id: int) -> str:
    return f"late_fee:{overdue_bill_id}"


def credit_note_key(bill_id: int) -> str:
    return f"credit_note:{bill_id}"


async def post(sql: Sql, postings: Sequence[Posting]) -> None:
    """Insert the entries (inside the caller's transaction); a repeated key fails it."""
    now = sql.ts(datetime.now(UTC))
    await sql.insert(
        "ledger_entries",
        ENTRY_COLUMNS,
        [
            (
                p.account_id, p.kind.value, p.amount_paise, sql.day(p.effective_on), now,
                p.source_key, p.description[:200], p.bill_id, None, p.adjustment_id, None,
            )
            for p in postings
        ],
    )  # fmt: skip


async def balances(sql: Sql, account_ids: Sequence[int]) -> dict[int, int]:
    """Each account's balance over all its entries (0 for an account without any)."""
    found = dict.fromkeys(account_ids, 0)
    if not account_ids:
        return found
    marks, ids = sql.inlist(account_ids)
    for r in await sql.rows(
        "SELECT account_id, SUM(amount_paise) AS balance FROM ledger_entries "  # noqa: S608
        f"WHERE account_id IN ({marks}) GROUP BY account_id",
        ids,
    ):
        found[r["account_id"]] = int(r["balance"] or 0)
    return found


async def entries_since(
    sql: Sql, account_ids: Sequence[int], after: date
) -> dict[int, list[Entry]]:
    """Entries effective after ``after``, per account, in date order."""
    found: dict[int, list[Entry]] = {a: [] for a in account_ids}
    if not account_ids:
        return found
    marks, ids = sql.inlist(account_ids)
    for r in await sql.rows(
        "SELECT account_id, kind, amount_paise, effective_on, source_key, description "  # noqa: S608
        "FROM ledger_entries "
        f"WHERE account_id IN ({marks}) AND effective_on > ? "
        "ORDER BY effective_on, id",
        [*ids, sql.day(after)],
    ):
        found[r["account_id"]].append(
            Entry(
                r["kind"],
                r["amount_paise"],
                as_date(r["effective_on"]),
                r["source_key"],
                r["description"],
            )
        )
    return found


async def existing_keys(sql: Sql, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    rows = await sql.rows(
        f"SELECT source_key FROM ledger_entries WHERE source_key IN ({sql.marks(len(keys))})",  # noqa: S608
        list(keys),
    )
    return {r["source_key"] for r in rows}
