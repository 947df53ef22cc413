"""Consumption from register reads: the advance of each register, rollover and multiplier.

A register shows ``digits`` whole units and passes back to zero after the last one, so a
closing value below the opening one is a rollover, unless the drop is so small that the
wrapped advance would be more than half the register's range: then the register went
backwards (a misread, a swapped meter) and no bill can be made from it.

Values are thousandths of the register's unit (``RegisterRead.value_milli``): Wh for a
kWh register, W for a kW demand register. The meter sees the current and voltage through
its CT and PT, so what flowed is the advance × (CT ratio × PT ratio), kept exact as the
integer ratings printed on the transformers and rounded half-up to the Wh once.

A period is billed from *spans*: one per register and meter installed during it. A meter
replaced inside the period gives two spans per register (the old meter's opening read to
its removal read, the new meter's installation read to the closing read), summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.money import round_half_up
from domain.usage import TotalUsage, UsageByPeriod

ENERGY_UNITS = frozenset({"kWh"})
EXPORT_OBIS = "2.8.0"  # active energy exported: rooftop solar
KVAH_OBIS = "9.8.0"  # apparent energy imported: kVAh billing and the power factor
DEMAND_UNITS = frozenset({"kW"})


class ConsumptionError(ValueError):
    """Reads that cannot give a consumption; the message says which and why."""


@dataclass(frozen=True)
class Multiplier:
    """CT and PT ratings, as printed (e.g. 200/5 A): the billing multiplier is their ratio."""

    ct_primary: int = 1
    ct_secondary: int = 1
    pt_primary: int = 1
    pt_secondary: int = 1

    def __post_init__(self) -> None:
        for rating in (self.ct_primary, self.ct_secondary, self.pt_primary, self.pt_secondary):
            if rating < 1:
                raise ConsumptionError(f"transformer ratings must be positive, not {rating}")

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.ct_primary * self.pt_primary, self.ct_secondary * self.pt_secondary)

    def __str__(self) -> str:
        """The exact multiplier for display: ``40``, ``2.5``, or ``200/3`` if it never ends."""
        ratio = self.ratio
        denominator = ratio.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        if denominator != 1:
            return f"{ratio.numerator}/{ratio.denominator}"
        value = Decimal(ratio.numerator) / Decimal(ratio.denominator)
        return str(value.normalize()) if value != value.to_integral_value() else str(int(value))


def rollover_milli(digits: int) -> int:
    """Where a register of ``digits`` whole digits passes back to zero, in thousandths."""
    if digits < 1:
        raise ConsumptionError(f"a register has at least one digit, not {digits}")
    return int(10**digits) * 1000


def advance_milli(opening: int, closing: int, digits: int) -> int:
    """How far the register turned from ``opening`` to ``closing``, through zero if need be."""
    top = rollover_milli(digits)
    for value in (opening, closing):
        if not 0 <= value < top:
            raise ConsumptionError(f"{value / 1000:g} does not fit a {digits}-digit register")
    if closing >= opening:
        return closing - opening
    wrapped = closing + top - opening
    if wrapped > top // 2:
        raise ConsumptionError(
            f"the register went backwards from {opening / 1000:g} to {closing / 1000:g}"
        )
    return wrapped


def scaled(value_milli: int, multiplier: Multiplier) -> int:
    """A register quantity × the multiplier, half-up to a whole Wh (or W)."""
    ratio = multiplier.ratio
    if ratio.denominator == 1:
        return value_milli * ratio.numerator
    return int(round_half_up(Fraction(value_milli) * ratio, Decimal(1)))


def closing_for(opening: int, consumption: int, multiplier: Multiplier, digits: int) -> int:
    """The value a register would show after ``consumption`` Wh: an estimated closing read."""
    turned = int(round_half_up(Fraction(consumption) / multiplier.ratio, Decimal(1)))
    return (opening + turned) % rollover_milli(digits)


@dataclass(frozen=True)
class Span:
    """One energy register of one meter between two values."""

    obis: str
    digits: int
    opening_milli: int
    closing_milli: int
    multiplier: Multiplier = field(default_factory=Multiplier)
    tou_period: str = ""

    @property
    def wh(self) -> int:
        return scaled(
            advance_milli(self.opening_milli, self.closing_milli, self.digits), self.multiplier
        )


@dataclass(frozen=True)
class Measured:
    """What the registers say about a period: Wh in total and per TOU register, and demand."""

    total_wh: int
    by_period_wh: Mapping[str, int]
    max_demand_w: int | None = None
    export_wh: int | None = None  # 2.8.0, where the meter has it
    kvah_vah: int | None = None  # 9.8.0 in VAh, where the meter has it
    max_demand_w_by_period: Mapping[str, int] = field(default_factory=dict)  # 1.6.1, 1.6.2…


def measure(
    spans: Sequence[Span],
    demand: Sequence[tuple[int, Multiplier]] = (),
    total_obis: str = "1.8.0",
    demand_by_period: Mapping[str, Sequence[tuple[int, Multiplier]]] | None = None,
) -> Measured:
    """Sum the spans per register: the total from ``total_obis``, TOU parts from the others,
    export (2.8.0) and kVAh (9.8.0) apart (None where no span has them).

    ``demand`` is each maximum-demand register's closing value with its multiplier (the
    register records the period's maximum and is reset at the read); the largest counts.
    ``demand_by_period`` are the time-of-day maximum-demand registers' (1.6.1 in the peak
    hours…), by the calendar period each records.
    """
    total = sum(s.wh for s in spans if s.obis == total_obis)
    by_period: dict[str, int] = {}
    for s in spans:
        if s.obis != total_obis and s.tou_period:
            by_period[s.tou_period] = by_period.get(s.tou_period, 0) + s.wh
    if sum(by_period.values()) > total:
        raise ConsumptionError(
            "the time-of-day registers advanced more than the total register: check the reads"
        )
    max_demand = max((scaled(v, m) for v, m in demand), default=None)
    export = [s.wh for s in spans if s.obis == EXPORT_OBIS]
    kvah = [s.wh for s in spans if s.obis == KVAH_OBIS]
    by_period_demand = {
        period: max(scaled(v, m) for v, m in values)
        for period, values in (demand_by_period or {}).items()
        if values
    }
    return Measured(
        total, by_period, max_demand, sum(export) if export else None,
        sum(kvah) if kvah else None, by_period_demand,
    )  # fmt: skip


def kwh(wh: int) -> Decimal:
    """Wh as an exact Decimal of kWh."""
    return Decimal(wh).scaleb(-3)


def register_usage(
    measured: Measured,
    start: date,
    end: date,
    *,
    tou_periods: Sequence[str] = (),
) -> TotalUsage | UsageByPeriod:
    """Usage for the pricing engine over ``[start, end)``.

    ``tou_periods`` are the periods of the tariff's time-of-day calendar, if it has one:
    the TOU registers give some of them and the one period no register counts gets the
    rest of the total (1.8.0 − 1.8.1 − 1.8.2 is the "normal" hours).
    """
    demand = None if measured.max_demand_w is None else kwh(measured.max_demand_w)
    if not tou_periods:
        export = None if measured.export_wh is None else kwh(measured.export_wh)
        kvah = None if measured.kvah_vah is None else kwh(measured.kvah_vah)
        return TotalUsage(kwh(measured.total_wh), start, end, demand, export, kvah)
    unknown = set(measured.by_period_wh) - set(tou_periods)
    if unknown:
        raise ConsumptionError(
            f"TOU register period(s) {', '.join(sorted(unknown))} are not periods of the tariff's calendar"
        )
    rest = [p for p in tou_periods if p not in measured.by_period_wh]
    if len(rest) != 1:
        raise ConsumptionError(
            "time-of-day billing from registers needs a register for every period but one "
            f"(the calendar has {', '.join(tou_periods)})"
        )
    by_period = {p: kwh(wh) for p, wh in measured.by_period_wh.items()}
    by_period[rest[0]] = kwh(measured.total_wh - sum(measured.by_period_wh.values()))
    ordered = {p: by_period[p] for p in tou_periods}
    unknown = set(measured.max_demand_w_by_period) - set(tou_periods)
    if unknown:
        raise ConsumptionError(
            f"TOU demand register period(s) {', '.join(sorted(unknown))} are not periods of "
            "the tariff's calendar"
        )
    demands = {p: kwh(w) for p, w in measured.max_demand_w_by_period.items()}
    return UsageByPeriod(ordered, start, end, demand, demands)
