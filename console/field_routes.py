"""Routes and readers: who walks which route, the order of its stops, and the devices
readers carry with their recent sync batches.

Assigning a reader and reordering a stop call ``services.field.routes.assign_reader``
and ``services.field.office.reorder_stop`` (what GraphQL calls), audited as the staff
member.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form, number_arg
from console.session import Staff
from domain.enums import Role
from services.errors import NotFound
from services.field.office import reorder_stop
from services.field.routes import assign_reader
from store.models import FieldDevice, Route, RouteStop, SyncBatch, User

BATCHES_SHOWN = 10


async def routes_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    routes = await Route.all().order_by("code").prefetch_related("cycle", "reader")
    stops: dict[int, int] = {}
    for route_id in await RouteStop.filter(removed_at__isnull=True).values_list(
        "route_id", flat=True
    ):
        stops[int(route_id)] = stops.get(int(route_id), 0) + 1  # type: ignore[call-overload]
    devices = await FieldDevice.all().order_by("name").prefetch_related("reader")
    batches = {
        d.id: await SyncBatch.filter(device_id=d.id).order_by("-id").limit(BATCHES_SHOWN)
        for d in devices
    }
    return console.render(
        "routes.html", staff, routes=routes, stops=stops, devices=devices, batches=batches,
        readers=await User.filter(role=Role.METER_READER, is_active=True).order_by("full_name"),
        zone=console.settings.zone, done=request.query_params.get("done", ""),
    )  # fmt: skip


async def route_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    route = await Route.get_or_none(id=int(request.path_params["route_id"])).prefetch_related(
        "cycle", "reader"
    )
    if route is None:
        raise NotFound("route")
    stops = (
        await RouteStop.filter(route_id=route.id, removed_at__isnull=True)
        .order_by("sequence", "id")
        .prefetch_related("meter")
    )
    return console.render(
        "route.html", staff, route=route, stops=stops, done=request.query_params.get("done", "")
    )


async def assign(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    route_id = int(request.path_params["route_id"])
    chosen = form.get("reader", "").strip()
    reader_id = number_arg(chosen, "reader") if chosen else None
    await assign_reader(staff.viewer, route_id=route_id, reader_id=reader_id)
    return RedirectResponse("/console/routes?done=assigned", status_code=303)


async def reorder(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    try:
        sequence = int(form.get("sequence", "").strip())
    except ValueError:
        sequence = -1  # refused by the service with its own message
    stop = await reorder_stop(
        staff.viewer, stop_id=int(request.path_params["stop_id"]), sequence=sequence
    )
    route_id = stop.route_id  # type: ignore[attr-defined]
    return RedirectResponse(f"/console/routes/{route_id}?done=reordered", status_code=303)
