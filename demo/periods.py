"""When the demo's meters were read: months, read days and the smart meters' 15-minute grid.

Everything is decided in the utility's time zone and stored in UTC, as the data model
asks: a read "on the 8th" is the 8th on the wall clocks of Pune, whatever UTC says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

INTERVAL = timedelta(minutes=15)
READ_MONTHS = 7  # an opening read, then one read in each of the 6 completed months after it


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def read_months(today: date, count: int = READ_MONTHS) -> tuple[date, ...]:
    """First days of the ``count`` months before ``today``'s month, oldest first.

    The last one is the last completed month, so every read is in the past however late
    in the month the loader runs.
    """
    months = [previous_month(today.replace(day=1))]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return tuple(reversed(months))


def at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in the utility's zone."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TimelineDay:
    """One local day of the interval grid: where its intervals start in the grid, and the
    local hour of each (96 intervals, or 92/100 on a daylight-saving change day)."""

    day: date
    first: int
    hours: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """The 15-minute intervals from one local midnight to another, shared by all the smart
    meters of a billing cycle so that the grid is computed once, not per meter."""

    starts: tuple[datetime, ...]
    days: tuple[TimelineDay, ...]

    def __len__(self) -> int:
        return len(self.starts)

    def index_of(self, instant: datetime) -> int:
        """Position of the interval starting at ``instant`` (a local midnight of the grid)."""
        return round((instant - self.starts[0]) / INTERVAL)


def build_timeline(first_day: date, end_day: date, zone: ZoneInfo) -> Timeline:
    """Intervals from local midnight of ``first_day`` up to local midnight of ``end_day``."""
    starts: list[datetime] = []
    days: list[TimelineDay] = []
    day = first_day
    while day < end_day:
        begin = at_local(day, time(0), zone)
        end = at_local(day + timedelta(days=1), time(0), zone)
        count = round((end - begin) / INTERVAL)
        slots = [begin + INTERVAL * i for i in range(count)]
        hours = tuple(slot.astimezone(zone).hour for slot in slots)
        days.append(TimelineDay(day=day, first=len(starts), hours=hours))
        starts.extend(slots)
        day += timedelta(days=1)
    return Timeline(starts=tuple(starts), days=tuple(days))
