"""Indian digit grouping for the console: 12,34,567.89 (lakhs and crores).

A stand-in until ``domain/indian_format.py`` (branch s-billing) reaches main; the
console's templates call only :func:`money` and :func:`kwh`, so switching is one import.
"""

from __future__ import annotations


def group(whole: int) -> str:
    """``1234567`` → ``12,34,567``: the last three digits, then pairs."""
    digits = str(abs(whole))
    head, tail = digits[:-3], digits[-3:]
    pairs = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)][::-1]
    return ("-" if whole < 0 else "") + ",".join([*pairs, tail])


def money(paise: int) -> str:
    """Integer paise → ``₹12,34,567.89``; negative amounts keep their sign before the ₹."""
    whole, fraction = divmod(abs(paise), 100)
    return f"{'-' if paise < 0 else ''}₹{group(whole)}.{fraction:02d}"


def kwh(wh: int) -> str:
    """Integer Wh → ``1,234.5 kWh`` (one decimal, rounded half up, exact)."""
    tenths = (abs(wh) + 50) // 100
    return f"{'-' if wh < 0 else ''}{group(tenths // 10)}.{tenths % 10} kWh"
