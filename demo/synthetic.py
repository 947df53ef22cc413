"""A synthetic utility of any size, for the bill-run benchmark and the bill-run process tests.

Unlike the demo utility, this one is built for volume: one billing cycle, ``accounts``
accounts (nine in ten domestic on LT-1A, one in ten commercial on LT-2 with TOU and
maximum-demand registers), each with a manual meter read on the cycle's read day of the
billing month and of the month before, in whole kWh. Rows go straight to the tables in
bulk (:class:`demo.bulk.BulkWriter`: COPY on PostgreSQL), a few thousand at a time, so
100,000 accounts load in well under a minute.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from domain.billing import BillingMonth
from domain.enums import AccountCategory
from store.models import BillingCycle, Tariff, TariffVersion

from .bulk import BulkWriter, Dialect, Row
from .periods import at_local, previous_month
from .rows import (
    ACCOUNT_HOLDERS,
    ACCOUNTS,
    CUSTOMERS,
    INSTALLATIONS,
    METERS,
    MULTIPLIERS,
    PREMISES,
    READS,
    REGISTERS,
    SERVICE_POINTS,
    TARIFF_ASSIGNMENTS,
)
from .tariffs import TARIFF_BY_CATEGORY, document_sha256, financial_year_start

BATCH = 5_000
COMMERCIAL_EVERY = 10


async def load_synthetic(
    *,
    accounts: int,
    period: str,
    zone: ZoneInfo,
    cycle_code: str = "SYN-01",
    read_day: int = 8,
    seed: int = 1,
) -> None:
    """Write the synthetic utility into the open (migrated, empty) database."""
    month = BillingMonth.parse(period)
    closing_day = month.scheduled_read(read_day)
    opening_day = previous_month(month.first).replace(day=closing_day.day)
    rng = random.Random(seed)
    async with in_transaction() as connection:
        writer = BulkWriter(connection, lambda n: None)
        d = writer.dialect
        cycle = await BillingCycle.create(
            code=cycle_code, name=f"Synthetic cycle (day {read_day})", read_day=read_day,
            bill_day=read_day + 3, due_days=15,
        )  # fmt: skip
        tariffs = {}
        for category in (AccountCategory.DOMESTIC, AccountCategory.COMMERCIAL):
            spec = TARIFF_BY_CATEGORY[category]
            tariff, _ = await Tariff.get_or_create(
                code=spec.code,
                defaults={"name": spec.name, "category": category.value, "currency": "INR"},
            )
            if not await TariffVersion.filter(tariff=tariff).exists():
                await TariffVersion.create(
                    tariff=tariff, version=1, effective_from=financial_year_start(opening_day),
                    document=spec.document, document_sha256=document_sha256(spec.document),
                    source_reference=spec.source_reference,
                )  # fmt: skip
            tariffs[category] = tariff.id
        now = d.ts(datetime.now(UTC))
        stamp = (now, now)
        connected = d.day(date(2015, 1, 1))
        installed = d.ts(datetime(2015, 1, 1, 6, tzinfo=UTC))
        for first in range(0, accounts, BATCH):
            n = min(BATCH, accounts - first)
            keys = [f"S{seed:02d}{first + i:08d}" for i in range(n)]
            await writer.insert(
                "customers",
                CUSTOMERS,
                ((k, f"Customer {k}", None, None, "", "", *stamp) for k in keys),
            )
            customers = await _ids(writer, "customers", "number", keys)
            await writer.insert(
                "premises",
                PREMISES,
                ((k, f"House {k}", "", "", "Pune", "Maharashtra", "411001", None, None, "", *stamp) for k in keys),
            )  # fmt: skip
            premises = await _ids(writer, "premises", "code", keys)
            await writer.insert(
                "service_points",
                SERVICE_POINTS,
                ((k, premises[k], 230, 1, "", "", *stamp) for k in keys),
            )
            points = await _ids(writer, "service_points", "code", keys)
            kinds = {
                k: AccountCategory.COMMERCIAL if (first + i) % COMMERCIAL_EVERY == 0 else AccountCategory.DOMESTIC
                for i, k in enumerate(keys)
            }  # fmt: skip
            await writer.insert(
                "accounts",
                ACCOUNTS,
                (
                    (k, points[k], kinds[k].value, "active",
                     10_000 if kinds[k] is AccountCategory.COMMERCIAL else 3_000, None, 0,
                     cycle.id, connected, *stamp)
                    for k in keys
                ),
            )  # fmt: skip
            account_ids = await _ids(writer, "accounts", "number", keys)
            await writer.insert(
                "account_holders",
                ACCOUNT_HOLDERS,
                ((account_ids[k], customers[k], connected, *stamp) for k in keys),
            )
            await writer.insert(
                "tariff_assignments",
                TARIFF_ASSIGNMENTS,
                ((account_ids[k], tariffs[kinds[k]], connected, *stamp) for k in keys),
            )
            await writer.insert(
                "meters",
                METERS,
                ((k, "Synthetic", "S1", "manual", "installed", 1, 2015, "", *stamp) for k in keys),
            )
            meters = await _ids(writer, "meters", "serial", keys)
            await writer.insert(
                "meter_installations",
                INSTALLATIONS,
                ((meters[k], points[k], installed, "", *stamp) for k in keys),
            )
            installs = await _ids(
                writer, "meter_installations", "meter_id", [meters[k] for k in keys]
            )
            await writer.insert(
                "multiplier_changes",
                MULTIPLIERS,
                ((installs[meters[k]], installed, 1, 1, 1, 1, *stamp) for k in keys),
            )
            await writer.insert("registers", REGISTERS, _registers(keys, meters, kinds, stamp))
            registers = await writer.ids_where(
                "registers", ("meter_id", "obis_code"), "meter_id", [meters[k] for k in keys]
            )
            reads = _reads(
                rng, keys, meters, kinds, registers, opening_day, closing_day, zone, d, stamp
            )
            await writer.insert("register_reads", READS, reads)


async def _ids(writer: BulkWriter, table: str, column: str, keys: list[Any]) -> dict[Any, int]:
    return await writer.ids_where(table, (column,), column, keys)


def _registers(
    keys: list[str],
    meters: dict[object, int],
    category: dict[str, AccountCategory],
    stamp: tuple[object, object],
) -> Iterator[Row]:
    for k in keys:
        yield (meters[k], "1.8.0", "kWh", 6, 0, True, "", *stamp)
        if category[k] is AccountCategory.COMMERCIAL:
            yield (meters[k], "1.8.1", "kWh", 6, 0, True, "peak", *stamp)
            yield (meters[k], "1.8.2", "kWh", 6, 0, True, "off_peak", *stamp)
            yield (meters[k], "1.6.0", "kW", 4, 2, True, "", *stamp)


def _reads(
    rng: random.Random,
    keys: list[str],
    meters: dict[object, int],
    category: dict[str, AccountCategory],
    registers: dict[object, int],
    opening_day: date,
    closing_day: date,
    zone: ZoneInfo,
    d: Dialect,
    stamp: tuple[object, object],
) -> Iterator[Row]:
    opening_at = at_local(opening_day, time(10), zone)
    closing_at = at_local(closing_day, time(10), zone)
    flags = d.json([])
    for k in keys:
        meter = meters[k]
        commercial = category[k] is AccountCategory.COMMERCIAL
        start = rng.randrange(1_000, 900_000)
        used = rng.randrange(300, 2_500) if commercial else rng.randrange(40, 450)
        values = {"1.8.0": (start, start + used)}
        if commercial:
            peak, night = used * rng.randrange(28, 38) // 100, used * rng.randrange(5, 12) // 100
            values["1.8.1"] = (start // 3, start // 3 + peak)
            values["1.8.2"] = (start // 10, start // 10 + night)
            values["1.6.0"] = (rng.randrange(2, 9), rng.randrange(2, 9))
        for obis, (before, after) in values.items():
            register = registers[(meter, obis)]
            scale = 10 if obis == "1.6.0" else 1000
            for moment, value in ((opening_at, before), (closing_at, after)):
                yield (
                    d.uuid(uuid.UUID(int=rng.getrandbits(128), version=4)), register, value * scale,
                    d.ts(moment), "regular", "manual", "valid", flags, "", None, None, d.ts(moment),
                    None, None, None, "", 1, False, *stamp,
                )  # fmt: skip
