"""Reading routes for staff: who walks a route, and which meters are on it in what order.

A meter leaves a route as a tombstone (``removed_at`` set, ``active_meter`` cleared) so
the field app learns of it at its next sync; ``active_meter`` is unique, so a meter is on
one route at a time on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.enums import Role
from services import audit
from services.errors import NotFound, Refused
from services.viewer import Viewer
from store.models import Meter, Route, RouteStop, User


async def assign_reader(viewer: Viewer, *, route_id: int, reader_id: int | None) -> Route:
    async with in_transaction():
        route = await Route.get_or_none(id=route_id)
        if route is None:
            raise NotFound("route", field="routeId")
        if reader_id is not None:
            reader = await User.get_or_none(id=reader_id)
            if reader is None or reader.role != Role.METER_READER or not reader.is_active:
                raise Refused(
                    "INVALID_INPUT", "that user is not an active meter reader", field="readerId"
                )
        before = route.reader_id  # type: ignore[attr-defined]
        await Route.filter(id=route_id).update(reader_id=reader_id)
        await audit.record(
            viewer=viewer, action="route.reader_assigned", entity="route", entity_id=route_id,
            before={"reader_id": before}, after={"reader_id": reader_id},
        )  # fmt: skip
        return await Route.get(id=route_id)


async def add_stop(
    viewer: Viewer, *, route_id: int, meter_id: int, sequence: int | None
) -> RouteStop:
    """Put a meter on a route (at the end unless ``sequence`` is given)."""
    async with in_transaction():
        if not await Route.exists(id=route_id):
            raise NotFound("route", field="routeId")
        if not await Meter.exists(id=meter_id):
            raise NotFound("meter", field="meterId")
        if await RouteStop.exists(active_meter=meter_id):
            raise Refused(
                "CONFLICT",
                "the meter is already on a route: remove it there first",
                field="meterId",
            )
        if sequence is None:
            last = await RouteStop.filter(route_id=route_id).order_by("-sequence").first()
            sequence = (last.sequence + 10) if last else 10
        try:
            stop = await RouteStop.create(
                route_id=route_id, meter_id=meter_id, active_meter=meter_id, sequence=sequence
            )
        except IntegrityError:
            raise Refused("CONFLICT", "the meter is already on a route", field="meterId") from None
        await audit.record(
            viewer=viewer, action="route.stop_added", entity="route", entity_id=route_id,
            after={"meter_id": meter_id, "sequence": sequence},
        )  # fmt: skip
    return stop


async def remove_stop(viewer: Viewer, *, stop_id: int) -> RouteStop:
    async with in_transaction():
        stop = await RouteStop.get_or_none(id=stop_id, removed_at__isnull=True)
        if stop is None:
            raise NotFound("route stop", field="stopId")
        now = datetime.now(UTC)
        await RouteStop.filter(id=stop_id).update(removed_at=now, active_meter=None)
        await audit.record(
            viewer=viewer, action="route.stop_removed", entity="route", entity_id=stop.route_id,  # type: ignore[attr-defined]
            before={"meter_id": stop.meter_id, "sequence": stop.sequence},  # type: ignore[attr-defined]
        )  # fmt: skip
        stop.removed_at = now
    return stop
