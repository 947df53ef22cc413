"""Reading routes: staff list them, hand them to readers and add or remove stops; a
meter reader sees their own."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.errors import not_found
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, result
from api.schema.common import Connection, OperationError
from api.schema.decorators import field, mutation
from api.schema.routes import (
    AddRouteStopInput,
    AssignRouteReaderInput,
    RemoveRouteStopInput,
    RouteResult,
    RouteStopResult,
    RouteStopSuccess,
    RouteSuccess,
    RouteType,
)
from domain.access import Operation
from services.field import routes
from store.models import Route

Info = strawberry.Info[Context, None]


@strawberry.type
class RouteQueries:
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


@strawberry.type
class RouteMutations:
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
