"""An overpayment is held as account credit and settles the next bill the moment it is issued."""

from __future__ import annotations

import asyncio
from datetime import date

from domain.enums import PaymentMethod
from gridbill.settings import Settings
from services import events
from services.payments.offline import record_offline_payment
from store.models import Bill, LedgerEntry, PaymentAllocation
from tests.billing.billing_factories import Utility, issue, run


async def bills_of(account_id: int) -> list[Bill]:
    return await Bill.filter(account_id=account_id, active_period__isnull=False).order_by(
        "period_start"
    )


async def test_credit_from_an_overpayment_pays_the_next_bill_at_issue(
    utility: Utility, settings: Settings
) -> None:
    site = await utility.account()
    for day, kwh in ((date(2026, 1, 8), "0"), (date(2026, 2, 8), "100"), (date(2026, 3, 8), "250")):
        await site.read("1.8.0", kwh, day)
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    (february,) = await bills_of(site.account.id)
    overpaid = february.total_paise + 40_000
    await record_offline_payment(
        settings, account_id=site.account.id, method=PaymentMethod.CASH,
        amount_paise=overpaid, received_on=date(2026, 2, 15),
    )  # fmt: skip
    held = await PaymentAllocation.filter(payment__account_id=site.account.id, bill_id=None)
    assert sum(a.amount_paise for a in held) == 40_000

    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    (february, march) = await bills_of(site.account.id)
    assert february.paid_paise == february.total_paise
    assert march.paid_paise == min(40_000, march.total_paise) > 0
    held = await PaymentAllocation.filter(payment__account_id=site.account.id, bill_id=None)
    assert sum(a.amount_paise for a in held) == 40_000 - march.paid_paise
    balance = sum(e.amount_paise for e in await LedgerEntry.filter(account_id=site.account.id))
    assert balance == march.total_paise - march.paid_paise


async def test_bills_issued_outside_the_api_are_announced(
    utility: Utility, settings: Settings
) -> None:
    """The CLI and jobs issue bills too: subscribers and the API's answer cache must hear."""
    site = await utility.account()
    for day, kwh in ((date(2026, 1, 8), "0"), (date(2026, 2, 8), "100")):
        await site.read("1.8.0", kwh, day)
    await run("2026-02")
    async with (
        events.event_bus(settings) as hub,
        hub.subscribe(lambda e: e.name == "bill.issued") as queue,
    ):
        await issue("2026-02", date(2026, 2, 11))
        event = await asyncio.wait_for(queue.get(), timeout=10)
    (bill,) = await bills_of(site.account.id)
    assert (event.customer_id, event.data["bill_id"]) == (site.customer.id, bill.id)
