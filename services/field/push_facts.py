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
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection

from domain.enums import AccountStatus
from domain.field_conflicts import ClockCorrection, RegisterFacts
from domain.field_reads import FieldRegister
from store.models import FieldDevice, FieldVisit, RegisterRead
from store.sql import Sql, as_dt


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
    """Fill ``push`` with what the records need, in a few queries for the whole push
    (plain SQL: a push names thousands of registers, too many to build as ORM terms)."""
    sql = Sql(get_connection("default"))
    register_ids = sorted({i.register_id for i in reads})
    rows = await rows_in(
        sql, "SELECT id, meter_id, unit, digits FROM registers", "id", register_ids
    )
    meter_ids = sorted({int(r["meter_id"]) for r in rows} | {s.meter_id for s in skips})
    await _existing_reads(push, sql, [e.read_uuid for e in edits])
    loads, read_days = await _account_facts(sql, meter_ids)
    for r in rows:
        rid = int(r["id"])
        push.registers[rid] = _register(push, rid, int(r["meter_id"]), r, loads, read_days)
    if meter_ids:
        stops = await rows_in(
            sql,
            "SELECT s.meter_id, r.code, r.reader_id FROM route_stops s "
            "JOIN routes r ON r.id = s.route_id",
            "s.active_meter",
            meter_ids,
        )
        for stop in stops:
            push.meter_route[int(stop["meter_id"])] = stop["code"]
            if stop["reader_id"] == push.reader_id:
                push.my_meters.add(int(stop["meter_id"]))
        known = await rows_in(sql, "SELECT id FROM meters", "id", meter_ids)
        push.known_meters = {int(m["id"]) for m in known}
    if register_ids:
        await _load_billed(push, sql, register_ids)
        await _existing_reads(push, sql, [i.uuid for i in reads])
    if skips:
        for visit in await FieldVisit.filter(client_uuid__in=[s.uuid for s in skips]):
            push.existing_visits[visit.client_uuid] = visit


async def rows_in(
    sql: Sql, select: str, column: str, values: Sequence[Any], params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """``select`` (its own placeholders filled by ``params``) with ``column IN values``
    added to its ``WHERE`` (``= ANY`` of one array on PostgreSQL)."""
    if not values:
        return []
    if sql.postgres:
        where, listed = f"{column} = ANY(?)", [list(values)]
    else:
        where, listed = f"{column} IN ({Sql.marks(len(values))})", list(values)
    joiner = " AND " if " WHERE " in select else " WHERE "
    return await sql.rows(f"{select}{joiner}{where}", [*params, *listed])


async def _existing_reads(push: FieldPush, sql: Sql, read_uuids: Sequence[UUID]) -> None:
    """The reads stored under ``read_uuids``, as plain snapshots."""
    for row in await rows_in(
        sql,
        "SELECT client_uuid, register_id, value_milli, read_at, revision FROM register_reads",
        "client_uuid",
        [sql.uuid(u) for u in read_uuids],
    ):
        read = PushedRead(
            UUID(str(row["client_uuid"])), int(row["register_id"]), int(row["value_milli"]),
            as_dt(row["read_at"]), int(row["revision"]),
        )  # fmt: skip
        push.existing_reads[read.client_uuid] = read


async def _load_billed(push: FieldPush, sql: Sql, register_ids: Sequence[int]) -> None:
    """Each register's latest billed read."""
    for row in await rows_in(
        sql,
        "SELECT r.register_id, r.read_at, r.client_uuid, r.value_milli FROM register_reads r "
        "WHERE r.billed = ? AND r.read_at = (SELECT MAX(b.read_at) FROM register_reads b "
        "WHERE b.register_id = r.register_id AND b.billed = ?)",
        "r.register_id",
        register_ids,
        [sql.flag(True), sql.flag(True)],
    ):
        push.last_billed[int(row["register_id"])] = BilledRead(
            as_dt(row["read_at"]), str(row["client_uuid"]), int(row["value_milli"])
        )


async def registers_of(push: FieldPush, register_ids: Sequence[int]) -> None:
    """Load the facts of the registers no read of the push named, in a few queries."""
    missing = sorted({rid for rid in register_ids if rid not in push.registers})
    if not missing:
        return
    sql = Sql(get_connection("default"))
    rows = await rows_in(sql, "SELECT id, meter_id, unit, digits FROM registers", "id", missing)
    loads, read_days = await _account_facts(sql, sorted({int(r["meter_id"]) for r in rows}))
    for r in rows:
        rid = int(r["id"])
        push.registers[rid] = _register(push, rid, int(r["meter_id"]), r, loads, read_days)


def _register(
    push: FieldPush,
    register_id: int,
    meter_id: int,
    row: dict[str, Any],
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


async def _account_facts(
    sql: Sql, meter_ids: Sequence[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Per meter: the sanctioned load (W) of the account it bills, and its cycle's read day."""
    installed = await rows_in(
        sql,
        "SELECT meter_id, service_point_id FROM meter_installations WHERE removed_at IS NULL",
        "meter_id",
        meter_ids,
    )
    by_point = {int(i["service_point_id"]): int(i["meter_id"]) for i in installed}
    loads: dict[int, int] = {}
    read_days: dict[int, int] = {}
    accounts = await rows_in(
        sql,
        "SELECT a.id, a.service_point_id, a.status, a.sanctioned_load_w, a.contract_demand_va, "
        "c.read_day FROM accounts a LEFT JOIN billing_cycles c ON c.id = a.billing_cycle_id",
        "a.service_point_id",
        sorted(by_point),
    )
    for a in sorted(accounts, key=lambda a: int(a["id"])):
        meter = by_point[int(a["service_point_id"])]
        if meter in loads and a["status"] != AccountStatus.ACTIVE.value:
            continue
        loads[meter] = max(a["sanctioned_load_w"] or 0, a["contract_demand_va"] or 0)
        read_days[meter] = a["read_day"] or 1
    return loads, read_days
