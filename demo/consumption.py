"""How much energy the demo's customers use, and when.

Pune's demand peaks in the hot months before the monsoon (April to June, air conditioners
and coolers) and dips in the cool winter. Homes use little at night and most in the
evening; shops and offices use most in the day. Smart meters get one value per 15 minutes
from a per-meter seed, so the loader can regenerate a meter's intervals lazily and get
exactly the values the generator summed into its register reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise

from .periods import Timeline
from .tariffs import OFF_PEAK_WINDOWS, PEAK_WINDOWS

SEASON: dict[int, float] = {
    1: 0.86, 2: 0.90, 3: 1.08, 4: 1.28, 5: 1.34, 6: 1.14,
    7: 0.90, 8: 0.88, 9: 0.92, 10: 1.00, 11: 0.93, 12: 0.86,
}  # fmt: skip

# Rooftop solar yield by month: best in the clear pre-monsoon sky, worst in July's clouds.
SOLAR_SEASON: dict[int, float] = {
    1: 1.00, 2: 1.08, 3: 1.15, 4: 1.18, 5: 1.12, 6: 0.80,
    7: 0.62, 8: 0.66, 9: 0.78, 10: 0.95, 11: 1.00, 12: 0.97,
}  # fmt: skip

# Relative use per local hour (0–23).
DOMESTIC_HOURS: tuple[float, ...] = (
    0.55, 0.50, 0.45, 0.45, 0.45, 0.55, 0.90, 1.25, 1.20, 1.00, 0.85, 0.80,
    0.85, 0.85, 0.80, 0.75, 0.80, 1.00, 1.45, 1.80, 1.95, 1.85, 1.40, 0.85,
)  # fmt: skip
# Extra weight of cooling in hot months: afternoons and the first half of the night.
COOLING_HOURS: tuple[float, ...] = (
    0.60, 0.60, 0.50, 0.40, 0.30, 0.20, 0.00, 0.00, 0.00, 0.10, 0.20, 0.30,
    0.40, 0.50, 0.50, 0.50, 0.40, 0.30, 0.20, 0.20, 0.30, 0.50, 0.60, 0.60,
)  # fmt: skip
COMMERCIAL_HOURS: tuple[float, ...] = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.30, 0.40, 0.60, 1.00, 1.50, 1.60,
    1.60, 1.60, 1.60, 1.60, 1.60, 1.70, 1.80, 1.80, 1.60, 1.20, 0.50, 0.30,
)  # fmt: skip
SUNDAY = 6


def _hours_of(windows: tuple[tuple[str, str], ...]) -> frozenset[int]:
    hours: set[int] = set()
    for start, end in windows:
        first, last = int(start[:2]), int(end[:2])
        hour = first
        while hour != last:
            hours.add(hour)
            hour = (hour + 1) % 24
    return frozenset(hours)


PEAK_HOURS = _hours_of(PEAK_WINDOWS)
OFF_PEAK_HOURS = _hours_of(OFF_PEAK_WINDOWS)


@dataclass(frozen=True, slots=True)
class SmartProfile:
    """What a smart meter's intervals are drawn from: its own seed, so they are reproducible
    one meter at a time, an average day's import, and whose daily rhythm it follows."""

    seed: int
    daily_wh: int
    commercial: bool


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """What a smart meter recorded between two reads, from its intervals."""

    import_wh: int
    peak_wh: int
    off_peak_wh: int
    max_demand_w: int


@lru_cache(maxsize=256)
def seasonal_days(start: date, end: date, solar: bool = False) -> float:
    """Days from ``start`` (inclusive) to ``end`` (exclusive), each weighted by its season."""
    season = SOLAR_SEASON if solar else SEASON
    total, day = 0.0, start
    while day < end:
        total += season[day.month]
        day += timedelta(days=1)
    return total


def period_energy_wh(
    rng: random.Random, daily_wh: float, start: date, end: date, solar: bool = False
) -> int:
    """Energy between two read dates for a customer using ``daily_wh`` on an average day."""
    return round(daily_wh * seasonal_days(start, end, solar) * rng.uniform(0.9, 1.1))


@lru_cache(maxsize=32)
def hour_shares(commercial: bool, month: int) -> tuple[float, ...]:
    """Share of a day's energy in each local hour, for the shape and month."""
    if commercial:
        weights = COMMERCIAL_HOURS
    else:
        heat = max(0.0, SEASON[month] - 1.0) * 3
        weights = tuple(
            base + heat * cool for base, cool in zip(DOMESTIC_HOURS, COOLING_HOURS, strict=True)
        )
    total = sum(weights)
    return tuple(weight / total for weight in weights)


def _day_factor(rng: random.Random, profile: SmartProfile, day: date) -> float:
    factor = SEASON[day.month] * rng.uniform(0.85, 1.15)
    if day.weekday() == SUNDAY:
        factor *= 0.7 if profile.commercial else 1.1
    if rng.random() < 0.01:  # away for the day (or shop shut): only the fridge runs
        factor *= 0.2
    return factor


def interval_values(profile: SmartProfile, timeline: Timeline) -> list[int]:
    """Wh in each 15-minute interval of ``timeline``: the same list for the same profile."""
    rng = random.Random(profile.seed)
    values: list[int] = []
    for tday in timeline.days:
        per_quarter = profile.daily_wh * _day_factor(rng, profile, tday.day) / 4
        shares = hour_shares(profile.commercial, tday.day.month)
        values.extend(
            round(per_quarter * shares[hour] * (0.7 + 0.6 * rng.random())) for hour in tday.hours
        )
    return values


def period_totals(values: list[int], timeline: Timeline, bounds: list[int]) -> list[PeriodTotals]:
    """Totals between consecutive ``bounds`` (interval indexes of the read instants)."""
    hours = [hour for tday in timeline.days for hour in tday.hours]
    totals: list[PeriodTotals] = []
    for start, end in pairwise(bounds):
        window = range(start, end)
        totals.append(
            PeriodTotals(
                import_wh=sum(values[start:end]),
                peak_wh=sum(values[i] for i in window if hours[i] in PEAK_HOURS),
                off_peak_wh=sum(values[i] for i in window if hours[i] in OFF_PEAK_HOURS),
                max_demand_w=max(values[start:end]) * 4,
            )
        )
    return totals
