"""What was used: the three shapes of usage a bill or a quote is priced from.

* :class:`TotalUsage`: one kWh figure over whole days (two register reads of 1.8.0),
  optionally with a maximum-demand register (1.6.0);
* :class:`IntervalUsage`: a load profile, kWh per fixed interval from an aware start;
  it drives time-of-use, tiers and demand (the largest interval's average kW);
* :class:`UsageByPeriod`: kWh per time-of-use period from TOU registers (1.8.1, 1.8.2, …)
  and maximum demand, overall and per period where the meter keeps it.

All quantities are Decimal; the pricing engine converts them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo


class UsageError(ValueError):
    """Usage that cannot describe a billing period (negative kWh, no days, …)."""


def _check_span(start: date, end: date) -> None:
    if end <= start:
        raise UsageError(f"the period {start}–{end} has no days (end is exclusive)")


def _check_kwh(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise UsageError(f"{what} must be a non-negative Decimal, not {value!r}")


@dataclass(frozen=True)
class TotalUsage:
    """``kwh`` imported (1.8.0); where the meter keeps them, ``export_kwh`` (2.8.0, rooftop
    solar) and ``kvah`` (apparent energy, for kVAh billing and the power factor)."""

    kwh: Decimal
    start: date
    end: date  # exclusive
    max_demand_kw: Decimal | None = None
    export_kwh: Decimal | None = None
    kvah: Decimal | None = None

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)
        _check_kwh(self.kwh, "kWh")
        for value, what in (
            (self.max_demand_kw, "maximum demand"),
            (self.export_kwh, "exported kWh"),
            (self.kvah, "kVAh"),
        ):
            if value is not None:
                _check_kwh(value, what)


@dataclass(frozen=True)
class UsageByPeriod:
    kwh_by_period: Mapping[str, Decimal]
    start: date
    end: date  # exclusive
    max_demand_kw: Decimal | None = None
    max_demand_kw_by_period: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)
        for name, kwh in self.kwh_by_period.items():
            _check_kwh(kwh, f"kWh of period {name!r}")
        for name, kw in self.max_demand_kw_by_period.items():
            _check_kwh(kw, f"maximum demand of period {name!r}")

    @property
    def kwh(self) -> Decimal:
        return sum(self.kwh_by_period.values(), Decimal(0))


@dataclass(frozen=True)
class IntervalUsage:
    start: datetime  # aware: the start of the first interval
    interval: timedelta
    kwh: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise UsageError("interval data needs an aware start time")
        if self.interval <= timedelta(0) or timedelta(hours=1) % self.interval:
            raise UsageError("the interval must divide an hour (e.g. 15, 30 or 60 minutes)")
        if not self.kwh:
            raise UsageError("interval data has no intervals")
        for i, value in enumerate(self.kwh):
            _check_kwh(value, f"kWh of interval {i}")

    def local_starts(self, zone: ZoneInfo) -> list[datetime]:
        """Each interval's start as wall-clock time in ``zone`` (naive)."""
        return [
            (self.start + i * self.interval).astimezone(zone).replace(tzinfo=None)
            for i in range(len(self.kwh))
        ]

    def span(self, zone: ZoneInfo) -> tuple[date, date]:
        """The whole local days the data touches, ``[first day, last day + 1)``."""
        first = self.start.astimezone(zone).date()
        last_moment = self.start + len(self.kwh) * self.interval - timedelta(microseconds=1)
        return first, last_moment.astimezone(zone).date() + timedelta(days=1)


Usage = TotalUsage | UsageByPeriod | IntervalUsage
