"""Bill runs on real SQLite and PostgreSQL: one bill per account, from the right reads.

Every bill's charges are checked against ``gridbill quote`` for the same usage and tariff
(or, for a tariff change, against the engine with both versions).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
from tortoise.exceptions import IntegrityError

from domain.pricing import Effective, price
from domain.tariff import parse_tariff
from domain.usage import TotalUsage
from gridbill.settings import Settings
from services.billing.runs import BillRunError
from services.errors import Refused
from store.models import Bill, BillLine, BillRead, BillRun
from tests.billing.billing_factories import FLAT, Utility, issue, paise, quote, run
from tests.factories import ZONE, at


async def active_bills(account_id: int) -> list[Bill]:
    return await Bill.filter(account_id=account_id, active_period__isnull=False).order_by(
        "period_start"
    )


async def test_every_account_once_and_a_rerun_bills_nobody_twice(
    utility: Utility, settings: Settings, tmp_path: Path
) -> None:
    sites = [await utility.account() for _ in range(5)]
    for n, site in enumerate(sites):
        await site.read("1.8.0", "1000", date(2026, 2, 8))
        await site.read("1.8.0", str(1000 + 100 * (n + 1)), date(2026, 3, 9))
    first = await run("2026-03", chunk_size=2)
    assert (first.bills, first.estimated, first.skipped, first.status) == (5, 0, {}, "completed")
    again = await run("2026-03")
    assert again.bills == 0 and again.skipped == {"already billed": 5}
    for n, site in enumerate(sites):
        (bill,) = await active_bills(site.account.id)
        assert (bill.period_start, bill.period_end) == (date(2026, 2, 8), date(2026, 3, 8))
        assert bill.consumption_wh == 100_000 * (n + 1) and bill.status.value == "draft"
        expected = quote(settings, FLAT, tmp_path, "--kwh", str(100 * (n + 1)), "--days", "29",
                         "--start", "2026-02-08", "--load-kw", "3")  # fmt: skip
        assert bill.total_paise == paise(expected["total"])
        lines = await BillLine.filter(bill=bill).order_by("position")
        assert [(ln.code, ln.amount_paise) for ln in lines] == [
            (ln["code"], paise(ln["amount"])) for ln in expected["lines"]
        ]
    assert sum(b.total_paise for b in await Bill.all()) == first.total_billed_paise


async def test_the_database_refuses_a_second_active_bill(utility: Utility) -> None:
    site = await utility.account()
    fields = dict(account=site.account, customer=site.customer, period_start=date(2026, 2, 8),
                  period_end=date(2026, 3, 7), active_period=date(2026, 2, 8))  # fmt: skip
    first = await Bill.create(**fields)
    with pytest.raises(IntegrityError):
        await Bill.create(**fields)
    await Bill.filter(id=first.id).update(active_period=None, status="cancelled")
    await Bill.create(**fields)  # a rebill beside the cancelled one


async def test_rollover_and_ct_multiplier(
    utility: Utility, settings: Settings, tmp_path: Path
) -> None:
    rolled = await utility.account(digits=6)
    await rolled.read("1.8.0", "999900", date(2026, 2, 8))
    await rolled.read("1.8.0", "150", date(2026, 3, 8))
    ct = await utility.account(ct=(200, 5), category="industrial", load_w=50_000)
    await ct.read("1.8.0", "1000", date(2026, 2, 8))
    await ct.read("1.8.0", "1012.5", date(2026, 3, 8))
    assert (await run("2026-03")).bills == 2
    (bill,) = await active_bills(rolled.account.id)
    assert bill.consumption_wh == 250_000
    (used,) = await BillRead.filter(bill=bill)
    assert (used.opening_milli, used.closing_milli, used.consumption_wh) == (
        999_900_000,
        150_000,
        250_000,
    )
    expected = quote(
        settings, FLAT, tmp_path, "--kwh", "250", "--days", "28", "--start", "2026-02-08"
    )
    assert bill.total_paise == paise(expected["total"])
    (bill,) = await active_bills(ct.account.id)
    (used,) = await BillRead.filter(bill=bill)
    assert bill.consumption_wh == 500_000 and used.multiplier == "40"


async def test_estimate_then_true_up_across_the_whole_span(
    utility: Utility, settings: Settings, tmp_path: Path
) -> None:
    site = await utility.account()
    await site.read("1.8.0", "5000", date(2026, 1, 8))
    await site.read("1.8.0", "5310", date(2026, 2, 8))  # 310 kWh in 31 days: 10 a day
    assert (await run("2026-02")).bills == 1
    await issue("2026-02", date(2026, 2, 11))
    march = await run("2026-03")  # the meter was not read in March
    assert (march.bills, march.estimated) == (1, 1)
    (_, estimated) = await active_bills(site.account.id)
    assert estimated.is_estimated and estimated.estimate_basis == "average of 1 period"
    assert (estimated.period_start, estimated.period_end) == (date(2026, 2, 8), date(2026, 3, 7))
    assert estimated.consumption_wh == 280_000  # 28 days × 10 kWh
    expected = quote(
        settings, FLAT, tmp_path, "--kwh", "280", "--days", "28", "--start", "2026-02-08"
    )
    assert estimated.total_paise == paise(expected["total"])
    (guess,) = await BillRead.filter(bill=estimated)
    assert guess.is_estimated and guess.closing_read_id is None and guess.closing_milli == 5_590_000  # type: ignore[attr-defined]
    await issue("2026-03", date(2026, 3, 11))
    estimated = await Bill.get(id=estimated.id)
    await site.read("1.8.0", "5900", date(2026, 4, 8))  # 590 kWh since the last actual read
    april = await run("2026-04")
    assert (april.bills, april.estimated) == (1, 0)
    (_, _, trued) = await active_bills(site.account.id)
    assert (trued.period_start, trued.period_end) == (date(2026, 3, 8), date(2026, 4, 7))
    whole = quote(settings, FLAT, tmp_path, "--kwh", "590", "--days", "59", "--start", "2026-02-08")
    lines = await BillLine.filter(bill=trued).order_by("position")
    credit = [ln for ln in lines if ln.code == "EST"]
    assert len(credit) == 1 and credit[0].amount_paise == -estimated.total_paise
    assert estimated.number is not None and estimated.number in credit[0].description
    assert trued.total_paise == paise(whole["total"]) - estimated.total_paise
    assert trued.snapshot["usage"]["start"] == "2026-02-08" and trued.consumption_wh == 590_000


async def test_first_bill_without_history_is_estimated_from_the_profile(utility: Utility) -> None:
    site = await utility.account(load_w=2000)
    await site.read("1.8.0", "100", date(2026, 2, 8))
    summary = await run("2026-03")
    assert (summary.bills, summary.estimated) == (1, 1)
    (bill,) = await active_bills(site.account.id)
    assert bill.estimate_basis == "profile: domestic" and bill.consumption_wh == 1150 * 2 * 28


async def test_meter_replaced_inside_the_period(
    utility: Utility, settings: Settings, tmp_path: Path
) -> None:
    old = await utility.account()
    await old.read("1.8.0", "1000", date(2026, 1, 8))
    await old.read("1.8.0", "1200", date(2026, 2, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    new = await utility.replace_meter(
        old, at(date(2026, 2, 20), time(12)), removal_kwh="1290", install_kwh="3"
    )
    await new.read("1.8.0", "153", date(2026, 3, 8))
    assert (await run("2026-03")).bills == 1
    (_, bill) = await active_bills(old.account.id)
    used = await BillRead.filter(bill=bill).order_by("id")
    assert [(u.opening_milli, u.closing_milli, u.consumption_wh) for u in used] == [
        (1_200_000, 1_290_000, 90_000), (3_000, 153_000, 150_000),
    ]  # fmt: skip
    assert bill.consumption_wh == 240_000
    expected = quote(
        settings, FLAT, tmp_path, "--kwh", "240", "--days", "28", "--start", "2026-02-08"
    )
    assert bill.total_paise == paise(expected["total"])


async def test_a_tariff_change_inside_the_period_splits_the_bill(utility: Utility) -> None:
    site = await utility.account()
    await site.read("1.8.0", "0", date(2026, 2, 8))
    await site.read("1.8.0", "280", date(2026, 3, 8))
    dearer = {
        **FLAT,
        "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "6.00"}],
    }
    await utility.new_version(dearer, date(2026, 2, 22))
    await run("2026-03")
    (bill,) = await active_bills(site.account.id)
    usage = TotalUsage(Decimal(280), date(2026, 2, 8), date(2026, 3, 8))
    split = price([Effective(parse_tariff(FLAT), date(2025, 4, 1), date(2026, 2, 22)),
                   Effective(parse_tariff(dearer), date(2026, 2, 22))], usage, sanctioned_load_kw=Decimal(3))  # fmt: skip
    assert bill.total_paise == int(split.total * 100)
    # The 280 kWh are shared by month factors: 14/28 of February at Rs 5; 7/28 of February
    # and 7/31 of March at Rs 6. Fixed charge: 100 × (21/28 + 7/31) = 97.58.
    factors = [Decimal(14) / 28, Decimal(7) / 28 + Decimal(7) / 31]
    old_kwh = Decimal(280) * factors[0] / sum(factors)
    energy = old_kwh * 5 + (280 - old_kwh) * 6
    assert split.total == (energy.quantize(Decimal("0.01")) + Decimal("97.58"))
    assert split.total not in {quote_one(FLAT), quote_one(dearer)}
    assert [t["version_id"] for t in bill.snapshot["tariffs"]] == [v.id for v in utility.versions]


def quote_one(document: dict[str, object]) -> Decimal:
    usage = TotalUsage(Decimal(280), date(2026, 2, 8), date(2026, 3, 8))
    return price(parse_tariff(document), usage, sanctioned_load_kw=Decimal(3)).total


async def test_cancel_and_rebill_keep_the_history(utility: Utility) -> None:
    site = await utility.account()
    await site.read("1.8.0", "0", date(2026, 2, 8))
    wrong = await site.read("1.8.0", "900", date(2026, 3, 8))
    await run("2026-03")
    issued = await issue("2026-03", date(2026, 3, 11))
    (bill,) = await active_bills(site.account.id)
    assert bill.number == issued.numbers[0] == "BL/2025-26/000001"
    from services.billing.corrections import cancel_bill, rebill
    from services.viewer import acting_as
    from store.models import Adjustment, LedgerEntry

    await wrong.__class__.filter(id=wrong.id).update(value_milli=90_000)  # the read is corrected
    new_id = await rebill(
        acting_as("test"),
        bill.id,
        reason="misread meter",
        on=date(2026, 3, 20),
        zone=utility.cycle and __import__("zoneinfo").ZoneInfo("Asia/Kolkata"),
    )
    old = await Bill.get(id=bill.id)
    new = await Bill.get(id=new_id)
    assert (
        old.status.value == "cancelled"
        and old.active_period is None
        and old.cancel_reason == "misread meter"
    )
    assert new.replaces_id == old.id and new.status.value == "draft"  # type: ignore[attr-defined]
    assert (new.period_start, new.consumption_wh) == (old.period_start, 90_000)
    note = await Adjustment.get(bill_id=old.id)
    assert note.number == "CN/2025-26/000001" and note.amount_paise == -old.total_paise
    entries = {
        e.source_key: e.amount_paise for e in await LedgerEntry.filter(account_id=site.account.id)
    }
    assert entries == {f"bill:{old.id}": old.total_paise, f"credit_note:{old.id}": -old.total_paise}
    await issue("2026-03", date(2026, 3, 21))
    new = await Bill.get(id=new_id)
    assert new.number == "BL/2025-26/000002" and new.arrears_paise == 0
    with pytest.raises(Exception, match="already cancelled"):
        await cancel_bill(acting_as("test"), old.id, reason="again", on=date(2026, 3, 22))
    assert len(await active_bills(site.account.id)) == 1


async def test_arrears_and_late_fee_on_the_next_bill(utility: Utility) -> None:
    from store.models import LedgerEntry

    site = await utility.account()
    for day, kwh in ((date(2026, 1, 8), "0"), (date(2026, 2, 8), "200"), (date(2026, 3, 8), "400")):
        await site.read("1.8.0", kwh, day)
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    (february,) = await active_bills(site.account.id)
    assert february.due_date == date(2026, 2, 26) and february.payable_paise == february.total_paise
    # Part paid before the due date, part after it.
    await LedgerEntry.create(account_id=site.account.id, kind="payment", amount_paise=-50_000,
                             effective_on=date(2026, 2, 20), source_key="payment:test-1")  # fmt: skip
    await LedgerEntry.create(account_id=site.account.id, kind="payment", amount_paise=-20_000,
                             effective_on=date(2026, 3, 2), source_key="payment:test-2")  # fmt: skip
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    (_, march) = await active_bills(site.account.id)
    overdue = february.total_paise - 50_000
    assert march.arrears_paise == overdue - 20_000
    # 1.25% a month or part: on the 20,000 paid 4 days late and on the rest still unpaid.
    assert march.late_fee_paise == round(overdue * Decimal("0.0125"))
    assert march.payable_paise == march.total_paise + march.arrears_paise + march.late_fee_paise
    keys = {
        e.source_key: e.amount_paise for e in await LedgerEntry.filter(account_id=site.account.id)
    }
    assert keys[f"late_fee:{february.id}"] == march.late_fee_paise
    assert sum(keys.values()) == march.payable_paise


async def test_the_late_fee_is_on_the_bill_not_on_debits_posted_after_it(
    utility: Utility,
) -> None:
    """A debit posted between a bill and its due date (a bounced cheque's fee) raises the
    balance at the due date above the bill; the surcharge is still on the bill alone."""
    from store.models import LedgerEntry

    site = await utility.account()
    for day, kwh in ((date(2026, 1, 8), "0"), (date(2026, 2, 8), "200"), (date(2026, 3, 8), "400")):
        await site.read("1.8.0", kwh, day)
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    (february,) = await active_bills(site.account.id)
    await LedgerEntry.create(account_id=site.account.id, kind="adjustment", amount_paise=75_000,
                             effective_on=date(2026, 2, 15), source_key="adjustment:test-fee")  # fmt: skip
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    (_, march) = await active_bills(site.account.id)
    assert march.arrears_paise == february.payable_paise + 75_000
    assert march.late_fee_paise == round(february.payable_paise * Decimal("0.0125"))


async def test_move_out_final_bill(utility: Utility) -> None:
    from services.billing.corrections import final_bill
    from store.models import Account, AccountHolder

    site = await utility.account()
    await site.read("1.8.0", "0", date(2026, 1, 8))
    await site.read("1.8.0", "300", date(2026, 2, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    await site.read("1.8.0", "420", date(2026, 2, 24), read_type="move_out")
    bill_id = await final_bill(account_number=site.account.number, move_out_on=date(2026, 2, 24),
                               zone=ZONE)  # fmt: skip
    bill = await Bill.get(id=bill_id)
    assert bill.is_final and (bill.period_start, bill.period_end) == (
        date(2026, 2, 8),
        date(2026, 2, 23),
    )
    assert bill.consumption_wh == 120_000
    holder = await AccountHolder.get(account_id=site.account.id)
    assert holder.move_out_on == date(2026, 2, 24) and holder.final_bill_id == bill_id  # type: ignore[attr-defined]
    assert (await Account.get(id=site.account.id)).status.value == "closed"
    summary = await run("2026-03")
    assert summary.accounts == 0 and summary.bills == 0


async def test_skips_are_counted_with_their_reasons(utility: Utility) -> None:
    no_reads = await utility.account()
    backwards = await utility.account()
    await backwards.read("1.8.0", "500", date(2026, 2, 8))
    await backwards.read("1.8.0", "499", date(2026, 3, 8))
    summary = await run("2026-03")
    assert summary.skipped == {
        "no opening read": 1,
        "unusable reads": 1,
    }
    assert not await Bill.filter(
        account_id__in=[no_reads.account.id, backwards.account.id]
    ).exists()
    run_row = await BillRun.get(id=summary.run_id)
    assert run_row.accounts_skipped == 2 and Counter(run_row.skip_reasons) == Counter(
        summary.skipped
    )


async def test_unknown_cycle_and_bad_period_are_one_line_errors(utility: Utility) -> None:
    with pytest.raises(Refused, match=r"no billing cycle 'X' \(cycles: C08\)") as unknown:
        await run("2026-03", cycle="X")
    assert unknown.value.code == "UNKNOWN_CYCLE"
    with pytest.raises(BillRunError, match="must be a month like 2026-03"):
        await run("2026-3")
