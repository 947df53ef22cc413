"""A few Indian public holidays for the demo's "default" calendar.

Fixed-date national holidays are the same every year; festivals follow the lunar calendar,
so only the years whose dates are known here get them (an unknown year is left out rather
than guessed).
"""

from __future__ import annotations

from datetime import date

CALENDAR = "default"

FIXED: tuple[tuple[int, int, str], ...] = (
    (1, 26, "Republic Day"),
    (5, 1, "Maharashtra Day"),
    (8, 15, "Independence Day"),
    (10, 2, "Gandhi Jayanti"),
    (12, 25, "Christmas"),
)

FESTIVALS: dict[int, tuple[tuple[date, str], ...]] = {
    2026: ((date(2026, 11, 8), "Diwali (Lakshmi Puja)"),),
}


def holidays_of(year: int) -> list[tuple[date, str]]:
    """The year's demo holidays, in date order."""
    days = [(date(year, month, day), name) for month, day, name in FIXED]
    days.extend(FESTIVALS.get(year, ()))
    return sorted(days)
