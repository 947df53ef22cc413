"""The demo plan as table rows: column lists and the tuples that fill them.

Every NOT NULL column is given explicitly, including the ``created_at``/``updated_at`` the
ORM would fill in: these inserts bypass the models (see :mod:`demo.bulk`). Parents are
found through the id maps the loader reads back after inserting them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import AccountStatus, MeterKind, MeterStatus, ReadQuality, ReadSource, ReadType

from .bulk import Dialect, Row
from .consumption import interval_values
from .periods import Timeline, at_local
from .plan import DemoMeter, DemoUtility

STAMPS = ("created_at", "updated_at")
CUSTOMERS = ("number", "name", "email", "phone", "postal_address", "kyc_reference", *STAMPS)
PREMISES = (
    "code", "address_line1", "address_line2", "locality", "city", "state", "postal_code",
    "latitude", "longitude", "access_notes", *STAMPS,
)  # fmt: skip
SERVICE_POINTS = (
    "code",
    "premise_id",
    "supply_voltage_v",
    "phases",
    "feeder",
    "transformer",
    *STAMPS,
)
ACCOUNTS = (
    "number", "service_point_id", "category", "status", "sanctioned_load_w", "contract_demand_va",
    "security_deposit_paise", "billing_cycle_id", "connected_on", *STAMPS,
)  # fmt: skip
ACCOUNT_HOLDERS = ("account_id", "customer_id", "move_in_on", *STAMPS)
TARIFF_ASSIGNMENTS = ("account_id", "tariff_id", "effective_from", *STAMPS)
METERS = (
    "serial",
    "make",
    "model",
    "kind",
    "status",
    "phases",
    "manufactured_year",
    "probe_address",
    *STAMPS,
)
INSTALLATIONS = ("meter_id", "service_point_id", "installed_at", "seal_numbers", *STAMPS)
MULTIPLIERS = (
    "installation_id", "effective_from", "ct_primary_a", "ct_secondary_a", "pt_primary_v",
    "pt_secondary_v", *STAMPS,
)  # fmt: skip
REGISTERS = (
    "meter_id",
    "obis_code",
    "unit",
    "digits",
    "decimals",
    "is_billing",
    "tou_period",
    *STAMPS,
)
ROUTE_STOPS = ("route_id", "meter_id", "active_meter", "sequence", *STAMPS)
READS = (
    "client_uuid", "register_id", "value_milli", "read_at", "read_type", "source", "quality",
    "quality_flags", "estimation_method", "captured_by_id", "device_captured_at", "received_at",
    "latitude", "longitude", "raw_telegram", "notes", "revision", "billed", *STAMPS,
)  # fmt: skip
INTERVALS = (
    "register_id", "interval_start", "length_s", "value_wh", "quality", "estimation_method",
    "source", "revision", "received_at",
)  # fmt: skip
HEAD_END_COLLECTS = time(2, 0)  # smart meters' intervals arrive in the night after the day


@dataclass(slots=True)
class Ids:
    """Database ids of what is already written, by natural key."""

    cycles: dict[Any, int]
    tariffs: dict[Any, int]
    routes: dict[Any, int]
    reader: int
    customers: dict[Any, int] | None = None
    premises: dict[Any, int] | None = None
    service_points: dict[Any, int] | None = None
    accounts: dict[Any, int] | None = None
    meters: dict[Any, int] | None = None
    installations: dict[Any, int] | None = None
    registers: dict[Any, int] | None = None


def _need(ids: dict[Any, int] | None) -> dict[Any, int]:
    assert ids is not None, "parents are written before their children"
    return ids


class RowBuilder:
    """Rows for each table of the plan, in the dialect's value forms."""

    def __init__(self, plan: DemoUtility, dialect: Dialect, now: datetime, zone: ZoneInfo) -> None:
        self.plan = plan
        self.d = dialect
        self.zone = zone
        self.stamp = (dialect.ts(now), dialect.ts(now))

    def customers(self) -> Iterator[Row]:
        for c in self.plan.customers:
            yield (
                c.number,
                c.name,
                c.email,
                c.phone,
                c.postal_address,
                c.kyc_reference,
                *self.stamp,
            )

    def premises(self) -> Iterator[Row]:
        for p in self.plan.premises:
            yield (
                p.code, p.address_line1, p.address_line2, p.locality, p.city, p.state, p.postal_code,
                p.latitude, p.longitude, p.access_notes, *self.stamp,
            )  # fmt: skip

    def service_points(self, ids: Ids) -> Iterator[Row]:
        premises = _need(ids.premises)
        for s in self.plan.service_points:
            yield (
                s.code,
                premises[s.premise_code],
                s.supply_voltage_v,
                s.phases,
                s.feeder,
                s.transformer,
                *self.stamp,
            )

    def accounts(self, ids: Ids) -> Iterator[Row]:
        points = _need(ids.service_points)
        for a in self.plan.accounts:
            yield (
                a.number, points[a.service_point_code], a.category.value, AccountStatus.ACTIVE.value,
                a.sanctioned_load_w, a.contract_demand_va, a.security_deposit_paise,
                ids.cycles[a.cycle_code], self.d.day(a.connected_on), *self.stamp,
            )  # fmt: skip

    def account_holders(self, ids: Ids) -> Iterator[Row]:
        accounts, customers = _need(ids.accounts), _need(ids.customers)
        for a in self.plan.accounts:
            yield (
                accounts[a.number],
                customers[a.customer_number],
                self.d.day(a.connected_on),
                *self.stamp,
            )

    def tariff_assignments(self, ids: Ids) -> Iterator[Row]:
        accounts = _need(ids.accounts)
        for a in self.plan.accounts:
            yield (
                accounts[a.number],
                ids.tariffs[a.tariff_code],
                self.d.day(a.connected_on),
                *self.stamp,
            )

    def meters(self) -> Iterator[Row]:
        installed = MeterStatus.INSTALLED.value
        for m in self.plan.meters:
            yield (
                m.serial,
                m.make,
                m.model,
                m.kind.value,
                installed,
                m.phases,
                m.manufactured_year,
                m.probe_address,
                *self.stamp,
            )

    def installations(self, ids: Ids) -> Iterator[Row]:
        meters, points = _need(ids.meters), _need(ids.service_points)
        for m in self.plan.meters:
            yield (
                meters[m.serial],
                points[m.service_point_code],
                self.d.ts(m.installed_at),
                m.seal_numbers,
                *self.stamp,
            )

    def multipliers(self, ids: Ids) -> Iterator[Row]:
        """From the moment of installation; only the CT-operated meters are not 1:1."""
        meters, installations = _need(ids.meters), _need(ids.installations)
        for m in self.plan.meters:
            installation = installations[meters[m.serial]]
            yield (
                installation,
                self.d.ts(m.installed_at),
                m.ct_primary_a,
                m.ct_secondary_a,
                1,
                1,
                *self.stamp,
            )

    def registers(self, ids: Ids) -> Iterator[Row]:
        meters = _need(ids.meters)
        for m, r in self.plan.registers():
            yield (
                meters[m.serial],
                r.obis_code,
                r.unit.value,
                r.digits,
                r.decimals,
                True,
                r.tou_period,
                *self.stamp,
            )

    def route_stops(self, ids: Ids) -> Iterator[Row]:
        meters = _need(ids.meters)
        for m in self.plan.meters:
            if m.route_code is not None:
                meter_id = meters[m.serial]
                yield (ids.routes[m.route_code], meter_id, meter_id, m.route_sequence, *self.stamp)

    def reads(self, ids: Ids) -> Iterator[Row]:
        meters, registers = _need(ids.meters), _need(ids.registers)
        d = self.d
        flags, regular, valid = d.json([]), ReadType.REGULAR.value, ReadQuality.VALID.value
        for m, r in self.plan.registers():
            register_id = registers[meters[m.serial], r.obis_code]
            walked = m.kind is not MeterKind.SMART
            reader = ids.reader if walked else None
            lat, lon = (m.latitude, m.longitude) if walked else (None, None)
            for read in r.reads:
                read_at, received = d.ts(read.read_at), d.ts(read.received_at)
                device_at = read_at if m.kind is MeterKind.PROBE else None
                yield (
                    d.uuid(read.client_uuid), register_id, read.value_milli, read_at, regular,
                    m.read_source.value, valid, flags, "", reader, device_at, received, lat, lon,
                    read.raw_telegram, "", 1, False, received, received,
                )  # fmt: skip

    def smart_meters(self) -> list[DemoMeter]:
        return [m for m in self.plan.meters if m.smart is not None]

    def intervals(self, meter: DemoMeter, register_id: int, grid: IntervalGrid) -> Iterator[Row]:
        """One smart meter's 15-minute values, generated now rather than held in the plan."""
        assert meter.smart is not None
        values = interval_values(meter.smart, grid.timeline)
        valid, smart = ReadQuality.VALID.value, ReadSource.SMART.value
        for start, received, value in zip(grid.starts, grid.received, values, strict=True):
            yield (register_id, start, 900, value, valid, "", smart, 1, received)

    def grid(self, cycle_code: str) -> IntervalGrid:
        timeline = self.plan.timelines[cycle_code]
        return IntervalGrid.of(timeline, self.d, self.zone)


@dataclass(frozen=True, slots=True)
class IntervalGrid:
    """A cycle's interval start times and arrival times, converted for the driver once and
    shared by all of its smart meters."""

    timeline: Timeline
    starts: list[Any]
    received: list[Any]

    @classmethod
    def of(cls, timeline: Timeline, dialect: Dialect, zone: ZoneInfo) -> IntervalGrid:
        received: list[Any] = []
        for tday in timeline.days:
            arrival = dialect.ts(at_local(tday.day + timedelta(days=1), HEAD_END_COLLECTS, zone))
            received.extend([arrival] * len(tday.hours))
        return cls(timeline, [dialect.ts(start) for start in timeline.starts], received)
