"""How report figures are shaped for people: exact conversions and the ratios reports show.

Reports add integer paise and watt-hours in SQL; these rules turn them into what a
person reads (rupees as :class:`~decimal.Decimal`, kWh, shares such as load factors) without
ever passing through a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from domain import indian_format

RATIO = Decimal("0.0001")


def rupees(paise: int) -> Decimal:
    """Integer paise as rupees, exactly (``12345`` → ``Decimal('123.45')``)."""
    return (Decimal(int(paise)) / 100).quantize(Decimal("0.01"))


def kwh(wh: int) -> Decimal:
    """Integer watt-hours as kWh, exactly (``1500`` → ``Decimal('1.500')``)."""
    return (Decimal(int(wh)) / 1000).quantize(Decimal("0.001"))


def share(part: int, whole: int) -> Decimal:
    """``part / whole`` to four places (half up); 0 when the whole is 0."""
    if whole == 0:
        return Decimal("0.0000")
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


def figure(value: Decimal | int, places: int = 0) -> str:
    """A report figure for people: rounded half up to ``places``, then in Indian grouping
    (``domain.indian_format``, as bills and the console write numbers): ``12,34,567.50``."""
    number = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return indian_format.decimal(number)
