"""Every writer of the usage aggregates agrees with a recompute from the raw intervals.

The tables are moved incrementally by several writers: ingestion's fast path (sums made
in Python), its slow path (deltas summed by SQL, revisions), gap filling, days made
suspect by a rule, and staff decisions (recomputed days). After all of them, the rows
must equal what :func:`services.meter_data.aggregates.rebuild` makes from the intervals
alone, and the whole-day import must equal the counted intervals summed here. A writer
that counted another set of qualities, put an interval in another period or forgot a
month would make the two differ.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from meterdata_helpers import IST, START, STEP, day_profile, interval_rows, ndjson, run_ingest

from domain.access import Caller
from domain.enums import ReadQuality, Role
from domain.usage_aggregates import COUNTED
from domain.vee import VeeConfig
from gridbill.settings import Settings
from services.meter_data import aggregates, vee_review
from services.viewer import Viewer
from store.models import IntervalReading, UsageDaily, UsageMonthly, User, ValidationException
from tests.factories import Site

Snapshot = set[tuple[Any, ...]]


async def snapshot() -> tuple[Snapshot, Snapshot]:
    fields = ("tou_period", "import_wh", "export_wh", "estimated_wh", "max_demand_w")
    daily = {
        (r["account_id"], r["day"], *(r[f] for f in fields))
        for r in await UsageDaily.all().values("account_id", "day", *fields)
    }
    monthly = {
        (r["account_id"], r["month"], *(r[f] for f in fields))
        for r in await UsageMonthly.all().values("account_id", "month", *fields)
    }
    return daily, monthly


async def agrees_with_a_rebuild() -> tuple[Snapshot, Snapshot]:
    """The rows as the writers left them, asserted equal to a rebuild from the intervals."""
    written = await snapshot()
    assert await aggregates.rebuild(zone=IST, calendar=VeeConfig().usage_calendar) == 1
    assert await snapshot() == written
    return written


@pytest.fixture
async def staff(site: Site) -> Viewer:
    user = await User.create(email="agg@utility.test", full_name="A. Reviewer", role=Role.STAFF)
    return Viewer(caller=Caller(role=Role.STAFF), user_id=user.id)


async def test_every_writer_agrees_with_a_rebuild(
    site: Site, staff: Viewer, settings: Settings
) -> None:
    day_one = day_profile()
    day_one[40] = 2_500  # 10:00: a jump, made suspect by the series rules
    rows = interval_rows("SM0001", START, day_one)
    rows[8] |= {"kwh": "0.090", "quality": "estimated"}  # the head-end's own estimate
    rows += interval_rows("SM0001", START + 96 * STEP, day_profile(120))
    rows[96 + 24] |= {"kwh": "0.333", "quality": "suspect"}  # the head-end doubts it
    del rows[96 + 50 : 96 + 54]  # a gap of four intervals, filled by estimation
    rows += interval_rows("SM0001", START + 72 * STEP, [80, 85], obis="2.8.0")
    await run_ingest(ndjson(rows), series_checks=False)  # the fast path alone
    await agrees_with_a_rebuild()
    await run_ingest(ndjson(rows))  # duplicates; the series rules fill the gap, flag the jump
    await agrees_with_a_rebuild()

    resent = interval_rows("SM0001", START + 60 * STEP, [150, 900, *day_one[62:70]])
    await run_ingest(ndjson(resent))  # slow path: two revisions, the rest duplicates
    await agrees_with_a_rebuild()
    # An export revision alone: no import day is recomputed, the deltas must be right.
    await run_ingest(ndjson(interval_rows("SM0001", START + 72 * STEP, [70], obis="2.8.0")))
    await agrees_with_a_rebuild()
    await run_ingest(ndjson(interval_rows("SM0001", START + 61 * STEP, [200])))  # lower again
    await agrees_with_a_rebuild()

    found = {e.rule: e for e in await ValidationException.all()}
    assert {"interval_jump", "interval_gap", "head_end_suspect"} <= set(found)
    await vee_review.accept(
        staff, exception_id=found["interval_jump"].id, reason="AC that morning", settings=settings
    )
    await vee_review.replace(
        staff, exception_id=found["head_end_suspect"].id, value="0.140",
        reason="meter photo", settings=settings,
    )  # fmt: skip
    await vee_review.reject(
        staff, exception_id=found["interval_gap"].id, reason="estimate from a bill instead",
        settings=settings,
    )  # fmt: skip

    qualities = set(await IntervalReading.all().values_list("quality", flat=True))
    assert {ReadQuality.VALID, ReadQuality.ESTIMATED, ReadQuality.EDITED} <= qualities
    assert ReadQuality.REJECTED in qualities  # the gap's estimates
    daily, _ = await agrees_with_a_rebuild()
    whole = {r[1]: r for r in daily if r[2] == ""}
    assert set(whole) == {date(2026, 3, 1), date(2026, 3, 2)}
    counted_import = sum(
        await IntervalReading.filter(
            register_id=site.register.id, quality__in=list(COUNTED)
        ).values_list("value_wh", flat=True)
    )
    assert sum(r[3] for r in whole.values()) == counted_import
    assert whole[date(2026, 3, 1)][4] == 70 + 85 and whole[date(2026, 3, 1)][5] == 90
    assert whole[date(2026, 3, 1)][6] == 10_000  # the accepted jump: 2.5 kWh in 15 minutes
