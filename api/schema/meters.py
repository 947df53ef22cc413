"""Meters, their registers and where they are installed; the inputs and results of the
staff mutations that add, install, remove and replace them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import OperationError
from api.schema.decorators import field
from api.schema.enums import MeterKind, MeterStatus, RegisterUnit

if TYPE_CHECKING:
    from api.schema.customers import ServicePointType

Info = strawberry.Info[Context, None]


@strawberry.type(name="Register", description="One quantity a meter accumulates, by OBIS code.")
class RegisterType:
    id: ID
    obis_code: str = strawberry.field(description="1.8.0 import kWh, 2.8.0 export, 1.6.0 demand…")
    unit: RegisterUnit
    digits: int = strawberry.field(description="Integer digits before the register rolls over.")
    decimals: int
    tou_period: str
    is_billing: bool


@strawberry.type(name="Meter")
class MeterType:
    id: ID
    serial: str
    make: str
    model: str
    kind: MeterKind
    status: MeterStatus
    phases: int
    manufactured_year: int | None

    @strawberry.field
    async def registers(self, info: Info) -> list[RegisterType]:
        return await info.context.loaders.registers.load(int(self.id))  # type: ignore[return-value]

    @field(description="Where the meter is or was installed, oldest first.")
    async def installations(self, info: Info) -> list[MeterInstallationType]:
        return await info.context.loaders.installations_by_meter.load(int(self.id))  # type: ignore[return-value]


@strawberry.type(name="MeterInstallation", description="A meter's time at a service point.")
class MeterInstallationType:
    id: ID
    installed_at: datetime
    removed_at: datetime | None
    seal_numbers: str

    @strawberry.field
    async def meter(self, info: Info) -> MeterType:
        return await info.context.loaders.meter.load(self.meter_id)  # type: ignore[attr-defined,return-value]

    @strawberry.field
    async def service_point(
        self, info: Info
    ) -> Annotated[ServicePointType, strawberry.lazy("api.schema.customers")]:
        return await info.context.loaders.service_point.load(self.service_point_id)  # type: ignore[attr-defined,return-value]


# --- mutations: results and inputs -------------------------------------------------------


@strawberry.type
class MeterSuccess:
    meter: MeterType


@strawberry.type
class RegisterSuccess:
    register: RegisterType


@strawberry.type
class MeterInstallationSuccess:
    installation: MeterInstallationType


MeterResult = Annotated[MeterSuccess | OperationError, strawberry.union("MeterResult")]
RegisterResult = Annotated[RegisterSuccess | OperationError, strawberry.union("RegisterResult")]
MeterInstallationResult = Annotated[
    MeterInstallationSuccess | OperationError, strawberry.union("MeterInstallationResult")
]


@strawberry.input
class RegisterInput:
    obis_code: str
    unit: RegisterUnit
    digits: int = 6
    decimals: int = 0
    tou_period: str = ""
    is_billing: bool = True


@strawberry.input
class CreateMeterInput:
    serial: str
    kind: MeterKind
    make: str = ""
    model: str = ""
    phases: int = 1
    manufactured_year: int | None = None
    probe_address: str = ""
    registers: list[RegisterInput] | None = strawberry.field(
        default=None, description="Default: one 1.8.0 import kWh register."
    )


@strawberry.input
class AddRegisterInput:
    meter_id: ID
    register: RegisterInput


@strawberry.input(
    description=(
        "Take a register out of billing; it is kept (isBilling false) with its reads. "
        "UNBILLED_READS while it has actual reads no bill has used yet."
    )
)
class RemoveRegisterInput:
    register_id: ID
    reason: str = ""


@strawberry.input
class ReadInput:
    obis_code: str
    value: str = strawberry.field(
        description="The register's display, e.g. `12345.6` (in its unit)."
    )


@strawberry.input
class InstallMeterInput:
    meter_id: ID
    service_point_id: ID
    at: datetime
    seal_numbers: str = ""
    reads: list[ReadInput] | None = None


@strawberry.input
class RemoveMeterInput:
    meter_id: ID
    at: datetime
    reads: list[ReadInput] | None = None
    reason: str = ""


@strawberry.input
class ReplaceMeterInput:
    old_meter_id: ID
    new_meter_id: ID
    at: datetime
    removal_reads: list[ReadInput] | None = None
    install_reads: list[ReadInput] | None = None
    seal_numbers: str = ""
    reason: str = ""
