"""Pricing: usage + tariff (+ the account's load) → the lines of one bill and its total.

How a bill is built (docs/tariffs.md says the same for analysts):

1. The period is cut into parts, each inside one calendar month, under one tariff
   version and one value of every dated rate. Each part is priced on its own with its
   month factor for slab limits and fixed charges (``domain.proration``) and its kWh:
   measured, from interval data; otherwise the total shared in proportion to the month
   factors (within a month: to the days).
2. Charges (fixed, energy, demand) are computed exactly per part, then merged by line
   code across parts, and only then rounded half-up to 0.01: one rounding per line. A
   tariff may instead round each part of a line (``"point": "segment"``: a part-month
   levy as two rounded amounts) or only the total (``"point": "total"``: URDB and SAM
   keep every line exact and round the bill once).
3. A minimum charge tops the named lines up to the prorated minimum.
4. Levies and credits follow in dependency order. Each is computed on the *rounded*
   lines it names (which may include other levies), then rounded once. Where a levy's
   rate differs between parts, each part's rate applies to that part's share of the
   rounded base.
5. The total is the sum of the lines; where the tariff says so it is rounded (e.g. to
   the whole rupee) with a rounding-adjustment line, which also carries the paise that
   total-only rounding leaves between the shown lines and the total.

Demand is the whole billing period's maximum (as a maximum-demand register records it),
within the hours of the charge's time-of-use period; each part pays its month factor's
share of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from domain import proration, slabs
from domain.metering import Meter, PricingError
from domain.money import PAISA, display_quantity, exact, round_half_up, round_paise
from domain.net_metering import Netting, net, settlement_day
from domain.proration import Span
from domain.tariff import (
    Adjustment,
    Category,
    DatedRate,
    DemandCharge,
    EnergyCharge,
    FixedCharge,
    GrossMetering,
    LevyPart,
    MinimumCharge,
    NetMetering,
    RoundingPoint,
    Slabs,
    Tariff,
    adjustment_order,
    in_base,
    rate_on,
)
from domain.usage import TotalUsage, Usage

__all__ = ["Effective", "Line", "PricingError", "Quote", "price"]

COMPONENT_ORDER = ("fixed", "energy", "demand")


@dataclass(frozen=True)
class Line:
    """One line of a bill. ``amount`` is rounded to 0.01; ``quantity`` is for display.

    For a percentage levy ``unit`` is ``"%"``, ``rate`` the percentage and ``quantity``
    the base it is levied on, in the tariff's currency.
    """

    component: str  # fixed | energy | demand | minimum | levy | credit | subsidy | rounding
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
    months: Fraction = Fraction(1)  # the month factors of the parts, added: how many months
    netting: Netting | None = None  # net-metered solar: import, export, banked, settled
    power_factor: Decimal | None = None  # kWh ÷ kVAh as the tariff rounds it


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
    past_demands_kw: tuple[Fraction, ...] = ()  # recorded on earlier bills, latest first


@dataclass(frozen=True)
class Part:
    index: int
    span: Span
    tariff: Tariff
    factor: Fraction  # month factor
    share: Fraction  # of a total measured over the whole period: factor / all factors
    kwh: Fraction


@dataclass(frozen=True)
class Limits:
    """A slab line's limits as one part applied them: summed over parts, they describe it."""

    label: str
    start: Fraction
    end: Fraction | None
    pricing: Slabs
    unit: str


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
    limits: Limits | None = None


@dataclass(frozen=True)
class Merged:
    """A line with its exact contribution from each part (levies share bases by it)."""

    line: Line
    exact_by_part: Mapping[int, Fraction]
    point: RoundingPoint = "line"

    def value(self) -> Fraction:
        """What the line counts for in the total: its rounded amount, or exact (total-only)."""
        if self.point == "total":
            return sum(self.exact_by_part.values(), Fraction(0))
        return exact(self.line.amount)

    def share(self, part: int) -> Fraction:
        """This part's share of the amount as the tariff rounds it."""
        own = self.exact_by_part.get(part, Fraction(0))
        if self.point == "segment":
            return exact(round_paise(own))
        if self.point == "total":
            return own
        whole = sum(self.exact_by_part.values(), Fraction(0))
        if whole == 0:
            return Fraction(0)
        return exact(self.line.amount) * own / whole


def rounded(by_part: Mapping[int, Fraction], point: RoundingPoint) -> Decimal:
    """A line's amount to the paisa: once, or segment by segment then added."""
    if point == "segment":
        return sum((round_paise(v) for v in by_part.values()), Decimal("0.00"))
    return round_paise(sum(by_part.values(), Fraction(0)))


def price(
    tariff: Tariff | Sequence[Effective],
    usage: Usage,
    *,
    sanctioned_load_kw: Decimal | None = None,
    contract_demand_kva: Decimal | None = None,
    holidays: frozenset[date] = frozenset(),
    banked_kwh: Decimal = Decimal(0),
    past_demands_kw: Sequence[Decimal] = (),
) -> Quote:
    """Price one bill. ``tariff`` is one tariff, or the versions in force over time.

    ``banked_kwh`` are a net-metered account's units carried from its last bill;
    ``past_demands_kw`` the demands recorded on its earlier bills, latest first (for a
    demand ratchet).
    """
    versions = [Effective(tariff)] if isinstance(tariff, Tariff) else list(tariff)
    _check_versions(versions)
    closing = max(versions, key=lambda v: v.start).tariff
    billed, netting = _billed_usage(closing, usage, banked_kwh)
    meter = Meter.read(billed, versions[0].tariff.zone)
    past = tuple(exact(d) for d in past_demands_kw)
    site = Site(sanctioned_load_kw, contract_demand_kva, holidays, past)
    parts = _plan(versions, meter)
    point = parts[-1].tariff.rounding_point
    items = [item for part in parts for item in _charges(part, meter, site)]
    merged = _merge(items, point)
    merged += _minimum(parts, merged, site, point)
    power_factor, pf_lines = _power_factor(closing, usage, parts, merged, point)
    merged += pf_lines
    merged += _adjustments(parts, merged, point)
    merged += _export_credits(closing, usage, netting, parts, point)
    lines = [m.line for m in merged]
    shown = sum((line.amount for line in lines), Decimal("0.00"))
    owed = sum((m.value() for m in merged), Fraction(0))
    quantum = parts[-1].tariff.total_rounding or PAISA
    total = round_half_up(owed, quantum).quantize(PAISA)
    if total != shown:
        lines.append(_rounding_line(total - shown))
    currency = versions[0].tariff.currency
    months = sum((p.factor for p in parts), Fraction(0))
    start, end = meter.span.start, meter.span.end
    return Quote(currency, start, end, tuple(lines), total, months, netting, power_factor)


# --- what is billed: kVAh, net metering -----------------------------------------------


def _billed_usage(tariff: Tariff, usage: Usage, banked: Decimal) -> tuple[Usage, Netting | None]:
    """The usage the energy charges price: kVAh for a kVAh tariff, the net for net metering."""
    if tariff.energy_unit == "kVAh":
        if not isinstance(usage, TotalUsage) or usage.kvah is None:
            raise PricingError(
                "the tariff bills energy in kVAh: give the kVAh register (9.8.0) with the total"
            )
        usage = replace(usage, kwh=usage.kvah)
    if not isinstance(tariff.export, NetMetering):
        if banked:
            raise PricingError("banked solar units apply only to a net-metered tariff")
        return usage, None
    if not isinstance(usage, TotalUsage):
        raise PricingError(
            "net metering nets totals: give import and export register totals (1.8.0, 2.8.0)"
        )
    rule = tariff.export
    settles = settlement_day(usage.start, usage.end, rule.settlement_month) is not None
    netting = net(
        usage.kwh,
        usage.export_kwh or Decimal(0),
        banked,
        settles=settles,
        banking_cap=rule.banking_cap_kwh,
    )
    return replace(usage, kwh=netting.billed), netting


def _export_credits(
    tariff: Tariff,
    usage: Usage,
    netting: Netting | None,
    parts: Sequence[Part],
    point: RoundingPoint,
) -> list[Merged]:
    """A gross-metered bill buys every exported unit; a net-metered one pays the bank out
    on the bill that closes the settlement year."""
    rule = tariff.export
    if isinstance(rule, GrossMetering):
        exported = usage.export_kwh if isinstance(usage, TotalUsage) else None
        if exported is None:
            raise PricingError("gross metering pays for export: give the export register (2.8.0)")
        if exported == 0:
            return []
        by_part: dict[int, Fraction] = {}
        rates: set[Decimal] = set()
        for part in parts:
            rate = _dated(rule.feed_in_rates, part.span.start, "the feed-in rate")
            rates.add(rate)
            by_part[part.index] = -exact(exported) * part.share * exact(rate)
        text = "Solar export bought at the feed-in tariff"
        quantity = display_quantity(exported)
        line = Line("credit", "EXPORT", text, quantity, "kWh", _one(rates), rounded(by_part, point))
        return [Merged(line, by_part, point)]
    if isinstance(rule, NetMetering) and netting is not None and netting.settled > 0:
        last = parts[-1]
        day = settlement_day(last.span.start, parts[-1].span.end, rule.settlement_month)
        rate = _dated(rule.settlement_rates, day or last.span.start, "the settlement rate")
        by_part = {last.index: -exact(netting.settled) * exact(rate)}
        text = "Banked solar units settled at the end of the settlement year"
        quantity = display_quantity(netting.settled)
        line = Line("credit", "SETTLE", text, quantity, "kWh", rate, rounded(by_part, point))
        return [Merged(line, by_part, point)]
    return []


def _dated(rates: Sequence[DatedRate], day: date, what: str) -> Decimal:
    rate = rate_on(rates, day)
    if rate is None:
        raise PricingError(f"{what} has no value for {day}")
    return rate


def _one(rates: set[Decimal]) -> Decimal | None:
    return next(iter(rates)) if len(rates) == 1 else None


def _power_factor(
    tariff: Tariff,
    usage: Usage,
    parts: Sequence[Part],
    merged: Sequence[Merged],
    point: RoundingPoint,
) -> tuple[Decimal | None, list[Merged]]:
    """The period's average power factor and the surcharge or rebate its band carries."""
    rule = tariff.power_factor
    if rule is None:
        return None, []
    if not isinstance(usage, TotalUsage) or usage.kvah is None:
        raise PricingError("the tariff has a power-factor rule: give the kVAh register (9.8.0)")
    if usage.kvah == 0:
        return None, []
    if usage.kwh > usage.kvah:
        raise PricingError(f"{usage.kwh} kWh above {usage.kvah} kVAh: the readings disagree")
    pf = round_half_up(exact(usage.kwh) / exact(usage.kvah), Decimal(1).scaleb(-rule.decimals))
    band = next(
        (
            b
            for b in rule.bands
            if (b.above is None or pf > b.above) and (b.up_to is None or pf <= b.up_to)
        ),
        None,
    )
    if band is None or band.percent == 0:
        return pf, []
    by_part = {
        part.index: _base_share(merged, rule.base, part.index) * exact(band.percent) / 100
        for part in parts
    }
    base = sum((_base_share(merged, rule.base, p.index) for p in parts), Fraction(0))
    surcharge = band.percent > 0
    text = f"Power factor {'surcharge' if surcharge else 'rebate'} (PF {pf})"
    component = "levy" if surcharge else "credit"
    line = Line(
        component, "PF", text, display_quantity(base), "%", band.percent, rounded(by_part, point)
    )
    return pf, [Merged(line, by_part, point)]


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
    widths = part.tariff.proration.slab_widths
    for category in part.tariff.categories:
        if category.up_to is None or part.kwh <= slabs.applied_limit(
            category.up_to, part.factor, widths
        ):
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
        description, load = charge.description, Fraction(0)
        if charge.chosen_by == "load":
            load = _load("per_kw", site, f"fixed charge {charge.code!r}")
            description = f"{charge.description} ({display_quantity(load)} kW sanctioned)"
        rate = _chosen_rate(part, charge, load)
        yield _item(part, "fixed", charge.code, description, charge.per, scale, rate)
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
        description = (
            f"{charge.description} {slabs.describe(p.start, p.end, charge.pricing, load_unit)}"
        )
        code = f"{charge.code}.{p.index + 1}"
        yield _item(part, "fixed", code, description, unit, p.quantity * scale, p.rate)


def _chosen_rate(part: Part, charge: FixedCharge, load: Fraction) -> Decimal:
    if charge.chosen_by == "kwh":
        widths = part.tariff.proration.slab_widths
        return slabs.rate_for(part.kwh, charge.pricing, part.factor, widths).rate
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
    if charge.tiers_on == "total_energy":
        yield from _tiers_on_total(part, charge, calendar.periods, by_period)
        return
    for name in calendar.periods:
        code = f"{charge.code}.{name}"
        description = f"{charge.description} ({name})"
        yield from _slab_items(part, code, description, charge.periods[name], by_period[name], name)


def _slab_items(
    part: Part, code: str, description: str, pricing: Slabs, kwh: Fraction, period: str | None
) -> Iterator[Item]:
    scale = part.factor if pricing.limits_per == "month" else Fraction(part.span.days)
    widths = part.tariff.proration.slab_widths
    unit = part.tariff.energy_unit
    for p in slabs.apportion(kwh, pricing, scale, widths, every=not pricing.is_flat):
        if pricing.is_flat:
            yield _item(part, "energy", code, description, unit, p.quantity, p.rate, period)
            continue
        limits = Limits(description, p.start, p.end, pricing, unit)
        text = f"{description} {slabs.describe(p.start, p.end, pricing, unit)}"
        code_n = f"{code}.{p.index + 1}"
        yield _item(part, "energy", code_n, text, unit, p.quantity, p.rate, period, limits)


def _tiers_on_total(
    part: Part, charge: EnergyCharge, periods: Sequence[str], by_period: Mapping[str, Fraction]
) -> Iterator[Item]:
    """Tiers counted on the month's energy across periods: each tier's kWh is shared among
    the periods in proportion to their energy, at each period's rate for that tier."""
    total = sum(by_period.values(), Fraction(0))
    if total == 0:
        return
    shape = charge.periods[periods[0]]  # parse_tariff checked every period has the same limits
    scale = part.factor if shape.limits_per == "month" else Fraction(part.span.days)
    widths = part.tariff.proration.slab_widths
    unit = part.tariff.energy_unit
    for tier in slabs.apportion(total, shape, scale, widths):
        for name in periods:
            pricing = charge.periods[name]
            rate = pricing.slabs[tier.index].rate
            kwh = tier.quantity * by_period[name] / total
            code = f"{charge.code}.{name}"
            text = f"{charge.description} ({name})"
            if not pricing.is_flat:
                code = f"{code}.{tier.index + 1}"
                text = f"{text} {slabs.describe(tier.start, tier.end, pricing, unit)} of the month's total"
            yield _item(part, "energy", code, text, unit, kwh, rate, name)


def _demand(part: Part, charge: DemandCharge, meter: Meter, site: Site) -> Iterator[Item]:
    month = part.span.start.month
    if charge.months is not None and month not in charge.months:
        return
    recorded = _billing_demand(part, charge, meter, site)
    if recorded is None:
        return
    billing = _ratcheted(charge, recorded, site)
    unit = f"{charge.unit}·month"
    description = charge.description + (f" ({charge.period})" if charge.period else "")
    if billing > recorded and charge.ratchet is not None:
        description += (
            f" (ratchet: {charge.ratchet.percent}% of the highest of the last"
            f" {charge.ratchet.months} bills, {display_quantity(billing)} {charge.unit})"
        )
    for p in slabs.apportion(billing, charge.pricing, Fraction(1)):
        code, text = charge.code, description
        if not charge.pricing.is_flat:
            code = f"{charge.code}.{p.index + 1}"
            text = f"{description} {slabs.describe(p.start, p.end, charge.pricing, charge.unit)}"
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
    recorded = meter.max_demand(in_scope, charge.period, what, charge.window_minutes)
    if charge.floor is None:
        return recorded
    basis = "per_kw" if charge.floor.of == "sanctioned_load" else "per_kva"
    floor = _load(basis, site, f"the floor of {what}") * exact(charge.floor.percent) / 100
    return max(recorded, floor)


def _ratcheted(charge: DemandCharge, billing: Fraction, site: Site) -> Fraction:
    """Billing demand raised to the ratchet: a share of the highest recent demand."""
    ratchet = charge.ratchet
    if ratchet is None or not site.past_demands_kw:
        return billing
    highest = max(site.past_demands_kw[: ratchet.months])
    return max(billing, highest * exact(ratchet.percent) / 100)


def _item(
    part: Part,
    component: str,
    code: str,
    description: str,
    unit: str,
    quantity: Fraction,
    rate: Decimal,
    period: str | None = None,
    limits: Limits | None = None,
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
        limits,
    )


# --- merging, minimum, levies and credits ---------------------------------------------


def _merge(items: Sequence[Item], point: RoundingPoint) -> list[Merged]:
    """One line per code: quantities and exact amounts summed over parts, then rounded.

    Slab items that carry nothing (there only to sum a slab's limits over the parts) make
    no line of their own.
    """
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.code, []).append(item)
    merged = [
        _merged(group, point)
        for group in groups.values()
        if any(i.quantity != 0 or i.amount != 0 for i in group)
    ]
    merged.sort(key=lambda m: COMPONENT_ORDER.index(m.line.component))
    return merged


def _merged(group: Sequence[Item], point: RoundingPoint) -> Merged:
    first = group[0]
    carrying = [i for i in group if i.quantity != 0 or i.amount != 0]
    rates = {i.rate for i in carrying}
    quantities = [i.quantity for i in group if i.quantity is not None]
    by_part: dict[int, Fraction] = {}
    for i in group:
        by_part[i.part] = by_part.get(i.part, Fraction(0)) + i.amount
    line = Line(
        component=first.component,
        code=first.code,
        description=_described(group),
        quantity=display_quantity(sum(quantities, Fraction(0))) if quantities else None,
        unit=first.unit,
        rate=rates.pop() if len(rates) == 1 else None,
        amount=rounded(by_part, point),
        tou_period=first.tou_period,
    )
    return Merged(line, by_part, point)


def _described(group: Sequence[Item]) -> str:
    """A slab line names the limits the bill applied: each part's, added up."""
    limits = [i.limits for i in group if i.limits is not None]
    if not limits or len(limits) != len(group):
        return group[0].description
    start = sum((lim.start for lim in limits), Fraction(0))
    ends = [lim.end for lim in limits]
    end = None if any(e is None for e in ends) else sum((e for e in ends if e), Fraction(0))
    first = limits[0]
    return f"{first.label} {slabs.describe(start, end, first.pricing, first.unit)}"


def _base_share(merged: Sequence[Merged], base: Sequence[str], part: int) -> Fraction:
    return sum((m.share(part) for m in merged if in_base(m.line.code, base)), Fraction(0))


def _minimum(
    parts: Sequence[Part], merged: Sequence[Merged], site: Site, point: RoundingPoint
) -> list[Merged]:
    owed: dict[int, Fraction] = {}
    first = None
    for part in parts:
        minimum = part.tariff.minimum_charge
        if minimum is None:
            continue
        first = first or minimum
        scale = proration.scale(minimum.per, part.span, part.tariff.proration)
        owed[part.index] = _minimum_per_month(minimum, site) * scale
    if first is None:
        return []
    charges = ("fixed", "energy", "demand")
    paid = sum(
        (
            m.value()
            for m in merged
            if (in_base(m.line.code, first.base) if first.base else m.line.component in charges)
        ),
        Fraction(0),
    )
    whole = sum(owed.values(), Fraction(0))
    shortfall = (whole if point == "total" else exact(round_paise(whole))) - paid
    if shortfall <= 0:
        return []
    by_part = {i: shortfall * v / whole for i, v in owed.items()}
    line = Line("minimum", first.code, first.description, None, "", None, rounded(by_part, point))
    return [Merged(line, by_part, point)]


def _minimum_per_month(minimum: MinimumCharge, site: Site) -> Fraction:
    """The minimum for one month: per connection or per kW, the rate maybe chosen by load."""
    if minimum.chosen_by == "flat" and minimum.basis == "per_bill":
        return exact(minimum.pricing.slabs[0].rate)
    load = _load("per_kw", site, f"minimum charge {minimum.code!r}")
    if minimum.basis == "per_bill":
        return exact(slabs.rate_for(load, minimum.pricing, Fraction(1)).rate)
    if minimum.pricing.mode == "telescopic":
        return slabs.cost(load, minimum.pricing, Fraction(1))
    return load * exact(slabs.rate_for(load, minimum.pricing, Fraction(1)).rate)


def _adjustments(parts: Sequence[Part], merged: list[Merged], point: RoundingPoint) -> list[Merged]:
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
        line = _adjustment(first, parts, [*merged, *added], point)
        if line is not None:
            added.append(line)
    return added


def _adjustment(
    first: Adjustment, parts: Sequence[Part], merged: Sequence[Merged], point: RoundingPoint
) -> Merged | None:
    if not _eligible(first, parts):
        return None
    by_part: dict[int, Fraction] = {}
    quantity = Fraction(0)
    rates: set[Decimal] = set()
    runs: list[tuple[Span, Decimal]] = []
    for part in parts:
        own = next((a for a in part.tariff.adjustments if a.code == first.code), None)
        if own is None:
            continue
        rate = own.rate_on(part.span.start)
        if rate is None:
            raise PricingError(f"{own.kind} {own.code!r} has no rate for {part.span.start}")
        rates.add(rate)
        runs.append((part.span, rate))
        part_quantity, amount = _adjustment_part(own, part, rate, merged)
        quantity += part_quantity
        by_part[part.index] = amount
    uncapped = sum(by_part.values(), Fraction(0))
    total = _capped(first, parts, uncapped)
    if total == 0:
        return None
    if total != uncapped:
        by_part = {i: v * total / uncapped for i, v in by_part.items()}
    sign = -1 if first.kind == "credit" else 1
    by_part = {i: sign * v for i, v in by_part.items()}
    energy = parts[0].tariff.energy_unit if parts else "kWh"  # a kVAh tariff levies per kVAh
    unit = {"percent": "%", "per_kwh": energy, "per_month": "month", "free_units": energy}[
        first.how
    ]
    shown_rate = rates.pop() if len(rates) == 1 and first.how != "free_units" else None
    description = first.description
    if len(rates) > 1 and first.how != "free_units":
        description = f"{description} ({_rate_runs(runs, unit)})"
    line = Line(
        component="subsidy" if first.billed_to == "government" else first.kind,
        code=first.code,
        description=description,
        quantity=display_quantity(quantity),
        unit=unit,
        rate=shown_rate,
        amount=rounded(by_part, point),
        tou_period=None,
    )
    return Merged(line, by_part, point)


def _rate_runs(runs: Sequence[tuple[Span, Decimal]], unit: str) -> str:
    """``"7.25% 1–30 Jun, 8.11% 1–10 Jul"``: which rate held on which days of the bill."""
    joined: list[tuple[date, date, Decimal]] = []
    for span, rate in runs:
        if joined and joined[-1][2] == rate:
            joined[-1] = (joined[-1][0], span.end, rate)
        else:
            joined.append((span.start, span.end, rate))
    suffix = "%" if unit == "%" else f"/{unit}"
    texts = []
    for start, end, rate in joined:
        last = end - timedelta(days=1)
        first_day = f"{start.day}" if start.month == last.month else f"{start.day} {start:%b}"
        texts.append(f"{rate}{suffix} {first_day}–{last.day} {last:%b}")
    return ", ".join(texts)


def _adjustment_part(
    own: Adjustment, part: Part, rate: Decimal, merged: Sequence[Merged]
) -> tuple[Fraction, Fraction]:
    """(quantity, exact unsigned amount) of one adjustment in one part."""
    if own.how == "percent":
        base = _base_share(merged, own.base, part.index)
        base += sum((_levy_part(p, part, merged) for p in own.parts), Fraction(0))
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
    widths = part.tariff.proration.slab_widths
    return free, slabs.cost(free, charge.slabs, part.factor, widths)


def _levy_part(named: LevyPart, part: Part, merged: Sequence[Merged]) -> Fraction:
    """The part of a percentage levy that fell on some of its base: its amount in this
    part, in proportion to those lines' share of its base."""
    levy = next((m for m in merged if m.line.code == named.code), None)
    definition = next((a for a in part.tariff.adjustments if a.code == named.code), None)
    if levy is None or definition is None:
        return Fraction(0)
    whole = _base_share(merged, definition.base, part.index)
    if whole == 0:
        return Fraction(0)
    on = _base_share(merged, named.on, part.index)
    return abs(levy.share(part.index)) * on / whole


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
