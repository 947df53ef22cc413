"""Bill adjustments by staff: a numbered credit or debit note on an account, posted to the ledger.

A credit note (negative: the customer owes less) is numbered in the ``credit_note`` series
as cancellations are (``CN/2026-27/000007``), a debit note in its own ``debit_note``
series (``DN/…``); both are gapless per financial year, taken inside the transaction. The
:class:`Adjustment` row, its ledger entry (``adjustment:<number>``, so it posts once) and
the audit row commit together. Built on the counters of ``services.numbering``
and the ledger of ``services.accounts.ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.transactions import in_transaction

from domain.enums import AdjustmentKind, LedgerKind
from services import audit
from services.accounts.ledger import Posting, post
from services.errors import NotFound, Refused
from services.events import publish
from services.numbering import take_one
from services.viewer import Viewer
from store.models import Account, AccountHolder, Adjustment, Bill
from store.sql import Sql

MAX_ADJUSTMENT_PAISE = 10**12
CREDITS = (AdjustmentKind.CREDIT_NOTE, AdjustmentKind.WAIVER, AdjustmentKind.SUBSIDY)


@dataclass(frozen=True)
class NewAdjustment:
    account_id: int
    kind: AdjustmentKind
    amount_paise: int  # positive: the size of the note; its sign follows from the kind
    reason: str
    bill_id: int | None = None
    on: date | None = None


async def raise_adjustment(viewer: Viewer, data: NewAdjustment, *, today: date) -> Adjustment:
    if not 0 < data.amount_paise <= MAX_ADJUSTMENT_PAISE:
        raise Refused("INVALID_INPUT", "the amount must be more than zero", field="amountPaise")
    if not data.reason.strip():
        raise Refused("INVALID_INPUT", "give the reason", field="reason")
    if data.kind == AdjustmentKind.CHEQUE_BOUNCE_FEE:
        raise Refused("INVALID_INPUT", "bounce fees come with the bounced cheque", field="kind")
    signed = -data.amount_paise if data.kind in CREDITS else data.amount_paise
    on = data.on or today
    account = await Account.get_or_none(id=data.account_id)
    if account is None:
        raise NotFound("account", field="accountId")
    customer_id: int | None = None
    if data.bill_id is not None:
        bill = await Bill.get_or_none(id=data.bill_id, account_id=data.account_id)
        if bill is None:
            raise NotFound("bill", field="billId")
        customer_id = bill.customer_id  # type: ignore[attr-defined]
    else:
        holder = await AccountHolder.filter(account_id=account.id, move_out_on__isnull=True).first()
        customer_id = holder.customer_id if holder else None  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        sql = Sql(connection)
        number = await take_one("credit_note" if signed < 0 else "debit_note", on, sql=sql)
        adjustment = await Adjustment.create(
            number=number, account_id=account.id, bill_id=data.bill_id, kind=data.kind,
            amount_paise=signed, reason=data.reason.strip(), created_by_id=viewer.user_id,
            approved_by_id=viewer.user_id,
        )  # fmt: skip
        kind = LedgerKind.CREDIT_NOTE if signed < 0 else LedgerKind.ADJUSTMENT
        await post(
            sql,
            [
                Posting(
                    account.id, kind, signed, on, f"adjustment:{number}",
                    f"{data.kind.value.replace('_', ' ').capitalize()} {number}",
                    bill_id=data.bill_id, adjustment_id=adjustment.id,
                )
            ],
        )  # fmt: skip
        await audit.record(
            viewer=viewer, action="adjustment.raised", entity="account", entity_id=account.id,
            after={"number": number, "kind": data.kind, "amount_paise": signed, "bill_id": data.bill_id},
            reason=data.reason,
        )  # fmt: skip
    await publish(
        "bill.adjusted", customer_id=customer_id, account_id=account.id, bill_id=data.bill_id,
        adjustment_id=adjustment.id, at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    return adjustment
