"""Quiet hours: when a utility may not wake its customers with an SMS or a push.

The window is utility-wide, in local wall-clock time (GRIDBILL_TIME_ZONE), and may run
past midnight (21:00 to 08:00). A message that falls inside it waits for the window's end
instead of being dropped, so a bill issued at night still arrives, in the morning.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(local: time, start: time, end: time) -> bool:
    """True when ``local`` lies in [start, end); an empty window (start == end) is never quiet."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(at: datetime, start: time, end: time, zone: ZoneInfo) -> datetime:
    """``at`` itself outside quiet hours, else the first instant after them (tz-aware, UTC)."""
    local = at.astimezone(zone)
    if not is_quiet(local.time(), start, end):
        return at
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(at.tzinfo)
