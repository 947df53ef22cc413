"""Counter payments, gapless receipts, cheque bounces, refunds, credit and the statement."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from payments_helpers import checkout, make_account, wait_delivered
from tortoise.context import TortoiseContext
from tortoise.functions import Sum

from domain.enums import LedgerKind, PaymentMethod, PaymentStatus, RefundStatus
from gateway import SandboxGateway
from gridbill.settings import Settings
from services.errors import Refused
from services.payments.offline import bounce_cheque, record_offline_payment
from services.payments.online import confirm_payment, start_payment
from services.payments.receipts import receipt_text
from services.payments.refunds import refund_payment
from services.payments.settlement import apply_account_credit, lock_account
from services.payments.statement import account_statement
from store.models import Adjustment, AuditLog, Bill, LedgerEntry, Payment, PaymentAllocation, Refund
from tests import factories as f

TODAY = date(2026, 3, 10)


async def check_books(account_id: int) -> None:
    """The invariants: bills' paid equals their allocations, payments' allocations equal
    what they still contribute, and the ledger equals what is owed less credit."""
    for bill in await Bill.filter(account_id=account_id):
        total = (
            await PaymentAllocation.filter(bill_id=bill.id)
            .annotate(s=Sum("amount_paise"))
            .values("s")
        )
        assert bill.paid_paise == int(total[0]["s"] or 0)
        assert 0 <= bill.paid_paise <= bill.total_paise
    for payment in await Payment.filter(account_id=account_id):
        rows = await PaymentAllocation.filter(payment_id=payment.id)
        net = sum(r.amount_paise for r in rows)
        refunded = sum(
            r.amount_paise
            for r in await Refund.filter(payment_id=payment.id, status=RefundStatus.PROCESSED)
        )
        expected = payment.amount_paise - refunded if payment.status in (
            PaymentStatus.CAPTURED, PaymentStatus.REFUNDED) else 0  # fmt: skip
        assert net == expected, payment.reference


async def post_bills(account_id: int) -> None:
    """Stand-in for the billing engineer's bill posting: ``bill:<id>`` ledger entries."""
    for bill in await Bill.filter(account_id=account_id):
        await LedgerEntry.create(
            account_id=account_id, kind=LedgerKind.BILL, amount_paise=bill.total_paise,
            source_key=f"bill:{bill.id}", effective_on=bill.issue_date, bill_id=bill.id,
            description=f"Bill {bill.id}",
        )  # fmt: skip


async def test_cash_then_cheque_then_bounce(db: TortoiseContext, pay_settings: Settings) -> None:
    account = await make_account()
    await post_bills(account.id)
    cash = await record_offline_payment(
        pay_settings, account_id=account.id, method=PaymentMethod.CASH, amount_paise=20_000,
        received_on=TODAY, recorded_by_id=None,
    )  # fmt: skip
    assert cash.receipt_number == "RC/2025-26/000001"
    cheque = await record_offline_payment(
        pay_settings, account_id=account.id, method=PaymentMethod.CHEQUE, amount_paise=70_000,
        received_on=TODAY, instrument_number="004512", instrument_bank="State Bank of India",
    )  # fmt: skip
    assert cheque.receipt_number == "RC/2025-26/000002"
    bills = await Bill.filter(account=account).order_by("period_start")
    assert [b.paid_paise for b in bills] == [50_000, 30_000]  # oldest first, 10_000 credit
    await check_books(account.id)

    text = await receipt_text(pay_settings, reference=cheque.reference)
    assert "RC/2025-26/000002" in text and "004512" in text and "₹700.00" in text
    assert "Advance (credit)" in text

    bounced = await bounce_cheque(
        pay_settings, reference=cheque.reference, bounced_on=date(2026, 3, 15), fee_paise=35_000,
    )  # fmt: skip
    assert bounced.status == PaymentStatus.REVERSED
    bills = await Bill.filter(account=account).order_by("period_start")
    assert [b.paid_paise for b in bills] == [20_000, 0]  # only the cash is left, exactly
    await check_books(account.id)
    keys = [e.source_key for e in await LedgerEntry.filter(account=account).order_by("id")]
    assert keys[-2:] == [
        f"payment_reversal:{cheque.reference}",
        f"cheque_bounce_fee:{cheque.reference}",
    ]
    assert (await Adjustment.get(account=account)).amount_paise == 35_000
    assert "void" in await receipt_text(pay_settings, reference=cheque.reference, duplicate=True)
    with pytest.raises(Refused):
        await bounce_cheque(pay_settings, reference=cheque.reference, bounced_on=TODAY)
    with pytest.raises(Refused):
        await bounce_cheque(pay_settings, reference=cash.reference, bounced_on=TODAY)

    statement = await account_statement(account_id=account.id)
    assert statement.closing_balance_paise == 80_000 - 20_000 + 35_000
    assert [line.balance_paise for line in statement.lines] == [
        50_000,
        80_000,
        60_000,
        -10_000,
        60_000,
        95_000,
    ]
    later = await account_statement(account_id=account.id, start=date(2026, 3, 15))
    assert later.opening_balance_paise == -10_000 and len(later.lines) == 2
    assert await AuditLog.filter(action="payment.bounce_cheque").count() == 1


async def test_offline_validation(db: TortoiseContext, pay_settings: Settings) -> None:
    account = await make_account()
    with pytest.raises(Refused, match="cheque number"):
        await record_offline_payment(
            pay_settings, account_id=account.id, method=PaymentMethod.CHEQUE,
            amount_paise=100, received_on=TODAY,
        )  # fmt: skip
    with pytest.raises(Refused):
        await record_offline_payment(
            pay_settings, account_id=account.id, method=PaymentMethod.CASH, amount_paise=0,
            received_on=TODAY,
        )  # fmt: skip
    await record_offline_payment(
        pay_settings, account_id=account.id, method=PaymentMethod.BANK_TRANSFER,
        amount_paise=100, received_on=TODAY, instrument_number="UTR123",
    )  # fmt: skip
    with pytest.raises(Refused, match="already recorded"):
        await record_offline_payment(
            pay_settings, account_id=account.id, method=PaymentMethod.BANK_TRANSFER,
            amount_paise=100, received_on=TODAY, instrument_number="UTR123",
        )  # fmt: skip
    with pytest.raises(Refused, match="future"):
        await record_offline_payment(
            pay_settings, account_id=account.id, method=PaymentMethod.CASH, amount_paise=100,
            received_on=date(2999, 1, 1),
        )  # fmt: skip


async def test_receipts_are_gapless_under_concurrency(
    db: TortoiseContext, pay_settings: Settings
) -> None:
    accounts = [await make_account(f"ACC-{i}") for i in range(3)]

    async def pay(i: int) -> Payment:
        return await record_offline_payment(
            pay_settings, account_id=accounts[i % 3].id, method=PaymentMethod.CASH,
            amount_paise=1_000 + i, received_on=TODAY,
        )  # fmt: skip

    payments = await asyncio.gather(*(pay(i) for i in range(8)))
    numbers = sorted(p.receipt_number or "" for p in payments)
    assert numbers == [f"RC/2025-26/{n:06d}" for n in range(1, 9)]


async def test_credit_applies_to_the_next_bill(db: TortoiseContext, pay_settings: Settings) -> None:
    account = await make_account(bills=())
    await record_offline_payment(
        pay_settings, account_id=account.id, method=PaymentMethod.CASH, amount_paise=30_000,
        received_on=TODAY,
    )  # fmt: skip
    customer = (await account.holders.all().prefetch_related("customer"))[0].customer
    bill = await f.issued_bill(account, customer, date(2026, 3, 1), 45_000)
    from tortoise.transactions import in_transaction

    async with in_transaction():
        await lock_account(account.id)
        assert await apply_account_credit(account.id) == 30_000
    await bill.refresh_from_db()
    assert bill.paid_paise == 30_000
    await check_books(account.id)


async def test_refund_tracked_to_processed(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id, amount_paise=100_000)
    await confirm_payment(pay_settings, **await checkout(sandbox, started.order_id))
    refund = await refund_payment(
        pay_settings, reference=started.reference, amount_paise=30_000, reason="overpaid"
    )
    assert refund.status == RefundStatus.PROCESSED
    await wait_delivered(sandbox)  # refund.processed arrives too: nothing posts twice
    assert await LedgerEntry.filter(source_key=f"refund:{refund.gateway_refund_id}").count() == 1
    rows = await PaymentAllocation.filter(payment__reference=started.reference).order_by("id")
    assert [(r.bill_id is None, r.amount_paise) for r in rows] == [
        (False, 50_000), (False, 30_000), (True, 20_000), (True, -20_000), (False, -10_000),
    ]  # fmt: skip
    await check_books(account.id)
    with pytest.raises(Refused):
        await refund_payment(pay_settings, reference=started.reference, amount_paise=70_001)
    rest = await refund_payment(pay_settings, reference=started.reference)
    assert rest.amount_paise == 70_000
    await wait_delivered(sandbox)
    payment = await Payment.get(reference=started.reference)
    assert payment.status == PaymentStatus.REFUNDED
    assert [b.paid_paise for b in await Bill.filter(account=account).order_by("period_start")] == [
        0,
        0,
    ]
    await check_books(account.id)


async def test_a_refund_that_leaves_the_bill_unpaid_withdraws_its_prompt_payment_rebate(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    """Paid online in full by the rebate date: the rebate is credited; part of the payment
    refunded: the bill is no longer paid in full by that date, so the rebate is withdrawn."""
    from datetime import datetime, timedelta

    today = datetime.now(pay_settings.zone).date()
    account = await make_account("ACC-REB", bills=())
    holder = (await account.holders.all().prefetch_related("customer"))[0].customer
    bill = await f.issued_bill(account, holder, today.replace(day=1), 50_000, due=today)
    bill.issue_date = today
    bill.snapshot = {
        "document": {"prompt_rebate": {"paise": 500, "by": str(today + timedelta(days=7))}}
    }
    await bill.save(update_fields=["issue_date", "snapshot"])
    await post_bills(account.id)
    started = await start_payment(pay_settings, account_id=account.id, amount_paise=50_000)
    await confirm_payment(pay_settings, **await checkout(sandbox, started.order_id))

    async def rebates() -> list[tuple[str, int]]:
        entries = await LedgerEntry.filter(
            account_id=account.id, source_key__startswith="prompt_rebate"
        )
        return sorted((str(e.kind), e.amount_paise) for e in entries)

    assert await rebates() == [("credit_note", -500)]
    await refund_payment(pay_settings, reference=started.reference, amount_paise=10_000)
    await wait_delivered(sandbox)
    assert await rebates() == [("credit_note", -500), ("reversal", 500)]
    await check_books(account.id)
