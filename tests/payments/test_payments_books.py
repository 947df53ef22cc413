"""Random histories against the database: the books stay balanced after every step."""

from __future__ import annotations

import random
from datetime import date

import pytest
from payments_helpers import make_account
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from domain.enums import LedgerKind, PaymentMethod, PaymentStatus
from gridbill.settings import Settings
from services.payments.offline import bounce_cheque, record_offline_payment
from services.payments.settlement import apply_account_credit, lock_account
from store.models import AccountHolder, Bill, LedgerEntry, Payment, PaymentAllocation
from tests import factories as f

DAY = date(2026, 3, 1)


async def assert_balanced(account_id: int) -> None:
    bills = await Bill.filter(account_id=account_id)
    rows = await PaymentAllocation.filter(payment__account_id=account_id)
    for bill in bills:
        assert bill.paid_paise == sum(r.amount_paise for r in rows if r.bill_id == bill.id)  # type: ignore[attr-defined]
        assert 0 <= bill.paid_paise <= bill.total_paise
    for payment in await Payment.filter(account_id=account_id):
        net = sum(r.amount_paise for r in rows if r.payment_id == payment.id)  # type: ignore[attr-defined]
        live = payment.status == PaymentStatus.CAPTURED
        assert net == (payment.amount_paise if live else 0)
    credit = sum(r.amount_paise for r in rows if r.bill_id is None)  # type: ignore[attr-defined]
    owed = sum(b.total_paise - b.paid_paise for b in bills)
    assert credit == 0 or owed == 0
    fees = sum(
        e.amount_paise
        for e in await LedgerEntry.filter(account_id=account_id, kind=LedgerKind.ADJUSTMENT)
    )
    balance = sum(e.amount_paise for e in await LedgerEntry.filter(account_id=account_id))
    assert balance == owed - credit + fees


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_history_keeps_the_books(
    db: TortoiseContext, pay_settings: Settings, seed: int
) -> None:
    rnd = random.Random(seed)
    account = await make_account(f"ACC-R{seed}", bills=())
    customer = (await AccountHolder.get(account=account).prefetch_related("customer")).customer
    cheques: list[str] = []
    for step in range(14):
        op = rnd.choice(["bill", "cash", "cheque", "bounce"])
        if op == "bill":
            start = date(2024 + step // 12, step % 12 + 1, 1)
            bill = await f.issued_bill(account, customer, start, rnd.randint(1, 9) * 10_000)
            await LedgerEntry.create(
                account=account, kind=LedgerKind.BILL, amount_paise=bill.total_paise,
                source_key=f"bill:{bill.id}", effective_on=start, bill=bill,
            )  # fmt: skip
            async with in_transaction():
                await lock_account(account.id)
                await apply_account_credit(account.id)
        elif op in ("cash", "cheque"):
            payment = await record_offline_payment(
                pay_settings, account_id=account.id,
                method=PaymentMethod.CASH if op == "cash" else PaymentMethod.CHEQUE,
                amount_paise=rnd.randint(1, 120) * 1_000, received_on=DAY,
                instrument_number=f"CHQ{step}" if op == "cheque" else "",
            )  # fmt: skip
            if op == "cheque":
                cheques.append(payment.reference)
        elif cheques:
            await bounce_cheque(
                pay_settings, reference=cheques.pop(rnd.randrange(len(cheques))), bounced_on=DAY,
                fee_paise=rnd.choice([0, 5_000]),
            )  # fmt: skip
        await assert_balanced(account.id)
