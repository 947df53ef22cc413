"""Slab arithmetic: how a quantity (kWh, kW of load or demand) spreads over rate slabs.

Telescopic: each unit is priced at the rate of the slab it falls in (the first 200 kWh
at ₹3.00, the next 200 at ₹4.50, …). Non-telescopic: every unit is priced at the rate
of the one slab the total falls in. A slab's ``up_to`` is inclusive: a total of exactly
200 kWh is within "0–200".

Limits are scaled exactly (``scale`` is a Fraction such as 10/31 for ten days of a
31-day month) and never rounded, so a period split in parts prices the same as the whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.money import exact
from domain.tariff import Slab, Slabs


@dataclass(frozen=True)
class Portion:
    """The part of a quantity that one slab prices."""

    index: int
    slab: Slab
    lower: Decimal  # the slab's unscaled lower bound, for descriptions
    quantity: Fraction

    @property
    def rate(self) -> Decimal:
        return self.slab.rate


def apportion(quantity: Fraction, slabs: Slabs, scale: Fraction) -> list[Portion]:
    """Spread ``quantity`` over ``slabs`` whose limits are multiplied by ``scale``.

    Slabs that receive nothing are left out, so a zero quantity gives no portions.
    """
    if quantity <= 0:
        return []
    if slabs.mode == "non_telescopic":
        return [_containing(quantity, slabs, scale)]
    return list(_telescopic(quantity, slabs, scale))


def _bounds(slabs: Slabs) -> Iterator[tuple[int, Slab, Decimal]]:
    lower = Decimal(0)
    for index, slab in enumerate(slabs.slabs):
        yield index, slab, lower
        lower = slab.up_to if slab.up_to is not None else lower


def _telescopic(quantity: Fraction, slabs: Slabs, scale: Fraction) -> Iterator[Portion]:
    for index, slab, lower in _bounds(slabs):
        start = exact(lower) * scale
        if quantity <= start:
            return
        end = quantity if slab.up_to is None else min(quantity, exact(slab.up_to) * scale)
        yield Portion(index, slab, lower, end - start)


def _containing(quantity: Fraction, slabs: Slabs, scale: Fraction) -> Portion:
    for index, slab, lower in _bounds(slabs):
        if slab.up_to is None or quantity <= exact(slab.up_to) * scale:
            return Portion(index, slab, lower, quantity)
    raise AssertionError("the last slab is open")  # parse_tariff guarantees it


def rate_for(quantity: Fraction, slabs: Slabs, scale: Fraction) -> Portion:
    """The one slab a total falls in (for rates chosen by consumption or load)."""
    return _containing(quantity, slabs, scale)


def cost(quantity: Fraction, slabs: Slabs, scale: Fraction) -> Fraction:
    """The exact charge for ``quantity`` (used for free units)."""
    return sum((p.quantity * exact(p.rate) for p in apportion(quantity, slabs, scale)), Fraction(0))


def describe(portion: Portion, slabs: Slabs, unit: str) -> str:
    """``"0–200 kWh"``, ``"above 1200 kWh"``, ``"total in 250–300 kWh"`` (per month)."""
    per = "/day" if slabs.limits_per == "day" else ""
    upper = portion.slab.up_to
    if upper is None:
        span = f"above {portion.lower} {unit}{per}"
    else:
        span = f"{portion.lower}–{upper} {unit}{per}"
    return f"total in {span}" if slabs.mode == "non_telescopic" else span
