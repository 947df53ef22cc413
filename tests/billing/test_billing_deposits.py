"""Security deposits (issue #18) on both databases: the yearly review asks a top-up billed
as a charge, interest is credited once a year on the next bill, and at move-out the
deposit and its interest are credited against the final bill.

The figures are docs/billing.md's worked example ("Security deposits"), to the paisa.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cli.deposit import DepositCommandError, add_parser
from domain.deposit import FinancialYear
from gridbill.settings import Settings
from services.accounts import deposits
from services.billing.corrections import final_bill
from services.errors import NotFound, Refused
from services.viewer import acting_as
from store.db import open_database
from store.models import Account, AuditLog, Bill, DepositEntry, LedgerEntry
from tests.billing.billing_factories import Utility, issue, paise, run
from tests.factories import ZONE

RATE = Decimal("6.75")
FY = FinancialYear.parse("2025-26")
JOB = acting_as("test")


async def billed_account(utility: Utility) -> Any:
    """₹2,000 held since connection; bills of ₹1,600, ₹2,100 and ₹2,600 in FY 2025-26."""
    site = await utility.account()
    await Account.filter(id=site.account.id).update(security_deposit_paise=paise("2000"))
    for day, kwh in ((date(2026, 1, 1), "0"), (date(2026, 2, 1), "300"),
                     (date(2026, 3, 1), "700"), (date(2026, 4, 1), "1200")):  # fmt: skip
        await site.read("1.8.0", kwh, day)
    for period, issued in (("2026-02", date(2026, 2, 4)), ("2026-03", date(2026, 3, 4)),
                           ("2026-04", date(2026, 4, 4))):  # fmt: skip
        await run(period)
        await issue(period, issued)
    return site


async def ledger(account_id: int) -> dict[str, int]:
    rows = await LedgerEntry.filter(account_id=account_id, kind="deposit").order_by("id")
    return {row.source_key: row.amount_paise for row in rows}


async def test_the_yearly_review_tops_up_and_credits_interest_once(db: Any) -> None:
    utility = await Utility.create(read_day=1)
    site = await billed_account(utility)
    account = site.account
    with pytest.raises(Refused, match="has not ended"):
        await deposits.year_end(JOB, FY, date(2026, 3, 31), RATE)

    [outcome] = await deposits.year_end(JOB, FY, date(2026, 4, 5), RATE)
    # required: (1600 + 2100 + 2600) / 3 × 2 = 4200; held 2000 → top-up 2200.00, proposed
    # interest: 2000 × 365/365 × 6.75% = 135.00, credited
    assert outcome == deposits.YearOutcome(
        account.number, "2025-26", held_paise=paise("2000"), required_paise=paise("4200"),
        top_up_paise=paise("2200"), refund_paise=0, interest_paise=paise("135.00"),
    )  # fmt: skip
    assert await ledger(account.id) == {f"deposit-interest:{account.id}:2025-26": -paise("135.00")}
    [pending] = (await deposits.show(account.number, date(2026, 4, 5), RATE)).pending
    assert (pending.kind, pending.amount_paise, pending.status) == (
        "top_up",
        paise("2200"),
        "pending",
    )
    again = await deposits.year_end(JOB, FY, date(2026, 4, 6), RATE)
    assert again[0].already and len(await ledger(account.id)) == 1
    assert await AuditLog.filter(action="deposit.year_end").count() == 1

    # Staff approve it: the top-up is billed and held; approving again changes nothing,
    # rejecting it now is refused.
    made = await deposits.decide(JOB, account.number, FY, approve=True, on=date(2026, 4, 6))
    assert (made.status, made.already) == ("approved", False)
    assert await ledger(account.id) == {
        f"deposit-interest:{account.id}:2025-26": -paise("135.00"),
        f"deposit-review:{account.id}:2025-26": paise("2200"),
    }
    assert (await Account.get(id=account.id)).security_deposit_paise == paise("4200")
    assert (
        await deposits.decide(JOB, account.number, FY, approve=True, on=date(2026, 4, 7))
    ).already
    with pytest.raises(Refused, match="already approved"):
        await deposits.decide(JOB, account.number, FY, approve=False, on=date(2026, 4, 7))
    assert len(await ledger(account.id)) == 2
    assert await AuditLog.filter(action="deposit.proposal_approved").count() == 1

    # The next bill carries the top-up and the interest among "other credits and debits".
    await site.read("1.8.0", "1300", date(2026, 5, 1))
    await run("2026-05")
    await issue("2026-05", date(2026, 5, 4))
    may = await Bill.get(account_id=account.id, period_end=date(2026, 4, 30))
    assert may.snapshot["document"]["arrears"]["other_paise"] == paise("2065.00")

    shown = await deposits.show(account.number, date(2026, 5, 10), RATE)
    assert (shown.held_paise, [m.kind for m in shown.movements]) == (
        paise("4200"),
        ["opening", "top_up"],
    )


async def moved_out_on_15_june(*, close_account: bool) -> tuple[Account, int]:
    """A billed account whose 2025-26 review topped its deposit up to 4,200 (approved on
    2 April), and its holder's final bill on moving out on 15 June 2026."""
    utility = await Utility.create(read_day=1)
    site = await billed_account(utility)
    await deposits.year_end(JOB, FY, date(2026, 4, 2), RATE)
    await deposits.decide(JOB, site.account.number, FY, approve=True, on=date(2026, 4, 2))
    await site.read("1.8.0", "1300", date(2026, 6, 15), read_type="move_out")
    final = await final_bill(account_number=site.account.number, move_out_on=date(2026, 6, 15),
                             zone=ZONE, close_account=close_account,
                             deposit_interest_percent=RATE)  # fmt: skip
    return site.account, final


async def test_move_out_credits_the_deposit_and_its_interest_against_the_final_bill(
    db: Any,
) -> None:
    account, final = await moved_out_on_15_june(close_account=True)
    # interest 1 Apr to 15 Jun: 2000 × 1 day + 4200 × 74 days, × 6.75% ÷ 365 = 57.85
    assert await ledger(account.id) == {
        f"deposit-interest:{account.id}:2025-26": -paise("135.00"),
        f"deposit-review:{account.id}:2025-26": paise("2200"),
        f"deposit-interest:{account.id}:move-out:{final}": -paise("57.85"),
        f"deposit-move-out:{account.id}:{final}": -paise("4200"),
    }
    assert (await Account.get(id=account.id)).security_deposit_paise == 0
    assert await DepositEntry.filter(account_id=account.id, kind="move_out").count() == 1
    # The closed account's year is settled: the next year end pays nothing more.
    [later] = await deposits.year_end(JOB, FinancialYear.parse("2026-27"), date(2027, 4, 2), RATE)
    assert later.already and len(await ledger(account.id)) == 4


async def test_a_holder_leaving_for_another_takes_the_deposit_with_the_final_bill(
    db: Any,
) -> None:
    account, final = await moved_out_on_15_june(close_account=False)
    entries = await ledger(account.id)
    assert entries[f"deposit-move-out:{account.id}:{final}"] == -paise("4200")
    assert entries[f"deposit-interest:{account.id}:move-out:{final}"] == -paise("57.85")
    refreshed = await Account.get(id=account.id)
    assert (refreshed.status, refreshed.security_deposit_paise) == ("active", 0)
    # That year is settled; the next one reviews the account again for whoever holds it.
    [same] = await deposits.year_end(JOB, FinancialYear.parse("2026-27"), date(2027, 4, 2), RATE)
    [later] = await deposits.year_end(JOB, FinancialYear.parse("2027-28"), date(2028, 4, 2), RATE)
    assert same.already and not later.already


async def test_a_rejected_proposal_leaves_the_deposit_as_it_is(db: Any) -> None:
    utility = await Utility.create(read_day=1)
    account = (await billed_account(utility)).account
    await deposits.year_end(JOB, FY, date(2026, 4, 5), RATE, interest=False)
    made = await deposits.decide(
        JOB, account.number, FY, approve=False, on=date(2026, 4, 6), reason="pays on time"
    )
    assert (made.status, made.amount_paise) == ("rejected", paise("2200"))
    assert await ledger(account.id) == {}
    assert (await Account.get(id=account.id)).security_deposit_paise == paise("2000")
    row = await AuditLog.get(action="deposit.proposal_rejected")
    assert row.reason == "pays on time"
    # the year is reviewed: a later run proposes nothing new
    [again] = await deposits.year_end(JOB, FY, date(2026, 4, 9), RATE, interest=False)
    assert again.already
    with pytest.raises(NotFound):
        await deposits.decide(JOB, account.number, FinancialYear.parse("2024-25"), approve=True,
                              on=date(2026, 4, 9))  # fmt: skip


async def test_a_proposal_left_pending_at_move_out_can_only_be_rejected(db: Any) -> None:
    utility = await Utility.create(read_day=1)
    site = await billed_account(utility)
    account = site.account
    await deposits.year_end(JOB, FY, date(2026, 4, 2), RATE, interest=False)
    await site.read("1.8.0", "1300", date(2026, 6, 15), read_type="move_out")
    await final_bill(account_number=account.number, move_out_on=date(2026, 6, 15), zone=ZONE,
                     deposit_interest_percent=RATE)  # fmt: skip
    with pytest.raises(Refused, match="moved out after the 2025-26 review"):
        await deposits.decide(JOB, account.number, FY, approve=True, on=date(2026, 6, 20))
    made = await deposits.decide(JOB, account.number, FY, approve=False, on=date(2026, 6, 20))
    assert made.status == "rejected" and f"deposit-review:{account.id}:2025-26" not in (
        await ledger(account.id)
    )


def deposit(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["deposit", *argv])
    result: int = args.handler(settings, args)
    return result


async def held_account(url: str) -> str:
    async with open_database(url):
        site = await (await Utility.create(read_day=1)).account()
        await Account.filter(id=site.account.id).update(security_deposit_paise=paise("2000"))
        return site.account.number


def test_the_deposit_command_shows_and_credits_interest_once(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    number = asyncio.run(held_account(settings.database_url))
    year = ["--year", "2025-26", "--date", "2026-04-02"]
    assert deposit(settings, "interest", *year) == 0
    assert f"{number}: interest Rs 135.00 credited" in capsys.readouterr().out
    assert deposit(settings, "interest", *year, "--account", number) == 0
    assert "2025-26: 0 account(s) interest credited; 1 already done" in capsys.readouterr().out
    assert deposit(settings, "review", *year) == 0  # no bill in the year: kept as it is
    assert f"{number}: holds Rs 2,000.00, no change" in capsys.readouterr().out
    assert deposit(settings, "show", "--account", number, "--date", "2026-04-02") == 0
    out = capsys.readouterr().out
    assert "held      Rs 2,000.00" in out and "opening" in out and "review" in out
    with pytest.raises(DepositCommandError, match="did you mean 2025-26"):
        deposit(settings, "review", "--year", "2025-27")
    with pytest.raises(DepositCommandError, match="give --account"):
        deposit(settings, "review", "--year", "2025-26", "--approve")
    with pytest.raises(NotFound, match="review proposal"):
        deposit(settings, "review", *year, "--account", number, "--approve")


async def proposed_account(url: str) -> str:
    async with open_database(url):
        site = await billed_account(await Utility.create(read_day=1))
        await deposits.year_end(JOB, FY, date(2026, 4, 5), RATE, interest=False)
        return str(site.account.number)


def test_the_deposit_command_decides_a_proposal(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    number = asyncio.run(proposed_account(settings.database_url))
    assert deposit(settings, "show", "--account", number, "--date", "2026-04-05") == 0
    assert "2025-26  top-up Rs 2,200.00 proposed, pending" in capsys.readouterr().out
    decision = ["--year", "2025-26", "--account", number, "--date", "2026-04-06"]
    assert deposit(settings, "review", *decision, "--approve") == 0
    assert capsys.readouterr().out == f"{number}: top-up Rs 2,200.00 for 2025-26 approved\n"
    assert deposit(settings, "review", *decision, "--approve") == 0
    assert "already approved" in capsys.readouterr().out
    with pytest.raises(Refused, match="already approved"):
        deposit(settings, "review", *decision, "--reject")
