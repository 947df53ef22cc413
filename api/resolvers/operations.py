"""Staff operations: meters and registers, tariffs, routes and readers, the audit log."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import Context
from api.errors import not_found
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, read_values, result
from api.schema.common import Connection
from api.schema.decorators import field, mutation
from api.schema.metering import MeterType
from api.schema.operations import (
    AddRegisterInput,
    AddRouteStopInput,
    AssignRouteReaderInput,
    AssignTariffInput,
    AuditEntryType,
    CreateMeterInput,
    CreateTariffVersionInput,
    InstallMeterInput,
    MeterInstallationResult,
    MeterInstallationSuccess,
    MeterResult,
    MeterSuccess,
    OperationError,
    RegisterInput,
    RegisterResult,
    RegisterSuccess,
    RemoveMeterInput,
    RemoveRegisterInput,
    RemoveRouteStopInput,
    ReplaceMeterInput,
    RouteResult,
    RouteStopResult,
    RouteStopSuccess,
    RouteSuccess,
    RouteType,
    TariffAssignmentResult,
    TariffAssignmentSuccess,
    TariffVersionResult,
    TariffVersionSuccess,
)
from api.schema.tariffs import TariffType
from domain import enums
from domain.access import Operation
from services.billing.tariffs import TariffVersionError, add_version, assign
from services.errors import Refused
from services.field import routes
from services.meter_data import meters
from store.models import Account, AuditLog, Meter, Route, Tariff, TariffVersion

Info = strawberry.Info[Context, None]


def _register(spec: RegisterInput) -> meters.RegisterSpec:
    return meters.RegisterSpec(
        obis_code=spec.obis_code.strip(), unit=enums.RegisterUnit(spec.unit), digits=spec.digits,
        decimals=spec.decimals, tou_period=spec.tou_period, is_billing=spec.is_billing,
    )  # fmt: skip


@strawberry.type
class OperationsQueries:
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

    @field(description="Every tariff (staff).", extensions=requires(Operation.READ_TARIFFS))
    async def tariffs(self, info: Info) -> list[TariffType]:
        return await Tariff.all().order_by("code")  # type: ignore[return-value]

    @field(description="Reading routes (staff).", extensions=requires(Operation.READ_ROUTES))
    async def routes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RouteType]:
        return await paginate(Route.all(), first=first, after=after, descending=False)

    @field(description="A route and its stops (staff).", extensions=requires(Operation.READ_ROUTES))
    async def route(self, info: Info, id: strawberry.ID) -> RouteType | None:
        found = await Route.get_or_none(id=parse_id(id, "route"))
        if found is None:
            raise not_found("route")
        return found  # type: ignore[return-value]

    @field(
        description="The routes assigned to you (meter readers).",
        extensions=requires(Operation.READ_OWN_ROUTES),
    )
    async def my_routes(self, info: Info) -> list[RouteType]:
        return await Route.filter(reader_id=info.context.viewer.user_id or 0).order_by("code")  # type: ignore[return-value]

    @field(
        description="Who changed what, newest first; filter by entity (and id) or actor.",
        extensions=requires(Operation.READ_AUDIT_LOG),
    )
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None,
        entity: str | None = None, entity_id: str | None = None, actor_id: strawberry.ID | None = None,
        action: str | None = None,
    ) -> Connection[AuditEntryType]:  # fmt: skip
        queryset = AuditLog.all()
        if entity:
            queryset = queryset.filter(entity=entity)
        if entity_id:
            queryset = queryset.filter(entity_id=entity_id)
        if actor_id:
            queryset = queryset.filter(actor_id=parse_id(actor_id, "user"))
        if action:
            queryset = queryset.filter(action__startswith=action)
        return await paginate(queryset, first=first, after=after)


@strawberry.type
class OperationsMutations:
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

    @mutation(
        description="Store a new version of a tariff (validated by the tariff engine) from a date; admins.",
        extensions=requires(Operation.WRITE_TARIFFS),
    )
    async def create_tariff_version(
        self, info: Info, input: CreateTariffVersionInput
    ) -> TariffVersionResult:
        viewer = info.context.viewer

        async def work() -> TariffVersionSuccess:
            if not isinstance(input.document, dict):
                raise Refused(
                    "TARIFF_INVALID", "the document must be a JSON object", field="document"
                )
            try:
                stored = await add_version(
                    viewer, document=input.document, effective_from=input.effective_from,
                    category=enums.AccountCategory(input.category).value,
                    source_reference=input.source_reference,
                )  # fmt: skip
            except TariffVersionError as exc:
                raise Refused("TARIFF_INVALID", str(exc), field="document") from None
            return TariffVersionSuccess(
                tariff=await Tariff.get(id=stored.tariff_id),  # type: ignore[arg-type]
                version=await TariffVersion.get(id=stored.version_id),  # type: ignore[arg-type]
                closed_previous_version=stored.closed_previous,
            )

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Put an account on a tariff from a date (closes its current assignment).",
        extensions=requires(Operation.ASSIGN_TARIFFS),
    )
    async def assign_tariff(self, info: Info, input: AssignTariffInput) -> TariffAssignmentResult:
        viewer = info.context.viewer

        async def work() -> Any:
            account = await Account.get_or_none(
                id=id_or_refuse(input.account_id, "account", "accountId")
            )
            if account is None:
                raise Refused("NOT_FOUND", "account not found", field="accountId")
            try:
                tariff = await assign(
                    viewer, account_number=account.number, tariff_code=input.tariff_code.strip(),
                    effective_from=input.effective_from,
                )  # fmt: skip
            except TariffVersionError as exc:
                raise Refused("INVALID_INPUT", str(exc), field="tariffCode") from None
            return TariffAssignmentSuccess(
                account_id=strawberry.ID(str(account.id)),
                tariff=tariff,  # type: ignore[arg-type]
                effective_from=input.effective_from,
            )

        return await result(work, lambda s: s, OperationError)

    @mutation(extensions=requires(Operation.WRITE_ROUTES))
    async def assign_route_reader(self, info: Info, input: AssignRouteReaderInput) -> RouteResult:
        return await result(
            lambda: routes.assign_reader(
                info.context.viewer,
                route_id=id_or_refuse(input.route_id, "route", "routeId"),
                reader_id=id_or_refuse(input.reader_id, "user", "readerId")
                if input.reader_id
                else None,
            ),
            lambda r: RouteSuccess(route=r),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(extensions=requires(Operation.WRITE_ROUTES))
    async def add_route_stop(self, info: Info, input: AddRouteStopInput) -> RouteStopResult:
        return await result(
            lambda: routes.add_stop(
                info.context.viewer,
                route_id=id_or_refuse(input.route_id, "route", "routeId"),
                meter_id=id_or_refuse(input.meter_id, "meter", "meterId"),
                sequence=input.sequence,
            ),
            lambda s: RouteStopSuccess(stop=s),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(extensions=requires(Operation.WRITE_ROUTES))
    async def remove_route_stop(self, info: Info, input: RemoveRouteStopInput) -> RouteStopResult:
        return await result(
            lambda: routes.remove_stop(
                info.context.viewer, stop_id=id_or_refuse(input.stop_id, "route stop", "stopId")
            ),
            lambda s: RouteStopSuccess(stop=s),  # type: ignore[arg-type]
            OperationError,
        )
