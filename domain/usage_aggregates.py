"""The rules of the usage aggregates: which intervals count, and how they add up.

``usage_daily`` and ``usage_monthly`` hold, per account, local day (or month) and TOU
period (:data:`WHOLE_DAY` is the whole day), the energy imported (OBIS 1.8.0 intervals)
and exported (2.8.0), the estimated part of the import and the largest demand. Every
writer of those tables (ingestion, gap filling, staff review, the recompute after a
migration, the demo loader) sums intervals with :class:`UsageTotals`, and the SQL that
sums staged rows (``services.meter_data.aggregates``) is written from :data:`COUNTED`,
:data:`IMPORT` and :data:`EXPORT`, so the tables mean the same whoever wrote a row.

Only billable energy counts (:func:`counts`): an interval whose quality is valid,
estimated or edited. A suspect one joins the totals when staff accept it; a rejected
one never does.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date

from domain.enums import ReadQuality

COUNTED: tuple[str, ...] = (
    ReadQuality.VALID.value,
    ReadQuality.ESTIMATED.value,
    ReadQuality.EDITED.value,
)
"""The qualities whose energy counts for usage and billing (valid, estimated, edited)."""
_COUNTED = frozenset(COUNTED)
ESTIMATED = ReadQuality.ESTIMATED.value

IMPORT_OBIS = "1.8.0"
EXPORT_OBIS = "2.8.0"
AGGREGATED_OBIS = (IMPORT_OBIS, EXPORT_OBIS)
IMPORT = "i"
EXPORT = "e"
NOT_AGGREGATED = "-"
WHOLE_DAY = ""
"""The TOU period of the row that holds a whole day (or month)."""

Row = tuple[Hashable, Hashable, str, int, int, int, int]
"""``(account, day or month, period, import Wh, export Wh, estimated Wh, max demand W)``."""


def counts(quality: str) -> bool:
    """Whether an interval of this quality counts for usage (and billing)."""
    return quality in _COUNTED


def direction_of(obis: str) -> str:
    """Which column a register's intervals feed: :data:`IMPORT`, :data:`EXPORT` or none."""
    if obis == IMPORT_OBIS:
        return IMPORT
    if obis == EXPORT_OBIS:
        return EXPORT
    return NOT_AGGREGATED


def demand_w(wh: int, length_s: int) -> int:
    """The average demand over an interval in whole watts (rounded down)."""
    return wh * 3600 // length_s


def first_of_month(day: date) -> date:
    return day.replace(day=1)


class UsageTotals:
    """Sums of intervals per account, day, month and TOU period, as the tables hold them.

    The keys are opaque (a day may be a ``date`` or the driver's text form of it), so a
    caller may add values already in the form its database takes. Each interval counts
    once in its TOU period and once in the whole day, for its day and for its month.
    """

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        # (account, day, month, period) -> [import, export, estimated, max demand]
        self._groups: dict[tuple[Hashable, Hashable, Hashable, str], list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def add(
        self,
        account: Hashable,
        day: Hashable,
        month: Hashable,
        period: str,
        *,
        direction: str,
        quality: str,
        wh: int,
        demand: int,
    ) -> None:
        """Add one interval; one that does not count (quality, direction) is left out."""
        if quality not in _COUNTED or account is None:
            return
        key = (account, day, month, period)
        sums = self._groups.get(key)
        if direction == IMPORT:
            if sums is None:
                sums = self._groups[key] = [0, 0, 0, 0]
            sums[0] += wh
            if quality == ESTIMATED:
                sums[2] += wh
            if demand > sums[3]:
                sums[3] = demand
        elif direction == EXPORT:
            if sums is None:
                sums = self._groups[key] = [0, 0, 0, 0]
            sums[1] += wh

    def daily(self) -> list[Row]:
        """The rows for ``usage_daily``: each period of each day, and the whole day."""
        return self._rows(monthly=False)

    def monthly(self) -> list[Row]:
        """The rows for ``usage_monthly``: each period of each month, and the whole month."""
        return self._rows(monthly=True)

    def _rows(self, *, monthly: bool) -> list[Row]:
        out: dict[tuple[Hashable, Hashable, str], list[int]] = {}
        for (account, day, month, period), sums in self._groups.items():
            bucket = month if monthly else day
            for key in ((account, bucket, period), (account, bucket, WHOLE_DAY)):
                found = out.get(key)
                if found is None:
                    out[key] = list(sums)
                else:
                    found[0] += sums[0]
                    found[1] += sums[1]
                    found[2] += sums[2]
                    if sums[3] > found[3]:
                        found[3] = sums[3]
        return [(a, b, p, s[0], s[1], s[2], s[3]) for (a, b, p), s in out.items()]
