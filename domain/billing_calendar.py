"""The billing calendar: when each cycle's meters are read and its bills drafted.

A cycle reads on its ``read_day`` and bills on its ``bill_day`` of each month unless the
calendar holds other dates for a month (a holiday, a strike). The bill run of a month is
drafted on its bill date, once its reads are in, so staff only review and issue. A run
missed while nothing was running (a server down over a weekend) is drafted on the next
day the scheduler runs, up to ``CATCH_UP_DAYS`` late; older months are left to staff, who
would rather decide than be surprised by a run of last quarter.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

CATCH_UP_DAYS = 7
LATEST_BILL_AFTER_READ = timedelta(days=31)


class CalendarError(ValueError):
    """Dates a billing calendar cannot hold; the message says which and why."""


@dataclass(frozen=True)
class CycleDates:
    month: date  # first day of the billing month
    read_date: date
    bill_date: date
    usual: bool  # from the cycle's days, not a date staff set


def _on_day(month: date, day: int) -> date:
    """``day`` of ``month``, or its last day when the month is shorter."""
    last = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=min(max(1, day), last))


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def usual_dates(month: date, read_day: int, bill_day: int) -> CycleDates:
    """The cycle's own days: read on ``read_day``, bill on the next ``bill_day`` on or after it."""
    read = _on_day(month, read_day)
    bill = _on_day(month, bill_day)
    if bill < read:
        bill = _on_day(_next_month(month), bill_day)
    return CycleDates(month, read, bill, usual=True)


def check(month: date, read_date: date, bill_date: date) -> None:
    """The rules a month's dates keep: read in the month, bill on or after the read, within
    a month of it (a bill run closes the month's bills at that read)."""
    if month.day != 1:
        raise CalendarError(f"{month} is not the first day of a month")
    if (read_date.year, read_date.month) != (month.year, month.month):
        raise CalendarError(f"the read date {read_date} is not in {month:%Y-%m}")
    if bill_date < read_date:
        raise CalendarError(f"the bill date {bill_date} is before the read date {read_date}")
    if bill_date - read_date > LATEST_BILL_AFTER_READ:
        raise CalendarError(f"the bill date {bill_date} is more than a month after the read")


def dates(
    months: Iterable[date], read_day: int, bill_day: int, set_dates: Mapping[date, CycleDates]
) -> list[CycleDates]:
    """Each month's dates: those staff set, else the cycle's usual days."""
    return [set_dates.get(m) or usual_dates(m, read_day, bill_day) for m in months]


def due(today: date, calendar_dates: Iterable[CycleDates]) -> list[date]:
    """Billing months whose run is due today: billed on or before today, at most
    ``CATCH_UP_DAYS`` ago."""
    return sorted(
        d.month
        for d in calendar_dates
        if d.bill_date <= today < d.bill_date + timedelta(days=CATCH_UP_DAYS + 1)
    )


def months_around(today: date, before: int, after: int) -> list[date]:
    """First days of the months from ``before`` months back to ``after`` months ahead."""
    first = today.replace(day=1)
    for _ in range(before):
        first = (first - timedelta(days=1)).replace(day=1)
    months = [first]
    for _ in range(before + after):
        months.append(_next_month(months[-1]))
    return months
