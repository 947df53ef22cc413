"""Meters and their registers for staff: add to store, install, replace, remove.

A register is never deleted once it has reads (they are RESTRICT-protected): removing one
sets ``is_billing`` to false, the register model's only "in use" flag, so bill runs skip
it while its history stays. Its OBIS code stays taken on the meter.

A meter's life: ``in_store`` → ``installed`` (a :class:`MeterInstallation` at a service
point, with its install reads) → ``removed`` (the installation closed with removal
reads). A replacement is a removal and an installation at the same moment in one
transaction, and the old meter's place on its reading route passes to the new one.
Reads taken here are ``staff`` reads of type install/removal, pending validation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from domain.enums import (
    MeterKind,
    MeterStatus,
    ReadQuality,
    ReadSource,
    ReadType,
    RegisterUnit,
)
from services import audit
from services.errors import NotFound, Refused
from services.viewer import Viewer
from store.models import (
    Meter,
    MeterInstallation,
    MultiplierChange,
    Register,
    RegisterRead,
    RouteStop,
    ServicePoint,
)


@dataclass(frozen=True)
class RegisterSpec:
    obis_code: str
    unit: RegisterUnit
    digits: int = 6
    decimals: int = 0
    tou_period: str = ""
    is_billing: bool = True


@dataclass(frozen=True)
class NewMeter:
    serial: str
    kind: MeterKind
    make: str = ""
    model: str = ""
    phases: int = 1
    manufactured_year: int | None = None
    probe_address: str = ""
    registers: list[RegisterSpec] = field(default_factory=list)


@dataclass(frozen=True)
class ReadValue:
    """A register's value at install or removal, in thousandths of its unit."""

    obis_code: str
    value_milli: int


DEFAULT_REGISTERS = [RegisterSpec("1.8.0", RegisterUnit.KWH)]


async def create_meter(viewer: Viewer, data: NewMeter) -> Meter:
    serial = data.serial.strip()
    if not serial:
        raise Refused("INVALID_INPUT", "give the meter's serial", field="serial")
    registers = data.registers or DEFAULT_REGISTERS
    codes = [r.obis_code for r in registers]
    if len(set(codes)) != len(codes):
        raise Refused(
            "INVALID_INPUT", "each register's OBIS code must be different", field="registers"
        )
    if any(not 1 <= r.digits <= 12 or not 0 <= r.decimals <= 6 for r in registers):
        raise Refused(
            "INVALID_INPUT", "register digits must be 1–12 and decimals 0–6", field="registers"
        )
    async with in_transaction():
        if await Meter.exists(serial=serial):
            raise Refused("CONFLICT", f"a meter with serial {serial} exists", field="serial")
        meter = await Meter.create(
            serial=serial, make=data.make, model=data.model, kind=data.kind, phases=data.phases,
            manufactured_year=data.manufactured_year, probe_address=data.probe_address,
            status=MeterStatus.IN_STORE,
        )  # fmt: skip
        for spec in registers:
            await Register.create(
                meter=meter, obis_code=spec.obis_code, unit=spec.unit, digits=spec.digits,
                decimals=spec.decimals, tou_period=spec.tou_period, is_billing=spec.is_billing,
            )  # fmt: skip
        await audit.record(
            viewer=viewer, action="meter.created", entity="meter", entity_id=meter.id,
            after={"serial": serial, "kind": data.kind, "registers": codes},
        )  # fmt: skip
    return meter


async def add_register(viewer: Viewer, *, meter_id: int, spec: RegisterSpec) -> Register:
    async with in_transaction():
        if not await Meter.exists(id=meter_id):
            raise NotFound("meter", field="meterId")
        if await Register.exists(meter_id=meter_id, obis_code=spec.obis_code):
            raise Refused(
                "CONFLICT", f"the meter already has register {spec.obis_code}", field="obisCode"
            )
        register = await Register.create(
            meter_id=meter_id, obis_code=spec.obis_code, unit=spec.unit, digits=spec.digits,
            decimals=spec.decimals, tou_period=spec.tou_period, is_billing=spec.is_billing,
        )  # fmt: skip
        await audit.record(
            viewer=viewer, action="meter.register_added", entity="meter", entity_id=meter_id,
            after={"obis_code": spec.obis_code, "unit": spec.unit},
        )  # fmt: skip
    return register


UNBILLED_READS = "UNBILLED_READS"
# Actual reads (not estimates) a bill would use: still to be billed, the register stays.
ACTUAL_QUALITIES = (ReadQuality.VALID, ReadQuality.EDITED, ReadQuality.PENDING, ReadQuality.SUSPECT)


async def remove_register(viewer: Viewer, *, register_id: int, reason: str = "") -> Register:
    """Take a register out of billing (``is_billing`` false); it is never deleted.

    Refused with ``UNBILLED_READS`` while the register has actual reads after its last
    billed read that no bill has used yet: bill them (or reject the reads) first.
    """
    async with in_transaction():
        register = await Register.get_or_none(id=register_id)
        if register is None:
            raise NotFound("register", field="registerId")
        if not register.is_billing:
            raise Refused("INVALID_STATE", f"register {register.obis_code} is already removed")
        last_billed = (
            await RegisterRead.filter(register_id=register_id, billed=True)
            .order_by("-read_at")
            .first()
        )
        unbilled = RegisterRead.filter(
            register_id=register_id, billed=False, quality__in=ACTUAL_QUALITIES
        ).exclude(source=ReadSource.ESTIMATED)
        if last_billed is not None:
            unbilled = unbilled.filter(read_at__gt=last_billed.read_at)
        count = await unbilled.count()
        if count:
            raise Refused(
                UNBILLED_READS,
                f"register {register.obis_code} has {count} unbilled read(s) since its last "
                "bill: bill or reject them first",
                field="registerId",
            )
        await Register.filter(id=register_id).update(is_billing=False)
        register.is_billing = False
        meter_id: int = register.meter_id  # type: ignore[attr-defined]
        await audit.record(
            viewer=viewer, action="meter.register_removed", entity="meter", entity_id=meter_id,
            before={"register_id": register_id, "obis_code": register.obis_code, "is_billing": True},
            after={"register_id": register_id, "obis_code": register.obis_code, "is_billing": False},
            reason=reason,
        )  # fmt: skip
    return register


async def _record_reads(
    viewer: Viewer, meter_id: int, reads: list[ReadValue], at: datetime, kind: ReadType
) -> int:
    if not reads:
        return 0
    registers = {r.obis_code: r for r in await Register.filter(meter_id=meter_id)}
    now = datetime.now(UTC)
    for read in reads:
        register = registers.get(read.obis_code)
        if register is None:
            raise Refused(
                "INVALID_INPUT", f"the meter has no register {read.obis_code}", field="reads"
            )
        if read.value_milli < 0:
            raise Refused("INVALID_INPUT", "a read cannot be negative", field="reads")
        await RegisterRead.create(
            client_uuid=uuid.uuid4(), register=register, value_milli=read.value_milli, read_at=at,
            read_type=kind, source=ReadSource.STAFF, captured_by_id=viewer.user_id, received_at=now,
            notes=f"{kind.value} read recorded by staff",
        )  # fmt: skip
    return len(reads)


async def _install(
    viewer: Viewer,
    meter: Meter,
    service_point_id: int,
    at: datetime,
    seals: str,
    reads: list[ReadValue],
) -> MeterInstallation:
    if meter.status not in (MeterStatus.IN_STORE, MeterStatus.REMOVED):
        raise Refused(
            "INVALID_STATE", f"meter {meter.serial} is {meter.status.value}, not in store"
        )
    if not await ServicePoint.exists(id=service_point_id):
        raise NotFound("service point", field="servicePointId")
    occupied = await MeterInstallation.filter(
        service_point_id=service_point_id, removed_at__isnull=True
    ).exists()
    if occupied:
        raise Refused("INVALID_STATE", "the service point already has a meter: replace it instead")
    last = await MeterInstallation.filter(meter_id=meter.id).order_by("-installed_at").first()
    if last is not None and last.removed_at is not None and at < last.removed_at:
        raise Refused("INVALID_INPUT", "the meter was still installed elsewhere then", field="at")
    installation = await MeterInstallation.create(
        meter=meter, service_point_id=service_point_id, installed_at=at, seal_numbers=seals[:100]
    )
    await MultiplierChange.create(installation=installation, effective_from=at)
    await Meter.filter(id=meter.id).update(status=MeterStatus.INSTALLED)
    await _record_reads(viewer, meter.id, reads, at, ReadType.INSTALL)
    return installation


async def _remove(
    viewer: Viewer, meter: Meter, at: datetime, reads: list[ReadValue]
) -> MeterInstallation:
    installation = await MeterInstallation.filter(
        meter_id=meter.id, removed_at__isnull=True
    ).first()
    if installation is None:
        raise Refused("INVALID_STATE", f"meter {meter.serial} is not installed")
    if at <= installation.installed_at:
        raise Refused("INVALID_INPUT", "the removal must be after the installation", field="at")
    await _record_reads(viewer, meter.id, reads, at, ReadType.REMOVAL)
    await MeterInstallation.filter(id=installation.id).update(removed_at=at)
    await Meter.filter(id=meter.id).update(status=MeterStatus.REMOVED)
    installation.removed_at = at
    return installation


async def _meter(meter_id: int, field_name: str) -> Meter:
    meter = await Meter.get_or_none(id=meter_id)
    if meter is None:
        raise NotFound("meter", field=field_name)
    return meter


async def install_meter(
    viewer: Viewer, *, meter_id: int, service_point_id: int, at: datetime,
    seal_numbers: str = "", reads: list[ReadValue] | None = None,
) -> MeterInstallation:  # fmt: skip
    async with in_transaction():
        meter = await _meter(meter_id, "meterId")
        installation = await _install(
            viewer, meter, service_point_id, at, seal_numbers, reads or []
        )
        await audit.record(
            viewer=viewer, action="meter.installed", entity="meter", entity_id=meter_id,
            after={"service_point_id": service_point_id, "at": at, "reads": len(reads or [])},
        )  # fmt: skip
    return installation


async def remove_meter(
    viewer: Viewer, *, meter_id: int, at: datetime, reads: list[ReadValue] | None = None,
    reason: str = "",
) -> MeterInstallation:  # fmt: skip
    async with in_transaction():
        meter = await _meter(meter_id, "meterId")
        installation = await _remove(viewer, meter, at, reads or [])
        stops = await RouteStop.filter(meter_id=meter_id, removed_at__isnull=True).update(
            removed_at=at, active_meter=None
        )
        await audit.record(
            viewer=viewer, action="meter.removed", entity="meter", entity_id=meter_id,
            after={"at": at, "route_stops_removed": stops}, reason=reason,
        )  # fmt: skip
    return installation


async def replace_meter(
    viewer: Viewer, *, old_meter_id: int, new_meter_id: int, at: datetime,
    removal_reads: list[ReadValue] | None = None, install_reads: list[ReadValue] | None = None,
    seal_numbers: str = "", reason: str = "",
) -> MeterInstallation:  # fmt: skip
    """Swap meters at one moment; the new meter takes the old one's place on its route."""
    if old_meter_id == new_meter_id:
        raise Refused(
            "INVALID_INPUT", "the new meter must be a different meter", field="newMeterId"
        )
    async with in_transaction():
        old = await _meter(old_meter_id, "oldMeterId")
        new = await _meter(new_meter_id, "newMeterId")
        removed = await _remove(viewer, old, at, removal_reads or [])
        point_id: int = removed.service_point_id  # type: ignore[attr-defined]
        installation = await _install(viewer, new, point_id, at, seal_numbers, install_reads or [])
        stop = await RouteStop.filter(meter_id=old.id, removed_at__isnull=True).first()
        if stop is not None:
            await RouteStop.filter(id=stop.id).update(removed_at=at, active_meter=None)
            route_id: int = stop.route_id  # type: ignore[attr-defined]
            await RouteStop.create(
                route_id=route_id, meter_id=new.id, active_meter=new.id, sequence=stop.sequence
            )
        await audit.record(
            viewer=viewer, action="meter.replaced", entity="meter", entity_id=old.id,
            before={"serial": old.serial}, after={"serial": new.serial, "at": at}, reason=reason,
        )  # fmt: skip
    return installation
