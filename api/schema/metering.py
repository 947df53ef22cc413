"""Meters, their registers and where they are installed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import ID

from api.context import Context
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
