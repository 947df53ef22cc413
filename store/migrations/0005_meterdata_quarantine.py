"""Quarantine meter data stored outside the window ingestion now refuses, and index photo UUIDs.

Before ingestion refused them, a delivery could store readings dated far in the future
(``9999-12-31T23:45:00+14:00``) or before the meter was installed, and such a value made
every later delivery for the meter enumerate the years between. Ingestion now rejects
those rows; this migration marks the ones already stored, once:

* interval readings and register reads dated after the migration's now + the margin
  (``GRIDBILL_INGEST_FUTURE_MARGIN_HOURS``, 24 h by default), or before their meter's
  first installation (or of a meter never installed), get quality ``rejected``;
* each gets a ``validation_exceptions`` row with rule ``out_of_window``, status
  ``rejected``, the reason in ``resolution_reason`` and ``detail`` (``at``, ``limit``,
  ``why``: ``future`` or ``before_install``); open exceptions on them are closed the same
  way, so no one accepts them back by mistake;
* usage aggregates of local days after the window are recomputed (they summed only such
  values). Nothing is deleted. Billed register reads are left alone (a bill used them:
  cancel and rebill to correct it).

Reads and skips name photos by UUID, and a photo declaration looks them up: both
``photo_uuid`` columns get an index.
"""

import json
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

RULE = "out_of_window"
BATCH = 1000
FIRST_INSTALL = (
    "LEFT JOIN (SELECT meter_id, MIN(installed_at) AS first FROM meter_installations "
    "GROUP BY meter_id) f ON f.meter_id = r.meter_id"
)


async def quarantine(apps, schema_editor) -> None:
    from domain.vee import default_usage_calendar
    from gridbill.settings import ingest_future_margin_hours
    from services.meter_data import aggregates
    from store.sql import Sql, as_date, as_dt, as_dt_or_none

    sql = Sql(schema_editor.client)
    now = datetime.now(UTC)
    hours = ingest_future_margin_hours(os.environ)
    latest = now + timedelta(hours=hours)
    stamp = sql.ts(now)

    def why(at, first):
        if at > latest:
            limit = latest.isoformat()
            return "future", limit, f"dated after {limit} (migration time + {hours} h)"
        if first is None:
            return "before_install", "", "the meter was never installed"
        limit = first.isoformat()
        return "before_install", limit, f"dated before the meter was installed ({limit})"

    for table, column, link, extra in (
        ("interval_readings", "interval_start", "interval_reading_id", ""),
        ("register_reads", "read_at", "register_read_id", " AND t.billed = ?"),
    ):
        params = [sql.ts(latest)] + ([sql.flag(False)] if extra else [])
        found = await sql.rows(
            f"SELECT t.id, t.{column} AS at, r.meter_id, f.first FROM {table} t "  # noqa: S608
            f"JOIN registers r ON r.id = t.register_id {FIRST_INSTALL} "
            f"WHERE t.quality <> 'rejected' AND (t.{column} > ? OR f.first IS NULL "
            f"OR t.{column} < f.first){extra}",
            params,
        )
        for start in range(0, len(found), BATCH):
            part = found[start : start + BATCH]
            ids = [int(r["id"]) for r in part]
            marks = Sql.marks(len(ids))
            await sql.execute(
                f"UPDATE {table} SET quality = 'rejected' WHERE id IN ({marks})",  # noqa: S608
                ids,
            )
            await sql.execute(
                "UPDATE validation_exceptions SET status = 'rejected', resolution_reason = ?, "  # noqa: S608
                f"resolved_at = ?, updated_at = ? WHERE status = 'open' AND {link} IN ({marks})",
                ["quarantined: the value is outside the window of plausible times", stamp, stamp,
                 *ids],
            )  # fmt: skip
            records = []
            for r in part:
                at = as_dt(r["at"])
                kind, limit, reason = why(at, as_dt_or_none(r["first"]))
                detail = {"at": at.isoformat(), "limit": limit, "why": kind}
                records.append(
                    (RULE, "rejected", int(r["id"]), int(r["meter_id"]),
                     json.dumps(detail), f"quarantined by migration 0005: {reason}", stamp, stamp,
                     stamp)
                )  # fmt: skip
            await sql.insert(
                "validation_exceptions",
                ("rule", "status", link, "meter_id", "detail", "resolution_reason",
                 "resolved_at", "created_at", "updated_at"),
                records,
            )  # fmt: skip
    zone = ZoneInfo(os.environ.get("GRIDBILL_TIME_ZONE", "").strip() or "Asia/Kolkata")
    after = latest.astimezone(zone).date()
    pairs = {
        (int(r["account_id"]), as_date(r["day"]))
        for r in await sql.rows(
            "SELECT DISTINCT account_id, day FROM usage_daily WHERE day > ?", [sql.day(after)]
        )
    }
    await aggregates.recompute_days(sql, pairs, zone, default_usage_calendar())


class IndexField(ops.AlterField):
    """AlterField's new state (``db_index=True``) made with a plain ``CREATE INDEX`` on
    both databases: Tortoise 1.1 alters a SQLite column by rebuilding its table, which
    loses the table's other indexes (tests/test_migrations.py caught it)."""

    def __init__(self, model_name: str, name: str, field, table: str) -> None:
        super().__init__(model_name=model_name, name=name, field=field)
        self.table = table

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor:
            await state_editor.client.execute_query(
                f'CREATE INDEX IF NOT EXISTS "idx_{self.table}_{self.name}" '
                f'ON "{self.table}" ("{self.name}")'
            )

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor:
            await state_editor.client.execute_query(
                f'DROP INDEX IF EXISTS "idx_{self.table}_{self.name}"'
            )


class Migration(migrations.Migration):
    dependencies = [("gridbill", "0004_sync_promises")]

    initial = False

    operations = [
        IndexField(
            model_name="FieldVisit",
            name="photo_uuid",
            field=fields.UUIDField(null=True, db_index=True),
            table="field_visits",
        ),
        IndexField(
            model_name="RegisterRead",
            name="photo_uuid",
            field=fields.UUIDField(null=True, db_index=True),
            table="register_reads",
        ),
        ops.RunPython(quarantine, ops.RunPython.noop),
    ]
