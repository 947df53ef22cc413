"""What every record of a device's push needs, loaded once for the whole push.

A push of field records (``sync/push.py`` is its transport) applies reads
(``services/field/pushed_reads.py``), edits of pushed reads (``pushed_edits.py``) and
skipped visits (``skips.py``). Each of them decides against the same facts: the
registers named and the accounts their meters bill, which meters are on the device's
routes, the last billed read of each register, and the records already stored under the
UUIDs sent. :func:`load` gathers them in a few queries before the first record, rather
than a few queries per record.

The records are taken as the protocols below, so that the transport's parsed items are
passed as they are and this package never imports the transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Max

from domain.enums import AccountStatus
from domain.field_conflicts import ClockCorrection, RegisterFacts
from domain.field_reads import FieldRegister
from store.models import (
    Account,
    FieldDevice,
    FieldVisit,
    Meter,
    MeterInstallation,
    Register,
    RegisterRead,
    RouteStop,
)


class ReadRecord(Protocol):
    """A meter read captured on a handset (``sync.protocol.ReadItem``)."""

    @property
    def uuid(self) -> UUID: ...
    @property
    def register_id(self) -> int: ...
    @property
    def value_milli(self) -> int: ...
    @property
    def captured_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def raw_telegram(self) -> str | None: ...
    @property
    def photo_uuid(self) -> UUID | None: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def notes(self) -> str: ...


class EditRecord(Protocol):
    """A correction on the handset of a read it pushed (``sync.protocol.EditItem``)."""

    @property
    def uuid(self) -> UUID: ...
    @property
    def read_uuid(self) -> UUID: ...
    @property
    def base_revision(self) -> int: ...
    @property
    def value_milli(self) -> int: ...
    @property
    def notes(self) -> str | None: ...


class SkipRecord(Protocol):
    """A visit without a read, with the reason (``sync.protocol.SkipItem``)."""

    @property
    def uuid(self) -> UUID: ...
    @property
    def meter_id(self) -> int: ...
    @property
    def visited_at(self) -> datetime: ...
    @property
    def skip_code(self) -> str: ...
    @property
    def notes(self) -> str: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def photo_uuid(self) -> UUID | None: ...


@dataclass(frozen=True)
class BilledRead:
    """The last billed read of a register: a pushed read older than it cannot change a bill."""

    read_at: datetime
    read_uuid: str
    value_milli: int


@dataclass(frozen=True)
class PushedRead:
    """A read as a push answers with it and as its later items meet it (stored by this push,
    or edited: a snapshot, written as plain rows, without building ORM objects)."""

    client_uuid: UUID
    register_id: int
    value_milli: int
    read_at: datetime
    revision: int = 1


@dataclass
class FieldPush:
    """One push of a device: who pushed, when, with which clock, and the facts loaded."""

    device: FieldDevice
    zone: ZoneInfo
    correction: ClockCorrection
    received_at: datetime
    postgres: bool
    registers: dict[int, FieldRegister] = field(default_factory=dict)
    my_meters: set[int] = field(default_factory=set)
    """Meters on a route of the device's reader."""
    meter_route: dict[int, str] = field(default_factory=dict)
    known_meters: set[int] = field(default_factory=set)
    last_billed: dict[int, BilledRead] = field(default_factory=dict)
    existing_reads: dict[UUID, RegisterRead | PushedRead] = field(default_factory=dict)
    existing_visits: dict[UUID, FieldVisit] = field(default_factory=dict)
    rejudge: dict[int, datetime] = field(default_factory=dict)
    """Per register, the earliest read this push added, edited or re-flagged: VEE judges
    its reads from there on again."""

    def changed_at(self, register_id: int, moment: datetime) -> None:
        self.rejudge[register_id] = min(moment, self.rejudge.get(register_id, moment))

    @property
    def reader_id(self) -> int:
        return self.device.reader_id  # type: ignore[attr-defined,no-any-return]


async def load(
    push: FieldPush,
    reads: Sequence[ReadRecord],
    edits: Sequence[EditRecord],
    skips: Sequence[SkipRecord],
) -> None:
    """Fill ``push`` with what the records need, in a few queries for the whole push."""
    register_ids = {i.register_id for i in reads}
    rows = (
        await Register.filter(id__in=register_ids).values("id", "meter_id", "unit", "digits")
        if register_ids
        else []
    )
    meter_ids = {r["meter_id"] for r in rows} | {s.meter_id for s in skips}
    if edits:
        for read in await RegisterRead.filter(client_uuid__in=[e.read_uuid for e in edits]):
            push.existing_reads[read.client_uuid] = read
    loads, read_days = await _account_facts(meter_ids)
    for r in rows:
        push.registers[r["id"]] = _register(push, r["id"], r["meter_id"], r, loads, read_days)
    if meter_ids:
        for stop in await RouteStop.filter(active_meter__in=meter_ids).values(
            "meter_id", "route__code", "route__reader_id"
        ):
            push.meter_route[stop["meter_id"]] = stop["route__code"]
            if stop["route__reader_id"] == push.reader_id:
                push.my_meters.add(stop["meter_id"])
        push.known_meters = set(await Meter.filter(id__in=meter_ids).values_list("id", flat=True))  # type: ignore[arg-type]
    if register_ids:
        await _load_billed(push, register_ids)
        for read in await RegisterRead.filter(client_uuid__in=[i.uuid for i in reads]):
            push.existing_reads[read.client_uuid] = read
    if skips:
        for visit in await FieldVisit.filter(client_uuid__in=[s.uuid for s in skips]):
            push.existing_visits[visit.client_uuid] = visit


async def _load_billed(push: FieldPush, register_ids: set[int]) -> None:
    billed = await (
        RegisterRead.filter(register_id__in=register_ids, billed=True)
        .group_by("register_id")
        .annotate(last=Max("read_at"))
        .values("register_id", "last")
    )
    last_at = {b["register_id"]: b["last"] for b in billed}
    if not last_at:
        return
    for row in await RegisterRead.filter(
        Q(*[Q(register_id=k, read_at=v) for k, v in last_at.items()], join_type="OR"),
        billed=True,
    ).values("register_id", "read_at", "client_uuid", "value_milli"):
        push.last_billed[row["register_id"]] = BilledRead(
            row["read_at"], str(row["client_uuid"]), row["value_milli"]
        )


async def registers_of(push: FieldPush, register_ids: Sequence[int]) -> None:
    """Load the facts of the registers no read of the push named, in a few queries."""
    missing = {rid for rid in register_ids if rid not in push.registers}
    if not missing:
        return
    rows = await Register.filter(id__in=missing).values("id", "meter_id", "unit", "digits")
    loads, read_days = await _account_facts({r["meter_id"] for r in rows})
    for r in rows:
        push.registers[r["id"]] = _register(push, r["id"], r["meter_id"], r, loads, read_days)


def _register(
    push: FieldPush,
    register_id: int,
    meter_id: int,
    row: dict[str, object],
    loads: dict[int, int],
    read_days: dict[int, int],
) -> FieldRegister:
    digits = row["digits"]
    assert isinstance(digits, int)
    return FieldRegister(
        id=register_id,
        meter_id=meter_id,
        facts=RegisterFacts(unit=str(row["unit"]), digits=digits, max_load_w=loads.get(meter_id)),
        read_day=read_days.get(meter_id, 1),
        zone=push.zone,
    )


async def _account_facts(meter_ids: set[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per meter: the sanctioned load (W) of the account it bills, and its cycle's read day."""
    if not meter_ids:
        return {}, {}
    installed = await MeterInstallation.filter(meter_id__in=meter_ids, removed_at=None).values(
        "meter_id", "service_point_id"
    )
    by_point = {i["service_point_id"]: i["meter_id"] for i in installed}
    loads: dict[int, int] = {}
    read_days: dict[int, int] = {}
    if by_point:
        accounts = (
            await Account.filter(service_point_id__in=list(by_point))
            .order_by("id")
            .values(
                "service_point_id",
                "status",
                "sanctioned_load_w",
                "contract_demand_va",
                "billing_cycle__read_day",
            )
        )
        for a in accounts:
            meter = by_point[a["service_point_id"]]
            if meter in loads and a["status"] != AccountStatus.ACTIVE:
                continue
            loads[meter] = max(a["sanctioned_load_w"] or 0, a["contract_demand_va"] or 0)
            read_days[meter] = a["billing_cycle__read_day"] or 1
    return loads, read_days
