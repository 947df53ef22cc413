"""Push through the use case: results per item, exactly once, every conflict rule end to end."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sync_helpers import NOW, ZONE, World, batch_body, push_body, read_item

from domain.enums import ReadQuality, ReadSource, SyncItemResult
from domain.field_conflicts import Rule
from store.models import FieldVisit, RegisterRead, RegisterReadRevision, SyncBatch, SyncItem
from sync.batches import BatchConflict

pytestmark = pytest.mark.usefixtures("db")


def results(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["result"] for r in result.results]


async def test_accepted_duplicate_and_replay(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0 = world.registers[0]
    item = read_item(r0, 10_450_000, NOW - timedelta(hours=2), latitude=18.5, longitude=73.8)
    body = batch_body([item])
    first = await push_body(world.devices["a"], body, postgres=pg)
    assert results(first) == ["accepted"] and not first.replayed
    assert first.results[0]["replayed"] is False
    read = await RegisterRead.get(client_uuid=item["uuid"])
    assert read.value_milli == 10_450_000 and read.source == ReadSource.MANUAL
    # Judged by the register-read VEE rules once the push is committed (services.meter_data.vee_pending).
    assert read.quality == ReadQuality.VALID and read.latitude == 18.5
    assert read.device_id == world.devices["a"].id  # type: ignore[attr-defined]

    again = await push_body(world.devices["a"], body, postgres=pg)
    assert again.replayed and again.results[0]["replayed"] is True
    assert {**again.results[0], "replayed": False} == first.results[0]
    assert (await SyncBatch.get(batch_uuid=body["batch_id"])).replay_count == 1

    # The same read in a new batch (the device lost the answer and rebuilt its batch).
    other = await push_body(world.devices["a"], batch_body([item]), postgres=pg)
    assert results(other) == ["duplicate"]
    assert await RegisterRead.filter(client_uuid=item["uuid"]).count() == 1


async def test_same_batch_id_with_other_content_is_refused(world: World, backend: str) -> None:
    pg = backend == "postgres"
    batch_id = uuid.uuid4()
    r0 = world.registers[0]
    await push_body(
        world.devices["a"],
        batch_body([read_item(r0, 10_450_000, NOW)], batch_id=batch_id),
        postgres=pg,
    )
    with pytest.raises(BatchConflict):
        await push_body(
            world.devices["a"],
            batch_body([read_item(r0, 10_460_000, NOW)], batch_id=batch_id),
            postgres=pg,
        )
    # Batch ids are per device: another device may use the same one.
    other = await push_body(
        world.devices["b"],
        batch_body([read_item(r0, 10_470_000, NOW)], batch_id=batch_id),
        postgres=pg,
    )
    assert results(other) == ["conflict_resolved"]


async def test_one_bad_item_does_not_block_the_others(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0, r1 = world.registers[0], world.registers[1]
    items = [
        read_item(r0, 10_450_000, NOW - timedelta(hours=1)),
        {"kind": "read", "uuid": "not-a-uuid"},
        read_item(r1, 999_999_999_999, NOW),  # more digits than the register has
        {
            "kind": "read",
            "uuid": str(uuid.uuid4()),
            "register_id": 999_999,
            "value_milli": 1,
            "captured_at": NOW.isoformat(),
        },
        {"kind": "teleport", "uuid": str(uuid.uuid4())},
        read_item(r1, 10_500_000, NOW - timedelta(minutes=30)),
    ]
    result = await push_body(world.devices["a"], batch_body(items), postgres=pg)
    assert results(result) == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    codes = [r["detail"].get("code") for r in result.results]
    assert codes[1:5] == ["bad_uuid", "too_many_digits", "unknown_register", "bad_kind"]
    assert all(r["detail"].get("message") for r in result.results[1:5])
    assert await SyncItem.filter(batch__batch_uuid=result.batch_uuid).count() == 6


async def test_resuming_a_batch_cut_off_midway(world: World, backend: str) -> None:
    """Items already applied are answered from the record; the rest are applied now."""
    pg = backend == "postgres"
    items = [
        read_item(r, 10_450_000 + i, NOW - timedelta(hours=1))
        for i, r in enumerate(world.registers)
    ]
    body = batch_body(items)
    first = await push_body(world.devices["a"], body, postgres=pg)
    # Simulate a crash after the first item: forget the later items and their reads.
    batch = await SyncBatch.get(batch_uuid=body["batch_id"])
    await SyncItem.filter(batch_id=batch.id, position__gte=1).delete()
    await RegisterRead.filter(client_uuid__in=[i["uuid"] for i in items[1:]]).delete()
    await SyncBatch.filter(id=batch.id).update(completed_at=None)
    resumed = await push_body(
        world.devices["a"], body, postgres=pg, received_at=NOW + timedelta(seconds=30)
    )
    assert [r["replayed"] for r in resumed.results] == [True, False, False]
    assert results(resumed) == results(first) == ["accepted"] * 3
    # The stored clock offset of the first push is used for the rest.
    stored = await RegisterRead.get(client_uuid=items[2]["uuid"])
    assert stored.read_at == NOW - timedelta(hours=1)


async def test_two_devices_read_one_register_in_the_same_cycle(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0 = world.registers[0]
    early = read_item(r0, 10_450_000, NOW - timedelta(hours=3))
    late = read_item(r0, 10_452_000, NOW - timedelta(hours=1))
    first = await push_body(world.devices["a"], batch_body([late]), postgres=pg)
    assert results(first) == ["accepted"]
    second = await push_body(world.devices["b"], batch_body([early]), postgres=pg)
    assert results(second) == ["conflict_resolved"]
    assert second.results[0]["rule"] == Rule.SAME_CYCLE
    assert second.results[0]["detail"]["winner"]["read_uuid"] == late["uuid"]
    kept_late = await RegisterRead.get(client_uuid=late["uuid"])
    kept_early = await RegisterRead.get(client_uuid=early["uuid"])
    assert kept_late.quality_flags == [Rule.SAME_CYCLE]
    assert kept_early.quality_flags == sorted([Rule.SAME_CYCLE, Rule.SUPERSEDED])


async def test_read_older_than_the_last_billed_read(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0 = world.registers[0]
    old = read_item(r0, 9_900_000, NOW - timedelta(days=75))
    result = await push_body(world.devices["a"], batch_body([old]), postgres=pg)
    assert results(result) == ["conflict_resolved"]
    assert result.results[0]["rule"] == Rule.OLDER_THAN_BILLED
    assert result.results[0]["detail"]["winner"]["value_milli"] == 10_000_000
    stored = await RegisterRead.get(client_uuid=old["uuid"])
    assert Rule.OLDER_THAN_BILLED in stored.quality_flags


async def test_lower_read_is_an_error_or_a_rollover(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0, r1 = world.registers[0], world.registers[1]
    typo = read_item(r0, 10_200_000, NOW - timedelta(hours=1))
    result = await push_body(world.devices["a"], batch_body([typo]), postgres=pg)
    assert result.results[0]["rule"] == Rule.BACKWARDS
    assert result.results[0]["detail"]["winner"]["value_milli"] == 10_300_000
    # A 5-digit register near 99,999 kWh wrapping to 50 kWh: 30 days at 5 kW allows 3,600 kWh.
    await RegisterRead.filter(register_id=r1.id, billed=False).update(value_milli=99_990_000)
    wrap = read_item(r1, 50_000, NOW - timedelta(hours=1))
    result = await push_body(world.devices["a"], batch_body([wrap]), postgres=pg)
    assert result.results[0]["rule"] == Rule.ROLLOVER
    assert result.results[0]["detail"]["usage_milli"] == 100_000_000 - 99_990_000 + 50_000


async def test_meter_moved_to_another_route_while_offline(world: World, backend: str) -> None:
    pg = backend == "postgres"
    item = read_item(world.other_register, 10_450_000, NOW - timedelta(hours=1))
    skip = {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": world.other_meter.id,
            "visited_at": NOW.isoformat(), "skip_code": "no_access"}  # fmt: skip
    result = await push_body(world.devices["a"], batch_body([item, skip]), postgres=pg)
    assert results(result) == ["conflict_resolved", "conflict_resolved"]
    assert {r["rule"] for r in result.results} == {Rule.METER_MOVED}
    assert result.results[0]["detail"]["winner"] == {"route": "R02"}
    assert await RegisterRead.filter(client_uuid=item["uuid"]).exists()
    assert await FieldVisit.filter(client_uuid=skip["uuid"]).exists()


async def test_clock_skew_is_corrected_and_flagged(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0, r1 = world.registers[0], world.registers[1]
    # The handset runs 2 hours slow: it thinks it is NOW - 2h when the server gets the push.
    slow_clock = NOW - timedelta(hours=2)
    item = read_item(r0, 10_450_000, slow_clock - timedelta(hours=1))
    result = await push_body(
        world.devices["a"], batch_body([item], device_clock=slow_clock), postgres=pg
    )
    assert result.clock_offset_s == 7200
    assert result.results[0]["rule"] == Rule.CLOCK_SKEW
    stored = await RegisterRead.get(client_uuid=item["uuid"])
    assert stored.read_at == NOW - timedelta(hours=1)
    assert stored.device_captured_at == slow_clock - timedelta(hours=1)
    assert stored.quality_flags == [Rule.CLOCK_SKEW]
    # Within 5 minutes: corrected but not flagged.
    item = read_item(r1, 10_450_000, NOW - timedelta(hours=1))
    result = await push_body(
        world.devices["a"], batch_body([item], device_clock=NOW - timedelta(minutes=4)), postgres=pg
    )
    assert result.results[0]["result"] == "accepted" and result.clock_offset_s == 240
    # A capture time in the future even after correction is refused.
    future = read_item(r1, 10_460_000, NOW + timedelta(hours=1))
    result = await push_body(world.devices["a"], batch_body([future]), postgres=pg)
    assert result.results[0]["detail"]["code"] == "capture_in_future"


async def test_edits_of_own_reads(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0 = world.registers[0]
    read = read_item(r0, 10_450_000, NOW - timedelta(hours=2))
    await push_body(world.devices["a"], batch_body([read]), postgres=pg)
    edit = {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": read["uuid"], "base_revision": 1,
            "value_milli": 10_540_000, "edited_at": NOW.isoformat(), "notes": "misread 4 as 5"}  # fmt: skip
    body = batch_body([edit])
    result = await push_body(world.devices["a"], body, postgres=pg)
    assert results(result) == ["accepted"] and result.results[0]["detail"]["revision"] == 2
    stored = await RegisterRead.get(client_uuid=read["uuid"])
    assert (
        stored.value_milli == 10_540_000
        and stored.revision == 2
        and stored.notes == "misread 4 as 5"
    )
    assert await RegisterReadRevision.filter(
        read_id=stored.id, revision=1, value_milli=10_450_000
    ).exists()
    # The same edit again in a new batch: a duplicate, not a third revision.
    again = await push_body(world.devices["a"], batch_body([edit]), postgres=pg)
    assert results(again) == ["duplicate"]
    assert (await RegisterRead.get(client_uuid=read["uuid"])).revision == 2
    # Another device may not edit it.
    theirs = {**edit, "uuid": str(uuid.uuid4())}
    result = await push_body(world.devices["b"], batch_body([theirs]), postgres=pg)
    assert result.results[0]["detail"]["code"] == "not_your_read"


async def test_edit_of_a_staff_edited_or_billed_read(world: World, backend: str) -> None:
    pg = backend == "postgres"
    r0, r1 = world.registers[0], world.registers[1]
    read = read_item(r0, 10_450_000, NOW - timedelta(hours=2))
    billed = read_item(r1, 10_450_000, NOW - timedelta(hours=2))
    await push_body(world.devices["a"], batch_body([read, billed]), postgres=pg)
    await RegisterRead.filter(client_uuid=read["uuid"]).update(
        value_milli=10_455_000, revision=2, quality=ReadQuality.EDITED
    )
    await RegisterRead.filter(client_uuid=billed["uuid"]).update(billed=True)

    def edit(target: dict, value: int) -> dict:  # type: ignore[type-arg]
        return {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": target["uuid"], "base_revision": 1,
                "value_milli": value, "edited_at": NOW.isoformat()}  # fmt: skip

    result = await push_body(
        world.devices["a"],
        batch_body([edit(read, 10_460_000), edit(billed, 10_470_000)]),
        postgres=pg,
    )
    assert results(result) == ["conflict_resolved", "conflict_resolved"]
    assert [r["rule"] for r in result.results] == [Rule.EDIT_STAFF, Rule.EDIT_BILLED]
    assert result.results[0]["detail"]["winner"]["value_milli"] == 10_455_000
    assert result.results[1]["detail"]["winner"]["value_milli"] == 10_450_000
    assert (await RegisterRead.get(client_uuid=read["uuid"])).value_milli == 10_455_000


async def test_skip_codes_are_recorded_once(world: World, backend: str) -> None:
    pg = backend == "postgres"
    skip = {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": world.meters[0].id,
            "visited_at": NOW.isoformat(), "skip_code": "meter_damaged", "notes": "glass broken"}  # fmt: skip
    bad = {**skip, "uuid": str(uuid.uuid4()), "skip_code": "bored"}
    result = await push_body(world.devices["a"], batch_body([skip, bad]), postgres=pg)
    assert results(result) == ["accepted", "rejected"]
    assert result.results[1]["detail"]["code"] == "bad_skip_code"
    again = await push_body(world.devices["a"], batch_body([skip]), postgres=pg)
    assert results(again) == ["duplicate"]
    visit = await FieldVisit.get(client_uuid=skip["uuid"])
    assert visit.skip_code == "meter_damaged" and visit.notes == "glass broken"


async def test_results_are_kept_for_support(world: World, backend: str) -> None:
    from sync.support import batch_items, device_batches

    pg = backend == "postgres"
    body = batch_body(
        [read_item(world.registers[0], 10_450_000, NOW), {"kind": "read", "uuid": "x"}]
    )
    await push_body(world.devices["a"], body, postgres=pg)
    await push_body(world.devices["a"], body, postgres=pg)
    uid = world.devices["a"].device_uid
    [batch] = await device_batches(device_uid=uid)
    assert batch["replay_count"] == 1 and batch["results"] == {"accepted": 1, "rejected": 1}
    items = await batch_items(device_uid=uid, batch_uuid=body["batch_id"])
    assert [i["result"] for i in items] == [SyncItemResult.ACCEPTED, SyncItemResult.REJECTED]
    assert items[0]["payload"] == body["items"][0]


async def test_the_same_batch_pushed_twice_at_once(world: World, backend: str) -> None:
    """Two requests with one batch race (a retry while the first is still running):
    every read is stored once and both answers agree item by item."""
    import asyncio

    pg = backend == "postgres"
    items = [
        read_item(
            world.registers[i % 3], 10_400_000 + i * 1000, NOW - timedelta(hours=1, minutes=60 - i)
        )
        for i in range(60)
    ]
    body = batch_body(items)
    first, second = await asyncio.gather(
        push_body(world.devices["a"], body, postgres=pg),
        push_body(world.devices["a"], body, postgres=pg),
    )
    assert sorted([first.replayed, second.replayed]) == [False, True]
    for a, b in zip(first.results, second.results, strict=True):
        assert {**a, "replayed": None} == {**b, "replayed": None}
    assert await RegisterRead.filter(client_uuid__in=[i["uuid"] for i in items]).count() == 60
    assert await SyncItem.filter(batch__batch_uuid=body["batch_id"]).count() == 60


async def test_pull_holds_back_changes_until_they_settle(world: World) -> None:
    from datetime import UTC, datetime

    from sync.pull import decode_cursor, pull

    device = world.devices["a"]
    now = datetime.now(UTC)
    early = await pull(device, None, zone=ZONE, settle_s=5, now=now)
    assert early["stops"] == [] and not early["has_more"]
    assert decode_cursor(early["cursor"]).full  # still waiting for the first download
    later = await pull(
        device, early["cursor"], zone=ZONE, settle_s=5, now=now + timedelta(seconds=6)
    )
    assert len(later["stops"]) == 3 and later["tombstones"] == []
    assert not decode_cursor(later["cursor"]).full
