"""Usage history for people: energy per day or month, from whatever was measured.

Two sources, both reduced to energy per local day:

* **interval data** (smart meters) is summed per day as measured;
* **register reads** (every meter) give the energy between two reads, which is spread
  evenly over the days between them: a month read on the 5th and the next on the 4th
  shows the same average on each day. Such days are marked *averaged*.

Register arithmetic is exact: values are thousandths of a unit, a register that passes
its last digit starts again at zero (a *rollover*), and the billing multiplier (CT and
PT ratios) is a fraction. Days are then added up into months.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Read:
    at: datetime  # aware
    value_milli: int


@dataclass(frozen=True, slots=True)
class DayEnergy:
    day: date
    wh: Fraction
    averaged: bool


@dataclass(frozen=True, slots=True)
class Point:
    start: date
    end: date  # exclusive
    wh: int
    averaged: bool  # some of it was spread from register reads, not measured per day
    days_with_data: int


def delta_milli(previous: int, current: int, digits: int) -> int:
    """Advance of a register between two reads, allowing for one rollover past its digits."""
    if current >= previous:
        return current - previous
    return current + int(10**digits) * 1000 - previous


def spread_reads(
    reads: Sequence[Read], *, digits: int, multiplier: Fraction, zone: ZoneInfo
) -> list[DayEnergy]:
    """Energy per local day from consecutive register reads, spread evenly by time.

    Each pair of reads covers the time between them; a day gets the share of that span
    that falls within it, so a read at noon splits its day fairly.
    """
    ordered = sorted(reads, key=lambda r: r.at)
    by_day: dict[date, Fraction] = defaultdict(Fraction)
    for earlier, later in itertools.pairwise(ordered):
        seconds = (later.at - earlier.at).total_seconds()
        if seconds <= 0:
            continue
        energy = Fraction(delta_milli(earlier.value_milli, later.value_milli, digits)) * multiplier
        cursor = earlier.at
        while cursor < later.at:
            local = cursor.astimezone(zone)
            next_midnight = datetime.combine(
                local.date() + timedelta(days=1), datetime.min.time(), zone
            )
            stop = min(later.at, next_midnight)
            share = Fraction(int((stop - cursor).total_seconds() * 1000), int(seconds * 1000))
            by_day[local.date()] += energy * share
            cursor = stop
    return [DayEnergy(day, wh, True) for day, wh in sorted(by_day.items())]


def measured_days(totals: Mapping[date, int]) -> list[DayEnergy]:
    return [DayEnergy(day, Fraction(wh), False) for day, wh in sorted(totals.items())]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def combine(sources: Iterable[list[DayEnergy]]) -> dict[date, DayEnergy]:
    """Measured days win over averaged ones; several meters' days on one day add up."""
    measured: dict[date, Fraction] = defaultdict(Fraction)
    averaged: dict[date, Fraction] = defaultdict(Fraction)
    for days in sources:
        for d in days:
            (averaged if d.averaged else measured)[d.day] += d.wh
    out = {day: DayEnergy(day, wh, True) for day, wh in averaged.items()}
    out.update({day: DayEnergy(day, wh, False) for day, wh in measured.items()})
    return out


def points(days: Mapping[date, DayEnergy], *, start: date, end: date, monthly: bool) -> list[Point]:
    """Days (or months) from ``start`` to ``end`` (exclusive) with their energy, in Wh.

    Periods without any data are left out rather than shown as zero use.
    """
    out: list[Point] = []
    cursor = first_of_month(start) if monthly else start
    while cursor < end:
        following = next_month(cursor) if monthly else cursor + timedelta(days=1)
        lo, hi = max(cursor, start), min(following, end)
        inside = [days[d] for d in _days(lo, hi) if d in days]
        if inside:
            total = sum((d.wh for d in inside), Fraction(0))
            out.append(
                Point(cursor, following, round(total), any(d.averaged for d in inside), len(inside))
            )
        cursor = following
    return out


def _days(start: date, end: date) -> Iterable[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def same_period_last_year(start: date, end: date) -> tuple[date, date]:
    return _year_earlier(start), _year_earlier(end)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def change_percent(current_wh: int, previous_wh: int) -> Fraction | None:
    if previous_wh <= 0:
        return None
    return Fraction(current_wh - previous_wh, previous_wh) * 100
