"""What a report covers: a month in the utility's time zone, and optionally one billing cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.billing import BillingMonth, PeriodError
from services.billing.cycles import cycle_by_code
from services.errors import Refused


class ReportError(Refused):
    """A report asked for what cannot be: ``BAD_PERIOD``, ``UNKNOWN_REPORT`` (and, from
    ``services.billing.cycles``, ``UNKNOWN_CYCLE``)."""


@dataclass(frozen=True)
class Scope:
    month: BillingMonth
    cycle_id: int | None
    cycle_code: str | None
    zone: ZoneInfo
    today: date

    @property
    def first(self) -> date:
        return self.month.first

    @property
    def last(self) -> date:
        return self.month.last

    @property
    def as_of(self) -> date:
        """The day balances are taken on: the month's last day, or today in the current month."""
        return min(self.month.last, self.today)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The month as ``[start, end)`` instants: local midnights, in UTC."""
        start = datetime.combine(self.first, time.min, tzinfo=self.zone)
        end = datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def cycle_filter(self, account: str = "a") -> tuple[str, list[int]]:
        """``AND …`` restricting ``account`` (an accounts alias) to the cycle, and its value."""
        if self.cycle_id is None:
            return "", []
        return f" AND {account}.billing_cycle_id = ?", [self.cycle_id]


async def resolve_scope(
    period: str | None, cycle: str | None, *, zone: ZoneInfo, today: date | None = None
) -> Scope:
    """The scope named by ``--period YYYY-MM`` (default: this month) and ``--cycle CODE``.

    Raises :class:`ReportError` for a month that cannot be read, lies in the future, or a
    cycle that does not exist (naming the cycles that do).
    """
    today = today or datetime.now(zone).date()
    try:
        month = BillingMonth.parse(period) if period else BillingMonth.parse(f"{today:%Y-%m}")
    except PeriodError as exc:
        raise ReportError("BAD_PERIOD", str(exc), field="period") from None
    if month.first > today:
        raise ReportError(
            "BAD_PERIOD", f"period {month} is in the future (today is {today})", field="period"
        )
    if cycle is None:
        return Scope(month, None, None, zone, today)
    found = await cycle_by_code(cycle)
    return Scope(month, found.id, found.code, zone, today)
