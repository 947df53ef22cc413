"""How report figures are shaped for people: exact conversions and the ratios reports show.

Reports add integer paise and watt-hours in SQL; these rules turn them into what a
person reads (rupees as :class:`~decimal.Decimal`, kWh, shares such as load factors) without
ever passing through a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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


def indian_grouping(value: Decimal | int, places: int = 0) -> str:
    """A number with Indian digit grouping: ``1234567.5`` → ``12,34,567.50`` (2 places).

    The last three integer digits form one group, the rest go in pairs (lakh, crore).
    """
    number = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    text = f"{abs(number):.{places}f}"
    whole, _, fraction = text.partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail])
    return sign + grouped + (f".{fraction}" if fraction else "")
