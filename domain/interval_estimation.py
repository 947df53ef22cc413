"""Estimation of meter data (the E of VEE): values for what the meter did not deliver.

* a short gap in interval data (up to ``short_gap_intervals``) is bridged by linear
  interpolation between the intervals either side of it;
* a longer gap takes, for each missing interval, the average of the same slot of the
  day (same local time) on days of the same type (weekday or weekend) over the
  ``profile_weeks`` before the gap: a household's Sunday evening looks like its other
  Sunday evenings, not like Monday morning;
* a missing register read for billing is the last good read plus the average daily
  use times the days since, turned back into what the register would show.

Every estimate carries its :class:`Method`, stored with the value, so a bill can say
which energy was estimated and how.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from domain.vee import DEFAULT_CONFIG, SECONDS_PER_DAY, VeeConfig, register_range_milli


class Method(StrEnum):
    """Stored in ``estimation_method`` of intervals and register reads."""

    LINEAR = "linear_interpolation"
    PROFILE = "day_type_profile"
    AVERAGE_DAILY_USE = "average_daily_use"
    HEAD_END = "head_end"


@dataclass(frozen=True)
class Estimate:
    start: datetime
    wh: int
    method: Method


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def linear_fill(before_wh: int, after_wh: int, starts: Sequence[datetime]) -> list[Estimate]:
    """Values on the straight line from the interval before the gap to the one after."""
    n = len(starts) + 1
    step = Decimal(after_wh - before_wh) / n
    return [
        Estimate(start, max(0, _whole(before_wh + step * (i + 1))), Method.LINEAR)
        for i, start in enumerate(starts)
    ]


def _slot(moment: datetime, zone: ZoneInfo, weekend: frozenset[int]) -> tuple[bool, int, int]:
    local = moment.astimezone(zone)
    return local.weekday() in weekend, local.hour, local.minute


def profile_fill(
    starts: Sequence[datetime],
    history: Sequence[tuple[datetime, int]],
    zone: ZoneInfo,
    weekend: frozenset[int],
) -> list[Estimate] | None:
    """Each missing interval as the average of its slot on days of the same type.

    A slot never seen on that day type borrows the same slot of the other type; with no
    history at all there is no profile (None), and the caller interpolates instead.
    """
    if not history:
        return None
    sums: dict[tuple[bool, int, int], list[int]] = {}
    for moment, wh in history:
        bucket = sums.setdefault(_slot(moment, zone, weekend), [0, 0])
        bucket[0] += wh
        bucket[1] += 1
    estimates: list[Estimate] = []
    for start in starts:
        weekend_day, hour, minute = _slot(start, zone, weekend)
        found = sums.get((weekend_day, hour, minute)) or sums.get((not weekend_day, hour, minute))
        if found is None:
            return None
        bucket = found
        estimates.append(Estimate(start, _whole(Decimal(bucket[0]) / bucket[1]), Method.PROFILE))
    return estimates


def fill_gap(
    starts: Sequence[datetime],
    before_wh: int,
    after_wh: int,
    history: Sequence[tuple[datetime, int]],
    zone: ZoneInfo,
    config: VeeConfig = DEFAULT_CONFIG,
) -> list[Estimate]:
    """The estimates for one gap, by the method its length calls for."""
    if len(starts) > config.short_gap_intervals:
        profile = profile_fill(starts, history, zone, config.usage_calendar.weekend)
        if profile is not None:
            return profile
    return linear_fill(before_wh, after_wh, starts)


def estimate_register_read(
    last_value_milli: int,
    last_at: datetime,
    at: datetime,
    average_wh_per_day: Decimal,
    digits: int,
    factor: Fraction = Fraction(1),
) -> int:
    """What the register would show at ``at``: the last read plus average use × days.

    ``average_wh_per_day`` is primary-side energy, so the register advances by it divided
    by the multiplier; the result wraps past the register's last digit like the meter.
    """
    if at < last_at:
        raise ValueError("a register read is estimated forward from the last good read")
    days = Decimal(int((at - last_at).total_seconds())) / SECONDS_PER_DAY
    advance = average_wh_per_day * days * factor.denominator / factor.numerator
    return (last_value_milli + _whole(advance)) % register_range_milli(digits)
