"""Billing rules that move money after issue: the prompt-payment rebate and the cheque bounce.

The tariff is MSEDCL's LT-I(B) residential (MERC Order in Case No. 322 of 2019) with the
order's prompt payment discount: 1% of the bill excluding taxes and duties, paid within
7 days of the bill date (docs/billing.md). A 30-day April period of 221 kWh bills
FC 100 + EC 346 + 899.03 + WC 320.45 + FAC 50 + 101.64 = 1817.12, duty 16% = 290.74,
total 2107.86; the rebate is 1% of 1817.12 = 18.1712 → 18.17.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from domain.enums import LedgerKind, PaymentMethod
from gridbill.settings import Settings
from services.payments.offline import bounce_cheque, record_offline_payment
from store.models import Bill, LedgerEntry
from tests.billing.billing_factories import FLAT, Utility, issue, run
from tests.factories import TARIFF_FILE, ZONE, Site

MSEDCL: dict[str, Any] = {
    **json.loads(TARIFF_FILE.read_text(encoding="utf-8")),
    "prompt_payment": {"percent": "1", "within_days": 7, "base": ["FC", "EC", "WC", "FAC"]},
}
TOTAL = 210_786
REBATE = 1_817


async def may_bill(site: Site) -> Bill:
    """Reads 0 on 8 April and 221 on 8 May: the May bill, issued 11 May (rebate by 18 May)."""
    await site.read("1.8.0", "0", date(2026, 4, 8))
    await site.read("1.8.0", "221", date(2026, 5, 8))
    await run("2026-05")
    await issue("2026-05", date(2026, 5, 11))
    return await Bill.get(account_id=site.account.id, status="issued")


async def pay(settings: Settings, site: Site, paise: int, on: date, method: str = "cash") -> str:
    payment = await record_offline_payment(
        settings, account_id=site.account.id, method=PaymentMethod(method), amount_paise=paise,
        received_on=on, instrument_number="" if method == "cash" else "004512",
    )  # fmt: skip
    return payment.reference


async def rebates(site: Site) -> list[tuple[str, int]]:
    entries = await LedgerEntry.filter(
        account_id=site.account.id, source_key__startswith="prompt_rebate"
    ).order_by("id")
    return [(e.kind.value, e.amount_paise) for e in entries]


async def balance(site: Site) -> int:
    return sum(e.amount_paise for e in await LedgerEntry.filter(account_id=site.account.id))


async def test_paid_in_full_by_the_rebate_date_earns_the_rebate_once_and_a_bounce_takes_it_back(
    db: TortoiseContext, settings: Settings
) -> None:
    utility = await Utility.create(MSEDCL)
    site = await utility.account()
    may = await may_bill(site)
    assert may.total_paise == TOTAL
    assert may.snapshot["document"]["prompt_rebate"] == {"paise": REBATE, "by": "2026-05-18"}

    await pay(settings, site, 100_000, date(2026, 5, 12))
    assert await rebates(site) == []  # part payment: nothing yet
    cheque = await pay(settings, site, TOTAL - 100_000, date(2026, 5, 18), "cheque")
    assert await rebates(site) == [("credit_note", -REBATE)]
    entry = await LedgerEntry.get(source_key=f"prompt_rebate:{may.id}:{cheque}")
    assert entry.description == f"Prompt-payment rebate on {may.number}"
    await pay(settings, site, 5_000, date(2026, 5, 18))  # an overpayment: still once per bill
    assert await rebates(site) == [("credit_note", -REBATE)]
    assert await balance(site) == -REBATE - 5_000

    await bounce_cheque(settings, reference=cheque, bounced_on=date(2026, 5, 25), fee_paise=75_000)
    assert await rebates(site) == [("credit_note", -REBATE), ("reversal", REBATE)]
    owed = TOTAL - 100_000 - 5_000 + 75_000
    assert await balance(site) == owed
    await pay(settings, site, owed, date(2026, 5, 26))  # too late for the rebate
    assert await rebates(site) == [("credit_note", -REBATE), ("reversal", REBATE)]
    assert await balance(site) == 0


async def test_the_rebate_shows_on_the_next_bill_and_paying_that_bill_as_printed_earns_its_own(
    db: TortoiseContext, settings: Settings
) -> None:
    utility = await Utility.create(MSEDCL)
    site = await utility.account()
    await may_bill(site)
    await pay(settings, site, TOTAL, date(2026, 5, 15))
    await site.read("1.8.0", "321", date(2026, 6, 8))
    await run("2026-06")
    await issue("2026-06", date(2026, 6, 11))
    june = await Bill.get(
        account_id=site.account.id, status="issued", period_start=date(2026, 5, 8)
    )
    arrears = june.snapshot["document"]["arrears"]
    assert june.arrears_paise == -REBATE
    assert arrears["other_items"] == [
        {"description": f"Prompt-payment rebate on {(await may_of(site)).number}", "paise": -REBATE}
    ]
    assert june.payable_paise == june.total_paise - REBATE
    await pay(settings, site, june.payable_paise, date(2026, 6, 18))  # the printed amount
    june_rebate = june.snapshot["document"]["prompt_rebate"]["paise"]
    assert [amount for _, amount in await rebates(site)] == [-REBATE, -june_rebate]


async def test_a_bill_that_credit_already_pays_earns_its_rebate_when_issued(
    db: TortoiseContext, settings: Settings
) -> None:
    utility = await Utility.create(MSEDCL)
    site = await utility.account()
    may = await may_bill(site)
    await pay(settings, site, TOTAL + 300_000, date(2026, 5, 12))
    await site.read("1.8.0", "321", date(2026, 6, 8))
    await run("2026-06")
    await issue("2026-06", date(2026, 6, 11))
    june = await Bill.get(account_id=site.account.id, period_start=date(2026, 5, 8))
    assert june.payable_paise <= 0 and june.paid_paise == june.total_paise
    earned = await LedgerEntry.get(source_key=f"prompt_rebate:{june.id}:account-credit")
    assert earned.amount_paise == -june.snapshot["document"]["prompt_rebate"]["paise"]
    assert await rebates(site) == [("credit_note", -REBATE), ("credit_note", earned.amount_paise)]
    assert (await may_of(site)).id == may.id


async def may_of(site: Site) -> Bill:
    return await Bill.get(account_id=site.account.id, period_start=date(2026, 4, 8))


async def test_a_bounce_fee_is_a_charge_the_next_payment_settles_and_the_next_bill_lists(
    db: TortoiseContext, settings: Settings
) -> None:
    """Cheque recorded, bounced with the fee, fee on the statement and the next bill, then
    one payment settles the bill and the fee."""
    from services.payments.statement import account_statement

    settings = replace(settings, cheque_bounce_fee_paise=75_000)  # MSEDCL's Rs 750
    utility = await Utility.create(MSEDCL)
    site = await utility.account()
    may = await may_bill(site)
    cheque = await pay(settings, site, TOTAL, date(2026, 5, 20), "cheque")  # after the rebate date
    await bounce_cheque(settings, reference=cheque, bounced_on=date(2026, 5, 25))
    fee = settings.cheque_bounce_fee_paise
    assert fee == 75_000
    fee_entry = await LedgerEntry.get(source_key=f"cheque_bounce_fee:{cheque}")
    assert (fee_entry.kind, fee_entry.amount_paise) == (LedgerKind.ADJUSTMENT, fee)
    assert await balance(site) == TOTAL + fee
    statement = await account_statement(account_id=site.account.id)
    assert [
        (ln.description, ln.debit_paise) for ln in statement.lines if ln.kind == "adjustment"
    ] == [("Cheque 004512 bounce fee", fee)]

    await site.read("1.8.0", "321", date(2026, 6, 8))
    await run("2026-06")
    await issue("2026-06", date(2026, 6, 11))
    june = await Bill.get(
        account_id=site.account.id, status="issued", period_start=date(2026, 5, 8)
    )
    items = june.snapshot["document"]["arrears"]["other_items"]
    assert {"description": "Cheque 004512 bounce fee", "paise": fee} in items
    assert june.arrears_paise == TOTAL + fee
    await pay(settings, site, june.payable_paise, date(2026, 6, 12))
    # paid in full, June's own rebate date not passed: what is left is June's rebate
    assert await balance(site) == -june.snapshot["document"]["prompt_rebate"]["paise"]
    assert (await Bill.get(id=may.id)).paid_paise == TOTAL
    # The part of that payment which paid the fee is not credit: July is paid only by
    # June's rebate, the one credit the ledger holds.
    await site.read("1.8.0", "421", date(2026, 7, 8))
    await run("2026-07")
    await issue("2026-07", date(2026, 7, 11))
    july = await Bill.get(
        account_id=site.account.id, status="issued", period_start=date(2026, 6, 8)
    )
    assert july.paid_paise == june.snapshot["document"]["prompt_rebate"]["paise"] < fee
    assert await balance(site) == july.payable_paise


DERC_GNCTD: dict[str, Any] = {
    **json.loads(
        (TARIFF_FILE.parent / "derc_2019_20_domestic.json").read_text(encoding="utf-8")
    ),
    "credits": [
        {"code": "SUB400", "description": "GNCTD subsidy (50% for 201-400 units, at most Rs 800)",
         "percent": "50", "base": ["FC", "EC"], "cap_per_month": "800",
         "when_kwh": {"above": "200", "up_to": "400"}, "billed_to": "government"},
    ],
}  # fmt: skip


async def test_a_subsidy_is_a_bill_line_and_a_claim_on_the_government_not_the_customer(
    db: TortoiseContext, settings: Settings
) -> None:
    """DERC domestic, 2 kW, 300 kWh in April: 40 + 600 + 450 = 1090.00, GNCTD pays half."""
    from services.billing.corrections import cancel_bill
    from services.billing.subsidies import SchemeTotal, receivable
    from services.viewer import acting_as
    from store.models import BillLine, GovernmentReceivable
    from store.sql import Sql

    utility = await Utility.create(DERC_GNCTD, read_day=1, code="C01")
    site = await utility.account(load_w=2000)
    await site.read("1.8.0", "0", date(2026, 4, 1))
    await site.read("1.8.0", "300", date(2026, 5, 1))
    await run("2026-05", cycle="C01")
    await issue("2026-05", date(2026, 5, 4), cycle="C01")
    bill = await Bill.get(account_id=site.account.id, status="issued")
    lines = {ln.code: (ln.component, ln.amount_paise) for ln in await BillLine.filter(bill=bill)}
    assert lines["SUB400"] == ("subsidy", -54_500)
    assert bill.total_paise == 54_500
    assert await balance(site) == 54_500  # the customer owes their half only
    (claim,) = await GovernmentReceivable.filter(bill_id=bill.id)
    assert (claim.scheme, claim.amount_paise, claim.source_key) == (
        "SUB400", 54_500, f"subsidy:{bill.id}:SUB400"
    )  # fmt: skip
    sql = Sql(db.connections.get("default"))
    assert await receivable(sql) == [SchemeTotal("SUB400", 1, 54_500)]
    assert await receivable(sql, as_of=date(2026, 5, 3)) == []

    await cancel_bill(acting_as("test"), bill.id, reason="wrong read", on=date(2026, 5, 6))
    assert await receivable(sql) == [SchemeTotal("SUB400", 0, 0)]
    assert await receivable(sql, as_of=date(2026, 5, 5)) == [SchemeTotal("SUB400", 1, 54_500)]
    assert await balance(site) == 0


@pytest.mark.parametrize("rate", ["6.00", "4.00"])
async def test_a_rebill_moves_the_payments_and_posts_the_late_fee_change_with_its_reason(
    db: TortoiseContext, settings: Settings, rate: str
) -> None:
    """FLAT (Rs 100 a month, Rs 5/kWh, 1.25% a month or part late). The February bill
    (100 kWh) is part paid, its late fee charged on March's bill, then rebilled with the
    energy rate corrected to ``rate`` (up: 6.00, down: 4.00): 100 kWh x ±1.00 = ±100.00."""
    from services.billing.corrections import rebill
    from services.viewer import acting_as

    utility = await Utility.create()
    site = await utility.account()
    for day, kwh in ((date(2026, 1, 8), "0"), (date(2026, 2, 8), "100"),
                     (date(2026, 3, 8), "200"), (date(2026, 4, 8), "300")):  # fmt: skip
        await site.read("1.8.0", kwh, day)
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    await pay(settings, site, 10_000, date(2026, 2, 20))
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    feb = await Bill.get(account_id=site.account.id, period_start=date(2026, 1, 8))
    march = await Bill.get(account_id=site.account.id, period_start=date(2026, 2, 8))
    overdue = march.snapshot["document"]["late_fee"]["overdue_paise"]
    assert overdue == feb.payable_paise - 10_000
    assert march.late_fee_paise == round(overdue * 0.0125)  # 13 days late: one month or part

    await utility.new_version(
        {**FLAT, "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": rate}]},
        date(2026, 1, 1),
    )
    new_id = await rebill(
        acting_as("test"), feb.id, reason="energy rate corrected", on=date(2026, 3, 20), zone=ZONE
    )
    await issue("2026-02", date(2026, 3, 20))
    replacement = await Bill.get(id=new_id)
    difference = replacement.total_paise - feb.total_paise
    assert difference == (10_000 if rate == "6.00" else -10_000)
    assert (await Bill.get(id=feb.id)).paid_paise == 0  # the payment moved to the replacement

    fee_again = (Decimal(overdue + difference) * Decimal("0.0125")).quantize(
        Decimal("1"), rounding=ROUND_HALF_UP
    )
    change = await LedgerEntry.get(source_key=f"late_fee_rebill:{feb.id}")
    assert change.amount_paise == int(fee_again) - march.late_fee_paise == difference // 80
    # The moved payment pays a late fee the rebill raised first (a charge on no bill), then
    # the replacement: the ledger's credit, never more.
    assert replacement.paid_paise == 10_000 - max(0, change.amount_paise)
    assert change.description == (
        f"Late payment surcharge on {feb.number} recomputed after rebill: energy rate corrected"
    )

    await run("2026-04")
    await issue("2026-04", date(2026, 4, 11))
    april = await Bill.get(account_id=site.account.id, period_start=date(2026, 3, 8))
    items = april.snapshot["document"]["arrears"]["other_items"]
    credit_note = next(i for i in items if i["description"].startswith("Credit note"))
    assert credit_note["description"].endswith(f"{feb.number}: energy rate corrected")
    assert credit_note["paise"] == -feb.total_paise
    assert {"description": f"Bill {replacement.number}", "paise": replacement.total_paise} in items
    assert {"description": change.description, "paise": change.amount_paise} in items
    assert sum(i["paise"] for i in items) == difference + change.amount_paise
    if rate == "4.00":  # the PDF lists them under the arrears
        from pypdf import PdfReader

        from services.billing.documents import render_bill

        path = await render_bill(april.id, settings)
        text = PdfReader(path).pages[0].extract_text()
        assert "energy rate corrected" in text and f"Bill {replacement.number}" in text

    # The replacement rebilled again at the first rate: the fee goes back to what was first
    # charged, the change against the fee as the first rebill left it.
    await utility.new_version(FLAT, date(2026, 1, 8))  # from the bill's first day
    again_id = await rebill(
        acting_as("test"), new_id, reason="rate restored", on=date(2026, 4, 20), zone=ZONE
    )
    assert (await Bill.get(id=again_id)).total_paise == feb.total_paise
    undo = await LedgerEntry.get(source_key=f"late_fee_rebill:{new_id}")
    assert undo.amount_paise == -change.amount_paise
