"""The final state does not depend on the order in which devices push (all permutations)."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sync_helpers import NOW, World, batch_body, push_body, read_item

from domain.enums import ReadQuality
from domain.field_conflicts import Rule
from services.meter_data.vee_pending import VEE_FLAGS
from store.models import (
    FieldVisit,
    RegisterRead,
    RegisterReadRevision,
    SyncBatch,
    SyncItem,
    ValidationException,
)


def batches(world: World) -> list[tuple[str, dict[str, Any]]]:
    r0, r1, r2 = world.registers
    a_r2 = read_item(r2, 10_402_000, NOW - timedelta(hours=4))
    a = batch_body(
        [
            read_item(r0, 10_450_000, NOW - timedelta(hours=3)),
            read_item(r1, 10_200_000, NOW - timedelta(hours=2)),  # lower than the last read
            a_r2,
            {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": a_r2["uuid"],
             "base_revision": 1, "value_milli": 10_420_000, "edited_at": NOW.isoformat()},
        ]
    )  # fmt: skip
    b = batch_body(
        [
            read_item(r0, 10_452_000, NOW - timedelta(hours=1)),  # same cycle, later: wins
            read_item(r0, 10_460_000, NOW - timedelta(hours=5)),  # makes a's r0 go backwards
            read_item(r1, 10_350_000, NOW - timedelta(hours=1)),
        ]
    )
    skewed = NOW - timedelta(minutes=10)
    c = batch_body(
        [
            read_item(r0, 10_451_000, skewed - timedelta(hours=2)),  # not on c's routes
            {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": world.meters[1].id,
             "visited_at": skewed.isoformat(), "skip_code": "no_access"},
            read_item(world.other_register, 10_400_000, skewed - timedelta(hours=1)),
        ],
        device_clock=skewed,
    )  # fmt: skip
    return [("a", a), ("b", b), ("c", c)]


async def snapshot() -> dict[str, Any]:
    reads = await RegisterRead.all().order_by("client_uuid").values(
        "client_uuid", "register_id", "value_milli", "read_at", "quality_flags", "revision",
        "quality", "device_captured_at", "source",
    )  # fmt: skip
    for r in reads:
        r["quality_flags"] = sorted(r["quality_flags"])
    revisions = (
        await RegisterReadRevision.all()
        .order_by("read__client_uuid", "revision")
        .values("read__client_uuid", "revision", "value_milli", "read_at")
    )
    visits = (
        await FieldVisit.all()
        .order_by("client_uuid")
        .values("client_uuid", "meter_id", "visited_at", "skip_code", "device_id")
    )
    return {"reads": reads, "revisions": revisions, "visits": visits}


async def reset(baseline: set[str]) -> None:
    await SyncItem.all().delete()
    await SyncBatch.all().delete()
    await FieldVisit.all().delete()
    await ValidationException.all().delete()
    await RegisterReadRevision.all().delete()
    await RegisterRead.exclude(client_uuid__in=list(baseline)).delete()
    await RegisterRead.all().update(quality_flags=[])


async def test_final_state_is_the_same_in_every_push_order(
    db: object, world: World, backend: str
) -> None:
    pg = backend == "postgres"
    baseline = {str(u) for u in await RegisterRead.all().values_list("client_uuid", flat=True)}
    plan = batches(world)
    states = []
    for order in itertools.permutations(plan):
        await reset(baseline)
        for name, body in order:
            await push_body(world.devices[name], body, postgres=pg)
        states.append(([name for name, _ in order], await snapshot()))
    first_order, first = states[0]
    for order, state in states[1:]:
        assert state == first, f"{order} differs from {first_order}"
    # And the state is the one the rules promise.
    # Sync flags as the rules promise; the VEE rules add their own (services.meter_data.vee_pending).
    flags = {
        str(r["client_uuid"]): [f for f in r["quality_flags"] if f not in VEE_FLAGS]
        for r in first["reads"]
    }
    quality = {str(r["client_uuid"]): r["quality"] for r in first["reads"]}
    a, b, c = (body["items"] for _, body in plan)
    assert quality[b[0]["uuid"]] == ReadQuality.VALID  # the cycle's winner
    assert quality[a[0]["uuid"]] == quality[a[1]["uuid"]] == ReadQuality.SUSPECT
    assert quality[b[1]["uuid"]] == ReadQuality.SUSPECT  # superseded in its cycle
    assert flags[a[0]["uuid"]] == sorted([Rule.SAME_CYCLE, Rule.SUPERSEDED, Rule.BACKWARDS])
    assert flags[b[0]["uuid"]] == sorted([Rule.SAME_CYCLE])  # the latest wins the cycle
    assert flags[a[1]["uuid"]] == sorted([Rule.BACKWARDS, Rule.SAME_CYCLE, Rule.SUPERSEDED])
    assert Rule.METER_MOVED in flags[c[0]["uuid"]] and Rule.CLOCK_SKEW in flags[c[0]["uuid"]]
    assert len(first["revisions"]) == 1 and len(first["visits"]) == 1
