"""The demo utility as plain data: what the generator decides and the loader writes.

Rows refer to each other by natural keys (customer number, premise code, meter serial),
never by database ids: the database assigns ids when the loader inserts, and the loader
maps keys to ids as it goes. That keeps the generator free of I/O and testable alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.enums import AccountCategory, MeterKind, ReadSource, RegisterUnit, Role

from .consumption import SmartProfile
from .periods import Timeline
from .tariffs import DemoTariff


@dataclass(frozen=True, slots=True)
class DemoCycle:
    code: str
    name: str
    read_day: int
    bill_day: int
    due_days: int
    read_dates: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class DemoRoute:
    code: str
    name: str
    cycle_code: str
    has_reader: bool


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    number: str
    name: str
    email: str | None
    phone: str
    postal_address: str
    kyc_reference: str


@dataclass(frozen=True, slots=True)
class DemoPremise:
    code: str
    address_line1: str
    address_line2: str
    locality: str
    city: str
    state: str
    postal_code: str
    latitude: float
    longitude: float
    access_notes: str


@dataclass(frozen=True, slots=True)
class DemoServicePoint:
    code: str
    premise_code: str
    supply_voltage_v: int
    phases: int
    feeder: str
    transformer: str


@dataclass(frozen=True, slots=True)
class DemoAccount:
    number: str
    service_point_code: str
    customer_number: str
    category: AccountCategory
    sanctioned_load_w: int
    contract_demand_va: int | None
    security_deposit_paise: int
    cycle_code: str
    connected_on: date
    tariff_code: str


@dataclass(frozen=True, slots=True)
class DemoRead:
    client_uuid: uuid.UUID
    value_milli: int
    read_at: datetime
    received_at: datetime
    raw_telegram: str | None = None


@dataclass(slots=True)
class DemoRegister:
    obis_code: str
    unit: RegisterUnit
    digits: int
    decimals: int
    tou_period: str = ""
    reads: list[DemoRead] = field(default_factory=list)


@dataclass(slots=True)
class DemoMeter:
    serial: str
    make: str
    model: str
    kind: MeterKind
    phases: int
    manufactured_year: int
    probe_address: str
    service_point_code: str
    cycle_code: str
    installed_at: datetime
    seal_numbers: str
    ct_primary_a: int = 1
    ct_secondary_a: int = 1
    latitude: float = 0.0
    longitude: float = 0.0
    route_code: str | None = None
    route_sequence: int = 0
    smart: SmartProfile | None = None
    registers: list[DemoRegister] = field(default_factory=list)

    @property
    def read_source(self) -> ReadSource:
        return ReadSource(self.kind.value)


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    phone: str | None
    full_name: str
    role: Role
    password: str
    customer_number: str | None = None


@dataclass(frozen=True, slots=True)
class DemoPartner:
    client_id: str
    name: str
    scopes: tuple[str, ...]
    contact_email: str


@dataclass(slots=True)
class DemoUtility:
    """Everything the loader writes, for one seed, customer count and "today"."""

    today: date
    zone: ZoneInfo
    tariff_effective_from: date
    cycles: list[DemoCycle]
    routes: list[DemoRoute]
    customers: list[DemoCustomer]
    premises: list[DemoPremise]
    service_points: list[DemoServicePoint]
    accounts: list[DemoAccount]
    meters: list[DemoMeter]
    tariffs: tuple[DemoTariff, ...]
    holidays: list[tuple[date, str]]
    users: list[DemoUser]
    partner: DemoPartner
    timelines: dict[str, Timeline]

    def registers(self) -> Iterator[tuple[DemoMeter, DemoRegister]]:
        for meter in self.meters:
            for register in meter.registers:
                yield meter, register

    @property
    def read_count(self) -> int:
        return sum(len(register.reads) for _, register in self.registers())

    @property
    def interval_count(self) -> int:
        return sum(len(self.timelines[m.cycle_code]) for m in self.meters if m.smart is not None)

    @property
    def signed_up(self) -> list[DemoUser]:
        return [user for user in self.users if user.role is Role.CUSTOMER]
