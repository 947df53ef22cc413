"""Field reads pushed through the sync go through the register-read VEE rules, and bill."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest
from sync_helpers import NOW, ZONE, World, batch_body, push_body, read_item

from domain.enums import ExceptionStatus, ReadQuality, ReadSource, Role
from domain.field_conflicts import Rule as SyncRule
from domain.vee import DEFAULT_CONFIG, Rule
from jobs.registry import load_tasks
from services.field import pushed_reads
from services.meter_data import vee_pending
from store.models import (
    Bill,
    BillRead,
    FieldDevice,
    RegisterRead,
    Route,
    RouteStop,
    User,
    ValidationException,
)
from sync import devices
from tests.billing.billing_factories import Utility, run
from tests.factories import at

pytestmark = pytest.mark.usefixtures("db")


async def open_rules(read_id: int) -> set[str]:
    return {
        e.rule
        for e in await ValidationException.filter(
            register_read_id=read_id, status=ExceptionStatus.OPEN
        )
    }


async def test_a_plausible_read_is_valid_and_a_backwards_one_suspect(
    world: World, backend: str
) -> None:
    r0, r1 = world.registers[:2]
    good = read_item(r0, 10_600_000, NOW - timedelta(hours=1))
    backwards = read_item(r1, 10_200_000, NOW - timedelta(hours=1))  # last read 10_301_000
    result = await push_body(
        world.devices["a"], batch_body([good, backwards]), postgres=backend == "postgres"
    )
    assert [r["result"] for r in result.results] == ["accepted", "conflict_resolved"]

    valid = await RegisterRead.get(client_uuid=good["uuid"])
    assert valid.quality == ReadQuality.VALID and valid.quality_flags == []
    assert await open_rules(valid.id) == set()

    suspect = await RegisterRead.get(client_uuid=backwards["uuid"])
    assert suspect.quality == ReadQuality.SUSPECT
    # The sync's flag is kept, the VEE rule's added; each opens an exception for staff.
    assert suspect.quality_flags == sorted([SyncRule.BACKWARDS, Rule.REGISTER_BACKWARDS])
    assert await open_rules(suspect.id) == {SyncRule.BACKWARDS, Rule.REGISTER_BACKWARDS}
    exception = await ValidationException.get(
        register_read_id=suspect.id, rule=Rule.REGISTER_BACKWARDS
    )
    assert exception.meter_id == world.meters[1].id  # type: ignore[attr-defined]
    assert exception.detail["read_uuid"] == backwards["uuid"]


async def test_the_superseded_read_of_a_cycle_is_suspect_the_winner_valid(
    world: World, backend: str
) -> None:
    r2 = world.registers[2]
    earlier = read_item(r2, 10_550_000, NOW - timedelta(hours=5))
    later = read_item(r2, 10_552_000, NOW - timedelta(hours=1))
    await push_body(
        world.devices["a"], batch_body([earlier, later]), postgres=backend == "postgres"
    )
    first = await RegisterRead.get(client_uuid=earlier["uuid"])
    winner = await RegisterRead.get(client_uuid=later["uuid"])
    assert first.quality == ReadQuality.SUSPECT
    assert await open_rules(first.id) == {SyncRule.SUPERSEDED}
    assert winner.quality == ReadQuality.VALID
    assert winner.quality_flags == [SyncRule.SAME_CYCLE]


async def test_an_edit_is_judged_again_and_its_old_exceptions_replaced(
    world: World, backend: str
) -> None:
    pg = backend == "postgres"
    item = read_item(world.registers[0], 10_200_000, NOW - timedelta(hours=2))
    await push_body(world.devices["a"], batch_body([item]), postgres=pg)
    read = await RegisterRead.get(client_uuid=item["uuid"])
    assert read.quality == ReadQuality.SUSPECT
    assert await open_rules(read.id) == {SyncRule.BACKWARDS, Rule.REGISTER_BACKWARDS}

    edit = {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": item["uuid"],
            "base_revision": 1, "value_milli": 10_600_000, "edited_at": NOW.isoformat()}  # fmt: skip
    await push_body(world.devices["a"], batch_body([edit]), postgres=pg)
    read = await RegisterRead.get(client_uuid=item["uuid"])
    assert (read.quality, read.revision, read.quality_flags) == (ReadQuality.VALID, 2, [])
    assert await open_rules(read.id) == set()
    assert {e.status for e in await ValidationException.filter(register_read_id=read.id)} == {
        ExceptionStatus.REPLACED
    }


async def test_a_failed_validation_leaves_the_push_done_and_the_safety_net_judges(
    world: World, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(pushed_reads, "validate_pending_reads", broken)
    item = read_item(world.registers[0], 10_600_000, NOW - timedelta(hours=1))
    result = await push_body(world.devices["a"], batch_body([item]), postgres=backend == "postgres")
    assert result.results[0]["result"] == "accepted"
    assert (await RegisterRead.get(client_uuid=item["uuid"])).quality == ReadQuality.PENDING

    outcome = await vee_pending.validate_pending_reads(zone=ZONE, config=DEFAULT_CONFIG)
    assert outcome.as_dict() == {"judged": 1, "valid": 1, "suspect": 0, "exceptions": 0}
    assert (await RegisterRead.get(client_uuid=item["uuid"])).quality == ReadQuality.VALID
    again = await vee_pending.validate_pending_reads(zone=ZONE, config=DEFAULT_CONFIG)
    assert again.judged == 0
    task = load_tasks().get("validate_pending_reads")
    assert task.periodic_cron == "*/10 * * * *"


async def test_a_bill_run_bills_the_pushed_read(backend: str) -> None:
    utility = await Utility.create()
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 2, 8))
    meter_id = site.install.meter_id  # type: ignore[attr-defined]
    reader = await User.create(
        email="walker@gridbill.example", full_name="Walker", role=Role.METER_READER
    )
    route = await Route.create(code="R08", name="Route 08", cycle=utility.cycle, reader=reader)
    await RouteStop.create(route=route, meter_id=meter_id, active_meter=meter_id, sequence=10)
    enrolled = await devices.enroll(reader_email="walker@gridbill.example", name="handset")
    device = await FieldDevice.get(device_uid=enrolled.device_uid)

    received = at(date(2026, 3, 9), time(12))
    item = read_item(site.registers["1.8.0"], 1_100_000, at(date(2026, 3, 9)))
    result = await push_body(
        device,
        batch_body([item], batch_id=uuid.uuid4(), device_clock=received),
        postgres=backend == "postgres",
        received_at=received,
    )
    assert result.results[0]["result"] == "accepted"
    pushed = await RegisterRead.get(client_uuid=item["uuid"])
    assert pushed.quality == ReadQuality.VALID and pushed.source == ReadSource.MANUAL

    summary = await run("2026-03")
    assert (summary.bills, summary.estimated) == (1, 0)
    (bill,) = await Bill.filter(account_id=site.account.id)
    assert not bill.is_estimated and bill.consumption_wh == 100_000
    (used,) = await BillRead.filter(bill=bill)
    assert used.closing_read_id == pushed.id and not used.is_estimated  # type: ignore[attr-defined]
