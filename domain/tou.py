"""Time-of-use calendars: which period (peak, off-peak, …) a moment of local time is in.

A calendar is compiled into a table: for each month (1–12) and day type (weekday,
weekend, holiday) the period of each of the 24 hours. Both ways a tariff can state its
calendar compile to that table, so a lookup is one dictionary access:

* rules, as regulators write them ("peak: weekdays, March–May, 18–22 h"), first match
  wins, unmatched hours fall to the default period;
* 12 × 24 schedules per day type, as the OpenEI URDB publishes them.

An interval belongs to the period of the hour its start falls in, in the tariff's local
time. A holiday (from the utility's holiday calendar) is reckoned as the day type the
tariff names: like a weekend (the usual reading), like a weekday, or with its own rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

DayType = Literal["weekday", "weekend", "holiday"]
DAY_TYPES: tuple[DayType, ...] = ("weekday", "weekend", "holiday")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = range(1, 13)
HOURS = range(24)


class CalendarError(ValueError):
    """A calendar that cannot be compiled; the message says which slot or rule."""


@dataclass(frozen=True)
class Rule:
    """One line of a regulator's time-of-day table."""

    period: str
    months: frozenset[int]
    days: frozenset[DayType]
    hours: frozenset[int]


@dataclass(frozen=True)
class Calendar:
    name: str
    periods: tuple[str, ...]
    table: Mapping[tuple[int, DayType], tuple[str, ...]]
    weekend: frozenset[int]
    holidays_as: DayType

    def day_type(self, day: date, holidays: frozenset[date]) -> DayType:
        if day in holidays:
            return self.holidays_as
        return "weekend" if day.weekday() in self.weekend else "weekday"

    def period_at(self, local: datetime, holidays: frozenset[date] = frozenset()) -> str:
        """The period of the hour ``local`` (wall-clock time in the tariff's zone) is in."""
        day_type = self.day_type(local.date(), holidays)
        return self.table[(local.month, day_type)][local.hour]

    def months_of(self, period: str) -> frozenset[int]:
        """Months in which ``period`` occurs at all (to skip seasonal charges)."""
        return frozenset(m for (m, _), hours in self.table.items() if period in hours)

    def even_split(
        self, kwh: Decimal, start: date, end: date, holidays: frozenset[date] = frozenset()
    ) -> dict[str, Decimal]:
        """``kwh`` used evenly over every hour of the days ``[start, end)``, by period.

        What a what-if estimate assumes when a customer gives one total for a time-of-use
        tariff: each period gets the share of the hours it covers. The shares add up to
        ``kwh`` exactly (the last period takes the remainder).
        """
        hours: dict[str, int] = dict.fromkeys(self.periods, 0)
        day = start
        while day < end:
            names = self.table[(day.month, self.day_type(day, holidays))]
            for name in names:
                hours[name] += 1
            day += timedelta(days=1)
        total = sum(hours.values())
        used = [name for name in self.periods if hours[name]]
        split = {name: kwh * hours[name] / total for name in used[:-1]}
        split[used[-1]] = kwh - sum(split.values(), Decimal(0))
        return split


def from_rules(
    name: str,
    periods: Sequence[str],
    rules: Sequence[Rule],
    default: str | None,
    weekend: frozenset[int],
    holidays_as: DayType,
) -> Calendar:
    """Compile rules: for each slot the first matching rule, else the default period."""
    table: dict[tuple[int, DayType], tuple[str, ...]] = {}
    for month in MONTHS:
        for day_type in DAY_TYPES:
            table[(month, day_type)] = tuple(
                _slot(rules, default, month, day_type, hour) for hour in HOURS
            )
    return Calendar(name, tuple(periods), table, weekend, holidays_as)


def _slot(
    rules: Iterable[Rule], default: str | None, month: int, day_type: DayType, hour: int
) -> str:
    for rule in rules:
        if month in rule.months and day_type in rule.days and hour in rule.hours:
            return rule.period
    if default is None:
        raise CalendarError(
            f"no rule covers month {month}, {day_type}, hour {hour:02d} and there is no "
            "default_period"
        )
    return default


def from_schedules(
    name: str,
    periods: Sequence[str],
    schedules: Mapping[DayType, Sequence[Sequence[str]]],
    weekend: frozenset[int],
    holidays_as: DayType,
) -> Calendar:
    """Compile 12 × 24 matrices of period names, one per day type (holiday optional)."""
    table: dict[tuple[int, DayType], tuple[str, ...]] = {}
    for day_type in DAY_TYPES:
        matrix = schedules.get(day_type) or schedules.get(holidays_as) or schedules["weekday"]
        for month in MONTHS:
            table[(month, day_type)] = tuple(matrix[month - 1])
    return Calendar(name, tuple(periods), table, weekend, holidays_as)


def parse_hours(text: str) -> frozenset[int]:
    """``"18-22"`` → hours 18…21; ``"22-06"`` wraps midnight; ``"00-24"`` is all day."""
    start_text, sep, end_text = text.partition("-")
    if not sep or not start_text.isdigit() or not end_text.isdigit():
        raise CalendarError(f"{text!r} is not an hour range like '18-22'")
    start, end = int(start_text), int(end_text)
    if not (0 <= start <= 23 and 0 <= end <= 24) or start == end:
        raise CalendarError(f"{text!r} is not an hour range like '18-22' (hours 0-24)")
    if start < end:
        return frozenset(range(start, end))
    return frozenset(range(start, 24)) | frozenset(range(end))
