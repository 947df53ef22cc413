"""What drafting one account's bill needs to know, as plain values.

A bill run loads these for a chunk of accounts in a few set-based queries
(``services.billing.inputs``) and :mod:`domain.bill_draft` prices each account from them
without further I/O: the account and its holders, tariff assignments, meter
installations with their multipliers and registers, reads in time order, the earlier
bills the new one follows, and every tariff version in force (:class:`TariffBook`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.consumption import Multiplier
from domain.pricing import Effective
from domain.tariff import Tariff


@dataclass(slots=True)
class Read:
    id: int
    register_id: int
    value_milli: int
    read_at: datetime
    local_date: date
    read_type: str


@dataclass(slots=True)
class Reg:
    id: int
    meter_id: int
    obis: str
    unit: str
    digits: int
    tou_period: str


@dataclass(slots=True)
class Installation:
    id: int
    meter_id: int
    meter_kind: str
    installed_at: datetime
    removed_at: datetime | None
    multipliers: list[tuple[datetime, Multiplier]] = field(default_factory=list)
    registers: list[Reg] = field(default_factory=list)

    def multiplier_at(self, moment: datetime) -> Multiplier:
        current = Multiplier()
        for since, multiplier in self.multipliers:
            if since <= moment:
                current = multiplier
        return current

    def register(self, obis: str) -> Reg | None:
        return next((r for r in self.registers if r.obis == obis), None)

    def covers(self, moment: datetime) -> bool:
        return self.installed_at <= moment and (
            self.removed_at is None or moment <= self.removed_at
        )


@dataclass(slots=True)
class BillReadRow:
    register_id: int
    opening_read_id: int | None
    closing_read_id: int | None
    opening_milli: int
    closing_milli: int
    is_estimated: bool


@dataclass(slots=True)
class PreviousBill:
    id: int
    number: str | None
    status: str
    period_start: date
    period_end: date
    is_estimated: bool
    is_final: bool
    total_paise: int
    payable_paise: int
    consumption_wh: int
    max_demand_w: int
    tariff_version_id: int | None
    issue_date: date | None
    due_date: date | None
    snapshot: dict[str, Any]
    reads: list[BillReadRow] = field(default_factory=list)

    @property
    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = self.snapshot.get("usage", {})
        return usage


@dataclass(slots=True)
class Holder:
    customer_id: int
    move_in_on: date
    move_out_on: date | None


@dataclass(slots=True)
class Assignment:
    tariff_id: int
    effective_from: date
    effective_to: date | None


@dataclass(slots=True)
class AccountInputs:
    id: int
    number: str
    category: str
    sanctioned_load_w: int
    contract_demand_va: int | None
    service_point_id: int
    connected_on: date
    holders: list[Holder] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    installations: list[Installation] = field(default_factory=list)
    reads: dict[int, list[Read]] = field(default_factory=dict)  # register id → in time order
    bills: list[PreviousBill] = field(default_factory=list)  # active bills, newest first
    opening_reads: dict[int, Read] = field(default_factory=dict)  # by read id
    balance_paise: int = 0


@dataclass(frozen=True)
class Version:
    id: int
    tariff_id: int
    effective_from: date
    effective_to: date | None
    sha256: str
    tariff: Tariff
    holiday_calendar: str


class TariffBook:
    """Every tariff version, parsed once, and the holiday calendars, for one run.

    ``errors`` names the versions whose documents would not parse (by id), which no
    bill can be priced with.
    """

    def __init__(
        self,
        versions: Sequence[Version],
        holidays: dict[str, frozenset[date]],
        errors: dict[int, str] | None = None,
    ) -> None:
        self.by_tariff: dict[int, list[Version]] = defaultdict(list)
        self.by_id = {v.id: v for v in versions}
        for v in sorted(versions, key=lambda v: v.effective_from):
            self.by_tariff[v.tariff_id].append(v)
        self.holidays = holidays
        self.errors: dict[int, str] = dict(errors or {})

    def effective(
        self, assignments: Sequence[Assignment], start: date, end: date
    ) -> list[tuple[Version, Effective]]:
        """The versions in force over ``[start, end)``, each clipped to its assignment."""
        found: list[tuple[Version, Effective]] = []
        for a in assignments:
            a_end = a.effective_to or date.max
            if a.effective_from >= end or a_end <= start:
                continue
            for v in self.by_tariff.get(a.tariff_id, []):
                v_end = v.effective_to or date.max
                lo, hi = max(a.effective_from, v.effective_from), min(a_end, v_end)
                if lo < hi and lo < end and hi > start:
                    found.append((v, Effective(v.tariff, lo, None if hi == date.max else hi)))
        return found
