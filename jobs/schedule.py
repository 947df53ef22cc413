"""When a periodic task is due: cron expressions, read the way procrastinate reads them.

Both engines use croniter (procrastinate's own dependency) in UTC, so a task fires at the
same instants whether the in-process runner or a ``gridbill worker`` schedules it.
Five fields ``minute hour day-of-month month day-of-week``, or six with seconds last.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter


def validate_cron(cron: str) -> str:
    """Reject a bad expression when the task is registered, not at 03:00 in production."""
    if not croniter.is_valid(cron):
        raise ValueError(f"invalid cron expression {cron!r}: use 'minute hour day month weekday'")
    return cron


def next_run(cron: str, after: datetime) -> datetime:
    """The first instant strictly after ``after`` that ``cron`` matches, in UTC."""
    if after.tzinfo is None:
        raise ValueError("next_run needs a timezone-aware datetime")
    nxt: datetime = croniter(validate_cron(cron), after.astimezone(UTC)).get_next(datetime)
    return nxt.astimezone(UTC)
