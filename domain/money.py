"""Money arithmetic: exact until a rule says round, then half-up, once.

Bills are computed with exact rationals (:class:`fractions.Fraction`) so that a proration
like 10/31 of a month loses nothing; a value becomes a :class:`~decimal.Decimal` only
when a rounding rule is applied. Floats are refused everywhere: a float has already lost
the paisa before we see it.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

PAISA = Decimal("0.01")
RUPEE = Decimal("1")
DISPLAY_QUANTITY = Decimal("0.001")

Number = Decimal | int | str | Fraction


def exact(value: Number) -> Fraction:
    """The exact rational value of a Decimal, int, decimal string or Fraction."""
    if type(value) is Fraction or isinstance(value, Fraction):
        return value
    numerator, denominator = ratio(value)
    return Fraction(numerator, denominator)


def ratio(value: Number) -> tuple[int, int]:
    """``value`` as integers: (numerator, positive denominator) in lowest terms.

    What :func:`exact` and :func:`round_half_up` compute with: pricing a bill rounds tens
    of lines and shows their quantities, and integers cost a fraction of building (and
    normalising) a :class:`~fractions.Fraction` each time.
    """
    kind = type(value)  # the common exact types first: isinstance on Fraction is an ABC check
    if kind is Fraction:
        return value.numerator, value.denominator  # type: ignore[union-attr]
    if kind is Decimal:
        return value.as_integer_ratio()  # type: ignore[union-attr]
    if isinstance(value, bool | float):
        raise TypeError(f"{value!r}: money and quantities are never float or bool")
    if isinstance(value, int):
        return value, 1
    if isinstance(value, Fraction):
        return value.numerator, value.denominator
    if isinstance(value, str):
        value = Decimal(value)
    return value.as_integer_ratio()


def round_half_up(value: Number, quantum: Decimal = PAISA) -> Decimal:
    """Round to a multiple of ``quantum``, ties away from zero (₹0.005 → ₹0.01).

    Exact: the tie test is done on the rational value, so 12.345 rounds to 12.35 even
    when it was reached as 12.345 × 10/31 + 12.345 × 21/31. In integers: ``value`` ÷
    ``quantum`` is ``top / bottom``, and ``floor(|top| / bottom + 1/2)`` is
    ``(2·|top| + bottom) // (2·bottom)``.
    """
    n, d = ratio(value)
    qn, qd = ratio(quantum)
    top, bottom = n * qd, d * qn
    if bottom < 0:
        top, bottom = -top, -bottom
    units = (2 * abs(top) + bottom) // (2 * bottom)
    if top < 0:
        units = -units
    return (Decimal(units) * quantum).quantize(quantum)


def round_paise(value: Number) -> Decimal:
    """Half-up to 0.01: the rounding of every bill line."""
    return round_half_up(value, PAISA)


def display_quantity(value: Number) -> Decimal:
    """A quantity for people: at most 3 decimals, no trailing zeros.

    Only for showing kWh or kW on a line: the line's amount is always computed from the
    exact quantity, never from this.
    """
    rounded = round_half_up(value, DISPLAY_QUANTITY)
    if rounded == rounded.to_integral_value():
        return rounded.quantize(RUPEE)
    return rounded.normalize()
