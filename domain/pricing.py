"""Pricing: usage + tariff (+ the account's load) → the lines of one bill and its total.

How a bill is built (docs/tariffs.md says the same for analysts):

1. The period is cut into parts, each inside one calendar month, under one tariff
   version and one value of every dated rate. Each part is priced on its own with its
   month factor for slab limits and fixed charges (``domain.proration``) and its kWh:
   measured, from interval data; otherwise the total shared in proportion to the month
   factors (within a month: to the days).
2. Charges (fixed, energy, demand) are computed exactly per part, then merged by line
   code across parts, and only then rounded half-up to 0.01: one rounding per line.
3. A minimum charge tops the named lines up to the prorated minimum.
4. Levies and credits follow in dependency order. Each is computed on the *rounded*
   lines it names (which may include other levies), then rounded once. Where a levy's
   rate differs between parts, each part's rate applies to that part's share of the
   rounded base.
5. The total is the sum of the lines; where the tariff says so it is rounded (e.g. to
   the whole rupee) with a rounding-adjustment line.

Demand is the whole billing period's maximum (as a maximum-demand register records it),
within the hours of the charge's time-of-use period; each part pays its month factor's
share of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from domain import proration, slabs
from domain.metering import Meter, PricingError
from domain.money import display_quantity, exact, round_half_up, round_paise
from domain.proration import Span
from domain.tariff import (
    Adjustment,
    Category,
    DemandCharge,
    EnergyCharge,
    FixedCharge,
    Slabs,
    Tariff,
    adjustment_order,
    in_base,
)
from domain.usage import Usage

__all__ = ["Effective", "Line", "PricingError", "Quote", "price"]

COMPONENT_ORDER = ("fixed", "energy", "demand")


@dataclass(frozen=True)
class Line:
    """One line of a bill. ``amount`` is rounded to 0.01; ``quantity`` is for display.

    For a percentage levy ``unit`` is ``"%"``, ``rate`` the percentage and ``quantity``
    the base it is levied on, in the tariff's currency.
    """

    component: str  # fixed | energy | demand | minimum | levy | credit | rounding
    code: str
    description: str
    quantity: Decimal | None
    unit: str
    rate: Decimal | None
    amount: Decimal
    tou_period: str | None = None


@dataclass(frozen=True)
class Quote:
    currency: str
    start: date
    end: date  # exclusive
    lines: tuple[Line, ...]
    total: Decimal


@dataclass(frozen=True)
class Effective:
    """A tariff in force over ``[start, end)`` (a TariffVersion or assignment span)."""

    tariff: Tariff
    start: date = date.min
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class Site:
    sanctioned_load_kw: Decimal | None
    contract_demand_kva: Decimal | None
    holidays: frozenset[date]


@dataclass(frozen=True)
class Part:
    index: int
    span: Span
    tariff: Tariff
    factor: Fraction  # month factor
    share: Fraction  # of a total measured over the whole period: factor / all factors
    kwh: Fraction


@dataclass(frozen=True)
class Item:
    """One part's contribution to a line, exact."""

    part: int
    component: str
    code: str
    description: str
    unit: str
    quantity: Fraction | None
    rate: Decimal | None
    amount: Fraction
    tou_period: str | None = None


@dataclass(frozen=True)
class Merged:
    """A line with its exact contribution from each part (levies share bases by it)."""

    line: Line
    exact_by_part: Mapping[int, Fraction]

    def share(self, part: int) -> Fraction:
        """This part's share of the *rounded* amount."""
        whole = sum(self.exact_by_part.values(), Fraction(0))
        if whole == 0:
            return Fraction(0)
        return exact(self.line.amount) * self.exact_by_part.get(part, Fraction(0)) / whole


def price(
    tariff: Tariff | Sequence[Effective],
    usage: Usage,
    *,
    sanctioned_load_kw: Decimal | None = None,
    contract_demand_kva: Decimal | None = None,
    holidays: frozenset[date] = frozenset(),
) -> Quote:
    """Price one bill. ``tariff`` is one tariff, or the versions in force over time."""
    versions = [Effective(tariff)] if isinstance(tariff, Tariff) else list(tariff)
    _check_versions(versions)
    meter = Meter.read(usage, versions[0].tariff.zone)
    site = Site(sanctioned_load_kw, contract_demand_kva, holidays)
    parts = _plan(versions, meter)
    items = [item for part in parts for item in _charges(part, meter, site)]
    merged = _merge(items)
    merged += _minimum(parts, merged, site)
    merged += _adjustments(parts, merged)
    lines = [m.line for m in merged]
    total = sum((line.amount for line in lines), Decimal("0.00"))
    quantum = parts[-1].tariff.total_rounding
    if quantum is not None:
        rounded = round_half_up(total, quantum).quantize(Decimal("0.01"))
        if rounded != total:
            lines.append(_rounding_line(rounded - total))
            total = rounded
    currency = versions[0].tariff.currency
    return Quote(currency, meter.span.start, meter.span.end, tuple(lines), total)


def _check_versions(versions: Sequence[Effective]) -> None:
    if not versions:
        raise PricingError("no tariff to price with")
    first = versions[0].tariff
    for v in versions[1:]:
        if v.tariff.currency != first.currency:
            raise PricingError(
                f"tariff versions are in {first.currency} and {v.tariff.currency}: a bill has one currency"
            )
        if v.tariff.time_zone != first.time_zone:
            raise PricingError("tariff versions of one bill must reckon time in the same zone")
    ordered = sorted(versions, key=lambda v: v.start)
    for a, b in itertools.pairwise(ordered):
        if a.end is None or a.end > b.start:
            raise PricingError(f"tariff versions overlap from {b.start}")


def _plan(versions: Sequence[Effective], meter: Meter) -> list[Part]:
    cuts: set[date] = set()
    for v in versions:
        cuts |= {d for d in (v.start, v.end) if d is not None} | v.tariff.rate_change_dates()
    planned: list[tuple[Span, Tariff, Fraction]] = []
    for span in proration.split(meter.span, cuts):
        version = next((v for v in versions if v.covers(span.start)), None)
        if version is None:
            raise PricingError(f"no tariff version is in force on {span.start}")
        factor = proration.month_factor(span, version.tariff.proration)
        planned.append((span, version.tariff, factor))
    months = sum((factor for _, _, factor in planned), Fraction(0))
    return [
        Part(i, span, tariff, factor, factor / months, meter.kwh(span, factor / months))
        for i, (span, tariff, factor) in enumerate(planned)
    ]


# --- charges of one part --------------------------------------------------------------


def _charges(part: Part, meter: Meter, site: Site) -> Iterator[Item]:
    category = _category(part)
    for fixed in category.fixed_charges:
        yield from _fixed(part, fixed, site)
    for energy in category.energy_charges:
        yield from _energy(part, energy, meter, site)
    for demand in part.tariff.demand_charges:
        yield from _demand(part, demand, meter, site)


def _category(part: Part) -> Category:
    """The first category whose limit (prorated) the part's total is within."""
    for category in part.tariff.categories:
        if category.up_to is None or part.kwh <= exact(category.up_to) * part.factor:
            return category
    raise AssertionError("the last category is open")  # parse_tariff guarantees it


def _load(basis: str, site: Site, what: str) -> Fraction:
    if basis == "per_kva":
        if site.contract_demand_kva is None:
            raise PricingError(f"{what} is per kVA of contract demand: give the contract demand")
        return exact(site.contract_demand_kva)
    if site.sanctioned_load_kw is None:
        raise PricingError(f"{what} is per kW of sanctioned load: give the sanctioned load")
    return exact(site.sanctioned_load_kw)


def _fixed(part: Part, charge: FixedCharge, site: Site) -> Iterator[Item]:
    scale = proration.scale(charge.per, part.span, part.tariff.proration)
    if charge.basis == "per_bill":
        rate = _chosen_rate(part, charge, Fraction(0))
        yield _item(part, "fixed", charge.code, charge.description, charge.per, scale, rate)
        return
    load = _load(charge.basis, site, f"fixed charge {charge.code!r}")
    if charge.load_rounding == "up":
        load = Fraction(math.ceil(load))
    load_unit = "kW" if charge.basis == "per_kw" else "kVA"
    unit = f"{load_unit}·{charge.per}"
    if charge.chosen_by != "load" or charge.pricing.mode == "non_telescopic":
        rate = _chosen_rate(part, charge, load)
        description = f"{charge.description} ({display_quantity(load)} {load_unit})"
        yield _item(part, "fixed", charge.code, description, unit, load * scale, rate)
        return
    for p in slabs.apportion(load, charge.pricing, Fraction(1)):
        description = f"{charge.description} {slabs.describe(p, charge.pricing, load_unit)}"
        code = f"{charge.code}.{p.index + 1}"
        yield _item(part, "fixed", code, description, unit, p.quantity * scale, p.rate)


def _chosen_rate(part: Part, charge: FixedCharge, load: Fraction) -> Decimal:
    if charge.chosen_by == "kwh":
        return slabs.rate_for(part.kwh, charge.pricing, part.factor).rate
    if charge.chosen_by == "load":
        return slabs.rate_for(load, charge.pricing, Fraction(1)).rate
    return charge.pricing.slabs[0].rate


def _energy(part: Part, charge: EnergyCharge, meter: Meter, site: Site) -> Iterator[Item]:
    if charge.slabs is not None:
        yield from _slab_items(part, charge.code, charge.description, charge.slabs, part.kwh, None)
        return
    assert charge.calendar is not None  # parse_tariff guarantees it
    calendar = part.tariff.calendars[charge.calendar]
    by_period = meter.kwh_by_period(part.span, part.share, calendar, site.holidays)
    for name in calendar.periods:
        code = f"{charge.code}.{name}"
        description = f"{charge.description} ({name})"
        yield from _slab_items(part, code, description, charge.periods[name], by_period[name], name)


def _slab_items(
    part: Part, code: str, description: str, pricing: Slabs, kwh: Fraction, period: str | None
) -> Iterator[Item]:
    scale = part.factor if pricing.limits_per == "month" else Fraction(part.span.days)
    for p in slabs.apportion(kwh, pricing, scale):
        if pricing.is_flat:
            yield _item(part, "energy", code, description, "kWh", p.quantity, p.rate, period)
            continue
        text = f"{description} {slabs.describe(p, pricing, 'kWh')}"
        code_n = f"{code}.{p.index + 1}"
        yield _item(part, "energy", code_n, text, "kWh", p.quantity, p.rate, period)


def _demand(part: Part, charge: DemandCharge, meter: Meter, site: Site) -> Iterator[Item]:
    month = part.span.start.month
    if charge.months is not None and month not in charge.months:
        return
    billing = _billing_demand(part, charge, meter, site)
    if billing is None:
        return
    unit = f"{charge.unit}·month"
    description = charge.description + (f" ({charge.period})" if charge.period else "")
    for p in slabs.apportion(billing, charge.pricing, Fraction(1)):
        code, text = charge.code, description
        if not charge.pricing.is_flat:
            code = f"{charge.code}.{p.index + 1}"
            text = f"{description} {slabs.describe(p, charge.pricing, charge.unit)}"
        yield _item(
            part, "demand", code, text, unit, p.quantity * part.factor, p.rate, charge.period
        )


def _billing_demand(part: Part, charge: DemandCharge, meter: Meter, site: Site) -> Fraction | None:
    """Recorded maximum demand, raised to the floor; None where the charge is not due."""
    what = f"demand charge {charge.code!r}"
    in_scope = None
    if charge.calendar is not None:
        calendar = part.tariff.calendars[charge.calendar]
        if part.span.start.month not in calendar.months_of(str(charge.period)):
            return None  # a seasonal time-of-use demand charge, out of season

        def in_scope(local: datetime) -> bool:
            return calendar.period_at(local, site.holidays) == charge.period

    if charge.unit == "kVA" and meter.readings:
        raise PricingError(f"{what} is on kVA: give a kVA maximum-demand register reading")
    recorded = meter.max_demand(in_scope, charge.period, what)
    if charge.floor is None:
        return recorded
    basis = "per_kw" if charge.floor.of == "sanctioned_load" else "per_kva"
    floor = _load(basis, site, f"the floor of {what}") * exact(charge.floor.percent) / 100
    return max(recorded, floor)


def _item(
    part: Part,
    component: str,
    code: str,
    description: str,
    unit: str,
    quantity: Fraction,
    rate: Decimal,
    period: str | None = None,
) -> Item:
    return Item(
        part.index,
        component,
        code,
        description,
        unit,
        quantity,
        rate,
        quantity * exact(rate),
        period,
    )


# --- merging, minimum, levies and credits ---------------------------------------------


def _merge(items: Sequence[Item]) -> list[Merged]:
    """One line per code: quantities and exact amounts summed over parts, then rounded."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.code, []).append(item)
    merged = [_merged(group) for group in groups.values()]
    merged.sort(key=lambda m: COMPONENT_ORDER.index(m.line.component))
    return merged


def _merged(group: Sequence[Item]) -> Merged:
    first = group[0]
    rates = {i.rate for i in group}
    quantities = [i.quantity for i in group if i.quantity is not None]
    by_part: dict[int, Fraction] = {}
    for i in group:
        by_part[i.part] = by_part.get(i.part, Fraction(0)) + i.amount
    amount = sum(by_part.values(), Fraction(0))
    line = Line(
        component=first.component,
        code=first.code,
        description=first.description,
        quantity=display_quantity(sum(quantities, Fraction(0))) if quantities else None,
        unit=first.unit,
        rate=rates.pop() if len(rates) == 1 else None,
        amount=round_paise(amount),
        tou_period=first.tou_period,
    )
    return Merged(line, by_part)


def _base_share(merged: Sequence[Merged], base: Sequence[str], part: int) -> Fraction:
    return sum((m.share(part) for m in merged if in_base(m.line.code, base)), Fraction(0))


def _minimum(parts: Sequence[Part], merged: Sequence[Merged], site: Site) -> list[Merged]:
    owed: dict[int, Fraction] = {}
    first = None
    for part in parts:
        minimum = part.tariff.minimum_charge
        if minimum is None:
            continue
        first = first or minimum
        amount = exact(minimum.rate) * proration.scale(
            minimum.per, part.span, part.tariff.proration
        )
        if minimum.basis == "per_kw":
            amount *= _load("per_kw", site, f"minimum charge {minimum.code!r}")
        owed[part.index] = amount
    if first is None:
        return []
    charges = ("fixed", "energy", "demand")
    paid = sum(
        (
            m.line.amount
            for m in merged
            if (in_base(m.line.code, first.base) if first.base else m.line.component in charges)
        ),
        Decimal(0),
    )
    shortfall = round_paise(sum(owed.values(), Fraction(0))) - paid
    if shortfall <= 0:
        return []
    whole = sum(owed.values(), Fraction(0))
    by_part = {i: exact(shortfall) * v / whole for i, v in owed.items()}
    line = Line("minimum", first.code, first.description, None, "", None, shortfall)
    return [Merged(line, by_part)]


def _adjustments(parts: Sequence[Part], merged: list[Merged]) -> list[Merged]:
    """Levies and credits in dependency order, each on the rounded lines before it."""
    definitions: dict[str, Adjustment] = {}
    for part in parts:
        for adjustment in part.tariff.adjustments:
            definitions.setdefault(adjustment.code, adjustment)
    try:
        order = adjustment_order(list(definitions.values()))
    except ValueError as exc:
        raise PricingError(f"the tariff versions' levies cannot be ordered: {exc}") from None
    added: list[Merged] = []
    for first in order:
        line = _adjustment(first, parts, [*merged, *added])
        if line is not None:
            added.append(line)
    return added


def _adjustment(
    first: Adjustment, parts: Sequence[Part], merged: Sequence[Merged]
) -> Merged | None:
    if not _eligible(first, parts):
        return None
    by_part: dict[int, Fraction] = {}
    quantity = Fraction(0)
    rates: set[Decimal] = set()
    for part in parts:
        own = next((a for a in part.tariff.adjustments if a.code == first.code), None)
        if own is None:
            continue
        rate = own.rate_on(part.span.start)
        if rate is None:
            raise PricingError(f"{own.kind} {own.code!r} has no rate for {part.span.start}")
        rates.add(rate)
        part_quantity, amount = _adjustment_part(own, part, rate, merged)
        quantity += part_quantity
        by_part[part.index] = amount
    total = sum(by_part.values(), Fraction(0))
    total = _capped(first, parts, total)
    if total == 0:
        return None
    sign = -1 if first.kind == "credit" else 1
    by_part = {i: sign * v for i, v in by_part.items()}
    unit = {"percent": "%", "per_kwh": "kWh", "per_month": "month", "free_units": "kWh"}[first.how]
    shown_rate = rates.pop() if len(rates) == 1 and first.how != "free_units" else None
    line = Line(
        component=first.kind,
        code=first.code,
        description=first.description,
        quantity=display_quantity(quantity),
        unit=unit,
        rate=shown_rate,
        amount=round_paise(sign * total),
        tou_period=None,
    )
    return Merged(line, by_part)


def _adjustment_part(
    own: Adjustment, part: Part, rate: Decimal, merged: Sequence[Merged]
) -> tuple[Fraction, Fraction]:
    """(quantity, exact unsigned amount) of one adjustment in one part."""
    if own.how == "percent":
        base = _base_share(merged, own.base, part.index)
        return base, base * exact(rate) / 100
    if own.how == "per_kwh":
        return part.kwh, part.kwh * exact(rate)
    if own.how == "per_month":
        return part.factor, part.factor * exact(rate)
    free = min(part.kwh, exact(rate) * part.factor)
    charge = next(
        (e for e in _category(part).energy_charges if e.code == own.charge and e.slabs), None
    )
    if charge is None or charge.slabs is None:
        return Fraction(0), Fraction(0)
    return free, slabs.cost(free, charge.slabs, part.factor)


def _eligible(adjustment: Adjustment, parts: Sequence[Part]) -> bool:
    """Whether the whole period's kWh is in the adjustment's band (limits prorated)."""
    band = adjustment.band
    if band is None:
        return True
    kwh = sum((p.kwh for p in parts), Fraction(0))
    months = sum((p.factor for p in parts), Fraction(0))
    if band.above is not None and kwh <= exact(band.above) * months:
        return False
    return band.up_to is None or kwh <= exact(band.up_to) * months


def _capped(adjustment: Adjustment, parts: Sequence[Part], total: Fraction) -> Fraction:
    if adjustment.cap_per_month is None:
        return total
    cap = exact(adjustment.cap_per_month) * sum((p.factor for p in parts), Fraction(0))
    return min(total, cap)


def _rounding_line(adjustment: Decimal) -> Line:
    return Line("rounding", "ROUND", "Rounding adjustment", None, "", None, adjustment)
