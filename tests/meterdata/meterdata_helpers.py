"""Meters to ingest into and the deliveries to ingest, shared by the meter-data tests."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import MeterKind
from domain.vee import VeeConfig
from gridbill.passwords import hash_secret
from services.meter_data.ingest import Format, IngestResult, ingest
from tests import factories as f

SECRET = "head-end-secret-0123456789"
IST = ZoneInfo("Asia/Kolkata")
INSTALLED = datetime(2026, 1, 1, tzinfo=UTC)
START = datetime(2026, 3, 1, tzinfo=IST)  # local midnight, 1 March 2026
STEP = timedelta(minutes=15)


async def smart_meter(serial: str = "SM0001", **overrides: Any) -> f.Site:
    """A smart meter with import, export and demand registers, installed on 1 January 2026
    at an account nobody holds yet (tests/factories.py ``site`` takes ``overrides``)."""
    chosen: dict[str, Any] = {
        "serial": serial, "kind": MeterKind.SMART, "obis": f.SMART_REGISTERS, "ct": None,
        "installed_at": INSTALLED, "holder": False, **overrides,
    }  # fmt: skip
    return await f.site(**chosen)


def kwh(wh: int) -> str:
    return str(Decimal(wh) / 1000)


def interval_rows(
    serial: str, start: datetime, values: Iterable[int], *, obis: str = "1.8.0", **extra: Any
) -> list[dict[str, Any]]:
    """NDJSON-ready rows, one 15-minute interval each, values in Wh."""
    return [
        {"meter": serial, "obis": obis, "timestamp": (start + i * STEP).isoformat(),
         "kwh": kwh(v), **extra}
        for i, v in enumerate(values)
    ]  # fmt: skip


def ndjson(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def csv_text(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    lines = [",".join(columns)]
    lines += [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


async def stream(data: bytes, block: int = 997) -> AsyncIterator[bytes]:
    """The delivery in odd-sized blocks, so lines are cut across reads."""
    for i in range(0, len(data), block):
        yield data[i : i + block]


async def run_ingest(
    data: bytes,
    fmt: Format = Format.NDJSON,
    *,
    config: VeeConfig | None = None,
    chunk_rows: int = 10_000,
    series_checks: bool = True,
) -> IngestResult:
    return await ingest(
        stream(data), fmt=fmt, config=config or VeeConfig(), zone=IST, label="test",
        chunk_rows=chunk_rows, series_checks=series_checks,
    )  # fmt: skip


def day_profile(base: int = 100) -> list[int]:
    """96 plausible quarter-hour values (Wh) for one day: low at night, an evening peak."""
    values = []
    for i in range(96):
        hour = i // 4
        if 18 <= hour < 22:
            values.append(base * 3)
        elif 6 <= hour < 18:
            values.append(base * 2)
        else:
            values.append(base)
    return values


@functools.cache
def secret_hash() -> str:
    return hash_secret(SECRET)  # Argon2 is slow on purpose: hash once per session


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
