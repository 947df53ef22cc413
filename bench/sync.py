"""Time one push of 5,000 reads through the real sync endpoint on PostgreSQL.

Starts a throwaway PostgreSQL cluster (scripts/pg_cluster.py), migrates it, seeds one
route of N meters with a register and a previous read each, enrols a device, serves the
app with uvicorn on a free port and pushes one batch of N reads over HTTP. Prints the
time of the push (request sent to answer read) and the results::

    .venv/bin/python bench/sync.py                # 5,000 reads, throwaway PostgreSQL
    .venv/bin/python bench/sync.py --reads 50 --database-url sqlite:///tmp/x.sqlite3

With ``--database-url`` the database must be migrated and empty of this bench's data.
Not a test: the figure depends on the machine. The aim is under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402

from domain.enums import AccountCategory, MeterKind, ReadQuality, ReadSource, RegisterUnit, Role  # noqa: E402
from gridbill.settings import Settings, load_settings  # noqa: E402
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
from sync.routes import sync_routes  # noqa: E402


async def seed(n: int) -> tuple[list[int], str, str]:
    """One route of ``n`` meters, each with a register and last month's read."""
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
    return list(registers), enrolled.device_uid, enrolled.credential


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def batch(registers: list[int]) -> bytes:
    now = datetime.now(UTC)
    items = [
        {"kind": "read", "uuid": str(uuid.uuid4()), "register_id": r, "value_milli": 1_250_000 + i,
         "captured_at": (now - timedelta(hours=3) + timedelta(seconds=2 * i)).isoformat(),
         "source": "manual", "latitude": 18.52, "longitude": 73.85}
        for i, r in enumerate(registers)
    ]  # fmt: skip
    body = {"protocol": 1, "batch_id": str(uuid.uuid4()), "device_clock": now.isoformat(),
            "time_zone": "Asia/Kolkata", "items": items}  # fmt: skip
    return json.dumps(body).encode()


def push_over_http(settings: Settings, body: bytes, auth: str) -> tuple[float, dict[str, Any]]:
    app = Starlette(
        routes=[Mount("/sync", routes=sync_routes(settings))], lifespan=_lifespan(settings)
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.02)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/sync/v1/push",
            data=body,
            headers={"Authorization": auth, "Content-Type": "application/json"},
            method="POST",
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
            answer = json.loads(response.read())
        return time.perf_counter() - started, answer
    finally:
        server.should_exit = True
        thread.join(30)


def _lifespan(settings: Settings) -> Any:
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        async with open_database(settings.database_url, pool_max=settings.db_pool_max):
            yield {}

    return lifespan


def run(database_url: str, reads: int, *, fresh: bool) -> float:
    settings = load_settings(
        {"GRIDBILL_ENV": "test", "DATABASE_URL": database_url,
         "GRIDBILL_SECRET_KEY": "bench-" + "x" * 40, "GRIDBILL_VAR_DIR": tempfile.mkdtemp()}
    )  # fmt: skip
    if fresh:
        asyncio.run(migrate(database_url))

    async def prepare() -> tuple[list[int], str, str]:
        async with open_database(database_url):
            return await seed(reads)

    started = time.perf_counter()
    registers, uid, credential = asyncio.run(prepare())
    print(f"seeded {reads} meters in {time.perf_counter() - started:.1f} s", flush=True)
    elapsed, answer = push_over_http(settings, batch(registers), f"Device {uid}:{credential}")
    results = Counter(r["result"] for r in answer["results"])
    print(
        f"push of {reads} reads: {elapsed:.2f} s ({reads / elapsed:.0f} reads/s)  results {dict(results)}"
    )
    if results.get("accepted", 0) != reads:
        raise SystemExit(f"expected every read accepted, got {dict(results)}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument(
        "--database-url", help="a migrated database (default: a throwaway PostgreSQL)"
    )
    args = parser.parse_args(argv)
    if args.database_url:
        run(args.database_url, args.reads, fresh=False)
        return 0
    from pg_cluster import TempPostgres

    with TempPostgres() as pg:
        run(pg.url.rsplit("/", 1)[0] + "/postgres", args.reads, fresh=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
