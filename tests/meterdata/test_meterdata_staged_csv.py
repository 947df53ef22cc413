"""The SQL fast path for CSV on PostgreSQL stores exactly what the Python path stores.

``services.meter_data.staged_csv`` takes a chunk only when it is plainly clean and hands
everything else back to the Python rules, so over random deliveries (clean ones; ones
with repeats, changed repeats, gaps, spikes, unknown serials and bad rows; resends; the
timestamp in either zone form; other column sets) the stored intervals, revisions,
exceptions, usage aggregates and the returned summary must be the same as with the fast
path switched off, on two identical meters. The examples are drawn by Hypothesis first,
then run in one database (each on meters of its own).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meterdata_helpers import IST, START, STEP, csv_text, kwh, run_ingest, smart_meter, stream
from test_meterdata_ingest_equivalence import COLUMNS, counts, delivery, stored

from domain.vee import VeeConfig
from services.meter_data.ingest import Format, IngestResult, ingest
from services.meter_data.staged_csv import StagedCsv, tou_table
from store.db import open_database

pytestmark = pytest.mark.usefixtures("on_postgres")


@dataclass(frozen=True)
class Case:
    seed: int
    troubled: bool
    chunk_rows: int
    utc: bool
    columns: tuple[str, ...]
    resend: bool


CASES = st.builds(
    Case,
    seed=st.integers(0, 2**16),
    troubled=st.booleans(),
    chunk_rows=st.sampled_from([9, 50, 400]),
    utc=st.booleans(),
    columns=st.sampled_from([COLUMNS, ("timestamp", "kwh", "meter", "obis", "minutes")]),
    resend=st.booleans(),
)


def clean_delivery(rng: random.Random, serial: str, utc: bool) -> list[dict[str, Any]]:
    """Two days of import and export, time then register, some values estimated."""
    rows = []
    days = rng.choice([1, 2])
    for i in range(days * 96):
        at = START + i * STEP
        stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z") if utc else at.isoformat()
        for obis in ("1.8.0", "2.8.0"):
            row = {"meter": serial, "obis": obis, "timestamp": stamp,
                   "kwh": kwh(rng.randint(0, 400))}  # fmt: skip
            if rng.random() < 0.05:
                row["quality"] = "estimated"
            rows.append(row)
    return rows


async def both_ways(data_a: bytes, data_b: bytes, chunk_rows: int) -> tuple[IngestResult, ...]:
    staged = await run_ingest(data_a, Format.CSV, chunk_rows=chunk_rows)
    plain = await ingest_python(data_b, chunk_rows)
    return staged, plain


async def ingest_python(data: bytes, chunk_rows: int) -> IngestResult:
    return await ingest(
        stream(data), fmt=Format.CSV, config=VeeConfig(), zone=IST, label="test",
        chunk_rows=chunk_rows, staged_csv=False,
    )  # fmt: skip


async def test_the_sql_fast_path_stores_what_the_python_path_stores(db: object) -> None:
    cases: list[Case] = []

    @settings(max_examples=10, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    @given(CASES)
    def collect(case: Case) -> None:
        cases.append(case)

    collect()
    staged_chunks = fallbacks = 0
    for n, case in enumerate(cases):
        serial_a, serial_b = f"SQA{n:04d}", f"SQB{n:04d}"
        site_a, site_b = await smart_meter(serial_a), await smart_meter(serial_b)
        rng = random.Random(case.seed)
        if case.troubled:
            rows = delivery(rng, serial_a)
            if case.columns != COLUMNS:
                rows = [{**r, "minutes": "15"} for r in rows]
        else:
            rows = clean_delivery(rng, serial_a, case.utc)
        renamed = [{**r, "meter": serial_b} if r["meter"] == serial_a else r for r in rows]
        data_a, data_b = csv_text(rows, case.columns), csv_text(renamed, case.columns)
        rounds = [(data_a, data_b)]
        if case.resend:  # the same again, then a changed half: revisions on both paths
            half = [{**r, "kwh": kwh(7)} for r in rows[: len(rows) // 2]]
            half_b = [{**r, "meter": serial_b} if r["meter"] == serial_a else r for r in half]
            rounds += [(data_a, data_b), (csv_text(half, case.columns),
                                          csv_text(half_b, case.columns))]  # fmt: skip
        for a, b in rounds:
            staged, plain = await both_ways(a, b, case.chunk_rows)
            assert counts(staged, serial_a, 0) == counts(plain, serial_b, 0), case
            assert plain.staged_chunks == 0
            staged_chunks += staged.staged_chunks
            fallbacks += staged.staged_chunks < -(-staged.rows // case.chunk_rows)
        assert await stored(site_a) == await stored(site_b), case
    # Both ways were taken: chunks stored by SQL, and chunks handed back to Python.
    assert staged_chunks and fallbacks


async def test_a_clean_delivery_goes_all_the_sql_way(db: object) -> None:
    """Every chunk of a clean delivery (the bench's form) is stored by the SQL path."""
    site = await smart_meter("SQC0001")
    rows = clean_delivery(random.Random(5), "SQC0001", utc=True)
    result = await run_ingest(csv_text(rows, ("meter", "timestamp", "kwh", "obis")),
                              Format.CSV, chunk_rows=100)  # fmt: skip
    assert result.staged_chunks == -(-len(rows) // 100)
    assert (result.rows, result.accepted, result.rejected_count) == (len(rows), len(rows), 0)
    assert len((await stored(site))["intervals"]) == len(rows)


@pytest.mark.parametrize(
    "payload", [b'A,"B"\n', b"A,\\.\n", b"A,B\r\n", b"A\x00,B\n"], ids=["quote", "bs", "cr", "nul"]
)
def test_bytes_copy_might_read_otherwise_are_not_offered(payload: bytes) -> None:
    assert not StagedCsv.offered(payload)
    assert StagedCsv.offered(b"SM1,2026-03-01T00:00:00Z,0.125\n")


def test_the_tou_table_is_the_calendars_period_at() -> None:
    calendar = VeeConfig().usage_calendar
    table = tou_table(calendar)
    moment = START
    for _ in range(24 * 9):  # every hour of nine days: each weekday, two months
        local = moment.astimezone(START.tzinfo)
        index = ((local.month - 1) * 7 + local.weekday()) * 24 + local.hour
        assert table[index] == calendar.period_at(local)
        moment += STEP * 4 * 7 + STEP  # hops hours, weekdays and months


# Lines the COPY and the SQL casts could read otherwise than the Python reader: each
# goes into a small clean delivery (meter, obis, timestamp, kwh, minutes, quality) in
# place of one row; both ways must give the same summary and the same stored rows.
ODD_LINES = [
    "",  # a blank line
    "   ",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,15,valid,extra",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1",
    "{m},1.8.0,2026-03-01T24:00:00+05:30,0.1,15,",
    "{m},1.8.0,2026-02-30T00:30:00+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01 00:30:00+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:00+0530,0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:00.000+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:30+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:00,0.1,15,",
    " {m},1.8.0,2026-03-01T00:30:00+05:30,0.1,15,",
    "{m} ,1.8.0,2026-03-01T00:30:00+05:30,0.1,15,",
    "{m},1-0:1.8.0*255,2026-03-01T00:30:00+05:30,0.1,15,",
    "{m}, 1.8.0,2026-03-01T00:30:00+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,5.,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,.5,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30, 0.1,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1234,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,1e3,15,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,\u0661,15,",  # an Arabic-Indic digit
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,015,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,7,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,30,",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,15,VALID",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,15,suspect",
    "{m},1.8.0,2026-03-01T00:30:00+05:30,0.1,15,estimated",
    "{m},1.8.0,2025-06-01T00:30:00+05:30,0.1,15,",  # before the installation
    "{m},1.8.0,2099-03-01T00:30:00+05:30,0.1,15,",  # the future
    "{m},9.9.9,2026-03-01T00:30:00+05:30,0.1,15,",
    "NOSUCH9,1.8.0,2026-03-01T00:30:00+05:30,0.1,15,",
    "{m},1.8.0,2026-03-01T00:15:00+05:30,0.1,15,",  # a repeat, same value
    "{m},1.8.0,2026-03-01T00:15:00+05:30,0.2,15,",  # a repeat, changed
    "{m},1.8.0,2026-03-01T00:30:00+05:30,50,15,",  # a spike
    "\\.",
]


async def test_odd_lines_are_read_the_same_both_ways(db: object) -> None:
    staged_chunks = 0
    for n, odd in enumerate(ODD_LINES):
        serial_a, serial_b = f"ODA{n:04d}", f"ODB{n:04d}"
        site_a, site_b = await smart_meter(serial_a), await smart_meter(serial_b)
        data = []
        for serial in (serial_a, serial_b):
            lines = ["meter,obis,timestamp,kwh,minutes,quality"]
            for i in range(24):
                at = (START + i * STEP).isoformat()
                lines.append(f"{serial},1.8.0,{at},{kwh(100 + i)},15,")
            lines[14] = odd.format(m=serial)  # the chunk of lines 11–20 meets the odd one
            data.append(("\n".join(lines) + "\n").encode())
        staged = await run_ingest(data[0], Format.CSV, chunk_rows=10)
        plain = await ingest_python(data[1], 10)
        assert counts(staged, serial_a, 0) == counts(plain, serial_b, 0), odd
        staged_chunks += staged.staged_chunks
        assert await stored(site_a) == await stored(site_b), odd
    # Clean chunks around the odd ones went the SQL way (a repeat of a key in the chunk
    # ahead, both in flight, may send both the Python way: equal, but not counted here).
    assert staged_chunks >= len(ODD_LINES)


@pytest.mark.parametrize("head", [b"\n \n", b"\xef\xbb\xbf", b"\n\n\n\n\n\n\n\n\n\n\n\n"])
async def test_blank_lines_and_a_byte_order_mark_before_the_header(db: object, head: bytes) -> None:
    """The header is wherever the Python reader finds it; the chunks after it go by SQL."""
    site_a, site_b = await smart_meter("HDA0001"), await smart_meter("HDB0001")
    results = []
    for serial, staged_csv in (("HDA0001", True), ("HDB0001", False)):
        rows = clean_delivery(random.Random(3), serial, utc=False)[:40]
        data = head + csv_text(rows, ("meter", "obis", "timestamp", "kwh"))
        results.append(
            await ingest(stream(data), fmt=Format.CSV, config=VeeConfig(), zone=IST,
                         label="test", chunk_rows=10, staged_csv=staged_csv)
        )  # fmt: skip
    assert counts(results[0], "HDA0001", 0) == counts(results[1], "HDB0001", 0)
    assert results[0].staged_chunks >= 3 and results[0].accepted == 40
    assert await stored(site_a) == await stored(site_b)


async def test_one_connection_is_enough(database_url: str) -> None:
    """Two chunks in flight each read the catalog on their own transaction: with a pool
    of one connection they take turns instead of waiting on each other for ever."""
    async with open_database(database_url, pool_max=1):
        site = await smart_meter("SQP0001")
        rows = clean_delivery(random.Random(9), "SQP0001", utc=True)
        data = csv_text(rows, ("meter", "obis", "timestamp", "kwh"))
        result = await asyncio.wait_for(run_ingest(data, Format.CSV, chunk_rows=50), 60)
        assert (result.accepted, result.staged_chunks) == (len(rows), -(-len(rows) // 50))
        assert len((await stored(site))["intervals"]) == len(rows)
