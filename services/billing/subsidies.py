"""The government receivable: subsidies shown on customers' bills, owed by the government.

The rule is :mod:`domain.subsidy`. Issuing a bill (:mod:`services.billing.issue`) posts a
claim per subsidy line code (``subsidy:<bill id>:<code>``) in the issuing transaction;
cancelling it (:mod:`services.billing.corrections`, so a rebill too) posts the opposite
(``subsidy_cancel:<bill id>:<code>``). ``government_receivables`` is a ledger of its own:
nothing here touches the customer's balance, which the subsidy line already lowered.
:func:`receivable` is the report: what the government owes per scheme as of a date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.billing import BillLineData
from domain.subsidy import claims
from store.sql import Sql

COLUMNS = (
    "bill_id", "scheme", "amount_paise", "effective_on", "posted_at", "source_key", "description",
)  # fmt: skip


@dataclass(frozen=True)
class IssuedBill:
    bill_id: int
    number: str
    issue_date: date
    lines: Sequence[BillLineData]


@dataclass(frozen=True)
class SchemeTotal:
    scheme: str
    bills: int
    amount_paise: int


async def claim(sql: Sql, bills: Sequence[IssuedBill]) -> int:
    """Post the government's share of each newly issued bill; returns the paise claimed."""
    now = sql.ts(datetime.now(UTC))
    rows = [
        (b.bill_id, c.code, c.amount_paise, sql.day(b.issue_date), now,
         f"subsidy:{b.bill_id}:{c.code}", f"{c.description} on bill {b.number}"[:200])
        for b in bills
        for c in claims((ln.component, ln.code, ln.description, ln.amount_paise) for ln in b.lines)
    ]  # fmt: skip
    await sql.insert("government_receivables", COLUMNS, rows)
    return sum(int(r[2]) for r in rows)


async def withdraw(sql: Sql, bill_id: int, number: str, on: date) -> int:
    """Take back a cancelled bill's claims (inside the cancelling transaction)."""
    found = await sql.rows(
        "SELECT scheme, SUM(amount_paise) AS owed FROM government_receivables "
        "WHERE bill_id = ? GROUP BY scheme ORDER BY scheme",
        [bill_id],
    )
    now = sql.ts(datetime.now(UTC))
    rows = [
        (bill_id, r["scheme"], -int(r["owed"]), sql.day(on), now,
         f"subsidy_cancel:{bill_id}:{r['scheme']}", f"Bill {number} cancelled"[:200])
        for r in found
        if int(r["owed"] or 0)
    ]  # fmt: skip
    await sql.insert("government_receivables", COLUMNS, rows)
    return -sum(int(r[2]) for r in rows)


async def receivable(sql: Sql, *, as_of: date | None = None) -> list[SchemeTotal]:
    """What the government owes per scheme, over entries effective on or before ``as_of``
    (all of them without a date): claims less cancellations, and the bills still claimed."""
    where, params = ("WHERE effective_on <= ?", [sql.day(as_of)]) if as_of else ("", [])
    rows = await sql.rows(
        "SELECT scheme, bill_id, SUM(amount_paise) AS owed FROM government_receivables "  # noqa: S608
        f"{where} GROUP BY scheme, bill_id",
        params,
    )
    totals: dict[str, list[int]] = {}
    for r in rows:
        owed = int(r["owed"] or 0)
        slot = totals.setdefault(r["scheme"], [0, 0])
        slot[0] += 1 if owed else 0
        slot[1] += owed
    return [SchemeTotal(k, v[0], v[1]) for k, v in sorted(totals.items())]
