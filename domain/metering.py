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
        self, in_scope: Callable[[datetime], bool] | None, period: str | None, what: str
    ) -> Fraction:
        """The largest demand in kW over the whole period (within ``in_scope`` hours)."""
        if isinstance(self.usage, IntervalUsage):
            kws = [r.kw for r in self.readings if in_scope is None or in_scope(r.local)]
            return max(kws, default=Fraction(0))
        register = _register(self.usage, period)
        if register is None:
            where = f" in period {period!r}" if period else ""
            raise PricingError(
                f"{what} needs the maximum demand{where}: give interval data (a load "
                "profile) or a maximum-demand register reading"
            )
        return exact(register)


def _register(usage: TotalUsage | UsageByPeriod, period: str | None) -> Decimal | None:
    if period is None:
        return usage.max_demand_kw
    if isinstance(usage, UsageByPeriod):
        return usage.max_demand_kw_by_period.get(period)
    return None
