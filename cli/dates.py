"""A day given on the command line (``--date``, ``--on``, ``--around``…), one way everywhere.

A missing option means a day the command chooses (today in the utility's time zone
unless it says otherwise); a malformed one is one ``gridbill: error:`` line naming the
option and the form wanted.
"""

from __future__ import annotations

from datetime import date, datetime

from gridbill.errors import UserError
from gridbill.settings import Settings


class BadDate(UserError):
    """A day option that is not ``YYYY-MM-DD``."""


def day_option(
    value: str | None, option: str, settings: Settings, *, default: date | None = None
) -> date:
    """The day ``value`` names; absent, ``default`` or else today in the utility's zone."""
    if value is None:
        return default if default is not None else datetime.now(settings.zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadDate(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None
