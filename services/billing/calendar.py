"""The billing calendar as staff keep it and the scheduler follows it.

Dates staff set for a month are stored (``billing_calendar``); every other month follows
the cycle's read and bill days (``domain.billing_calendar``). The scheduled task calls
``services.billing.runs.draft_due_runs`` once a day, which drafts what :func:`due_runs`
names: each cycle's month on its bill date (or up to a week late), unless a run of that
cycle and month already exists, whoever started it.
"""

from __future__ import annotations

from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain import billing_calendar as rules
from domain.billing import BillingMonth, PeriodError
from domain.billing_calendar import CalendarError, CycleDates
from services import audit
from services.billing.cycles import cycle_by_code
from services.errors import Refused
from services.viewer import Viewer
from store.models import BillingCalendarDate, BillingCycle, BillRun


def _month(period: str) -> BillingMonth:
    try:
        return BillingMonth.parse(period.strip())
    except PeriodError as exc:
        raise Refused("INVALID_INPUT", str(exc)) from None


async def _set_dates(
    cycles: list[BillingCycle], months: list[date], connection: BaseDBAsyncClient | None = None
) -> dict[tuple[int, date], CycleDates]:
    rows = BillingCalendarDate.filter(
        cycle_id__in=[c.id for c in cycles], month__in=months
    ).using_db(connection)
    return {
        (row.cycle_id, row.month): CycleDates(row.month, row.read_date, row.bill_date, usual=False)  # type: ignore[attr-defined]
        for row in await rows
    }


async def calendar(
    cycle_code: str, around: date, *, before: int = 1, after: int = 3
) -> list[CycleDates]:
    """A cycle's dates for the months around ``around``."""
    cycle = await cycle_by_code(cycle_code)
    months = rules.months_around(around, before, after)
    chosen = {m: d for (_, m), d in (await _set_dates([cycle], months)).items()}
    return rules.dates(months, cycle.read_day, cycle.bill_day, chosen)


async def set_dates(
    actor: Viewer,
    *,
    cycle_code: str,
    period: str,
    read_date: date,
    bill_date: date,
    reason: str,
) -> CycleDates:
    """Set a month's read and bill dates, with an audit row; a month already billed is refused."""
    cycle, month = await cycle_by_code(cycle_code), _month(period)
    try:
        rules.check(month.first, read_date, bill_date)
    except CalendarError as exc:
        raise Refused("INVALID_INPUT", str(exc)) from None
    async with in_transaction() as connection:
        if (
            await BillRun.filter(cycle=cycle, period_start=month.first)
            .using_db(connection)
            .exists()
        ):
            raise Refused(
                "INVALID_STATE",
                f"cycle {cycle.code} already has a bill run for {month}: its dates are history",
            )
        before = await _set_dates([cycle], [month.first], connection)
        await BillingCalendarDate.update_or_create(
            defaults={
                "read_date": read_date,
                "bill_date": bill_date,
                "reason": reason.strip()[:200],
            },
            using_db=connection,
            cycle=cycle,
            month=month.first,
        )
        old = before.get((cycle.id, month.first)) or rules.usual_dates(
            month.first, cycle.read_day, cycle.bill_day
        )
        await audit.record(
            viewer=actor, action="billing_calendar.set", entity="billing_cycle", entity_id=cycle.id,
            before={"month": str(month), "read": str(old.read_date), "bill": str(old.bill_date)},
            after={"month": str(month), "read": str(read_date), "bill": str(bill_date)},
            reason=reason,
        )  # fmt: skip
    return CycleDates(month.first, read_date, bill_date, usual=False)


async def read_day(
    cycle: BillingCycle, month: BillingMonth, connection: BaseDBAsyncClient | None = None
) -> int:
    """The day of ``month`` the cycle's bills close at: the calendar's read date, else the
    cycle's read day. Bill runs and rebills ask here, so both close at the same read."""
    chosen = await _set_dates([cycle], [month.first], connection)
    found = chosen.get((cycle.id, month.first))
    return found.read_date.day if found else cycle.read_day


async def due_runs(today: date) -> list[tuple[BillingCycle, BillingMonth]]:
    """The cycles and months whose run is due today and does not exist yet."""
    cycles = await BillingCycle.all().order_by("code")
    months = rules.months_around(today, 2, 0)
    chosen = await _set_dates(cycles, months)
    due: list[tuple[BillingCycle, BillingMonth]] = []
    for cycle in cycles:
        own = {m: d for (cid, m), d in chosen.items() if cid == cycle.id}
        for first in rules.due(today, rules.dates(months, cycle.read_day, cycle.bill_day, own)):
            if not await BillRun.filter(cycle=cycle, period_start=first).exists():
                due.append((cycle, BillingMonth.parse(f"{first:%Y-%m}")))
    return due
