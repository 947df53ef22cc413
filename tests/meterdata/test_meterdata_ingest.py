"""Bulk ingestion on both databases: idempotent, revised not overwritten, bad rows reported,
whole chunks only, per-row VEE, and usage aggregates moved as readings land."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from meterdata_helpers import (
    IST,
    START,
    STEP,
    csv_text,
    day_profile,
    interval_rows,
    ndjson,
    run_ingest,
    smart_meter,
)

from domain.enums import ReadQuality, ReadSource
from domain.vee import VeeConfig
from services.meter_data.ingest import Format, IngestError, ingest
from store.models import (
    AuditLog,
    IntervalReading,
    IntervalReadingRevision,
    RegisterRead,
    RegisterReadRevision,
    UsageDaily,
    UsageMonthly,
    ValidationException,
)
from tests.factories import Site


async def usage(site: Site, day: date, period: str = "") -> dict[str, Any] | None:
    return (
        await UsageDaily.filter(account_id=site.account.id, day=day, tou_period=period)
        .first()
        .values("import_wh", "export_wh", "estimated_wh", "max_demand_w")
    )


async def values(site: Site) -> list[int]:
    return list(
        await IntervalReading.filter(register_id=site.register.id)
        .order_by("interval_start")
        .values_list("value_wh", flat=True)
    )


async def test_accepted_then_duplicate_then_revised(site: Site) -> None:
    rows = interval_rows("SM0001", START, day_profile() * 2)  # 1 and 2 March, local time
    first = await run_ingest(ndjson(rows), chunk_rows=50)
    assert (first.rows, first.accepted, first.duplicate, first.revised) == (192, 192, 0, 0)
    assert first.rejected == [] and first.exceptions == 0
    day = await usage(site, date(2026, 3, 1))
    assert day == {"import_wh": 17_600, "export_wh": 0, "estimated_wh": 0, "max_demand_w": 1_200}
    assert (await usage(site, date(2026, 3, 1), "peak"))["import_wh"] == 16 * 300  # type: ignore[index]
    assert (await usage(site, date(2026, 3, 1), "off_peak"))["import_wh"] == 32 * 100  # type: ignore[index]
    month = await UsageMonthly.get(
        account_id=site.account.id, month=date(2026, 3, 1), tou_period=""
    )
    assert month.import_wh == 35_200

    again = await run_ingest(ndjson(rows), chunk_rows=50)
    assert (again.accepted, again.duplicate, again.revised) == (0, 192, 0)
    assert (await usage(site, date(2026, 3, 1)))["import_wh"] == 17_600  # type: ignore[index]

    rows[80]["kwh"] = "0.250"  # 20:00 local: was 300 Wh
    rows[81]["kwh"] = "0.310"
    revised = await run_ingest(ndjson(rows[:100]), chunk_rows=50)
    assert (revised.accepted, revised.duplicate, revised.revised) == (0, 98, 2)
    stored = await values(site)
    assert stored[80:82] == [250, 310] and len(stored) == 192
    history = (
        await IntervalReadingRevision.all().order_by("id").values("value_wh", "source", "revision")
    )
    assert history == [
        {"value_wh": 300, "source": ReadSource.SMART, "revision": 1},
        {"value_wh": 300, "source": ReadSource.SMART, "revision": 1},
    ]
    reading = await IntervalReading.get(register_id=site.register.id, value_wh=250)
    assert reading.revision == 2
    assert (await usage(site, date(2026, 3, 1)))["import_wh"] == 17_600 - 50 + 10  # type: ignore[index]
    assert (await UsageMonthly.get(account_id=site.account.id, month=date(2026, 3, 1),
                                   tou_period="")).import_wh == 35_200 - 40  # fmt: skip
    assert await AuditLog.filter(action="readings.ingested").count() == 3


async def test_a_lower_revision_lowers_the_days_maximum(site: Site) -> None:
    rows = interval_rows("SM0001", START, [100, 900, 100, 100])
    await run_ingest(ndjson(rows), series_checks=False)
    assert (await usage(site, date(2026, 3, 1)))["max_demand_w"] == 3_600  # type: ignore[index]
    rows[1]["kwh"] = "0.150"
    await run_ingest(ndjson(rows), series_checks=False)
    assert (await usage(site, date(2026, 3, 1)))["max_demand_w"] == 600  # type: ignore[index]


async def test_csv_and_ndjson_are_the_same_delivery(db: object) -> None:
    a, b = await smart_meter("CSV1"), await smart_meter("JSON1")
    profile = day_profile(120)
    csv_rows = interval_rows("CSV1", START, profile)
    for row in csv_rows:
        del row["obis"]
    result = await run_ingest(csv_text(csv_rows, ("timestamp", "meter", "kwh")), Format.CSV)
    assert (result.accepted, result.rejected) == (96, [])
    await run_ingest(ndjson(interval_rows("JSON1", START, profile)))
    assert await values(a) == await values(b) == profile


async def test_bad_rows_are_rejected_with_their_row_and_reason(site: Site) -> None:
    good = interval_rows("SM0001", START, [100, 110, 120])
    data = b"".join([
        ndjson(good[:1]),
        b'{"meter": "NOPE", "timestamp": "2026-03-01T00:15:00Z", "kwh": "1"}\n',
        b'{"meter": "SM0001", "obis": "9.9.9", "timestamp": "2026-03-01T00:15:00Z", "kwh": "1"}\n',
        b'{"meter": "SM0001", "timestamp": "2026-03-01T00:15:00", "kwh": "1"}\n',
        b"\n",
        b'{"meter": "SM0001", "timestamp": "2026-03-01T00:15:00Z", "kwh": "-1"}\n',
        b'{"meter": "SM0001", "timestamp": "2026-03-01T00:15:00Z", "kwh": "1", "quality": "meh"}\n',
        b'{"meter": "SM0001", "timestamp": "\xff\xfe", "kwh": "1"}\n',
        ndjson(good[1:]),
    ])  # fmt: skip
    result = await run_ingest(data, chunk_rows=3)
    assert result.accepted == 3 and result.rows == 9 and result.rejected_count == 6
    assert [(r.row, r.reason.split(" ")[0]) for r in result.rejected] == [
        (2, "unknown"), (3, "meter"), (4, "timestamp"), (6, "kwh"), (7, "quality"), (8, "not"),
    ]  # fmt: skip
    assert result.rejected[0].reason == "unknown meter NOPE"
    assert result.rejected[1].reason == "meter SM0001 has no register 9.9.9"
    assert await values(site) == [100, 110, 120]


async def test_csv_row_problems_and_a_header_that_refuses_the_file(site: Site) -> None:
    data = (
        b"meter,timestamp,kwh\n"
        b"SM0001,2026-03-01T00:00:00Z,0.1\n"
        b"SM0001,2026-03-01T00:15:00Z\n"
        b'"SM0001","2026-03-01T00:30:00Z","0.2"\n'
    )
    result = await run_ingest(data, Format.CSV)
    assert (result.accepted, result.estimated) == (2, 1)  # 00:15 is a gap, filled
    assert [(r.row, r.reason) for r in result.rejected] == [(3, "has 2 columns, the header has 3")]
    with pytest.raises(IngestError, match="unknown column 'energy'"):
        await run_ingest(b"meter,timestamp,energy\nSM0001,2026-03-02T00:00:00Z,1\n", Format.CSV)
    assert await IntervalReading.all().count() == 3


class Crash(RuntimeError):
    pass


async def test_a_crash_leaves_whole_chunks_and_a_resend_completes_them(site: Site) -> None:
    data = ndjson(interval_rows("SM0001", START, day_profile()))
    cut = len(data) * 2 // 3

    async def dies() -> AsyncIterator[bytes]:
        yield data[:cut]
        raise Crash("connection reset")

    with pytest.raises(Crash):
        await ingest(
            dies(), fmt=Format.NDJSON, config=VeeConfig(), zone=IST, label="t", chunk_rows=20
        )
    written = await IntervalReading.all().count()
    assert written and written % 20 == 0  # whole chunks, never part of one
    daily = await usage(site, date(2026, 3, 1))
    assert daily is not None and daily["import_wh"] == sum(await values(site))

    result = await run_ingest(data, chunk_rows=20)
    assert (result.accepted, result.duplicate) == (96 - written, written)
    assert (await usage(site, date(2026, 3, 1)))["import_wh"] == 17_600  # type: ignore[index]


async def test_the_same_interval_twice_in_one_delivery(site: Site) -> None:
    rows = interval_rows("SM0001", START, [100, 110, 120])
    same = await run_ingest(ndjson([*rows, rows[1]]))
    assert (same.accepted, same.duplicate, same.revised) == (3, 1, 0)
    changed = dict(rows[2], kwh="0.900")
    later = interval_rows("SM0001", START + 3 * STEP, [130])
    result = await run_ingest(ndjson([*later, changed]))
    assert (result.accepted, result.revised) == (1, 1)  # a changed older value: a revision
    conflict = await run_ingest(ndjson([*interval_rows("SM0001", START + 4 * STEP, [140, 150]),
                                        dict(rows[0], kwh="0.500"), dict(rows[0], kwh="0.600")]),
                                series_checks=False)  # fmt: skip
    assert (conflict.accepted, conflict.revised) == (2, 2)
    first = await IntervalReading.get(
        register_id=site.register.id, interval_start=START.astimezone(UTC)
    )
    assert (first.value_wh, first.quality, first.revision) == (600, ReadQuality.SUSPECT, 3)
    flagged = await ValidationException.get(interval_reading_id=first.id)
    assert flagged.rule == "interval_duplicate" and flagged.detail["first_kwh"] == "0.5"


async def test_the_multiplier_is_applied_to_interval_energy(db: object) -> None:
    site = await smart_meter("CT0001", ct=(200, 5))
    await run_ingest(ndjson(interval_rows("CT0001", START, [10, 12])), series_checks=False)
    assert await values(site) == [400, 480]
    assert (await usage(site, date(2026, 3, 1)))["import_wh"] == 880  # type: ignore[index]


async def test_timing_rules_and_the_head_ends_own_quality(site: Site) -> None:
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    rows = [
        *interval_rows("SM0001", START, [100], quality="estimated"),
        *interval_rows("SM0001", START + STEP, [110], quality="suspect"),
        *interval_rows("SM0001", datetime(2025, 12, 31, 12, tzinfo=UTC), [120]),
        *interval_rows("SM0001", now + timedelta(hours=2), [130]),
        *interval_rows("SM0001", now + timedelta(days=2), [135]),
        *interval_rows("SM0001", START + 2 * STEP, [140]),
    ]
    result = await run_ingest(ndjson(rows), series_checks=False)
    assert result.accepted == 4 and result.suspect == 2 and result.exceptions == 2
    assert [(r.row, r.reason.split(" is ")[1][:10]) for r in result.rejected] == [
        (3, "before met"),  # before the meter's installation: refused, not stored
        (5, "in the fut"),  # past now + GRIDBILL_INGEST_FUTURE_MARGIN_HOURS (24 h)
    ]
    found = {
        r["rule"]: r["detail"] for r in await ValidationException.all().values("rule", "detail")
    }
    assert set(found) == {"head_end_suspect", "future_read"}  # within the margin: suspect
    estimated = await IntervalReading.get(
        register_id=site.register.id, interval_start=START.astimezone(UTC)
    )
    assert (estimated.quality, estimated.estimation_method) == (ReadQuality.ESTIMATED, "head_end")
    day = await usage(site, date(2026, 3, 1))
    assert day == {"import_wh": 240, "export_wh": 0, "estimated_wh": 100, "max_demand_w": 560}


async def test_export_and_other_registers(site: Site) -> None:
    rows = [
        *interval_rows("SM0001", START, [50, 60], obis="2.8.0"),
        *interval_rows("SM0001", START, [5, 5], obis="1.6.0"),
    ]
    result = await run_ingest(ndjson(rows), series_checks=False)
    assert result.accepted == 4
    day = await usage(site, date(2026, 3, 1))
    assert day is not None and (day["import_wh"], day["export_wh"]) == (0, 110)


# --- register readings ---------------------------------------------------------------------


def reading(at: datetime, value: str, serial: str = "SM0001", **extra: Any) -> dict[str, Any]:
    return {"meter": serial, "timestamp": at.isoformat(), "reading": value, **extra}


async def test_register_readings_are_idempotent_and_revised(site: Site) -> None:
    t = datetime(2026, 3, 1, tzinfo=IST)
    rows = [reading(t + timedelta(days=d), f"{1000 + 8 * d}") for d in range(12)]
    first = await run_ingest(ndjson(rows))
    assert (first.accepted, first.rejected) == (12, [])
    assert await RegisterRead.filter(quality=ReadQuality.VALID).count() == 12
    again = await run_ingest(ndjson(rows))
    assert (again.accepted, again.duplicate) == (0, 12)
    rows[11]["reading"] = "1089"
    changed = await run_ingest(ndjson(rows[11:]))
    assert changed.revised == 1
    read = await RegisterRead.get(read_at=(t + timedelta(days=11)).astimezone(UTC))
    assert (read.value_milli, read.revision, read.source) == (1_089_000, 2, ReadSource.SMART)
    old = await RegisterReadRevision.get(read_id=read.id)
    assert (old.value_milli, old.revision, old.reason) == (1_088_000, 1, "re-sent by test")

    await RegisterRead.filter(id=read.id).update(billed=True)
    rows[11]["reading"] = "1090"
    billed = await run_ingest(ndjson(rows[11:]))
    assert billed.rejected[0].reason.startswith("that read is already billed")


async def test_register_rules_on_ingested_reads(site: Site) -> None:
    t = datetime(2026, 3, 1, tzinfo=IST)
    history = [reading(t + timedelta(days=d), f"{999_900 + 10 * d}") for d in range(9)]
    await run_ingest(ndjson(history))  # 10 kWh a day, 999,980 on day 8
    rows = [
        reading(t + timedelta(days=9), "000005"),  # rolled over past 999,999: 25 kWh
        reading(t + timedelta(days=10), "000015"),  # 10 kWh
        reading(t + timedelta(days=11), "000010"),  # backwards
        reading(t + timedelta(days=12), "000100"),  # 85 kWh in 2 days since the last good read
    ]
    result = await run_ingest(ndjson(rows))
    found = {
        r["read_at"].astimezone(IST).day: (r["quality"], r["quality_flags"])
        for r in await RegisterRead.filter(
            read_at__gte=(t + timedelta(days=9)).astimezone(UTC)
        ).values("read_at", "quality", "quality_flags")
    }
    assert found == {
        10: (ReadQuality.VALID, ["register_rollover"]),
        11: (ReadQuality.VALID, []),
        12: (ReadQuality.SUSPECT, ["register_backwards"]),
        13: (ReadQuality.SUSPECT, ["high_consumption"]),
    }
    assert result.exceptions == 2
    assert sorted(await ValidationException.all().values_list("rule", flat=True)) == [
        "high_consumption", "register_backwards",
    ]  # fmt: skip


async def test_three_versions_of_one_interval_in_one_delivery(site: Site) -> None:
    rows = [dict(interval_rows("SM0001", START, [v])[0]) for v in (100, 200, 300)]
    result = await run_ingest(ndjson(rows), series_checks=False)
    assert (result.accepted, result.revised) == (1, 2)
    reading = await IntervalReading.get(register_id=site.register.id)
    assert (reading.value_wh, reading.revision, reading.quality) == (300, 3, ReadQuality.SUSPECT)
