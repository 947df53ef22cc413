"""Slab arithmetic: how a quantity (kWh, kW of load or demand) spreads over rate slabs.

Telescopic: each unit is priced at the rate of the slab it falls in (the first 200 kWh
at ₹3.00, the next 200 at ₹4.50, …). Non-telescopic: every unit is priced at the rate
of the one slab the total falls in. A slab's ``up_to`` is inclusive: a total of exactly
200 kWh is within "0–200".

Limits are scaled exactly (``scale`` is a Fraction such as 10/31 for ten days of a
31-day month), so a period split in parts prices the same as the whole. Some utilities
round each prorated slab *width* to whole units (BRPL: 200 × 0.9742 → 195 units); a
tariff says so with ``widths`` (``"nearest"`` or ``"down"``), and only then are they
rounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.money import display_quantity, exact
from domain.tariff import Slab, Slabs, WidthRounding


@dataclass(frozen=True)
class Portion:
    """The part of a quantity that one slab prices, with the slab's limits as applied."""

    index: int
    slab: Slab
    lower: Decimal  # the slab's unscaled lower bound
    quantity: Fraction
    start: Fraction  # the applied (scaled, maybe rounded) lower limit
    end: Fraction | None  # the applied upper limit; None for the open last slab

    @property
    def rate(self) -> Decimal:
        return self.slab.rate


def apportion(
    quantity: Fraction,
    slabs: Slabs,
    scale: Fraction,
    widths: WidthRounding = "none",
    *,
    every: bool = False,
) -> list[Portion]:
    """Spread ``quantity`` over ``slabs`` whose limits are multiplied by ``scale``.

    Slabs that receive nothing are left out (so a zero quantity gives no portions), unless
    ``every``: then each telescopic slab comes with its applied limits even when empty,
    so a bill split in parts can describe a slab by its limits summed over all parts.
    """
    if quantity <= 0 and not every:
        return []
    if slabs.mode == "non_telescopic":
        return [_containing(quantity, slabs, scale, widths)] if quantity > 0 else []
    portions = _telescopic(quantity, slabs, scale, widths)
    return list(portions) if every else [p for p in portions if p.quantity > 0]


def applied_limits(slabs: Slabs, scale: Fraction, widths: WidthRounding) -> list[Fraction | None]:
    """Each slab's cumulative upper limit as applied: scaled, its width rounded if asked.

    Widths are rounded only when prorated (``scale`` is not 1): a whole month applies the
    tariff's limits exactly as printed.
    """
    limits: list[Fraction | None] = []
    lower, applied = Decimal(0), Fraction(0)
    for slab in slabs.slabs:
        if slab.up_to is None:
            limits.append(None)
            break
        width = exact(slab.up_to - lower) * scale
        if scale != 1 and widths != "none":
            width = Fraction(
                math.floor(width + Fraction(1, 2)) if widths == "nearest" else math.floor(width)
            )
        applied += width
        limits.append(applied)
        lower = slab.up_to
    return limits


def _bounds(
    slabs: Slabs, scale: Fraction, widths: WidthRounding
) -> Iterator[tuple[int, Slab, Decimal, Fraction, Fraction | None]]:
    lower, start = Decimal(0), Fraction(0)
    for index, (slab, end) in enumerate(
        zip(slabs.slabs, applied_limits(slabs, scale, widths), strict=True)
    ):
        yield index, slab, lower, start, end
        lower = slab.up_to if slab.up_to is not None else lower
        start = end if end is not None else start


def _telescopic(
    quantity: Fraction, slabs: Slabs, scale: Fraction, widths: WidthRounding
) -> Iterator[Portion]:
    for index, slab, lower, start, end in _bounds(slabs, scale, widths):
        taken = max(Fraction(0), (quantity if end is None else min(quantity, end)) - start)
        yield Portion(index, slab, lower, taken, start, end)


def _containing(
    quantity: Fraction, slabs: Slabs, scale: Fraction, widths: WidthRounding
) -> Portion:
    for index, slab, lower, start, end in _bounds(slabs, scale, widths):
        if end is None or quantity <= end:
            return Portion(index, slab, lower, quantity, start, end)
    raise AssertionError("the last slab is open")  # parse_tariff guarantees it


def rate_for(
    quantity: Fraction, slabs: Slabs, scale: Fraction, widths: WidthRounding = "none"
) -> Portion:
    """The one slab a total falls in (for rates chosen by consumption or load)."""
    return _containing(quantity, slabs, scale, widths)


def cost(
    quantity: Fraction, slabs: Slabs, scale: Fraction, widths: WidthRounding = "none"
) -> Fraction:
    """The exact charge for ``quantity`` (used for free units)."""
    portions = apportion(quantity, slabs, scale, widths)
    return sum((p.quantity * exact(p.rate) for p in portions), Fraction(0))


def describe(start: Fraction, end: Fraction | None, slabs: Slabs, unit: str) -> str:
    """``"0–200 kWh"``, ``"above 1200 kWh"``, ``"total in 250–300 kWh"``: the limits as applied.

    A prorated bill shows the limits it actually used (``"0–193.548 kWh"`` for 30 days of a
    31-day month), so a line never reads "0–200 kWh" while holding 194 kWh.
    """
    low = display_quantity(start)
    span = f"above {low} {unit}" if end is None else f"{low}–{display_quantity(end)} {unit}"
    return f"total in {span}" if slabs.mode == "non_telescopic" else span


def applied_limit(limit: Decimal, scale: Fraction, widths: WidthRounding) -> Fraction:
    """One prorated limit (a category's ``up_to``) as applied: rounded like a slab width."""
    first = applied_limits(Slabs((Slab(limit, Decimal(0)), Slab(None, Decimal(0)))), scale, widths)
    return first[0] or Fraction(0)
