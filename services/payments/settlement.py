"""Moving money between payments, bills and the ledger, inside the caller's transaction.

Every function here expects to run inside ``in_transaction()`` after the account row has
been locked with :func:`lock_account` (a row lock on PostgreSQL; SQLite serialises
transactions). The rules themselves are pure, in :mod:`domain.allocation`; this module
loads their inputs and writes their outputs:

* allocation rows (append-only, negative rows to undo) and ``bills.paid_paise`` in step;
* ledger entries with a unique ``source_key`` each: ``payment:<reference>``,
  ``payment_reversal:<reference>``, ``refund:<gateway refund id>``,
  ``cheque_bounce_fee:<reference>``, so nothing can post twice;
* the prompt-payment rebate of every bill a payment settles in time
  (:mod:`services.payments.rebates`);
* the ``payment.captured`` outbox rows, deduplicated by the payment's reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tortoise.expressions import F
from tortoise.functions import Sum

from domain.allocation import Allocation, OpenBill, apply_credit
from domain.enums import BillStatus, LedgerKind, PaymentStatus
from services.events import publish
from services.notifications.outbox import notify_payment
from services.payments.rebates import credit_earned
from store.models import (
    Account,
    AccountHolder,
    Bill,
    Customer,
    LedgerEntry,
    Payment,
    PaymentAllocation,
)


async def lock_account(account_id: int) -> Account:
    """Take the account's row lock: every change to its money happens one at a time."""
    return await Account.select_for_update().get(id=account_id)


def outstanding(bill: Bill) -> int:
    """What is still owed on a bill: its own charges and late fee, less what it was paid.

    Arrears carried onto a bill are earlier bills' money and are settled on those bills.
    """
    return int(bill.total_paise + bill.late_fee_paise - bill.paid_paise)


async def open_bills(account_id: int) -> list[OpenBill]:
    bills = await Bill.filter(account_id=account_id, status=BillStatus.ISSUED).order_by("id")
    return [OpenBill(b.id, b.period_start, outstanding(b)) for b in bills if outstanding(b) > 0]


async def write_allocations(payment_id: int, rows: Iterable[Allocation]) -> None:
    for row in rows:
        if row.amount_paise == 0:
            continue
        await PaymentAllocation.create(
            payment_id=payment_id, bill_id=row.bill_id, amount_paise=row.amount_paise
        )
        if row.bill_id is not None:
            await Bill.filter(id=row.bill_id).update(paid_paise=F("paid_paise") + row.amount_paise)


async def payment_rows(payment_id: int) -> list[Allocation]:
    rows = await PaymentAllocation.filter(payment_id=payment_id).order_by("id")
    return [Allocation(r.bill_id, r.amount_paise) for r in rows]  # type: ignore[attr-defined]


async def apply_account_credit(account_id: int) -> int:
    """Apply credit held on the account to its open bills, oldest of each first.

    Call it (inside the transaction, with the account locked) whenever a bill is issued
    or money is taken back off a bill. Returns the paise applied.
    """
    held = (
        await PaymentAllocation.filter(
            payment__account_id=account_id,
            payment__status=PaymentStatus.CAPTURED,
            bill_id__isnull=True,
        )
        .group_by("payment_id")
        .annotate(held=Sum("amount_paise"))
        .order_by("payment_id")
        .values("payment_id", "held")
    )
    bills = await open_bills(account_id)
    credits = within_ledger_credit(
        [(int(r["payment_id"]), int(r["held"] or 0)) for r in held],
        sum(b.outstanding_paise for b in bills) - await ledger_balance(account_id),
    )
    if not any(amount > 0 for _, amount in credits):
        return 0
    moves = apply_credit(credits, bills)
    for payment_id, row in moves:
        await write_allocations(payment_id, [row])
    return sum(row.amount_paise for _, row in moves if row.bill_id is not None)


async def ledger_balance(account_id: int) -> int:
    """What the account owes on its ledger (negative: in credit)."""
    rows = await LedgerEntry.filter(account_id=account_id).annotate(
        total=Sum("amount_paise")
    ).values("total")  # fmt: skip
    return int(rows[0]["total"] or 0) if rows else 0


def within_ledger_credit(credits: list[tuple[int, int]], available: int) -> list[tuple[int, int]]:
    """Held credit cut down (newest payments' first) to what the ledger says is credit.

    Allocation rows can only name bills, so money that paid a charge which is not a bill
    (a cheque-bounce fee, a debit note) is held as "credit" there; the ledger knows it was
    spent. ``available`` is the open bills' outstanding less the ledger balance: the credit
    the account really holds for its bills.
    """
    left, out = max(0, available), []
    for key, amount in credits:
        part = min(max(0, amount), left)
        out.append((key, part))
        left -= part
    return out


async def post(
    *,
    account_id: int,
    kind: LedgerKind,
    amount_paise: int,
    source_key: str,
    effective_on: date,
    description: str,
    payment_id: int | None = None,
    adjustment_id: int | None = None,
    reverses_id: int | None = None,
) -> LedgerEntry:
    """One ledger entry; the unique ``source_key`` refuses a second posting of anything."""
    return await LedgerEntry.create(
        account_id=account_id,
        kind=kind,
        amount_paise=amount_paise,
        source_key=source_key,
        effective_on=effective_on,
        description=description[:200],
        payment_id=payment_id,
        adjustment_id=adjustment_id,
        reverses_id=reverses_id,
    )


async def settle(payment: Payment, *, effective_on: date) -> None:
    """A payment's money has arrived: allocate it, post it, credit any prompt-payment rebate
    it earns, tell the customer. Once."""
    rows = await _allocate(payment)
    await write_allocations(payment.id, rows)
    await post(
        account_id=payment.account_id,  # type: ignore[attr-defined]
        kind=LedgerKind.PAYMENT,
        amount_paise=-payment.amount_paise,
        source_key=f"payment:{payment.reference}",
        effective_on=effective_on,
        description=f"Payment {payment.reference} ({payment.method})",
        payment_id=payment.id,
    )
    await credit_earned(payment.account_id, on=effective_on, reference=payment.reference)  # type: ignore[attr-defined]
    await notify("payment.captured", payment)
    await announce("payment.captured", payment)


async def _allocate(payment: Payment) -> list[Allocation]:
    from domain.allocation import allocate

    return allocate(payment.amount_paise, await open_bills(payment.account_id))  # type: ignore[attr-defined]


async def announce(name: str, payment: Payment) -> None:
    """Tell subscribers (``paymentEvents``) about a payment: ids, amount and status only.

    Called inside the payment's transaction: on PostgreSQL NOTIFY is delivered at commit.
    """
    customer = await current_customer(payment.account_id)  # type: ignore[attr-defined]
    await publish(
        name,
        customer_id=customer.id if customer else None,
        payment_id=payment.id,
        bill_id=payment.bill_id,  # type: ignore[attr-defined]
        account_id=payment.account_id,  # type: ignore[attr-defined]
        amount_paise=payment.amount_paise,
        status=str(payment.status),
    )


async def current_customer(account_id: int) -> Customer | None:
    holder = (
        await AccountHolder.filter(account_id=account_id, move_out_on__isnull=True)
        .order_by("-move_in_on")
        .first()
        .prefetch_related("customer")
    )
    return holder.customer if holder else None


async def notify(event: str, payment: Payment, **extra: object) -> None:
    """Queue a payment's notification to its account's customer, in the payment's transaction.

    ``payment.captured`` (with its receipt), ``payment.failed``, ``refund.processed``,
    ``cheque.bounced``; deduplicated by the payment's reference (or ``key``).
    """
    customer = await current_customer(payment.account_id)  # type: ignore[attr-defined]
    if customer is not None:
        await notify_payment(event, payment, customer.id, **extra)
