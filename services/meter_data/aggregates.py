"""Daily and monthly usage per account and TOU period, kept up to date as readings land.

``usage_daily`` and ``usage_monthly`` hold, per account, local day (or month) and TOU
period (``""`` is the whole day), the energy imported (OBIS 1.8.0 intervals) and
exported (2.8.0), the estimated part of the import, and the largest 15-minute demand.
Usage screens read these rows instead of summing raw intervals.

Only billable energy counts: intervals whose quality is valid, estimated or edited. A
suspect interval joins the totals when staff accept it; a rejected one never does.

They are maintained **incrementally**: each ingested chunk adds its deltas in one
set-based upsert per table (a revision adds the difference between the new and the old
value). The rare changes that can lower a maximum (a revision, a staff decision, a day
flagged by a rule) recompute the account-days they touch from the intervals instead.

The TOU periods are those of the utility's usage calendar (``usage_calendar`` in the VEE
configuration; by default peak 18–22 h, off-peak 22–06 h, normal otherwise), in the
utility's time zone. A tariff still prices its own TOU periods from the intervals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import ReadQuality
from domain.tou import Calendar
from store.sql import Sql, as_date, as_dt

COUNTED = (ReadQuality.VALID.value, ReadQuality.ESTIMATED.value, ReadQuality.EDITED.value)
_IN_COUNTED = "('valid', 'estimated', 'edited')"
AGGREGATED_OBIS = ("1.8.0", "2.8.0")
EMPTY = "''"  # the whole-day period, as an SQL literal


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def _deltas(stage: str, bucket: str, period: str) -> str:
    new = f"(CASE WHEN quality IN {_IN_COUNTED} THEN value_wh ELSE 0 END)"
    old = f"(CASE WHEN status = 'rev' AND old_quality IN {_IN_COUNTED} THEN old_value ELSE 0 END)"
    new_est = "(CASE WHEN quality = 'estimated' THEN value_wh ELSE 0 END)"
    old_est = "(CASE WHEN status = 'rev' AND old_quality = 'estimated' THEN old_value ELSE 0 END)"
    return (
        f"SELECT account_id, {bucket} AS bucket, {period} AS period, "  # noqa: S608
        f"CASE WHEN direction = 'i' THEN {new} - {old} ELSE 0 END AS imp, "
        f"CASE WHEN direction = 'e' THEN {new} - {old} ELSE 0 END AS exp, "
        f"CASE WHEN direction = 'i' THEN {new_est} - {old_est} ELSE 0 END AS est, "
        f"CASE WHEN direction = 'i' AND quality IN {_IN_COUNTED} THEN demand_w ELSE 0 END AS dem "
        f"FROM {stage} WHERE status <> 'dup' AND account_id IS NOT NULL AND direction <> '-'"
    )


def _upsert_from(sql: Sql, table: str, column: str, source: str) -> str:
    greatest = "GREATEST" if sql.postgres else "MAX"
    return (
        f"INSERT INTO {table} (account_id, {column}, tou_period, import_wh, export_wh, "  # noqa: S608
        "max_demand_w, estimated_wh, updated_at) "
        "SELECT account_id, bucket, period, SUM(imp), SUM(exp), MAX(dem), SUM(est), ? "
        f"FROM ({source}) AS d WHERE true GROUP BY account_id, bucket, period "
        f"ON CONFLICT (account_id, {column}, tou_period) DO UPDATE SET "
        f"import_wh = {table}.import_wh + excluded.import_wh, "
        f"export_wh = {table}.export_wh + excluded.export_wh, "
        f"estimated_wh = {table}.estimated_wh + excluded.estimated_wh, "
        f"max_demand_w = {greatest}({table}.max_demand_w, excluded.max_demand_w), "
        "updated_at = excluded.updated_at"
    )


async def add_staged(sql: Sql, stage: str, now: datetime) -> None:
    """Add a staged chunk's deltas (rows not marked ``dup``) to both tables."""
    for table, column, bucket in (
        ("usage_daily", "day", "day"),
        ("usage_monthly", "month", "month"),
    ):
        source = f"{_deltas(stage, bucket, 'tou')} UNION ALL {_deltas(stage, bucket, EMPTY)}"
        await sql.execute(_upsert_from(sql, table, column, source), [sql.ts(now)])


async def refresh_staged_revisions(
    sql: Sql, stage: str, zone: ZoneInfo, calendar: Calendar
) -> None:
    """Revised values may have lowered a day's maximum demand: recompute those days."""
    rows = await sql.rows(
        f"SELECT DISTINCT account_id, day FROM {stage} WHERE status = 'rev' "  # noqa: S608
        f"AND account_id IS NOT NULL AND direction = 'i' AND old_quality IN {_IN_COUNTED}"
    )
    await recompute_days(
        sql, {(int(r["account_id"]), as_date(r["day"])) for r in rows}, zone, calendar
    )


@dataclass(frozen=True, slots=True)
class Delta:
    """One interval's effect on an account-day (negative to take energy away)."""

    account_id: int
    day: date
    period: str
    import_wh: int = 0
    export_wh: int = 0
    estimated_wh: int = 0
    demand_w: int = 0


async def add_deltas(sql: Sql, deltas: Iterable[Delta], now: datetime) -> None:
    """Add deltas computed in Python (estimates filled in, staff decisions) to both tables."""
    daily: dict[tuple[int, date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    monthly: dict[tuple[int, date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for d in deltas:
        for bucket, key_day in ((daily, d.day), (monthly, first_of_month(d.day))):
            for period in (d.period, ""):
                sums = bucket[d.account_id, key_day, period]
                sums[0] += d.import_wh
                sums[1] += d.export_wh
                sums[2] += d.estimated_wh
                sums[3] = max(sums[3], d.demand_w)
    greatest = "GREATEST" if sql.postgres else "MAX"
    stamp = sql.ts(now)
    for table, column, bucket in (
        ("usage_daily", "day", daily),
        ("usage_monthly", "month", monthly),
    ):
        if not bucket:
            continue
        await sql.many(
            f"INSERT INTO {table} (account_id, {column}, tou_period, import_wh, export_wh, "  # noqa: S608
            "estimated_wh, max_demand_w, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT (account_id, {column}, tou_period) DO UPDATE SET "
            f"import_wh = {table}.import_wh + excluded.import_wh, "
            f"export_wh = {table}.export_wh + excluded.export_wh, "
            f"estimated_wh = {table}.estimated_wh + excluded.estimated_wh, "
            f"max_demand_w = {greatest}({table}.max_demand_w, excluded.max_demand_w), "
            "updated_at = excluded.updated_at",
            [
                (account, sql.day(day), period, s[0], s[1], s[2], s[3], stamp)
                for (account, day, period), s in bucket.items()
            ],
        )


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends at (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


async def recompute_days(
    sql: Sql, pairs: set[tuple[int, date]], zone: ZoneInfo, calendar: Calendar
) -> None:
    """Rebuild the rows of these account-days from the intervals, then their months."""
    if not pairs:
        return
    now = datetime.now(UTC)
    months: set[tuple[int, date]] = set()
    for account_id, day in sorted(pairs):
        await _recompute_day(sql, account_id, day, zone, calendar, now)
        months.add((account_id, first_of_month(day)))
    for account_id, month in sorted(months):
        await _recompute_month(sql, account_id, month, now)


async def _account_registers(
    sql: Sql, account_id: int, lo: datetime, hi: datetime
) -> list[dict[str, Any]]:
    """Import/export registers of the meters on the account's service point in [lo, hi)."""
    return await sql.rows(
        "SELECT r.id, r.obis_code, mi.installed_at, mi.removed_at, a.connected_on, a.closed_on "  # noqa: S608
        "FROM accounts a JOIN meter_installations mi ON mi.service_point_id = a.service_point_id "
        "JOIN registers r ON r.meter_id = mi.meter_id "
        f"WHERE a.id = ? AND r.obis_code IN ({Sql.marks(len(AGGREGATED_OBIS))}) "
        "AND mi.installed_at < ? AND (mi.removed_at IS NULL OR mi.removed_at > ?)",
        [account_id, *AGGREGATED_OBIS, sql.ts(hi), sql.ts(lo)],
    )


async def _recompute_day(
    sql: Sql, account_id: int, day: date, zone: ZoneInfo, calendar: Calendar, now: datetime
) -> None:
    lo, hi = day_bounds(day, zone)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for reg in await _account_registers(sql, account_id, lo, hi):
        closed = reg["closed_on"]
        if as_date(reg["connected_on"]) > day or (closed is not None and as_date(closed) < day):
            continue
        begin = max(lo, as_dt(reg["installed_at"]))
        end = min(hi, as_dt(reg["removed_at"])) if reg["removed_at"] is not None else hi
        exporting = reg["obis_code"] == "2.8.0"
        for row in await sql.rows(
            "SELECT interval_start, length_s, value_wh, quality FROM interval_readings "  # noqa: S608
            "WHERE register_id = ? AND interval_start >= ? AND interval_start < ? "
            f"AND quality IN {_IN_COUNTED}",
            [int(reg["id"]), sql.ts(begin), sql.ts(end)],
        ):
            start = as_dt(row["interval_start"])
            wh = int(row["value_wh"])
            period = calendar.period_at(start.astimezone(zone))
            for key in (period, ""):
                sums = totals[key]
                if exporting:
                    sums[1] += wh
                    continue
                sums[0] += wh
                if row["quality"] == ReadQuality.ESTIMATED.value:
                    sums[2] += wh
                sums[3] = max(sums[3], wh * 3600 // int(row["length_s"]))
    await sql.execute(
        "DELETE FROM usage_daily WHERE account_id = ? AND day = ?", [account_id, sql.day(day)]
    )
    if totals:
        await sql.insert(
            "usage_daily",
            ("account_id", "day", "tou_period", "import_wh", "export_wh", "estimated_wh",
             "max_demand_w", "updated_at"),
            [(account_id, sql.day(day), period, s[0], s[1], s[2], s[3], sql.ts(now))
             for period, s in sorted(totals.items())],
        )  # fmt: skip


async def _recompute_month(sql: Sql, account_id: int, month: date, now: datetime) -> None:
    following = (month + timedelta(days=32)).replace(day=1)
    await sql.execute(
        "DELETE FROM usage_monthly WHERE account_id = ? AND month = ?",
        [account_id, sql.day(month)],
    )
    await sql.execute(
        "INSERT INTO usage_monthly (account_id, month, tou_period, import_wh, export_wh, "
        "estimated_wh, max_demand_w, updated_at) "
        "SELECT account_id, ?, tou_period, SUM(import_wh), SUM(export_wh), SUM(estimated_wh), "
        "MAX(max_demand_w), ? FROM usage_daily WHERE account_id = ? AND day >= ? AND day < ? "
        "GROUP BY account_id, tou_period",
        [sql.day(month), sql.ts(now), account_id, sql.day(month), sql.day(following)],
    )


async def rebuild(
    *, zone: ZoneInfo, calendar: Calendar, account_ids: Iterable[int] | None = None
) -> int:
    """Recompute both tables from the intervals; returns the number of accounts rebuilt.

    For data that reached ``interval_readings`` without going through ingestion (the
    demo loader's bulk insert, a restore): reads each import/export register's billable
    intervals in time order and rewrites its accounts' rows, one account per transaction.
    """
    from tortoise.connection import get_connection
    from tortoise.transactions import in_transaction

    from services.meter_data.registers import RegisterCatalog

    sql = Sql(get_connection("default"))
    wanted = set(account_ids) if account_ids is not None else None
    registers = [
        int(r["id"])
        for r in await sql.rows(
            f"SELECT id FROM registers WHERE obis_code IN ({Sql.marks(len(AGGREGATED_OBIS))}) "  # noqa: S608
            "ORDER BY id",
            list(AGGREGATED_OBIS),
        )
    ]
    catalog = RegisterCatalog(sql)
    await catalog.load_ids(registers)
    totals: dict[int, dict[tuple[date, str], list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    for register_id in registers:
        info = catalog.by_id.get(register_id)
        if info is None:
            continue
        rows = await sql.rows(
            "SELECT interval_start, length_s, value_wh, quality FROM interval_readings "  # noqa: S608
            f"WHERE register_id = ? AND quality IN {_IN_COUNTED} ORDER BY interval_start",
            [register_id],
        )
        for row in rows:
            start = as_dt(row["interval_start"])
            account = info.account_at(start, zone)
            if account is None or (wanted is not None and account.account_id not in wanted):
                continue
            local = start.astimezone(zone)
            wh = int(row["value_wh"])
            for key in ((local.date(), calendar.period_at(local)), (local.date(), "")):
                sums = totals[account.account_id][key]
                if info.direction == "e":
                    sums[1] += wh
                    continue
                sums[0] += wh
                if row["quality"] == ReadQuality.ESTIMATED.value:
                    sums[2] += wh
                sums[3] = max(sums[3], wh * 3600 // int(row["length_s"]))
    accounts = sorted(wanted if wanted is not None else totals)
    now = datetime.now(UTC)
    for account_id in accounts:
        days = totals.get(account_id, {})
        async with in_transaction() as client:
            tx = Sql(client)
            await tx.execute("DELETE FROM usage_daily WHERE account_id = ?", [account_id])
            await tx.execute("DELETE FROM usage_monthly WHERE account_id = ?", [account_id])
            if days:
                await tx.insert(
                    "usage_daily",
                    ("account_id", "day", "tou_period", "import_wh", "export_wh", "estimated_wh",
                     "max_demand_w", "updated_at"),
                    [(account_id, tx.day(day), period, s[0], s[1], s[2], s[3], tx.ts(now))
                     for (day, period), s in sorted(days.items())],
                )  # fmt: skip
                for month in sorted({first_of_month(day) for day, _ in days}):
                    await _recompute_month(tx, account_id, month, now)
    return len(accounts)
