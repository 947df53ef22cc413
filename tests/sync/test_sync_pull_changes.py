"""Every change to what a device should hold reaches it on its next incremental pull.

Each test downloads the reader's routes, makes one kind of change the way the office
makes it (the same services GraphQL and the CLI call), and pulls again from the cursor:
the change must be there, and nothing else the device did not need. The database notices
the changes itself (migration ``0004_sync_promises``), so these hold whichever door made
the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sync_helpers import STAFF, ZONE, World, hand_over, move_meter

from domain.enums import (
    AccountStatus,
    MeterKind,
    MeterStatus,
    ReadQuality,
    ReadSource,
    RegisterUnit,
)
from services.field import office, routes
from services.meter_data import meters
from store.models import Account, FieldDevice, Premise, RegisterRead, RouteStop
from sync.pull import BadLimit, pull
from tests import factories as f

pytestmark = pytest.mark.usefixtures("db")


async def pull_all(device: FieldDevice, cursor: str | None = None) -> tuple[dict[str, Any], str]:
    """Every page from ``cursor`` on, merged: stops by id, tombstones and messages."""
    merged: dict[str, Any] = {"stops": {}, "tombstones": set(), "messages": []}
    while True:
        device = await FieldDevice.get(id=device.id)
        page = await pull(device, cursor, zone=ZONE, settle_s=0, limit=2)
        for stop in page["stops"]:
            merged["stops"][stop["stop_id"]] = stop
        merged["tombstones"] |= {t["stop_id"] for t in page["tombstones"]}
        merged["messages"] += page["messages"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return merged, cursor


async def downloaded(world: World, name: str = "a") -> str:
    first, cursor = await pull_all(world.devices[name])
    assert first["stops"], "the reader's route arrives on the first download"
    return cursor


async def test_a_stop_added_removed_and_reordered(world: World) -> None:
    cursor = await downloaded(world)
    spare = await f.meter(serial="M-SPARE", status=MeterStatus.IN_STORE)
    added = await routes.add_stop(STAFF, route_id=world.route.id, meter_id=spare.id, sequence=None)
    changes, cursor = await pull_all(world.devices["a"], cursor)
    assert set(changes["stops"]) == {added.id} and not changes["tombstones"]

    first_stop = await RouteStop.get(active_meter=world.meters[0].id)
    await office.reorder_stop(STAFF, stop_id=first_stop.id, sequence=999)
    changes, cursor = await pull_all(world.devices["a"], cursor)
    assert changes["stops"][first_stop.id]["sequence"] == 999

    await routes.remove_stop(STAFF, stop_id=added.id)
    changes, cursor = await pull_all(world.devices["a"], cursor)
    assert changes["tombstones"] == {added.id} and not changes["stops"]
    quiet, _ = await pull_all(world.devices["a"], cursor)
    assert not quiet["stops"] and not quiet["tombstones"]


async def test_a_route_handed_to_another_reader(world: World) -> None:
    old = await downloaded(world, "a")
    new = await downloaded(world, "c")
    mine = {s.id for s in await RouteStop.filter(route_id=world.route.id)}
    await hand_over(route_id=world.route.id, reader_id=world.other_reader.id)

    gone, _ = await pull_all(world.devices["a"], old)
    assert gone["tombstones"] == mine and not gone["stops"]
    got, cursor = await pull_all(world.devices["c"], new)
    assert set(got["stops"]) == mine and not got["tombstones"]
    # Reads pushed later on the handed-over route reach the new reader, not the old one.
    await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=world.registers[0], value_milli=10_400_000,
        read_at=datetime.now(UTC) - timedelta(hours=1), source=ReadSource.MANUAL,
        quality=ReadQuality.VALID, received_at=datetime.now(UTC),
    )  # fmt: skip
    again, _ = await pull_all(world.devices["c"], cursor)
    assert set(again["stops"]) == {(await RouteStop.get(active_meter=world.meters[0].id)).id}


async def test_a_device_hears_nothing_of_routes_it_never_held(world: World) -> None:
    cursor = await downloaded(world, "a")
    await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=world.other_register, value_milli=10_500_000,
        read_at=datetime.now(UTC) - timedelta(hours=1), source=ReadSource.MANUAL,
        quality=ReadQuality.VALID, received_at=datetime.now(UTC),
    )  # fmt: skip
    quiet, _ = await pull_all(world.devices["a"], cursor)
    assert not quiet["stops"] and not quiet["tombstones"]


async def test_meter_and_register_changes(world: World) -> None:
    cursor = await downloaded(world)
    device = world.devices["a"]
    meter = world.meters[0]
    stop = await RouteStop.get(active_meter=meter.id)
    spec = meters.RegisterSpec("2.8.0", RegisterUnit.KWH)
    await meters.add_register(STAFF, meter_id=meter.id, spec=spec)
    changes, cursor = await pull_all(device, cursor)
    assert [r["obis_code"] for r in changes["stops"][stop.id]["registers"]] == ["1.8.0", "2.8.0"]
    export = next(r for r in changes["stops"][stop.id]["registers"] if r["obis_code"] == "2.8.0")
    assert export["is_billing"] is True
    await meters.remove_register(STAFF, register_id=export["id"])
    changes, cursor = await pull_all(device, cursor)
    registers = {r["obis_code"]: r["is_billing"] for r in changes["stops"][stop.id]["registers"]}
    assert registers == {"1.8.0": True, "2.8.0": False}

    new_meter = await f.meter(serial="M-NEW", kind=MeterKind.PROBE, status=MeterStatus.IN_STORE)
    await meters.add_register(
        STAFF, meter_id=new_meter.id, spec=meters.RegisterSpec("1.8.0", RegisterUnit.KWH)
    )
    at = datetime.now(UTC) - timedelta(minutes=5)
    await meters.replace_meter(STAFF, old_meter_id=meter.id, new_meter_id=new_meter.id, at=at)
    changes, cursor = await pull_all(device, cursor)
    assert stop.id in changes["tombstones"]
    [replacement] = changes["stops"].values()
    assert replacement["meter"]["serial"] == "M-NEW" and replacement["sequence"] == stop.sequence
    assert replacement["account"]["number"] == "A0000"

    removed = await RouteStop.get(active_meter=world.meters[1].id)
    await meters.remove_meter(STAFF, meter_id=world.meters[1].id, at=datetime.now(UTC))
    changes, cursor = await pull_all(device, cursor)
    assert removed.id in changes["tombstones"] and removed.id not in changes["stops"]


async def test_account_premise_and_expected_range_changes(world: World) -> None:
    cursor = await downloaded(world)
    device = world.devices["a"]
    stop = await RouteStop.get(active_meter=world.meters[2].id)
    account = await Account.get(number="A0002")

    await Account.filter(id=account.id).update(status=AccountStatus.CLOSED)
    changes, cursor = await pull_all(device, cursor)
    assert changes["stops"][stop.id]["account"]["status"] == "closed"

    await Premise.filter(code="P2").update(access_notes="key under the mat")
    changes, cursor = await pull_all(device, cursor)
    assert changes["stops"][stop.id]["premise"]["access_notes"] == "key under the mat"

    before = changes["stops"][stop.id]["registers"][0]
    await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=world.registers[2], value_milli=10_900_000,
        read_at=datetime.now(UTC) - timedelta(hours=2), source=ReadSource.SMART,
        quality=ReadQuality.VALID, received_at=datetime.now(UTC),
    )  # fmt: skip
    changes, cursor = await pull_all(device, cursor)
    after = changes["stops"][stop.id]["registers"][0]
    assert after["last_read"]["value_milli"] == 10_900_000
    assert after["expected"] != before["expected"]
    assert set(changes["stops"]) == {stop.id}


async def test_messages_to_a_reader_and_to_one_device(world: World) -> None:
    cursor_a = await downloaded(world, "a")
    cursor_b = await downloaded(world, "b")
    await office.send_message(STAFF, reader_id=world.reader.id, body="Gate code 4321")
    only_b = world.devices["b"].device_uid
    await office.send_message(
        STAFF, reader_id=world.reader.id, body="Charge your probe", device_uid=only_b
    )
    got_a, _ = await pull_all(world.devices["a"], cursor_a)
    got_b, _ = await pull_all(world.devices["b"], cursor_b)
    assert [m["body"] for m in got_a["messages"]] == ["Gate code 4321"]
    assert [m["body"] for m in got_b["messages"]] == ["Gate code 4321", "Charge your probe"]
    device = await FieldDevice.get(id=world.devices["a"].id)
    assert device.last_pull_at is not None and device.pull_cursor


async def test_a_moved_meter_and_an_out_of_range_limit(world: World) -> None:
    cursor = await downloaded(world)
    old = await RouteStop.get(active_meter=world.meters[1].id)
    new = await move_meter(meter_id=world.meters[1].id, route_id=world.other_route.id, sequence=5)
    changes, _ = await pull_all(world.devices["a"], cursor)
    assert changes["tombstones"] == {old.id} and new.id not in changes["stops"]
    for bad in (0, 1001):
        with pytest.raises(BadLimit):
            await pull(world.devices["a"], cursor, zone=ZONE, limit=bad)
