"""The one writer of the usage aggregates (``usage_daily``, ``usage_monthly``).

What the rows mean and which intervals count is ``domain.usage_aggregates``; this module
is the SQL. Usage screens read these rows instead of summing raw intervals.

They are maintained **incrementally**, always through the one additive upsert
(:func:`_upsert`): energy adds up, the maximum demand only grows.

* :func:`add_totals` adds sums made in Python (:class:`UsageTotals`): an ingested chunk
  on the fast path, the estimates that fill a gap, a recomputed day;
* :func:`add_staged` adds a staged chunk's deltas (the slow path of ingestion: a revision
  adds the difference between the new and the old value), summed by the database.

The rare changes that can lower a maximum (a revision, a staff decision, a day flagged
by a rule, a quarantine) recompute the account-days they touch from the intervals
instead (:func:`recompute_days`); :func:`rebuild` recomputes whole accounts (the demo
loader's bulk insert, a restore).

The TOU periods are those of the utility's usage calendar (``usage_calendar`` in the VEE
configuration; by default peak 18–22 h, off-peak 22–06 h, normal otherwise), in the
utility's time zone. A tariff still prices its own TOU periods from the intervals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.tou import Calendar
from domain.usage_aggregates import (
    AGGREGATED_OBIS,
    COUNTED,
    ESTIMATED,
    EXPORT,
    IMPORT,
    NOT_AGGREGATED,
    WHOLE_DAY,
    UsageTotals,
    demand_w,
    direction_of,
    first_of_month,
)
from store.sql import Sql, as_date, as_dt

TABLES = (("usage_daily", "day"), ("usage_monthly", "month"))
_COLUMNS = (
    "account_id, {bucket}, tou_period, import_wh, export_wh, estimated_wh, max_demand_w, updated_at"
)
# The domain's lists, as SQL literals (our own constants: no user text reaches them).
_IN_COUNTED = "(" + ", ".join(f"'{quality}'" for quality in COUNTED) + ")"
_ESTIMATED = f"'{ESTIMATED}'"
_IMPORT, _EXPORT, _NONE = f"'{IMPORT}'", f"'{EXPORT}'", f"'{NOT_AGGREGATED}'"
_PG_ARRAYS = (  # the rows as one array per column, then the stamp
    "SELECT t.*, ?::timestamptz FROM unnest(?::int[], ?::date[], ?::text[], ?::bigint[], "
    "?::bigint[], ?::bigint[], ?::bigint[]) AS t"
)


def _upsert(table: str, column: str, source: str, *, postgres: bool) -> str:
    """``INSERT … {source} ON CONFLICT`` adding to the row there: the one additive upsert.

    ``source`` yields the columns of :data:`_COLUMNS` in order (``VALUES`` or a
    ``SELECT``; SQLite needs a ``WHERE`` in a ``SELECT`` before ``ON CONFLICT``).
    """
    greatest = "GREATEST" if postgres else "MAX"
    return (
        f"INSERT INTO {table} ({_COLUMNS.format(bucket=column)}) {source} "
        f"ON CONFLICT (account_id, {column}, tou_period) DO UPDATE SET "
        f"import_wh = {table}.import_wh + excluded.import_wh, "
        f"export_wh = {table}.export_wh + excluded.export_wh, "
        f"estimated_wh = {table}.estimated_wh + excluded.estimated_wh, "
        f"max_demand_w = {greatest}({table}.max_demand_w, excluded.max_demand_w), "
        "updated_at = excluded.updated_at"
    )


async def add_totals(sql: Sql, totals: UsageTotals, now: datetime, *, months: bool = True) -> None:
    """Add sums made in Python to ``usage_daily`` (and ``usage_monthly`` unless told not).

    The days and months of ``totals`` are in the driver's form (:meth:`Sql.day`). On
    PostgreSQL the rows go as arrays in one statement per table (a chunk of a big
    delivery has thousands), on SQLite through ``executemany``; either way inside or
    outside a transaction.
    """
    parts = [(TABLES[0], totals.daily())]
    if months:
        parts.append((TABLES[1], totals.monthly()))
    if not any(rows for _, rows in parts):
        return
    if sql.postgres:  # one statement per table, whatever the number of rows
        for (table, column), rows in parts:
            if rows:
                columns = [list(c) for c in zip(*rows, strict=True)]
                await sql.execute(_upsert(table, column, _PG_ARRAYS, postgres=True),
                                  [now, *columns])  # fmt: skip
        return
    stamp = sql.ts(now)
    values = "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    for (table, column), rows in parts:
        await sql.many(
            _upsert(table, column, values, postgres=False), [(*row, stamp) for row in rows]
        )


def _deltas(stage: str, bucket: str, period: str) -> str:
    """Each staged row's effect: its value if it counts, less the old value it replaces."""
    new = f"(CASE WHEN quality IN {_IN_COUNTED} THEN value_wh ELSE 0 END)"
    old = f"(CASE WHEN status = 'rev' AND old_quality IN {_IN_COUNTED} THEN old_value ELSE 0 END)"
    new_est = f"(CASE WHEN quality = {_ESTIMATED} THEN value_wh ELSE 0 END)"
    old_est = f"(CASE WHEN status = 'rev' AND old_quality = {_ESTIMATED} THEN old_value ELSE 0 END)"
    return (
        f"SELECT account_id, {bucket} AS bucket, {period} AS period, "  # noqa: S608
        f"CASE WHEN direction = {_IMPORT} THEN {new} - {old} ELSE 0 END AS imp, "
        f"CASE WHEN direction = {_EXPORT} THEN {new} - {old} ELSE 0 END AS exp, "
        f"CASE WHEN direction = {_IMPORT} THEN {new_est} - {old_est} ELSE 0 END AS est, "
        f"CASE WHEN direction = {_IMPORT} AND quality IN {_IN_COUNTED} THEN demand_w ELSE 0 END AS dem "
        f"FROM {stage} WHERE status <> 'dup' AND account_id IS NOT NULL AND direction <> {_NONE}"
    )


async def add_staged(sql: Sql, stage: str, now: datetime) -> None:
    """Add a staged chunk's deltas (rows not marked ``dup``) to both tables.

    ``stage`` has ingestion's staging columns (``services.meter_data.intervals``):
    account, ``day``, ``month``, ``tou``, ``direction``, ``demand_w``, the new value and
    quality, and for a revision (status ``rev``) the old ones.
    """
    whole = f"'{WHOLE_DAY}'"
    for table, column in TABLES:
        deltas = f"{_deltas(stage, column, 'tou')} UNION ALL {_deltas(stage, column, whole)}"
        source = (
            "SELECT account_id, bucket, period, SUM(imp), SUM(exp), SUM(est), MAX(dem), ? "  # noqa: S608
            f"FROM ({deltas}) AS d WHERE true GROUP BY account_id, bucket, period"
        )
        await sql.execute(_upsert(table, column, source, postgres=sql.postgres), [sql.ts(now)])


def _fresh_per_period(stage: str) -> str:
    """A staged chunk of fresh rows summed per account, day and TOU period, once."""
    counted = f"quality IN {_IN_COUNTED}"
    return (
        "SELECT account_id, day, month, tou, "  # noqa: S608
        f"SUM(CASE WHEN direction = {_IMPORT} AND {counted} THEN value_wh ELSE 0 END) AS imp, "
        f"SUM(CASE WHEN direction = {_EXPORT} AND {counted} THEN value_wh ELSE 0 END) AS exp, "
        f"SUM(CASE WHEN direction = {_IMPORT} AND quality = {_ESTIMATED} THEN value_wh "
        "ELSE 0 END) AS est, "
        f"MAX(CASE WHEN direction = {_IMPORT} AND {counted} THEN demand_w ELSE 0 END) AS dem "
        f"FROM {stage} WHERE account_id IS NOT NULL AND direction <> {_NONE} "
        "GROUP BY account_id, day, month, tou"
    )


async def add_fresh_staged(sql: Sql, stage: str, now: datetime) -> None:
    """:func:`add_staged` for a stage of fresh rows only (status ``pending``, no old
    values), on PostgreSQL.

    The rows are summed once per account, day and TOU period, and the whole days and the
    months are summed from those sums, instead of every row being read four times (each
    table, its periods and its whole days): the SQL fast path of a CSV delivery
    (``services.meter_data.staged_csv``) spent more time here than staging the chunk.
    """
    whole = f"'{WHOLE_DAY}'"
    sums = "SUM(imp), SUM(exp), SUM(est), MAX(dem), ?::timestamptz"
    sources = {
        "usage_daily": f"SELECT account_id, day, tou, imp, exp, est, dem, ?::timestamptz FROM per "  # noqa: S608
        f"UNION ALL SELECT account_id, day, {whole}, {sums} FROM per GROUP BY account_id, day",
        "usage_monthly": f"SELECT account_id, month, tou, {sums} FROM per "  # noqa: S608
        f"GROUP BY account_id, month, tou UNION ALL SELECT account_id, month, {whole}, {sums} "
        "FROM per GROUP BY account_id, month",
    }
    for table, column in TABLES:
        statement = f"WITH per AS ({_fresh_per_period(stage)}) " + _upsert(
            table, column, sources[table], postgres=True
        )
        await sql.execute(statement, [now, now])


async def refresh_staged_revisions(
    sql: Sql, stage: str, zone: ZoneInfo, calendar: Calendar
) -> None:
    """Revised values may have lowered a day's maximum demand: recompute those days."""
    rows = await sql.rows(
        f"SELECT DISTINCT account_id, day FROM {stage} WHERE status = 'rev' "  # noqa: S608
        f"AND account_id IS NOT NULL AND direction = {_IMPORT} AND old_quality IN {_IN_COUNTED}"
    )
    await recompute_days(
        sql, {(int(r["account_id"]), as_date(r["day"])) for r in rows}, zone, calendar
    )


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends at (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _add_rows(
    totals: UsageTotals,
    sql: Sql,
    account_id: int,
    direction: str,
    rows: Iterable[dict[str, Any]],
    zone: ZoneInfo,
    calendar: Calendar,
) -> None:
    """Add intervals read back from ``interval_readings`` to ``totals``."""
    for row in rows:
        local = as_dt(row["interval_start"]).astimezone(zone)
        day = local.date()
        wh = int(row["value_wh"])
        totals.add(
            account_id, sql.day(day), sql.day(first_of_month(day)), calendar.period_at(local),
            direction=direction, quality=str(row["quality"]), wh=wh,
            demand=demand_w(wh, int(row["length_s"])),
        )  # fmt: skip


_INTERVALS = (
    "SELECT interval_start, length_s, value_wh, quality FROM interval_readings "  # noqa: S608
    f"WHERE register_id = ? AND quality IN {_IN_COUNTED}"
)


async def recompute_days(
    sql: Sql, pairs: set[tuple[int, date]], zone: ZoneInfo, calendar: Calendar
) -> None:
    """Rebuild the rows of these account-days from the intervals, then their months."""
    if not pairs:
        return
    now = datetime.now(UTC)
    totals = UsageTotals()
    for account_id, day in sorted(pairs):
        await sql.execute(
            "DELETE FROM usage_daily WHERE account_id = ? AND day = ?", [account_id, sql.day(day)]
        )
        lo, hi = day_bounds(day, zone)
        for reg in await _account_registers(sql, account_id, lo, hi):
            closed = reg["closed_on"]
            if as_date(reg["connected_on"]) > day or (closed is not None and as_date(closed) < day):
                continue
            begin = max(lo, as_dt(reg["installed_at"]))
            end = min(hi, as_dt(reg["removed_at"])) if reg["removed_at"] is not None else hi
            rows = await sql.rows(
                f"{_INTERVALS} AND interval_start >= ? AND interval_start < ?",
                [int(reg["id"]), sql.ts(begin), sql.ts(end)],
            )
            _add_rows(totals, sql, account_id, direction_of(str(reg["obis_code"])), rows, zone,
                      calendar)  # fmt: skip
    await add_totals(sql, totals, now, months=False)
    for account_id, month in sorted({(a, first_of_month(d)) for a, d in pairs}):
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


async def _recompute_month(sql: Sql, account_id: int, month: date, now: datetime) -> None:
    """A month's rows as the sum of its days' rows."""
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
    per_account: dict[int, UsageTotals] = {}
    for register_id in registers:
        info = catalog.by_id.get(register_id)
        if info is None:
            continue
        rows = await sql.rows(f"{_INTERVALS} ORDER BY interval_start", [register_id])
        for row in rows:
            account = info.account_at(as_dt(row["interval_start"]), zone)
            if account is None or (wanted is not None and account.account_id not in wanted):
                continue
            totals = per_account.setdefault(account.account_id, UsageTotals())
            _add_rows(totals, sql, account.account_id, info.direction, [row], zone, calendar)
    accounts = sorted(wanted if wanted is not None else per_account)
    now = datetime.now(UTC)
    for account_id in accounts:
        async with in_transaction() as client:
            tx = Sql(client)
            await tx.execute("DELETE FROM usage_daily WHERE account_id = ?", [account_id])
            await tx.execute("DELETE FROM usage_monthly WHERE account_id = ?", [account_id])
            await add_totals(tx, per_account.get(account_id, UsageTotals()), now)
    return len(accounts)
