"""High usage: a month well above what the customer asked to hear about, or their history."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

# Without a threshold, a month 50 % above the average of the customer's recent months.
HISTORY_FACTOR = Fraction(3, 2)
MIN_HISTORY_MONTHS = 3


def is_high(
    consumption_wh: int, *, threshold_wh: int | None, history_wh: Sequence[int]
) -> str | None:
    """Why this consumption is high (``threshold`` or ``history``), or None when it is not."""
    if threshold_wh is not None:
        return "threshold" if consumption_wh > threshold_wh else None
    if len(history_wh) < MIN_HISTORY_MONTHS:
        return None
    average = Fraction(sum(history_wh), len(history_wh))
    return "history" if average > 0 and consumption_wh > average * HISTORY_FACTOR else None
