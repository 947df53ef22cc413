"""Estimating a missing register read for billing (``average_daily_use``).

Billing uses only values whose quality counts (valid, edited or estimated:
``domain.usage_aggregates.COUNTED``); estimates carry their method.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.enums import ReadQuality, ReadSource, ReadType
from domain.interval_estimation import Method
from domain.interval_estimation import estimate_register_read as estimate_value
from domain.usage_aggregates import COUNTED
from domain.vee import DEFAULT_CONFIG, VeeConfig, average_daily_use
from gridbill.errors import UserError
from services.meter_data.registers import RegisterCatalog
from store.sql import Sql, as_dt


class EstimationRefused(UserError):
    """Nothing to estimate a read from; the message says what is missing."""


async def estimate_register_read(
    *, register_id: int, at: datetime, config: VeeConfig = DEFAULT_CONFIG
) -> dict[str, Any]:
    """Create (once) an estimated read of a register at ``at`` for billing.

    The value is the last billable read before ``at`` plus the average daily use over
    ``history_days`` before that read × the days since, wrapped at the register's
    digits (``domain.interval_estimation.estimate_register_read``). It is stored with
    quality ``estimated``, source ``estimated`` and method ``average_daily_use``; asking
    again for the same register and moment returns the same read.
    """
    sql = Sql(get_connection("default"))
    catalog = RegisterCatalog(sql)
    await catalog.load_ids([register_id])
    info = catalog.by_id.get(register_id)
    if info is None:
        raise EstimationRefused(f"no register {register_id}")
    key = uuid.uuid5(
        uuid.NAMESPACE_URL, f"gridbill:estimate:{register_id}:{at.astimezone(UTC).isoformat()}"
    )
    key_value = key if sql.postgres else str(key)
    found = await sql.rows(
        "SELECT id, value_milli, read_at FROM register_reads WHERE client_uuid = ?", [key_value]
    )
    if found:
        return {
            "id": int(found[0]["id"]),
            "value_milli": int(found[0]["value_milli"]),
            "created": False,
        }
    since = at - timedelta(days=config.history_days * 4)
    reads = [
        (as_dt(r["read_at"]), int(r["value_milli"]))
        for r in await sql.rows(
            "SELECT read_at, value_milli FROM register_reads WHERE register_id = ? "  # noqa: S608
            f"AND read_at >= ? AND read_at < ? AND quality IN ({Sql.marks(len(COUNTED))}) "
            "ORDER BY read_at",
            [register_id, sql.ts(since), sql.ts(at), *COUNTED],
        )
    ]
    if not reads:
        raise EstimationRefused(
            f"register {register_id} has no billable read before {at.isoformat()}"
        )
    last_at, last_value = reads[-1]
    window = [(t, v) for t, v in reads if t >= last_at - timedelta(days=config.history_days)]
    factor = info.factor_at(last_at)
    average = average_daily_use(window if len(window) > 1 else reads, info.digits, factor)
    if average is None:
        raise EstimationRefused(f"register {register_id} has too little history to estimate from")
    value = estimate_value(last_value, last_at, at, average[0], info.digits, factor)
    now = datetime.now(UTC)
    async with in_transaction() as client:
        tx = Sql(client)
        returned = await tx.insert(
            "register_reads",
            ("client_uuid", "register_id", "value_milli", "read_at", "read_type", "source",
             "quality", "quality_flags", "estimation_method", "received_at", "notes", "revision",
             "billed", "created_at", "updated_at"),
            [(key_value, register_id, value, tx.ts(at), ReadType.REGULAR.value,
              ReadSource.ESTIMATED.value, ReadQuality.ESTIMATED.value, Sql.json([]),
              Method.AVERAGE_DAILY_USE.value, tx.ts(now), "", 1, tx.flag(False), tx.ts(now),
              tx.ts(now))],
            suffix="ON CONFLICT (client_uuid) DO NOTHING",
            returning="id",
        )  # fmt: skip
    if not returned:  # estimated concurrently: return that one
        return await estimate_register_read(register_id=register_id, at=at, config=config)
    return {"id": int(returned[0]["id"]), "value_milli": value, "created": True}
