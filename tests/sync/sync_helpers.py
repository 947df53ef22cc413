"""Helpers for the field sync tests: a small utility with two readers, their routes and
devices, batches to push, and the sync routes in a Starlette app."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.routing import Mount

from domain.access import Caller
from domain.enums import MeterStatus, Role
from domain.vee import VeeConfig
from gridbill.settings import Settings
from services.field import routes
from services.viewer import Viewer
from store.db import open_database
from store.models import BillingCycle, FieldDevice, Meter, Register, Route, RouteStop, User
from sync import devices
from sync.protocol import Batch, parse_batch
from sync.push import PushResult, push
from sync.routes import sync_routes
from tests import factories as f

ZONE = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
"""Tests push as if the server received every batch at this moment."""


@dataclass
class World:
    cycle: BillingCycle
    reader: User
    other_reader: User
    route: Route
    other_route: Route
    meters: list[Meter]
    registers: list[Register]
    other_meter: Meter
    other_register: Register
    devices: dict[str, FieldDevice] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)

    def auth(self, name: str) -> dict[str, str]:
        device = self.devices[name]
        return {"Authorization": f"Device {device.device_uid}:{self.credentials[name]}"}


async def _meter(
    n: int, cycle: BillingCycle, route: Route | None, digits: int = 5
) -> tuple[Meter, Register]:
    premise = {
        "code": f"P{n}", "address_line1": f"{n} MG Road", "state": "MH",
        "latitude": 18.5 + n / 1000, "longitude": 73.8,
        "access_notes": "dog in yard" if n == 0 else "",
    }  # fmt: skip
    site = await f.site(
        holder=False, number=f"A{n:04d}", point_code=f"SP{n}", premise=premise,
        billing_cycle=cycle, load_w=5000, serial=f"M{n:05d}", meter_status=MeterStatus.IN_STORE,
        ct=None, digits=digits,
    )  # fmt: skip
    meter, register = site.meter, site.register
    if route is not None:
        await RouteStop.create(
            route=route, meter=meter, active_meter=meter.id, sequence=10 * (n + 1)
        )
    # Two earlier monthly reads: the older one billed.
    for months_ago, value, billed in ((2, 10_000_000, True), (1, 10_300_000, False)):
        when = NOW - timedelta(days=30 * months_ago)
        await f.read(register, Decimal(value + n * 1000) / 1000, when, billed=billed)
    return meter, register


async def build_world(meter_count: int = 3) -> World:
    cycle = await BillingCycle.create(code="C05", name="Cycle 05", read_day=20)
    reader = await User.create(
        email="reader@gridbill.example", full_name="Reader One", role=Role.METER_READER
    )
    other = await User.create(
        email="reader2@gridbill.example", full_name="Reader Two", role=Role.METER_READER
    )
    route = await Route.create(code="R01", name="Route one", cycle=cycle, reader=reader)
    other_route = await Route.create(code="R02", name="Route two", cycle=cycle, reader=other)
    meters, registers = [], []
    for n in range(meter_count):
        m, r = await _meter(n, cycle, route)
        meters.append(m)
        registers.append(r)
    om, orr = await _meter(99, cycle, other_route)
    world = World(cycle, reader, other, route, other_route, meters, registers, om, orr)
    for name, email in (("a", reader.email), ("b", reader.email), ("c", other.email)):
        assert email is not None
        enrolled = await devices.enroll(reader_email=email, name=f"handset {name}")
        world.devices[name] = await FieldDevice.get(device_uid=enrolled.device_uid)
        world.credentials[name] = enrolled.credential
    return world


STAFF = Viewer(caller=Caller(role=Role.STAFF), label="staff:test")


async def move_meter(*, meter_id: int, route_id: int, sequence: int) -> RouteStop:
    """Move a meter to another route as the office does: remove its stop, add a new one."""
    old = await RouteStop.get(active_meter=meter_id)
    await routes.remove_stop(STAFF, stop_id=old.id)
    return await routes.add_stop(STAFF, route_id=route_id, meter_id=meter_id, sequence=sequence)


async def hand_over(*, route_id: int, reader_id: int | None) -> Route:
    return await routes.assign_reader(STAFF, route_id=route_id, reader_id=reader_id)


def read_item(
    register: Register,
    value_milli: int,
    captured_at: datetime,
    *,
    item_uuid: uuid.UUID | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": "read", "uuid": str(item_uuid or uuid.uuid4()), "register_id": register.id,
        "value_milli": value_milli, "captured_at": captured_at.isoformat(), "source": "manual", **extra,
    }  # fmt: skip


def batch_body(items: list[dict[str, Any]], *, batch_id: uuid.UUID | None = None,
               device_clock: datetime = NOW, time_zone: str = "Asia/Kolkata") -> dict[str, Any]:  # fmt: skip
    return {
        "protocol": 1,
        "batch_id": str(batch_id or uuid.uuid4()),
        "device_clock": device_clock.astimezone(ZoneInfo(time_zone)).isoformat(),
        "time_zone": time_zone,
        "app_version": "test",
        "items": items,
    }


def as_batch(body: dict[str, Any]) -> Batch:
    import json

    return parse_batch(json.dumps(body).encode())


async def push_body(
    device: FieldDevice, body: dict[str, Any], *, postgres: bool, received_at: datetime = NOW
) -> PushResult:
    return await push(
        device, as_batch(body), zone=ZONE, postgres=postgres, received_at=received_at,
        vee_config=VeeConfig(),
    )  # fmt: skip


def app_for(settings: Settings) -> Starlette:
    """The sync routes alone, with pulls seeing changes at once (no settle delay)."""
    settings = dataclasses.replace(settings, sync_pull_settle_s=0)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_database(settings.database_url, pool_max=settings.db_pool_max):
            yield {}

    return Starlette(routes=[Mount("/sync", routes=sync_routes(settings))], lifespan=lifespan)
