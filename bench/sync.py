"""Sync push benchmark: a reader's day of work pushed through the whole application.

    .venv/bin/python bench/sync.py                 # 5,000 items, throwaway PostgreSQL
    .venv/bin/python bench/sync.py --reads 50 --database-url sqlite:///tmp/x.sqlite3
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sync.py

It seeds one route of N meters (each with a register and last month's read), enrols a
device, and serves ``api.app:create_app`` with uvicorn in a subprocess, the way
``gridbill serve`` does: middleware, the event bus, background jobs, the answer cache.
A first push (not timed) sends a fifth of the route, as a handset that synced at lunch.
The timed push is the rest of the day, a realistic mix:

- new reads (70 %), ``accepted``;
- reads the lunch push already carried (10 %: the handset lost that answer and resends),
  ``duplicate``;
- second reads this cycle of a register read at lunch (10 %), ``conflict_resolved``
  (``same_cycle_second_read``);
- corrections of lunch reads (5 %), ``accepted`` edits;
- visits without a read (5 %), ``accepted`` skips.

The rest of the day is sent kind by kind (resends, second reads, edits, new reads, skips),
or with ``--shuffle`` in a random order (seeded: the same every run), as a handset sends
what it recorded as it came: edits and skips among the reads.

It prints the push's time (request sent to answer read), items per second, the results
by kind and the peak memory of the bench and of the server, and, as its last line, one
JSON object of those figures. It exits 1 if any item's result differs from the mix's.
Not a test: the figure depends on the machine (docs/performance.md).

``--profile FILE`` pushes the same two batches in this process instead (the use case
``sync.push.push``, no HTTP), under cProfile, writes the statistics of the timed push to
FILE (read them with ``python -m pstats FILE``), and prints its 25 costliest functions
and the SQL statements it sent, by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/ itself, whose api.py would shadow the api package

from bench.customer_app import peak_mb, server, settings_for, with_postgres_run  # noqa: E402
from domain.enums import AccountCategory, MeterKind, ReadQuality, ReadSource, RegisterUnit, Role  # noqa: E402
from store.db import migrate, open_database  # noqa: E402
from store.models import (  # noqa: E402
    Account,
    BillingCycle,
    Meter,
    MeterInstallation,
    Premise,
    Register,
    RegisterRead,
    Route,
    RouteStop,
    ServicePoint,
    User,
)
from sync import devices  # noqa: E402

MIX = {"duplicate": 0.10, "conflict": 0.10, "edit": 0.05, "skip": 0.05}  # the rest: new reads


async def seed(n: int) -> tuple[list[tuple[int, int]], str, str]:
    """One route of ``n`` meters, each with a register and last month's read.

    Returns (meter id, register id) pairs in route order, the device's uid and credential.
    """
    now = datetime.now(UTC)
    cycle = await BillingCycle.create(code="BENCH", name="Bench cycle", read_day=now.day)
    reader = await User.create(
        email="bench-reader@gridbill.example", full_name="Bench", role=Role.METER_READER
    )
    route = await Route.create(code="BENCH", name="Bench route", cycle=cycle, reader=reader)
    await Premise.bulk_create(
        [Premise(code=f"BP{i}", address_line1=f"{i} Bench Road", city="Pune", state="MH",
                 postal_code="411001") for i in range(n)], batch_size=1000,
    )  # fmt: skip
    premises = (
        await Premise.filter(code__startswith="BP").order_by("id").values_list("id", flat=True)
    )
    await ServicePoint.bulk_create(
        [ServicePoint(code=f"BSP{i}", premise_id=p) for i, p in enumerate(premises)],
        batch_size=1000,
    )
    points = (
        await ServicePoint.filter(code__startswith="BSP")
        .order_by("id")
        .values_list("id", flat=True)
    )
    await Account.bulk_create(
        [Account(number=f"BA{i}", service_point_id=p, category=AccountCategory.DOMESTIC,
                 sanctioned_load_w=5000, billing_cycle_id=cycle.id, connected_on=date(2020, 1, 1))
         for i, p in enumerate(points)], batch_size=1000,
    )  # fmt: skip
    await Meter.bulk_create(
        [Meter(serial=f"BM{i:06d}", kind=MeterKind.MANUAL) for i in range(n)], batch_size=1000
    )
    meters = await Meter.filter(serial__startswith="BM").order_by("id").values_list("id", flat=True)
    installed = datetime(2020, 1, 1, tzinfo=UTC)
    await MeterInstallation.bulk_create(
        [MeterInstallation(meter_id=m, service_point_id=p, installed_at=installed)
         for m, p in zip(meters, points, strict=True)], batch_size=1000,
    )  # fmt: skip
    await RouteStop.bulk_create(
        [RouteStop(route_id=route.id, meter_id=m, active_meter=m, sequence=i)
         for i, m in enumerate(meters)], batch_size=1000,
    )  # fmt: skip
    await Register.bulk_create(
        [Register(meter_id=m, obis_code="1.8.0", unit=RegisterUnit.KWH, digits=6) for m in meters],
        batch_size=1000,
    )
    registers = (
        await Register.filter(meter_id__in=meters).order_by("id").values_list("id", flat=True)
    )
    last_month = now - timedelta(days=30)
    await RegisterRead.bulk_create(
        [RegisterRead(client_uuid=uuid.uuid4(), register_id=r, value_milli=1_000_000 + i,
                      read_at=last_month, source=ReadSource.MANUAL, quality=ReadQuality.VALID,
                      received_at=last_month) for i, r in enumerate(registers)], batch_size=1000,
    )  # fmt: skip
    enrolled = await devices.enroll(reader_email="bench-reader@gridbill.example", name="bench")
    return list(zip(meters, registers, strict=True)), enrolled.device_uid, enrolled.credential


def read(register: int, value: int, at: datetime, item_uuid: str | None = None) -> dict[str, Any]:
    return {"kind": "read", "uuid": item_uuid or str(uuid.uuid4()), "register_id": register,
            "value_milli": value, "captured_at": at.isoformat(), "source": "manual",
            "latitude": 18.52, "longitude": 73.85}  # fmt: skip


def day_of_work(
    stops: list[tuple[int, int]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Counter[str]]:
    """The lunch push, the rest of the day, and the results the rest must get."""
    n = len(stops)
    dup, conflict, edit, skip = (int(n * MIX[k]) for k in ("duplicate", "conflict", "edit", "skip"))
    lunch_at, evening = now - timedelta(hours=5), now - timedelta(hours=2)
    lunch = [read(r, 1_200_000 + i, lunch_at + timedelta(seconds=i))
             for i, (_, r) in enumerate(stops[: dup + conflict])]  # fmt: skip
    rest: list[dict[str, Any]] = list(lunch[:dup])  # resent: duplicates
    rest += [read(r, 1_300_000 + i, evening + timedelta(seconds=i))
             for i, (_, r) in enumerate(stops[dup : dup + conflict])]  # fmt: skip
    rest += [
        {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": item["uuid"], "base_revision": 1,
         "value_milli": item["value_milli"] + 500, "edited_at": evening.isoformat(),
         "notes": "re-read"}
        for item in lunch[:edit]
    ]  # fmt: skip
    rest += [read(r, 1_250_000 + i, evening + timedelta(seconds=i))
             for i, (_, r) in enumerate(stops[dup + conflict : n - skip])]  # fmt: skip
    rest += [
        {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": m, "visited_at": evening.isoformat(),
         "skip_code": "premises_locked", "notes": "", "latitude": 18.52, "longitude": 73.85}
        for m, _ in stops[n - skip :]
    ]  # fmt: skip
    expected = Counter(
        {"duplicate": dup, "conflict_resolved": conflict, "accepted": len(rest) - dup - conflict}
    )
    return lunch, rest, expected


def push(base: str, auth: str, items: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    body = {"protocol": 1, "batch_id": str(uuid.uuid4()),
            "device_clock": datetime.now(UTC).isoformat(), "time_zone": "Asia/Kolkata",
            "items": items}  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 - http to our own server
        f"{base}/sync/v1/push", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": auth, "Content-Type": "application/json"},
    )  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
    return time.perf_counter() - started, answer


def profile(settings: Any, auth: str, batches: list[list[dict[str, Any]]], out: Path) -> None:
    """Push ``batches`` through ``sync.push.push`` in this process; the last one profiled."""
    import cProfile
    import pstats

    from services.meter_data.vee_config import load_config
    from store.models import FieldDevice
    from sync.protocol import parse_batch
    from sync.push import push as push_batch

    statements: Counter[str] = Counter()

    async def go() -> None:
        async with open_database(settings.database_url):
            device = await FieldDevice.get(device_uid=auth.split(" ")[1].split(":")[0])
            for number, items in enumerate(batches):
                body = {"protocol": 1, "batch_id": str(uuid.uuid4()),
                        "device_clock": datetime.now(UTC).isoformat(),
                        "time_zone": "Asia/Kolkata", "items": items}  # fmt: skip
                batch = parse_batch(json.dumps(body).encode())
                timed = number == len(batches) - 1
                log = _count_statements(statements) if timed else contextlib.nullcontext()
                profiler = cProfile.Profile()
                started = time.perf_counter()
                with log:
                    if timed:
                        profiler.enable()
                    await push_batch(device, batch, zone=settings.zone,
                                     postgres=settings.is_postgres, vee_config=load_config(settings))  # fmt: skip
                    if timed:
                        profiler.disable()
                if timed:
                    print(f"push of {len(items)} items in process: "
                          f"{time.perf_counter() - started:.2f} s (under cProfile)")  # fmt: skip
                    profiler.dump_stats(out)

    asyncio.run(go())
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(25)
    print(f"{sum(statements.values())} SQL statements:")
    for kind, count in statements.most_common(20):
        print(f"  {count:6d}  {kind}")


@contextlib.contextmanager
def _count_statements(into: Counter[str]) -> Iterator[None]:
    """Count the statements the database clients log (the first words of each, by kind)."""
    import logging

    class Counting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = str(record.msg if not record.args else record.args[0]).strip()
            into[" ".join(text.split()[:4])[:70]] += 1

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Counting(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def run(
    database_url: str,
    reads: int,
    *,
    fresh: bool,
    profile_to: Path | None = None,
    shuffle: bool = False,
) -> dict[str, Any]:
    settings = settings_for(database_url, Path(tempfile.mkdtemp()))
    if fresh:
        asyncio.run(migrate(database_url))

    async def prepare() -> tuple[list[tuple[int, int]], str, str]:
        async with open_database(database_url):
            return await seed(reads)

    started = time.perf_counter()
    stops, uid, credential = asyncio.run(prepare())
    print(f"seeded {reads} meters in {time.perf_counter() - started:.1f} s", flush=True)
    lunch, rest, expected = day_of_work(stops, datetime.now(UTC))
    if shuffle:
        random.Random(19).shuffle(rest)
    auth = f"Device {uid}:{credential}"
    if profile_to is not None:
        profile(settings, auth, [lunch, rest], profile_to)
        return {"items": len(rest), "profile": str(profile_to)}
    with server("api.app:create_app", settings, {}) as base:
        push(base, auth, lunch)
        elapsed, answer = push(base, auth, rest)
    results = Counter(r["result"] for r in answer["results"])
    figures = {
        "items": len(rest), "order": "shuffled" if shuffle else "by kind",
        "push_s": round(elapsed, 3),
        "items_per_s": round(len(rest) / elapsed), "results": dict(results),
        "peak_mb": peak_mb(),
    }  # fmt: skip
    print(f"push of {len(rest)} items: {elapsed:.2f} s ({figures['items_per_s']} items/s)  "
          f"results {dict(results)}")  # fmt: skip
    print(f"peak memory: bench {figures['peak_mb']['bench']} MB, "
          f"server {figures['peak_mb']['server']} MB")  # fmt: skip
    if results != expected:
        raise SystemExit(f"expected {dict(expected)}, got {dict(results)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reads", type=int, default=5000, help="meters on the route")
    parser.add_argument(
        "--database-url", help="a migrated database, empty of this bench's data (default: a "
        "new database on BENCH_PG_URL or a throwaway PostgreSQL)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, metavar="FILE",
        help="push in this process under cProfile, write the statistics to FILE",
    )  # fmt: skip
    parser.add_argument(
        "--shuffle", action="store_true",
        help="send the rest of the day in a random order (seeded), not kind by kind",
    )  # fmt: skip
    args = parser.parse_args(argv)
    options = {"profile_to": args.profile, "shuffle": args.shuffle}
    if args.database_url:
        figures = run(args.database_url, args.reads, fresh=False, **options)
    else:
        figures = with_postgres_run(lambda url: run(url, args.reads, fresh=True, **options))
    print(json.dumps({"reads": args.reads, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
