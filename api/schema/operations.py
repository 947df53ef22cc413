"""Staff operations: routes, the audit log, and the inputs and results of staff mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import ID
from strawberry.scalars import JSON

from api.context import Context
from api.schema.bills import BillType
from api.schema.common import Error
from api.schema.customers import AccountHolderType, CustomerType
from api.schema.decorators import field
from api.schema.enums import AccountCategory, MeterKind, RegisterUnit
from api.schema.identity import UserType
from api.schema.metering import MeterInstallationType, MeterType, RegisterType
from api.schema.tariffs import TariffType, TariffVersionType

Info = strawberry.Info[Context, None]


# --- routes ------------------------------------------------------------------------------


@strawberry.type(name="RouteStop", description="A meter's place on a route.")
class RouteStopType:
    id: ID
    sequence: int

    @strawberry.field
    async def meter(self, info: Info) -> MeterType:
        return await info.context.loaders.meter.load(self.meter_id)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="Route", description="An ordered walk of meters, assigned to one reader.")
class RouteType:
    id: ID
    code: str
    name: str

    @strawberry.field
    async def reader(self, info: Info) -> UserType | None:
        reader_id = self.reader_id  # type: ignore[attr-defined]
        return await info.context.loaders.user.load(reader_id) if reader_id else None  # type: ignore[return-value]

    @field(description="Meters on the route, in walking order.")
    async def stops(self, info: Info) -> list[RouteStopType]:
        return await info.context.loaders.route_stops.load(int(self.id))  # type: ignore[return-value]


# --- audit log ---------------------------------------------------------------------------


@strawberry.type(name="AuditEntry", description="Who changed what, when and why.")
class AuditEntryType:
    id: ID
    at: datetime
    actor_label: str
    action: str
    entity: str
    entity_id: str
    before: JSON | None
    after: JSON | None
    reason: str
    request_id: str

    @strawberry.field
    async def actor(self, info: Info) -> UserType | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        return await info.context.loaders.user.load(actor_id) if actor_id else None  # type: ignore[return-value]


# --- results -----------------------------------------------------------------------------


@strawberry.type(description="A staff operation that could not be done; `code` says why.")
class OperationError(Error):
    pass


@strawberry.type
class CustomerSuccess:
    customer: CustomerType


@strawberry.type
class AccountHolderSuccess:
    holder: AccountHolderType
    final_bill: BillType | None = strawberry.field(
        default=None,
        description="moveOut with a `finalRead`: the draft final bill, to review and issue.",
    )
    final_bill_awaits_read: bool = strawberry.field(
        default=False,
        description="moveOut without a `finalRead`: the final bill awaits a move-out read.",
    )


@strawberry.type
class MeterSuccess:
    meter: MeterType


@strawberry.type
class RegisterSuccess:
    register: RegisterType


@strawberry.type
class MeterInstallationSuccess:
    installation: MeterInstallationType


@strawberry.type
class TariffVersionSuccess:
    tariff: TariffType
    version: TariffVersionType
    closed_previous_version: int | None


@strawberry.type
class TariffAssignmentSuccess:
    account_id: ID
    tariff: TariffType
    effective_from: date


@strawberry.type
class RouteSuccess:
    route: RouteType


@strawberry.type
class RouteStopSuccess:
    stop: RouteStopType


CustomerResult = Annotated[CustomerSuccess | OperationError, strawberry.union("CustomerResult")]
AccountHolderResult = Annotated[
    AccountHolderSuccess | OperationError, strawberry.union("AccountHolderResult")
]
MeterResult = Annotated[MeterSuccess | OperationError, strawberry.union("MeterResult")]
RegisterResult = Annotated[RegisterSuccess | OperationError, strawberry.union("RegisterResult")]
MeterInstallationResult = Annotated[
    MeterInstallationSuccess | OperationError, strawberry.union("MeterInstallationResult")
]
TariffVersionResult = Annotated[
    TariffVersionSuccess | OperationError, strawberry.union("TariffVersionResult")
]
TariffAssignmentResult = Annotated[
    TariffAssignmentSuccess | OperationError, strawberry.union("TariffAssignmentResult")
]
RouteResult = Annotated[RouteSuccess | OperationError, strawberry.union("RouteResult")]
RouteStopResult = Annotated[RouteStopSuccess | OperationError, strawberry.union("RouteStopResult")]


# --- inputs ------------------------------------------------------------------------------


@strawberry.input
class CreateCustomerInput:
    name: str
    email: str | None = None
    phone: str | None = None
    postal_address: str = ""
    kyc_reference: str = ""


@strawberry.input
class MoveInInput:
    account_id: ID
    customer_id: ID
    on: date = strawberry.field(description="The first day the customer holds the account.")


@strawberry.input
class UpdateCustomerInput:
    customer_id: ID
    name: str | None = strawberry.field(default=None, description="Null: unchanged.")
    email: str | None = strawberry.field(default=None, description='Null: unchanged; "": none.')
    phone: str | None = strawberry.field(default=None, description='Null: unchanged; "": none.')
    postal_address: str | None = strawberry.field(default=None, description="Null: unchanged.")


@strawberry.input(description="The move-out read: every billing register's value on the last day.")
class FinalReadInput:
    read_at: datetime = strawberry.field(description="When it was read, on the move-out day.")
    reads: list[ReadInput]
    close_account: bool = strawberry.field(
        default=True, description="Close the account with the final bill (false: someone moves in)."
    )


@strawberry.input
class MoveOutInput:
    account_id: ID
    on: date = strawberry.field(description="The holder's last day.")
    reason: str = ""
    final_read: FinalReadInput | None = strawberry.field(
        default=None,
        description=(
            "Records the move-out read (checked by VEE; SUSPECT_READ if it fails) and drafts "
            "the final bill in the same transaction. Without it the final bill awaits a read."
        ),
    )


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


@strawberry.input
class CreateTariffVersionInput:
    document: JSON = strawberry.field(
        description="A tariff document (docs/tariffs.md); its `code` names the tariff."
    )
    effective_from: date
    category: AccountCategory = strawberry.field(description="For a new tariff: whom it is for.")
    source_reference: str = ""


@strawberry.input
class AssignTariffInput:
    account_id: ID
    tariff_code: str
    effective_from: date


@strawberry.input
class AssignRouteReaderInput:
    route_id: ID
    reader_id: ID | None = strawberry.field(
        default=None, description="Null: nobody reads it for now."
    )


@strawberry.input
class AddRouteStopInput:
    route_id: ID
    meter_id: ID
    sequence: int | None = None


@strawberry.input
class RemoveRouteStopInput:
    stop_id: ID
