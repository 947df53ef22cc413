"""The dunning schedule: which reminder or notice an unpaid bill is due for, and when.

Steps, in order, counted from the bill's due date in the utility's own calendar:

* ``reminder``: N days before the due date;
* ``overdue``: the day after the due date (or later, as configured);
* ``disconnection_notice``: a written notice some days after the due date;
* disconnection becomes possible only after the notice's clear days. Section 56(1) of
  the Electricity Act, 2003 requires "not less than fifteen clear days" notice in
  writing: clear days exclude both the day the notice is served and the day of action,
  so a notice served on the 1st allows disconnection from the 17th.

The late payment surcharge notice is not scheduled here: it goes out when the surcharge
is applied (on the next bill).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

REMINDER = "reminder"
OVERDUE = "overdue"
DISCONNECTION_NOTICE = "disconnection_notice"
STEPS = (REMINDER, OVERDUE, DISCONNECTION_NOTICE)
STATUTORY_CLEAR_DAYS = 15


@dataclass(frozen=True)
class Schedule:
    """One account category's schedule, in days relative to the due date."""

    reminder_days_before: int = 3
    overdue_days_after: int = 1
    notice_days_after: int = 7
    clear_days: int = STATUTORY_CLEAR_DAYS

    def __post_init__(self) -> None:
        if self.reminder_days_before < 0:
            raise ValueError("the reminder cannot come after the due date")
        if not 1 <= self.overdue_days_after <= self.notice_days_after:
            raise ValueError("the overdue notice comes after the due date and before the notice")
        if self.clear_days < STATUTORY_CLEAR_DAYS:
            raise ValueError(
                f"a disconnection notice needs at least {STATUTORY_CLEAR_DAYS} clear days"
            )


def step_due(schedule: Schedule, *, due_date: date, today: date) -> str | None:
    """The latest step an unpaid bill has reached today, or None before the reminder.

    Only the latest counts: a bill found already past its notice date gets the notice,
    not a reminder for a due date that has gone.
    """
    if today >= due_date + timedelta(days=schedule.notice_days_after):
        return DISCONNECTION_NOTICE
    if today >= due_date + timedelta(days=schedule.overdue_days_after):
        return OVERDUE
    if today >= due_date - timedelta(days=schedule.reminder_days_before) and today <= due_date:
        return REMINDER
    return None


def disconnection_allowed_from(notice_served_on: date, clear_days: int) -> date:
    """The first day supply may be cut after a notice: ``clear_days`` whole days between."""
    return notice_served_on + timedelta(days=clear_days + 1)
