"""The quarantine migration: readings stored outside the window before ingestion refused
them are marked rejected with the reason, once, and nothing is deleted."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, date, datetime

import pytest
from meterdata_helpers import INSTALLED, smart_meter
from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from domain.enums import MeterKind, MeterStatus, ReadQuality, ReadSource
from store.db import migrate, open_database
from store.models import (
    IntervalReading,
    RegisterRead,
    UsageDaily,
    ValidationException,
)
from store.tortoise_config import tortoise_config
from tests import factories as f

MIGRATION = "0005_meterdata_quarantine"
FAR = datetime(8999, 12, 31, 9, 45, tzinfo=UTC)
GOOD = datetime(2026, 3, 1, tzinfo=UTC)
EARLY = datetime(2025, 12, 1, tzinfo=UTC)  # before INSTALLED (2026-01-01)


async def _interval(register_id: int, at: datetime, **extra: object) -> IntervalReading:
    return await IntervalReading.create(
        register_id=register_id, interval_start=at, value_wh=100, received_at=GOOD, **extra
    )


async def _read(register_id: int, at: datetime, **extra: object) -> RegisterRead:
    return await RegisterRead.create(
        client_uuid=uuid.uuid4(), register_id=register_id, value_milli=1000, read_at=at,
        source=ReadSource.SMART, quality=ReadQuality.VALID, received_at=GOOD, **extra,
    )  # fmt: skip


async def test_the_migration_quarantines_what_ingestion_now_refuses(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDBILL_INGEST_FUTURE_MARGIN_HOURS", "48")  # read by the migration
    before = importlib.import_module(f"store.migrations.{MIGRATION}").Migration.dependencies[0]
    try:
        await tortoise_migrate(config=tortoise_config(fresh_database_url), target=".".join(before))
    finally:
        await Tortoise.close_connections()

    async with open_database(fresh_database_url):
        site = await smart_meter()
        register = site.register.id
        good = await _interval(register, GOOD)
        far = await _interval(register, FAR)
        early = await _interval(register, EARLY)
        await ValidationException.create(
            rule="future_read", interval_reading_id=far.id, meter_id=site.meter.id
        )
        read_ok = await _read(register, GOOD)
        read_far = await _read(register, FAR)
        read_billed = await _read(register, FAR, billed=True)
        read_early = await _read(register, EARLY)
        stock = await f.meter(serial="STOCK1", kind=MeterKind.SMART, status=MeterStatus.IN_STORE)
        stock_register = await f.register(stock)
        never = await _interval(stock_register.id, GOOD)
        await UsageDaily.create(account=site.account, day=date(8999, 12, 31), import_wh=100)
        await UsageDaily.create(account=site.account, day=date(2026, 3, 1), import_wh=100)

    assert f"gridbill.{MIGRATION}" in await migrate(fresh_database_url)

    async with open_database(fresh_database_url):
        quality = {r.id: r.quality for r in await IntervalReading.all()} | {
            ("read", r.id): r.quality for r in await RegisterRead.all()
        }  # type: ignore[operator]
        assert quality == {
            good.id: ReadQuality.VALID,
            far.id: ReadQuality.REJECTED,
            early.id: ReadQuality.REJECTED,
            never.id: ReadQuality.REJECTED,
            ("read", read_ok.id): ReadQuality.VALID,
            ("read", read_far.id): ReadQuality.REJECTED,
            ("read", read_billed.id): ReadQuality.VALID,  # a bill used it: cancel and rebill
            ("read", read_early.id): ReadQuality.REJECTED,
        }
        quarantined = {
            (e.interval_reading_id or ("read", e.register_read_id)): e  # type: ignore[attr-defined]
            for e in await ValidationException.filter(rule="out_of_window")
        }
        assert set(quarantined) == {far.id, early.id, never.id, ("read", read_far.id),
                                    ("read", read_early.id)}  # fmt: skip
        assert all(e.status == "rejected" for e in quarantined.values())
        assert quarantined[far.id].detail["why"] == "future"
        assert "(migration time + 48 h)" in quarantined[far.id].resolution_reason
        assert quarantined[early.id].detail == {
            "at": EARLY.isoformat(), "limit": INSTALLED.isoformat(), "why": "before_install",
        }  # fmt: skip
        assert "never installed" in quarantined[never.id].resolution_reason
        flagged = await ValidationException.get(rule="future_read")
        assert flagged.status == "rejected" and "quarantined" in flagged.resolution_reason
        days = {d.day: d.import_wh for d in await UsageDaily.filter(account_id=site.account.id)}
        assert days.get(date(8999, 12, 31), 0) == 0 and days[date(2026, 3, 1)] == 100
        assert await IntervalReading.all().count() == 4  # nothing deleted
        assert await RegisterRead.all().count() == 4

    assert await migrate(fresh_database_url) == []  # once
