"""The gateway's own payment records, kept by reconciliation for the reconciliation report.

``gridbill reconcile`` reads the day's payments from the gateway; :func:`remember` stores
what it read (one row per gateway payment id, refreshed when seen again), so a report can
compare the gateway's view with the ledger later, on any day, without calling the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from gridbill.settings import Settings
from store.sql import Sql

COLUMNS = (
    "gateway", "gateway_payment_id", "order_id", "status", "method", "amount_paise",
    "created_at", "created_on", "fetched_at",
)  # fmt: skip
UPSERT = (
    "ON CONFLICT (gateway_payment_id) DO UPDATE SET status = excluded.status, "
    "amount_paise = excluded.amount_paise, method = excluded.method, "
    "order_id = excluded.order_id, fetched_at = excluded.fetched_at"
)


async def remember(settings: Settings, entities: Iterable[dict[str, Any]]) -> int:
    """Store the gateway payment entities (Razorpay's JSON); returns how many were stored."""
    sql = Sql(connections.get("default"))
    now = datetime.now(UTC)
    rows: dict[str, list[Any]] = {}
    for entity in entities:
        payment_id = str(entity.get("id") or "")
        if not payment_id or "amount" not in entity:
            continue
        created = datetime.fromtimestamp(int(entity.get("created_at") or now.timestamp()), UTC)
        rows[payment_id] = [
            "razorpay", payment_id, str(entity.get("order_id") or ""),
            str(entity.get("status") or ""), str(entity.get("method") or ""),
            int(entity["amount"]), sql.ts(created),
            sql.day(created.astimezone(settings.zone).date()), sql.ts(now),
        ]  # fmt: skip
    await sql.insert("gateway_records", COLUMNS, rows.values(), suffix=UPSERT)
    return len(rows)
