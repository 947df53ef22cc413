"""The billing calendar: each cycle's month is drafted on its bill date by the daily task,
once, at the read date staff set where they set one (both databases)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date

import pytest

from cli.calendar import add_parser
from domain import billing_calendar as rules
from gridbill.settings import Settings
from services.billing.calendar import calendar, set_dates
from services.billing.runs import draft_due_runs
from services.errors import Refused
from services.viewer import acting_as
from store.db import open_database
from store.models import AuditLog, Bill, BillRun
from tests.billing.billing_factories import CYCLE, Utility
from tests.factories import ZONE

JOB = acting_as("job:draft_due_bill_runs")
STAFF = acting_as("cli:ops")


def test_usual_dates_bill_after_the_read_in_the_same_or_the_next_month() -> None:
    def dates(month: date, read_day: int, bill_day: int) -> tuple[date, date]:
        usual = rules.usual_dates(month, read_day, bill_day)
        return usual.read_date, usual.bill_date

    march = date(2026, 3, 1)
    assert dates(march, 8, 11) == (date(2026, 3, 8), date(2026, 3, 11))
    assert dates(march, 28, 3) == (date(2026, 3, 28), date(2026, 4, 3))
    assert dates(date(2026, 2, 1), 31, 31) == (date(2026, 2, 28), date(2026, 2, 28))


@pytest.mark.parametrize(
    ("read", "bill", "problem"),
    [
        (date(2026, 4, 1), date(2026, 4, 3), "not in 2026-03"),
        (date(2026, 3, 9), date(2026, 3, 8), "before the read date"),
        (date(2026, 3, 1), date(2026, 4, 2), "more than a month after"),
    ],
)
def test_dates_a_calendar_cannot_hold(read: date, bill: date, problem: str) -> None:
    with pytest.raises(rules.CalendarError, match=problem):
        rules.check(date(2026, 3, 1), read, bill)


def test_a_run_is_due_from_its_bill_date_for_a_week() -> None:
    dates = [rules.usual_dates(date(2026, 3, 1), 8, 11)]
    assert rules.due(date(2026, 3, 10), dates) == []
    assert rules.due(date(2026, 3, 11), dates) == [date(2026, 3, 1)]
    assert rules.due(date(2026, 3, 18), dates) == [date(2026, 3, 1)]  # 7 days late: caught up
    assert rules.due(date(2026, 3, 19), dates) == []  # later: staff decide


async def test_the_daily_task_drafts_a_month_on_its_bill_date_once(utility: Utility) -> None:
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 2, 8))
    await site.read("1.8.0", "1100", date(2026, 3, 9))
    assert await draft_due_runs(JOB, date(2026, 3, 10), ZONE) == []  # C08 bills on the 11th
    (summary,) = await draft_due_runs(JOB, date(2026, 3, 11), ZONE)
    assert (summary.cycle, summary.period, summary.bills) == (CYCLE, "2026-03", 1)
    assert await draft_due_runs(JOB, date(2026, 3, 12), ZONE) == []  # the run exists
    assert await BillRun.filter(cycle=utility.cycle).count() == 1
    started = await AuditLog.get(action="bill_run.started")
    assert started.actor_label == "job:draft_due_bill_runs"
    (bill,) = await Bill.filter(account_id=site.account.id)
    assert bill.status.value == "draft"  # staff review and issue


async def test_dates_staff_set_move_the_run_and_the_read_it_closes_at(utility: Utility) -> None:
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 2, 8))
    await site.read("1.8.0", "1030", date(2026, 3, 4))  # nearest the usual 8th
    await site.read("1.8.0", "1100", date(2026, 3, 13))  # on the date staff set
    await set_dates(STAFF, cycle_code=CYCLE, period="2026-03", read_date=date(2026, 3, 13),
                    bill_date=date(2026, 3, 16), reason="Holi")  # fmt: skip
    shown = {d.month: d for d in await calendar(CYCLE, date(2026, 3, 20))}
    assert (shown[date(2026, 3, 1)].bill_date, shown[date(2026, 3, 1)].usual) == (
        date(2026, 3, 16),
        False,
    )
    assert shown[date(2026, 4, 1)].usual and shown[date(2026, 4, 1)].read_date == date(2026, 4, 8)
    assert await draft_due_runs(JOB, date(2026, 3, 11), ZONE) == []
    assert len(await draft_due_runs(JOB, date(2026, 3, 16), ZONE)) == 1
    (bill,) = await Bill.filter(account_id=site.account.id)
    # closed at the read of the 13th (opened, as a first bill does, at the read before it)
    assert (bill.period_end, bill.consumption_wh) == (date(2026, 3, 12), 70_000)
    row = await AuditLog.get(action="billing_calendar.set")
    assert (row.actor_label, row.reason, row.after["bill"]) == ("cli:ops", "Holi", "2026-03-16")


async def test_a_billed_months_dates_are_history_and_bad_input_is_refused(utility: Utility) -> None:
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 2, 8))
    await draft_due_runs(JOB, date(2026, 3, 11), ZONE)
    with pytest.raises(Refused) as billed:
        await set_dates(STAFF, cycle_code=CYCLE, period="2026-03", read_date=date(2026, 3, 9),
                        bill_date=date(2026, 3, 12), reason="late")  # fmt: skip
    assert billed.value.code == "INVALID_STATE"
    with pytest.raises(Refused) as bad:
        await set_dates(STAFF, cycle_code=CYCLE, period="2026-13", read_date=date(2026, 3, 9),
                        bill_date=date(2026, 3, 12), reason="x")  # fmt: skip
    assert bad.value.code == "INVALID_INPUT"
    with pytest.raises(Refused) as unknown:
        await calendar("NOPE", date(2026, 3, 1))
    assert (unknown.value.code, unknown.value.field) == ("UNKNOWN_CYCLE", "cycle")
    assert unknown.value.message == f"no billing cycle 'NOPE' (cycles: {CYCLE})"


def calendar_command(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["calendar", *argv])
    result: int = args.handler(settings, args)
    return result


async def a_cycle(url: str) -> None:
    async with open_database(url):
        await Utility.create()


def test_the_command_sets_and_shows_the_calendar(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(a_cycle(settings.database_url))
    assert calendar_command(settings, "set", "--cycle", CYCLE, "--period", "2026-04",
                            "--read", "2026-04-09", "--bill", "2026-04-13", "--reason", "strike") == 0  # fmt: skip
    assert calendar_command(settings, "show", "--cycle", CYCLE, "--around", "2026-03-20") == 0
    out = capsys.readouterr().out
    assert "2026-03  read 2026-03-08  bill 2026-03-11\n" in out
    assert "2026-04  read 2026-04-09  bill 2026-04-13  (set by staff)" in out
    assert calendar_command(settings, "draft-due", "--date", "2026-03-11") == 0
    assert "No bill run is due" not in capsys.readouterr().out
