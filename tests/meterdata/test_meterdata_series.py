"""The series rules that run after a delivery: gaps filled and flagged, jumps, overlaps,
and each complete day's use against the account's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from meterdata_helpers import IST, START, STEP, day_profile, interval_rows, ndjson, run_ingest

from domain.enums import ReadQuality, ReadSource
from domain.vee import VeeConfig
from services.meter_data import aggregates
from services.meter_data.vee_estimation import estimate_register_read
from store.models import IntervalReading, RegisterRead, UsageDaily, ValidationException
from tests.factories import Site


async def series(site: Site) -> list[tuple[int, str, str]]:
    return [
        (r["value_wh"], r["quality"].value, r["estimation_method"])
        for r in await IntervalReading.filter(register_id=site.register.id)
        .order_by("interval_start")
        .values("value_wh", "quality", "estimation_method")
    ]


async def day_use(site: Site, day: date) -> tuple[int, int] | None:
    row = await UsageDaily.get_or_none(account_id=site.account.id, day=day, tou_period="")
    return None if row is None else (row.import_wh, row.estimated_wh)


async def test_a_short_gap_is_interpolated_then_replaced_by_real_data(site: Site) -> None:
    values = [100, 110, 125, 128, 140, 150]
    rows = interval_rows("SM0001", START, values)
    result = await run_ingest(ndjson(rows[:2] + rows[4:]))  # 00:30 and 00:45 missing
    assert (result.accepted, result.estimated, result.exceptions) == (4, 2, 1)
    assert await series(site) == [
        (100, "valid", ""), (110, "valid", ""),
        (120, "estimated", "linear_interpolation"), (130, "estimated", "linear_interpolation"),
        (140, "valid", ""), (150, "valid", ""),
    ]  # fmt: skip
    gap = await ValidationException.get(rule="interval_gap")
    assert gap.detail["missing"] == "2" and gap.detail["method"] == "linear_interpolation"
    assert gap.detail["from"] == (START + 2 * STEP).astimezone(UTC).isoformat()
    assert await day_use(site, date(2026, 3, 1)) == (750, 250)

    again = await run_ingest(ndjson(rows[:2] + rows[4:]))  # idempotent: nothing new to find
    assert (again.estimated, again.exceptions) == (0, 0)

    late = await run_ingest(ndjson(rows[2:4]))  # the meter's own values arrive
    assert late.revised == 2
    assert [v[:2] for v in await series(site)] == [(v, "valid") for v in values]
    estimate = await IntervalReading.get(register_id=site.register.id, value_wh=125)
    assert estimate.source is ReadSource.SMART and estimate.revision == 2
    assert await day_use(site, date(2026, 3, 1)) == (753, 0)


async def test_a_long_gap_takes_the_same_day_type_profile(site: Site) -> None:
    week = day_profile() * 14  # 1–14 March
    rows = interval_rows("SM0001", START, week)
    gap = slice(96 * 13 + 72, 96 * 13 + 80)  # 14 March (a Saturday) 18:00–20:00 local
    result = await run_ingest(ndjson(rows[: gap.start] + rows[gap.stop :]), chunk_rows=500)
    assert result.estimated == 8
    filled = (await series(site))[gap]
    assert {f[2] for f in filled} == {"day_type_profile"}
    assert [f[0] for f in filled] == week[gap]  # every Saturday evening looked the same


async def test_a_jump_is_flagged_and_kept_out_of_usage(site: Site) -> None:
    rows = interval_rows("SM0001", START, [100, 100, 2_500, 100])
    result = await run_ingest(ndjson(rows))
    assert result.exceptions == 1 and result.suspect == 1
    jump = await ValidationException.get(rule="interval_jump")
    spike = await IntervalReading.get(id=jump.interval_reading_id)  # type: ignore[attr-defined]
    assert (spike.value_wh, spike.quality) == (2_500, ReadQuality.SUSPECT)
    assert jump.detail == {"previous_kwh": "0.1", "kwh": "2.5", "factor": "10"}
    assert await day_use(site, date(2026, 3, 1)) == (300, 0)
    await run_ingest(ndjson(rows))
    assert await ValidationException.filter(rule="interval_jump").count() == 1


async def test_no_jump_in_ordinary_use(site: Site) -> None:
    result = await run_ingest(ndjson(interval_rows("SM0001", START, [100, 400, 900, 300])))
    assert (result.exceptions, result.suspect) == (0, 0)


async def test_an_overlapping_interval_is_flagged(site: Site) -> None:
    rows = [
        *interval_rows("SM0001", START, [200], minutes=30),
        *interval_rows("SM0001", START + STEP, [100, 100]),
    ]
    await run_ingest(ndjson(rows))
    overlap = await ValidationException.get(rule="interval_overlap")
    assert overlap.detail["previous_end"] == (START + 2 * STEP).astimezone(UTC).isoformat()


async def test_a_resend_narrower_on_one_register_flags_no_overlap(site: Site) -> None:
    """Import resent for the morning only, export for the whole day: import's next stored
    interval lies inside the span the export widened. It was paired with import's last
    interval there (itself), a false overlap; only real breaks are flagged."""
    values = [100] * 96
    day = interval_rows("SM0001", START, values) + interval_rows(
        "SM0001", START, values, obis="2.8.0"
    )
    await run_ingest(ndjson(day))
    morning = interval_rows("SM0001", START, values[:40])
    again = await run_ingest(ndjson(morning + interval_rows("SM0001", START, values, obis="2.8.0")))
    assert (again.accepted, again.duplicate, again.exceptions) == (0, 136, 0)
    assert not await ValidationException.filter(rule="interval_overlap").exists()


async def test_daily_high_low_and_zero_use(site: Site) -> None:
    normal = day_profile()  # 17.6 kWh a day
    days = normal * 10 + [v * 5 for v in normal] + [v // 10 for v in normal] + [0] * 96 + normal
    result = await run_ingest(ndjson(interval_rows("SM0001", START, days)), chunk_rows=1000)
    verdicts = {
        r["detail"]["day"]: r["rule"]
        for r in await ValidationException.all().values("rule", "detail")
    }
    assert verdicts == {
        "2026-03-11": "high_consumption",
        "2026-03-12": "low_consumption",
        "2026-03-13": "zero_consumption",
    }
    high = await IntervalReading.filter(
        register_id=site.register.id, quality=ReadQuality.SUSPECT
    ).count()
    assert high == 96 * 3 and result.suspect == 96 * 3
    assert await day_use(site, date(2026, 3, 11)) is None  # held back until reviewed
    assert await day_use(site, date(2026, 3, 14)) == (17_600, 0)
    again = await run_ingest(ndjson(interval_rows("SM0001", START, days)), chunk_rows=1000)
    assert again.exceptions == 0


async def test_an_incomplete_day_is_not_judged(site: Site) -> None:
    normal = day_profile()
    rows = interval_rows("SM0001", START, normal * 10 + [v * 5 for v in normal[:40]])
    result = await run_ingest(ndjson(rows), chunk_rows=1000)
    assert result.exceptions == 0
    assert await day_use(site, date(2026, 3, 11)) == (sum(v * 5 for v in normal[:40]), 0)


async def test_usage_rebuilt_from_intervals_loaded_around_ingestion(site: Site) -> None:
    await run_ingest(ndjson(interval_rows("SM0001", START, day_profile() * 2)))
    expected = (
        await UsageDaily.all()
        .order_by("day", "tou_period")
        .values_list("day", "tou_period", "import_wh", "max_demand_w")
    )
    await UsageDaily.all().delete()
    assert await aggregates.rebuild(zone=IST, calendar=VeeConfig().usage_calendar) == 1
    rebuilt = (
        await UsageDaily.all()
        .order_by("day", "tou_period")
        .values_list("day", "tou_period", "import_wh", "max_demand_w")
    )
    assert rebuilt == expected and len(rebuilt) == 8


async def test_a_register_read_estimated_for_billing(site: Site) -> None:
    t = datetime(2026, 3, 1, tzinfo=IST)
    reads = [{"meter": "SM0001", "timestamp": (t + timedelta(days=d)).isoformat(),
              "reading": str(1000 + 12 * d)} for d in range(10)]  # fmt: skip
    await run_ingest(ndjson(reads))
    at = (t + timedelta(days=14)).astimezone(UTC)
    first = await estimate_register_read(register_id=site.register.id, at=at)
    assert first["created"] and first["value_milli"] == (1000 + 12 * 14) * 1000
    again = await estimate_register_read(register_id=site.register.id, at=at)
    assert (again["id"], again["created"]) == (first["id"], False)
    read = await RegisterRead.get(id=first["id"])
    assert (read.quality, read.source, read.estimation_method) == (
        ReadQuality.ESTIMATED, ReadSource.ESTIMATED, "average_daily_use",
    )  # fmt: skip
