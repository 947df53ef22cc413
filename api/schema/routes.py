"""Reading routes and their stops, and the inputs and results of the staff mutations that
hand a route to a reader and add or remove its stops."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import OperationError
from api.schema.decorators import field
from api.schema.identity import UserType
from api.schema.meters import MeterType

Info = strawberry.Info[Context, None]


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


# --- mutations: results and inputs -------------------------------------------------------


@strawberry.type
class RouteSuccess:
    route: RouteType


@strawberry.type
class RouteStopSuccess:
    stop: RouteStopType


RouteResult = Annotated[RouteSuccess | OperationError, strawberry.union("RouteResult")]
RouteStopResult = Annotated[RouteStopSuccess | OperationError, strawberry.union("RouteStopResult")]


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
