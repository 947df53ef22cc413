"""The chunked, set-based ingestion stores what the row-by-row rules store.

Random deliveries (repeats with the same or a changed value, gaps, spikes, estimated and
suspect values, export intervals, bad rows) go in twice, to two identical meters: as CSV
in chunks (the fast parsing of ``domain.readings_format.IntervalMemo``, the bulk COPY
in register order, the staged slow path when a chunk meets stored rows) and as NDJSON
one row per chunk (every row parsed by ``build_row`` and written on its own). The
stored intervals, their revisions, the exceptions opened, the usage aggregates and the
counts must be the same, and sending the stored values again changes nothing. An
interval may come up to four times in a delivery (A, B, A, B): the latest wins either way.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from meterdata_helpers import START, STEP, csv_text, kwh, ndjson, run_ingest, smart_meter

from services.meter_data.ingest import Format, IngestResult
from store.models import (
    IntervalReading,
    IntervalReadingRevision,
    UsageDaily,
    UsageMonthly,
    ValidationException,
)
from tests.factories import Site

COLUMNS = ("meter", "obis", "timestamp", "kwh", "quality")


def delivery(rng: random.Random, serial: str) -> list[dict[str, Any]]:
    """Two days of a meter's import and export, shuffled a little, with trouble mixed in."""
    rows: list[dict[str, Any]] = []
    for obis in ("1.8.0", "2.8.0"):
        for i in range(2 * 96):
            if rng.random() < 0.06:
                continue  # a gap
            value = rng.randint(0, 400)
            if rng.random() < 0.03:
                value = rng.randint(50_000, 90_000)  # a spike
            row = {"meter": serial, "obis": obis, "timestamp": (START + i * STEP).isoformat(),
                   "kwh": kwh(value)}  # fmt: skip
            quality = rng.random()
            if quality < 0.04:
                row["quality"] = "estimated"
            elif quality < 0.07:
                row["quality"] = "suspect"
            rows.append(row)
            repeat = rng.random()
            if repeat < 0.08:
                rows.append(dict(row))  # sent twice, the same
            elif repeat < 0.12:
                rows.append({**row, "kwh": kwh(value + rng.randint(1, 50))})  # changed
            elif repeat < 0.15:  # changed, then back, then maybe changed again
                changed = {**row, "kwh": kwh(value + rng.randint(1, 50))}
                rows += [changed, dict(row)] + ([changed] if rng.random() < 0.5 else [])
    bad = [
        {"meter": "NOSUCH1", "timestamp": START.isoformat(), "kwh": "0.1"},
        {"meter": serial, "timestamp": START.isoformat(), "kwh": "lots"},
        {"meter": serial, "timestamp": START.isoformat(), "kwh": "0.1234"},
        {"meter": serial, "timestamp": "2026-03-01T00:07:00+05:30", "kwh": "0.1"},
        {"meter": serial, "timestamp": "2025-06-01T00:00:00Z", "kwh": "0.1"},  # not installed
        {
            "meter": serial,
            "timestamp": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
            "kwh": "0.1",
        },
        {"meter": serial, "obis": "9.9.9", "timestamp": START.isoformat(), "kwh": "0.1"},
    ]
    for row in bad:
        rows.insert(rng.randrange(len(rows) + 1), row)
    # Nearby rows trade places (head-ends are not strictly ordered); a changed repeat may
    # come before the original then, which only swaps which one is the revision.
    for _ in range(len(rows) // 10):
        i = rng.randrange(len(rows) - 1)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
    return rows


async def stored(site: Site) -> dict[str, Any]:
    """What a delivery left for one meter, without ids, serials and arrival times."""
    registers = {r.id: obis for obis, r in site.registers.items()}
    intervals = await IntervalReading.filter(register_id__in=list(registers)).values(
        "id", "register_id", "interval_start", "length_s", "value_wh", "quality",
        "estimation_method", "source", "revision",
    )  # fmt: skip
    key = {i["id"]: (registers[i["register_id"]], i["interval_start"]) for i in intervals}
    revisions = await IntervalReadingRevision.filter(reading_id__in=list(key)).values(
        "reading_id", "revision", "value_wh", "quality", "source"
    )
    exceptions = await ValidationException.filter(meter_id=site.meter.id).values(
        "rule", "status", "interval_reading_id", "detail"
    )
    usage = [
        await model.filter(account_id=site.account.id).values(
            bucket, "tou_period", "import_wh", "export_wh", "estimated_wh", "max_demand_w"
        )
        for model, bucket in ((UsageDaily, "day"), (UsageMonthly, "month"))
    ]
    return {
        "intervals": sorted(
            (
                key[i["id"]],
                i["length_s"],
                i["value_wh"],
                i["quality"],
                i["estimation_method"],
                i["source"],
                i["revision"],
            )
            for i in intervals
        ),
        "revisions": sorted(
            (key[r["reading_id"]], r["revision"], r["value_wh"], r["quality"], r["source"])
            for r in revisions
        ),
        "exceptions": sorted(
            (
                e["rule"],
                e["status"],
                key.get(e["interval_reading_id"]),
                sorted(_detail(e["detail"] or {}, registers)),
            )
            for e in exceptions
        ),
        "usage": [sorted(tuple(row.values()) for row in rows) for rows in usage],
    }


def _detail(detail: dict[str, Any], registers: dict[int, str]) -> list[tuple[str, str]]:
    """An exception's detail with the register's OBIS code for its id, the row left out."""
    shown = {**detail, "register_id": registers.get(int(detail.get("register_id", 0)))}
    return [(k, str(v)) for k, v in shown.items() if k != "row"]


def counts(result: IngestResult, serial: str, shift: int) -> dict[str, Any]:
    figures = {k: v for k, v in result.as_dict().items() if k != "rejected"}
    figures["rejected"] = sorted(
        (r.row - shift, r.reason.replace(serial, "SERIAL")) for r in result.rejected
    )
    return figures


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_chunked_ingest_stores_what_row_by_row_stores(db: object, seed: int) -> None:
    chunked, single = await smart_meter("EQA0001"), await smart_meter("EQB0001")
    rng = random.Random(seed)
    rows = delivery(rng, "EQA0001")
    chunk_rows = rng.choice([17, 60, 500])
    fast = await run_ingest(csv_text(rows, COLUMNS), Format.CSV, chunk_rows=chunk_rows)
    slow = await run_ingest(ndjson(_renamed(rows)), chunk_rows=1)
    # The CSV's header is line 1, so its rows are one line further down than NDJSON's.
    assert counts(fast, "EQA0001", 1) == counts(slow, "EQB0001", 0)
    assert fast.revised and fast.duplicate and fast.exceptions and fast.rejected_count
    assert await stored(chunked) == await stored(single)
    # Sent again, each version of a repeat revises the other: the same both ways.
    await run_ingest(csv_text(rows, COLUMNS), Format.CSV, chunk_rows=chunk_rows)
    await run_ingest(ndjson(_renamed(rows)), chunk_rows=1)
    before = await stored(chunked)
    assert before == await stored(single)
    # The values as they now stand, sent again: all duplicates, nothing changes.
    standing = await IntervalReading.filter(
        register__meter_id=chunked.meter.id, quality="valid"
    ).values("register__obis_code", "interval_start", "value_wh")
    resent = [
        {"meter": "EQA0001", "obis": r["register__obis_code"],
         "timestamp": r["interval_start"].isoformat(), "kwh": kwh(r["value_wh"])}
        for r in standing
    ]  # fmt: skip
    again = await run_ingest(csv_text(resent, COLUMNS), Format.CSV, chunk_rows=chunk_rows)
    assert (again.accepted, again.duplicate, again.revised) == (0, len(resent), 0)
    assert await stored(chunked) == before


def _renamed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The delivery for the second meter: the same rows, its serial for the first's."""
    return [{**r, "meter": "EQB0001"} if r["meter"] == "EQA0001" else r for r in rows]
