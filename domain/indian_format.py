"""Money and energy as an Indian reader expects them: ₹12,34,567.89, 1,23,456.5 kWh.

Indian grouping puts a comma after the last three digits and then after every two
(lakh, crore): 1,00,000 is one lakh, 1,00,00,000 one crore. Every amount gridbill shows a
person is written here, whatever shows it (bill PDFs, receipts, notifications, the
console), so a bill, its e-mail and its receipt agree to the paisa and the comma.

The sign goes before the symbol (``-₹1,000.00``), as in receipts and Unicode CLDR's
en-IN. Places where the ₹ glyph may not exist (the PDF's built-in fonts, a plain
terminal) pass ``symbol=ASCII_RUPEE``. :func:`parse_rupees` reads back exactly what
:func:`rupees` writes, so tests can check the round trip.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

RUPEE = "₹"
ASCII_RUPEE = "Rs "
WH_PER_KWH_PLACES = 3  # a Wh is 0.001 kWh

_GROUPED = re.compile(r"(?:\d{1,2}(?:,\d\d)*,\d{3}|\d{1,3})")


def group(whole: int) -> str:
    """A whole number in Indian grouping: 1234567 → ``12,34,567``."""
    if whole < 0:
        raise ValueError(f"group a magnitude, not {whole}: the caller places the sign")
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while head:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([*pairs, tail])


def rupees(paise: int, *, symbol: str = RUPEE) -> str:
    """Integer paise as rupees and paise: 123456789 → ``₹12,34,567.89``, -5 → ``-₹0.05``."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    return f"{sign}{symbol}{group(whole)}.{fraction:02d}"


def parse_rupees(text: str, *, symbol: str = RUPEE) -> Decimal:
    """The exact amount :func:`rupees` wrote (``-₹12,34,567.89`` → ``-1234567.89``).

    Anything else (western grouping, a missing symbol, more than two decimals) is refused
    with a ValueError rather than guessed at.
    """
    sign, rest = ("-", text[1:]) if text.startswith("-") else ("", text)
    if not rest.startswith(symbol):
        raise ValueError(f"{text!r} does not start with {symbol!r}")
    whole, dot, fraction = rest[len(symbol) :].partition(".")
    if not _GROUPED.fullmatch(whole) or not dot or not re.fullmatch(r"\d\d", fraction):
        raise ValueError(f"{text!r} is not an amount in Indian grouping with paise")
    return Decimal(f"{sign}{whole.replace(',', '')}.{fraction}")


def decimal(value: Decimal) -> str:
    """A decimal number exactly as given, its whole part in Indian grouping:
    ``Decimal("123456.50")`` → ``1,23,456.50`` (a line's quantity, a chart's scale)."""
    sign = "-" if value < 0 else ""
    whole, dot, fraction = f"{abs(value):f}".partition(".")
    return f"{sign}{group(int(whole))}{dot}{fraction}"


def kwh(wh: int, *, places: int = WH_PER_KWH_PLACES, grouped: bool = True) -> str:
    """Energy in kWh from integer Wh, trailing zeros dropped: 123456500 → ``1,23,456.5``.

    ``places`` below 3 rounds half to even (what a message shows, ``1,234.57``); at 3 the
    figure is exact. ``grouped=False`` writes a meter's register as its display does
    (``12345.678``).
    """
    value = Decimal(wh).scaleb(-WH_PER_KWH_PLACES)
    if places < WH_PER_KWH_PLACES:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if "." in f"{value:f}":
        value = value.normalize() if value else Decimal(0)  # 1.500 → 1.5, 4.000 → 4
    return decimal(value) if grouped else f"{value:f}"


def count(n: int) -> str:
    """A count of things (rows, bills, accounts) in Indian grouping: 972002 → ``9,72,002``."""
    return f"-{group(-n)}" if n < 0 else group(n)
