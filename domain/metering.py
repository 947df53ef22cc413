"""Usage as the pricing engine asks for it: kWh in a part of the period, kWh per
time-of-use period, and maximum demand, whatever shape the usage came in.

A total (or a register's kWh per period) is shared between the parts of a period by the
pricing engine's ``share``: the part's month factor over the whole period's, which within
a calendar month is its share of the days ("average consumption per day × days", as
tariff orders prescribe for bills that span a tariff change). Interval data is never
spread: each interval belongs to the local day and hour its start falls in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from domain.money import exact
from domain.proration import Span
from domain.tou import Calendar
from domain.usage import IntervalUsage, TotalUsage, Usage, UsageByPeriod

HOUR = timedelta(hours=1)


class PricingError(ValueError):
    """Usage and tariff that cannot be priced together; the message says what is missing."""


@dataclass(frozen=True)
class Reading:
    local: datetime  # naive wall-clock start in the tariff's zone
    kwh: Fraction
    kw: Fraction  # the interval's average demand


@dataclass(frozen=True)
class Meter:
    """One usage, read in one time zone."""

    usage: Usage
    span: Span
    readings: tuple[Reading, ...]

    @classmethod
    def read(cls, usage: Usage, zone: ZoneInfo) -> Meter:
        if isinstance(usage, IntervalUsage):
            per_hour = Fraction(HOUR // usage.interval)
            readings = tuple(
                Reading(local, exact(kwh), exact(kwh) * per_hour)
                for local, kwh in zip(usage.local_starts(zone), usage.kwh, strict=True)
            )
            return cls(usage, Span(*usage.span(zone)), readings)
        return cls(usage, Span(usage.start, usage.end), ())

    def _in(self, part: Span) -> list[Reading]:
        return [r for r in self.readings if part.contains(r.local.date())]

    def kwh(self, part: Span, share: Fraction) -> Fraction:
        if isinstance(self.usage, IntervalUsage):
            return sum((r.kwh for r in self._in(part)), Fraction(0))
        return exact(self.usage.kwh) * share

    def kwh_by_period(
        self, part: Span, share: Fraction, calendar: Calendar, holidays: frozenset[date]
    ) -> dict[str, Fraction]:
        totals = dict.fromkeys(calendar.periods, Fraction(0))
        if isinstance(self.usage, TotalUsage):
            raise PricingError(
                f"the tariff prices energy by time of use (calendar {calendar.name!r}): "
                "give interval data (a load profile) or kWh per period, not a single total"
            )
        if isinstance(self.usage, UsageByPeriod):
            for name, kwh in self.usage.kwh_by_period.items():
                if name not in totals:
                    raise PricingError(
                        f"usage has kWh for period {name!r}, which calendar "
                        f"{calendar.name!r} does not have ({', '.join(calendar.periods)})"
                    )
                totals[name] = exact(kwh) * share
            return totals
        for reading in self._in(part):
            totals[calendar.period_at(reading.local, holidays)] += reading.kwh
        return totals

    def max_demand(
        self,
        in_scope: Callable[[datetime], bool] | None,
        period: str | None,
        what: str,
        window_minutes: int | None = None,
    ) -> Fraction:
        """The largest demand in kW over the whole period (within ``in_scope`` hours).

        With a demand window (say 30 minutes) the average is taken over clock-aligned
        windows of that length, each the sum of the intervals in it; without one, over
        each interval of the data.
        """
        if isinstance(self.usage, IntervalUsage):
            readings = [r for r in self.readings if in_scope is None or in_scope(r.local)]
            if window_minutes is None:
                return max((r.kw for r in readings), default=Fraction(0))
            return _windowed(readings, self.usage.interval, window_minutes, what)
        register = _register(self.usage, period)
        if register is None:
            where = f" in period {period!r}" if period else ""
            raise PricingError(
                f"{what} needs the maximum demand{where}: give interval data (a load "
                "profile) or a maximum-demand register reading"
            )
        return exact(register)


def _windowed(
    readings: list[Reading], interval: timedelta, window_minutes: int, what: str
) -> Fraction:
    window = timedelta(minutes=window_minutes)
    if window < interval or window % interval:
        minutes = interval // timedelta(minutes=1)
        raise PricingError(
            f"{what} averages demand over {window_minutes} minutes: give interval data whose "
            f"interval divides it (this data is at {minutes} minutes)"
        )
    sums: dict[datetime, Fraction] = {}
    for r in readings:
        minute = r.local.hour * 60 + r.local.minute
        start = r.local.replace(hour=0, minute=0) + timedelta(
            minutes=minute - minute % window_minutes
        )
        sums[start] = sums.get(start, Fraction(0)) + r.kwh
    hours = Fraction(window_minutes, 60)
    return max((kwh / hours for kwh in sums.values()), default=Fraction(0))


def _register(usage: TotalUsage | UsageByPeriod, period: str | None) -> Decimal | None:
    if period is None:
        return usage.max_demand_kw
    if isinstance(usage, UsageByPeriod):
        return usage.max_demand_kw_by_period.get(period)
    return None
