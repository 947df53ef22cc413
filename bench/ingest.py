"""Benchmark: interval readings per second through the bulk ingestion path.

Writes N 15-minute interval readings (default 5,000,000: 500 meters × 96 a day ×
105 days, ordered by time then meter as head-ends export them) to a CSV file, row by
row, then ingests the file through ``services.meter_data.ingest`` (the path ``POST
/ingest/readings`` and ``gridbill import-readings`` take, with VEE and usage aggregates)
into PostgreSQL and/or SQLite, and prints readings per second and the peak resident
memory while ingesting. On PostgreSQL it also times ``COPY`` of the same file into a
bare table in the same database (no index, no validation: the floor any loader stands
on) and prints the ratio of the two.

    python bench/ingest.py                          # 5 M readings, both databases
    python bench/ingest.py --readings 1000000 --database postgres
    python bench/ingest.py --readings 2000 --meters 10 --pg-url postgres://…/postgres
    python bench/ingest.py --readings 200000 --database postgres --fk none

On PostgreSQL a CSV delivery takes the SQL fast path (``services.meter_data.staged_csv``)
chunk by chunk; ``--path python`` switches it off (the Python path alone, as before it)
and ``--path both`` runs the two one after the other on the same file, each in a
database of its own with its own ``COPY`` yardstick (the A/B of docs/meter-data.md).

``--fk none`` drops the foreign key of ``interval_readings.register_id`` in the scratch
database before ingesting (what the check costs); ``--fk statement`` replaces it by one
check per statement (an ``AFTER INSERT … FOR EACH STATEMENT`` trigger over the new rows,
the alternative measured in docs/meter-data.md#performance). Measurements only, never
settings of the application. The last line is one JSON object with the figures.

PostgreSQL is a throwaway cluster (scripts/pg_cluster.py) unless ``--pg-url`` names a
server whose user may create databases; SQLite a file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import asyncpg  # noqa: E402

from domain.enums import AccountCategory, MeterKind, MeterStatus, RegisterUnit  # noqa: E402
from domain.vee import VeeConfig  # noqa: E402
from services.meter_data.ingest import CHUNK_ROWS, Format, ingest, iterate_file  # noqa: E402
from store.db import migrate, open_database  # noqa: E402
from store.models import (  # noqa: E402
    Account,
    BillingCycle,
    Meter,
    MeterInstallation,
    Premise,
    Register,
    ServicePoint,
)

ZONE = ZoneInfo("Asia/Kolkata")
PER_DAY = 96
BLOCK_LINES = 2_000
SHAPE = [0.5] * 24 + [1.2] * 8 + [0.9] * 40 + [2.0] * 16 + [0.8] * 8  # quarter-hours of a day


@dataclass
class Figures:
    database: str
    readings: int
    seconds: float
    peak_rss_mb: float
    accepted: int
    copy_seconds: float | None = None
    sql_chunks: int = 0

    @property
    def rate(self) -> float:
        return self.readings / self.seconds

    @property
    def copy_rate(self) -> float | None:
        return self.readings / self.copy_seconds if self.copy_seconds else None


class RssWatch:
    """The process's resident memory, sampled as the delivery is read."""

    def __init__(self) -> None:
        self.peak = 0
        self.sample()

    @staticmethod
    def current() -> int:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:  # not Linux: the high-water mark so far
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def sample(self) -> None:
        self.peak = max(self.peak, self.current())


def serials(meters: int) -> list[str]:
    return [f"BENCH{i:06d}" for i in range(meters)]


def plan(readings: int, meters: int) -> tuple[datetime, int]:
    """The first interval and the number of days, ending well before today."""
    days = -(-readings // (meters * PER_DAY))
    first_day = datetime.now(ZONE).date() - timedelta(days=days + 2)
    return datetime.combine(first_day, dtime(0), ZONE), days


def csv_lines(readings: int, meters: int) -> Iterator[str]:
    """Rows in time order, meter by meter: a daily shape per meter with a little noise."""
    start, _ = plan(readings, meters)
    names = serials(meters)
    rng = random.Random(2026)
    base = [rng.randint(40, 160) for _ in names]
    yield "meter,timestamp,kwh\n"
    made = 0
    slot = 0
    step = timedelta(minutes=15)
    while made < readings:
        moment = (start + slot * step).astimezone(UTC).isoformat().replace("+00:00", "Z")
        shape = SHAPE[slot % PER_DAY]
        for name, b in zip(names, base, strict=True):
            wh = int(b * shape) + rng.randrange(12)
            yield f"{name},{moment},{wh / 1000:.3f}\n"
            made += 1
            if made == readings:
                return
        slot += 1


def write_csv(path: Path, readings: int, meters: int) -> int:
    """The delivery as a file, written a block at a time; returns its size in bytes."""
    with path.open("w", encoding="utf-8") as handle:
        block: list[str] = []
        for line in csv_lines(readings, meters):
            block.append(line)
            if len(block) == BLOCK_LINES:
                handle.write("".join(block))
                block.clear()
        handle.write("".join(block))
    return path.stat().st_size


async def file_blocks(path: Path, watch: RssWatch) -> AsyncIterator[bytes]:
    async for chunk in iterate_file(path, 1 << 18):
        watch.sample()
        yield chunk
    watch.sample()


async def seed(meters: int, installed: datetime) -> None:
    """One domestic account per meter, each with an installed smart meter and its 1.8.0."""
    cycle = await BillingCycle.create(code="BENCH", name="Benchmark cycle")
    names = serials(meters)
    await Premise.bulk_create(
        [Premise(code=f"P-{n}", address_line1="1 Bench Road", city="Pune", state="MH",
                 postal_code="411001") for n in names]
    )  # fmt: skip
    premises = {p.code: p.id for p in await Premise.filter(code__startswith="P-BENCH")}
    await ServicePoint.bulk_create(
        [ServicePoint(code=f"SP-{n}", premise_id=premises[f"P-{n}"]) for n in names]
    )
    points = {p.code: p.id for p in await ServicePoint.filter(code__startswith="SP-BENCH")}
    await Account.bulk_create(
        [Account(number=f"A-{n}", service_point_id=points[f"SP-{n}"],
                 category=AccountCategory.DOMESTIC, sanctioned_load_w=5000,
                 billing_cycle_id=cycle.id, connected_on=date(2020, 1, 1)) for n in names]
    )  # fmt: skip
    await Meter.bulk_create(
        [Meter(serial=n, kind=MeterKind.SMART, status=MeterStatus.INSTALLED) for n in names]
    )
    ids = {m.serial: m.id for m in await Meter.filter(serial__startswith="BENCH")}
    await MeterInstallation.bulk_create(
        [MeterInstallation(meter_id=ids[n], service_point_id=points[f"SP-{n}"],
                           installed_at=installed) for n in names]
    )  # fmt: skip
    await Register.bulk_create(
        [Register(meter_id=ids[n], obis_code="1.8.0", unit=RegisterUnit.KWH, digits=7)
         for n in names]
    )  # fmt: skip


STATEMENT_CHECK = """
CREATE FUNCTION bench_interval_registers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM registers WHERE id IN (SELECT DISTINCT register_id FROM new_rows)
    FOR KEY SHARE;
    IF EXISTS (SELECT 1 FROM new_rows n
               WHERE NOT EXISTS (SELECT 1 FROM registers r WHERE r.id = n.register_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'interval_readings: no such register';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bench_interval_registers AFTER INSERT ON interval_readings
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_interval_registers();
"""


async def change_interval_fk(url: str, fk: str) -> None:
    """Drop the foreign key of ``interval_readings.register_id`` (``--fk none``), or
    replace it by one check per statement (``--fk statement``)."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(
            "ALTER TABLE interval_readings DROP CONSTRAINT interval_readings_register_id_fkey"
        )
        if fk == "statement":
            await connection.execute(STATEMENT_CHECK)
    finally:
        await connection.close()


async def run_ingest(
    url: str,
    data: Path,
    readings: int,
    meters: int,
    chunk_rows: int,
    *,
    fk: str = "kept",
    staged_csv: bool = True,
) -> Figures:
    await migrate(url)
    if fk != "kept":
        await change_interval_fk(url, fk)
    start, _ = plan(readings, meters)
    async with open_database(url):
        await seed(meters, start - timedelta(days=30))
        watch = RssWatch()
        began = time.perf_counter()
        result = await ingest(
            file_blocks(data, watch), fmt=Format.CSV, config=VeeConfig(), zone=ZONE,
            label="bench", chunk_rows=chunk_rows, staged_csv=staged_csv,
        )  # fmt: skip
        seconds = time.perf_counter() - began
    name = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    name += {"kept": "", "none": " (no FK)", "statement": " (FK per statement)"}[fk]
    if name.startswith("PostgreSQL") and not staged_csv:
        name += " (Python path)"
    if result.accepted != readings:
        print(f"warning: {name} accepted {result.accepted:,} of {readings:,}: {result.as_dict()}")
    return Figures(
        name, readings, seconds, watch.peak / 2**20, result.accepted,
        sql_chunks=result.staged_chunks,
    )  # fmt: skip


async def time_copy(url: str, data: Path, readings: int) -> float:
    """COPY the same file into a bare table: the database's own loading speed."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(
            'CREATE TABLE bench_copy (meter text, "timestamp" timestamptz, kwh numeric)'
        )
        watch = RssWatch()
        began = time.perf_counter()
        await connection.copy_to_table(
            "bench_copy", source=file_blocks(data, watch), format="csv", header=True
        )
        seconds = time.perf_counter() - began
        copied = await connection.fetchval("SELECT count(*) FROM bench_copy")
        if copied != readings:
            print(f"warning: COPY loaded {copied:,} rows of {readings:,}")
        return seconds
    finally:
        await connection.close()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def postgres(
    admin_url: str, data: Path, args: argparse.Namespace, *, staged_csv: bool
) -> Figures:
    name = f"gridbill_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(admin_url, name)
        figures = await run_ingest(
            url, data, args.readings, args.meters, args.chunk_rows, fk=args.fk,
            staged_csv=staged_csv,
        )  # fmt: skip
        figures.copy_seconds = await time_copy(url, data, args.readings)
        return figures
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def sqlite(data: Path, args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-") as folder:
        url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        return await run_ingest(url, data, args.readings, args.meters, args.chunk_rows)


def report(rows: list[Figures]) -> str:
    width = max([11, *(len(f.database) for f in rows)])
    lines = [
        f"{'database':<{width}} {'readings':>11} {'seconds':>8} {'readings/s':>11} "
        f"{'peak RSS':>9} {'COPY rows/s':>12} {'ingest/COPY':>11}"
    ]
    for f in rows:
        copy = f"{f.copy_rate:>12,.0f}" if f.copy_rate else f"{'-':>12}"
        ratio = f"{f.rate / f.copy_rate:>11.2f}" if f.copy_rate else f"{'-':>11}"
        lines.append(
            f"{f.database:<{width}} {f.readings:>11,} {f.seconds:>8.1f} {f.rate:>11,.0f} "
            f"{f.peak_rss_mb:>7.0f}MB {copy} {ratio}"
        )
    return "\n".join(lines)


def as_json(rows: list[Figures]) -> str:
    """The figures as one JSON object (the last line printed), keyed by database."""
    return json.dumps(
        {
            f.database: {
                "readings": f.readings,
                "seconds": round(f.seconds, 3),
                "rows_per_s": round(f.rate),
                "copy_rows_per_s": round(f.copy_rate) if f.copy_rate else None,
                "ratio": round(f.rate / f.copy_rate, 3) if f.copy_rate else None,
                "peak_rss_mb": round(f.peak_rss_mb, 1),
                "sql_chunks": f.sql_chunks,
            }
            for f in rows
        }
    )


async def main_async(args: argparse.Namespace, data: Path) -> list[Figures]:
    figures: list[Figures] = []
    if args.database in ("postgres", "both"):
        ways = {"sql": [True], "python": [False], "both": [False, True]}[args.path]
        if args.pg_url:
            for staged_csv in ways:
                figures.append(await postgres(args.pg_url, data, args, staged_csv=staged_csv))
        else:
            from pg_cluster import TempPostgres

            with TempPostgres() as pg:
                for staged_csv in ways:
                    figures.append(await postgres(pg.url, data, args, staged_csv=staged_csv))
    if args.database in ("sqlite", "both"):
        figures.append(await sqlite(data, args))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    parser.add_argument("--pg-url", help="an existing server (default: a throwaway cluster)")
    parser.add_argument(
        "--fk", choices=("kept", "none", "statement"), default="kept",
        help="interval_readings' foreign key in the scratch database: kept, dropped "
        "(what it costs) or checked once per statement (the alternative)",
    )  # fmt: skip
    parser.add_argument(
        "--path", choices=("sql", "python", "both"), default="sql",
        help="PostgreSQL: the SQL fast path for CSV (default), the Python path alone, or both",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.readings < 1 or args.meters < 1:
        parser.error("--readings and --meters must be positive")
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-data-") as folder:
        data = Path(folder) / "readings.csv"
        size = write_csv(data, args.readings, args.meters)
        print(
            f"{args.readings:,} readings of {args.meters:,} meters: {size / 2**20:,.0f} MB of CSV"
        )
        figures = asyncio.run(main_async(args, data))
    print(report(figures))
    print(as_json(figures))
    return 0 if all(f.accepted == f.readings for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
