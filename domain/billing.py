"""Billing rules: which reads close a period, dates, numbers, and a bill's lines in paise.

The rules are described for staff in ``docs/billing.md``; this module is their single
source of truth.

* **Billing month.** ``--period 2026-03`` is the calendar month March 2026 in the
  utility's zone. A cycle's meters are read on its ``read_day`` of that month (the last
  day of a shorter month), the *scheduled read date*.
* **Closing read.** The valid actual read of the account's main register (1.8.0) whose
  local date is within :data:`READ_WINDOW_DAYS` days of the scheduled date, the one
  nearest to it (the later one on a tie). The other registers of the meter are taken at
  the same capture. Windows of consecutive months never overlap.
* **Opening read.** The previous bill's closing read; for an account's first bill, the
  last valid read of the same register before the closing read.
* **Bill period.** From the opening read's date to the day before the closing read's
  (inclusive); without a closing read in the window the bill is estimated up to the day
  before the scheduled date.
* **Dates.** A bill is dated the day it is issued; it is due ``due_days`` later, moved to
  the next working day past Sundays and public holidays.
* **Numbers.** ``BL/2026-27/000123``: series prefix, Indian financial year (April to
  March) of the issue date, and a gapless counter per series and year.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from urllib.parse import quote

from domain.ledger import paise
from domain.money import exact, round_paise
from domain.pricing import Line, Quote
from domain.tariff import PromptPayment, in_base

READ_WINDOW_DAYS = 7
RUN_SILENT_AFTER = timedelta(minutes=10)
"""A running bill run records progress after every chunk; one silent this long was cut off."""
SUNDAY = 6

T = TypeVar("T")


class PeriodError(ValueError):
    """A billing period that cannot be read (e.g. ``2026-13``)."""


@dataclass(frozen=True)
class BillingMonth:
    first: date
    last: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> BillingMonth:
        try:
            year, month = (int(part) for part in text.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise PeriodError(f"period {text!r} must be a month like 2026-03") from None
        if len(text) != 7:
            raise PeriodError(f"period {text!r} must be a month like 2026-03")
        return cls(first, first.replace(day=calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        return f"{self.first:%Y-%m}"

    def scheduled_read(self, read_day: int) -> date:
        """The cycle's read date in this month (its last day when ``read_day`` is past it)."""
        return self.first.replace(day=min(max(1, read_day), self.last.day))

    def read_window(self, read_day: int) -> tuple[date, date]:
        """Local dates (both inclusive) whose reads can close this month's bills."""
        day = self.scheduled_read(read_day)
        window = timedelta(days=READ_WINDOW_DAYS)
        return day - window, day + window


def nearest(candidates: Sequence[tuple[date, T]], scheduled: date) -> T | None:
    """The candidate whose date is nearest to ``scheduled``, the later one on a tie.

    Candidates are (local date, anything) in time order, so of two captures on the same
    day the later one wins.
    """
    best: tuple[int, int] | None = None
    chosen: T | None = None
    for day, item in candidates:
        key = (abs((day - scheduled).days), 0 if day >= scheduled else 1)
        if best is None or key <= best:
            best, chosen = key, item
    return chosen


def run_in_progress(status: str, last_progress_at: datetime, now: datetime) -> bool:
    """Whether a bill run is being worked on now, so a second start must be refused.

    A run is ``running`` from its start until it completes or fails; if its process is
    killed it stays ``running`` with no further progress, and after
    :data:`RUN_SILENT_AFTER` it may be started again, which resumes it.
    """
    return status == "running" and now - last_progress_at < RUN_SILENT_AFTER


def due_date(issue_date: date, due_days: int, holidays: Collection[date]) -> date:
    """``due_days`` after issue, moved forward past Sundays and public holidays."""
    day = issue_date + timedelta(days=due_days)
    while day.weekday() == SUNDAY or day in holidays:
        day += timedelta(days=1)
    return day


# --- a bill's lines ----------------------------------------------------------------------


@dataclass(frozen=True)
class BillLineData:
    component: str
    code: str
    description: str
    quantity: str
    unit: str
    rate: str
    amount_paise: int
    tou_period: str = ""


@dataclass(frozen=True)
class Amounts:
    charges_paise: int
    rounding_paise: int

    @property
    def total_paise(self) -> int:
        return self.charges_paise + self.rounding_paise


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def line_data(line: Line) -> BillLineData:
    return BillLineData(
        component=line.component,
        code=line.code,
        description=line.description,
        quantity=_text(line.quantity),
        unit=line.unit,
        rate=_text(line.rate),
        amount_paise=paise(line.amount),
        tou_period=line.tou_period or "",
    )


@dataclass(frozen=True)
class EstimatedBill:
    """An earlier estimated bill that an actual read now trues up."""

    label: str  # its number, or "#id" for a draft
    start: date
    end: date  # inclusive
    total_paise: int


def bill_lines(
    quote: Quote, true_up: Sequence[EstimatedBill] = ()
) -> tuple[list[BillLineData], Amounts]:
    """The quote's lines in paise, then a credit for each estimated bill trued up.

    The rounding line stays last: the credits are whole bills, already rounded.
    """
    lines = [line_data(line) for line in quote.lines if line.component != "rounding"]
    for est in true_up:
        lines.append(
            BillLineData(
                component="true_up",
                code="EST",
                description=f"Less estimated bill {est.label} ({est.start} to {est.end})",
                quantity="",
                unit="",
                rate="",
                amount_paise=-est.total_paise,
            )
        )
    rounding = [line_data(line) for line in quote.lines if line.component == "rounding"]
    charges = sum(line.amount_paise for line in lines)
    rounding_paise = sum(line.amount_paise for line in rounding)
    return lines + rounding, Amounts(charges, rounding_paise)


def prompt_rebate(rule: PromptPayment, lines: Sequence[BillLineData]) -> int:
    """The prompt-payment rebate in paise (≥ 0) on the bill's named lines."""
    base = sum(line.amount_paise for line in lines if in_base(line.code, rule.base))
    if base <= 0:
        return 0
    return paise(round_paise(exact(base) * exact(rule.percent) / 100 / 100))


def upi_link(*, payee_vpa: str, payee_name: str, amount_paise: int, note: str) -> str:
    """A UPI deep link (``upi://pay?pa=…&pn=…&am=…&cu=INR&tn=…``) for paying the bill."""
    amount = Decimal(max(amount_paise, 0)).scaleb(-2).quantize(Decimal("0.01"))
    params = [
        ("pa", payee_vpa),
        ("pn", payee_name),
        ("am", str(amount)),
        ("cu", "INR"),
        ("tn", note),
    ]
    return "upi://pay?" + "&".join(f"{k}={quote(v, safe='@/')}" for k, v in params)


def days_between(start: date, end_inclusive: date) -> int:
    return (end_inclusive - start).days + 1
