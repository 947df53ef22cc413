"""Meters and registers for staff: find a meter; add one with its registers; install,
remove and replace it at a service point; take a register out of billing."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.errors import not_found
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, read_values, result
from api.schema.common import OperationError
from api.schema.decorators import field, mutation
from api.schema.meters import (
    AddRegisterInput,
    CreateMeterInput,
    InstallMeterInput,
    MeterInstallationResult,
    MeterInstallationSuccess,
    MeterResult,
    MeterSuccess,
    MeterType,
    RegisterInput,
    RegisterResult,
    RegisterSuccess,
    RemoveMeterInput,
    RemoveRegisterInput,
    ReplaceMeterInput,
)
from domain import enums
from domain.access import Operation
from services.meter_data import meters
from store.models import Meter

Info = strawberry.Info[Context, None]


def _register(spec: RegisterInput) -> meters.RegisterSpec:
    return meters.RegisterSpec(
        obis_code=spec.obis_code.strip(), unit=enums.RegisterUnit(spec.unit), digits=spec.digits,
        decimals=spec.decimals, tou_period=spec.tou_period, is_billing=spec.is_billing,
    )  # fmt: skip


@strawberry.type
class MeterQueries:
    @field(description="A meter by id (staff).", extensions=requires(Operation.READ_METERS))
    async def meter(self, info: Info, id: strawberry.ID) -> MeterType | None:
        found = await Meter.get_or_none(id=parse_id(id, "meter"))
        if found is None:
            raise not_found("meter")
        return found  # type: ignore[return-value]

    @field(description="A meter by serial (staff).", extensions=requires(Operation.READ_METERS))
    async def meter_by_serial(self, info: Info, serial: str) -> MeterType | None:
        found = await Meter.get_or_none(serial=serial.strip())
        if found is None:
            raise not_found("meter")
        return found  # type: ignore[return-value]


@strawberry.type
class MeterMutations:
    @mutation(
        description="Add a meter to the store with its registers.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def create_meter(self, info: Info, input: CreateMeterInput) -> MeterResult:
        async def work() -> Meter:
            data = meters.NewMeter(
                serial=input.serial, kind=enums.MeterKind(input.kind), make=input.make, model=input.model,
                phases=input.phases, manufactured_year=input.manufactured_year,
                probe_address=input.probe_address,
                registers=[_register(r) for r in input.registers or []],
            )  # fmt: skip
            return await meters.create_meter(info.context.viewer, data)

        return await result(work, lambda m: MeterSuccess(meter=m), OperationError)  # type: ignore[arg-type]

    @mutation(extensions=requires(Operation.WRITE_METERS))
    async def add_register(self, info: Info, input: AddRegisterInput) -> RegisterResult:
        return await result(
            lambda: meters.add_register(
                info.context.viewer,
                meter_id=id_or_refuse(input.meter_id, "meter", "meterId"),
                spec=_register(input.register),
            ),
            lambda r: RegisterSuccess(register=r),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description=(
            "Take a register out of billing (kept with its reads, isBilling false); "
            "UNBILLED_READS while it has actual reads after its last bill."
        ),
        extensions=requires(Operation.WRITE_METERS),
    )
    async def remove_register(self, info: Info, input: RemoveRegisterInput) -> RegisterResult:
        return await result(
            lambda: meters.remove_register(
                info.context.viewer,
                register_id=id_or_refuse(input.register_id, "register", "registerId"),
                reason=input.reason,
            ),
            lambda r: RegisterSuccess(register=r),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description="Install a meter from the store at a service point.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def install_meter(self, info: Info, input: InstallMeterInput) -> MeterInstallationResult:
        return await result(
            lambda: meters.install_meter(
                info.context.viewer,
                meter_id=id_or_refuse(input.meter_id, "meter", "meterId"),
                service_point_id=id_or_refuse(
                    input.service_point_id, "service point", "servicePointId"
                ),
                at=input.at,
                seal_numbers=input.seal_numbers,
                reads=read_values(input.reads, "reads"),
            ),
            lambda i: MeterInstallationSuccess(installation=i),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description="Remove an installed meter, with its final reads.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def remove_meter(self, info: Info, input: RemoveMeterInput) -> MeterInstallationResult:
        return await result(
            lambda: meters.remove_meter(
                info.context.viewer,
                meter_id=id_or_refuse(input.meter_id, "meter", "meterId"),
                at=input.at,
                reads=read_values(input.reads, "reads"),
                reason=input.reason,
            ),
            lambda i: MeterInstallationSuccess(installation=i),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description="Swap a meter for another at one moment; the new one takes its route stop.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def replace_meter(self, info: Info, input: ReplaceMeterInput) -> MeterInstallationResult:
        return await result(
            lambda: meters.replace_meter(
                info.context.viewer,
                old_meter_id=id_or_refuse(input.old_meter_id, "meter", "oldMeterId"),
                new_meter_id=id_or_refuse(input.new_meter_id, "meter", "newMeterId"),
                at=input.at,
                removal_reads=read_values(input.removal_reads, "removalReads"),
                install_reads=read_values(input.install_reads, "installReads"),
                seal_numbers=input.seal_numbers,
                reason=input.reason,
            ),
            lambda i: MeterInstallationSuccess(installation=i),  # type: ignore[arg-type]
            OperationError,
        )
