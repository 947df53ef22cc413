"""An account statement from the ledger: every bill, payment, adjustment and refund, with
the running balance (positive: the customer owes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.functions import Sum

from domain.enums import LedgerKind
from services.errors import NotFound
from store.models import Account, LedgerEntry


@dataclass(frozen=True)
class StatementLine:
    effective_on: date
    kind: LedgerKind
    description: str
    source_key: str
    debit_paise: int
    credit_paise: int
    balance_paise: int


@dataclass(frozen=True)
class Statement:
    account_number: str
    start: date | None
    end: date | None
    opening_balance_paise: int
    lines: list[StatementLine]
    closing_balance_paise: int


async def account_statement(
    *, account_id: int, start: date | None = None, end: date | None = None
) -> Statement:
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("account", field="accountId")
    opening = 0
    if start is not None:
        row = (
            await LedgerEntry.filter(account_id=account_id, effective_on__lt=start)
            .annotate(total=Sum("amount_paise"))
            .values("total")
        )
        opening = int((row[0]["total"] if row else 0) or 0)
    query = LedgerEntry.filter(account_id=account_id)
    if start is not None:
        query = query.filter(effective_on__gte=start)
    if end is not None:
        query = query.filter(effective_on__lte=end)
    balance = opening
    lines = []
    for entry in await query.order_by("effective_on", "id"):
        balance += entry.amount_paise
        lines.append(
            StatementLine(
                effective_on=entry.effective_on,
                kind=entry.kind,
                description=entry.description,
                source_key=entry.source_key,
                debit_paise=max(entry.amount_paise, 0),
                credit_paise=max(-entry.amount_paise, 0),
                balance_paise=balance,
            )
        )
    return Statement(account.number, start, end, opening, lines, balance)
