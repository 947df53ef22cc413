"""Writing a chunk of interval readings: bulk loads and a few set-based statements.

Row by row through the ORM costs tens of microseconds a row; a head-end delivers
millions. A chunk is one transaction, written one of two ways:

* **fast path** (fresh data, the usual case): inside a savepoint the chunk is loaded
  straight into ``interval_readings`` (PostgreSQL ``COPY`` through asyncpg's binary
  ``copy_to_table``, SQLite ``executemany``), and the usage aggregates move by the
  totals row shaping already summed per account, day and TOU period
  (:func:`services.meter_data.aggregates.add_totals`). If any row already exists, the unique key (register, interval
  start) refuses the load, the savepoint is rolled back and the slow path runs;
* **slow path** (a resend, a correction): the chunk goes into a temporary staging table;
  each row is matched with the stored interval of the same register and start and marked
  *duplicate* (same value) or *revised* (different value: the old value is copied to
  ``interval_reading_revisions`` with its source and the row updated, ``revision`` + 1,
  only if nobody revised it meanwhile). New rows are inserted; a count that does not add
  up means another ingest raced this one, and the chunk is retried. The aggregates move
  by each row's difference (:func:`services.meter_data.aggregates.add_staged`).

Either way exceptions are opened for the values a rule made suspect. A run that met
existing rows keeps to the slow path until a chunk comes through without any.

A record, as row shaping (:mod:`services.meter_data.row_shaping`) builds it, starts with the columns of ``interval_readings``
(:data:`INSERT_COLUMNS`) and goes on with what staging needs (:data:`STAGE_COLUMNS`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import ExceptionStatus, ReadQuality, ReadSource
from domain.tou import Calendar
from domain.usage_aggregates import UsageTotals
from domain.vee import Flag, check_interval_duplicate
from services.meter_data import aggregates
from store.sql import Sql

INSERT_COLUMNS = (
    "register_id", "interval_start", "length_s", "value_wh", "quality", "estimation_method",
    "source", "revision", "received_at",
)  # fmt: skip
STAGE_COLUMNS = (
    *INSERT_COLUMNS, "row_no", "meter_id", "account_id", "day", "month", "tou", "direction",
    "demand_w", "flagged",
)  # fmt: skip
N_INSERT = len(INSERT_COLUMNS)
N_STAGE = len(STAGE_COLUMNS)
ROW_NO = N_INSERT  # where the row number sits in a record

STAGE = "gb_ingest_stage"
PG_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
    register_id integer NOT NULL, interval_start timestamptz NOT NULL,
    length_s integer NOT NULL, value_wh bigint NOT NULL, quality varchar(10) NOT NULL,
    estimation_method varchar(40) NOT NULL, source varchar(10) NOT NULL,
    revision integer NOT NULL, received_at timestamptz NOT NULL,
    row_no integer NOT NULL, meter_id integer NOT NULL, account_id integer,
    day date, month date, tou varchar(20) NOT NULL, direction char(1) NOT NULL,
    demand_w bigint NOT NULL, flagged boolean NOT NULL,
    status varchar(8) NOT NULL DEFAULT 'pending', old_id bigint, old_value bigint,
    old_quality varchar(10), old_source varchar(10), old_revision integer,
    old_received timestamptz, conflict boolean NOT NULL DEFAULT false
) ON COMMIT DELETE ROWS
"""
_SQLITE_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
    register_id INTEGER NOT NULL, interval_start TEXT NOT NULL, length_s INTEGER NOT NULL,
    value_wh INTEGER NOT NULL, quality TEXT NOT NULL, estimation_method TEXT NOT NULL,
    source TEXT NOT NULL, revision INTEGER NOT NULL, received_at TEXT NOT NULL,
    row_no INTEGER NOT NULL, meter_id INTEGER NOT NULL, account_id INTEGER,
    day TEXT, month TEXT, tou TEXT NOT NULL, direction TEXT NOT NULL,
    demand_w INTEGER NOT NULL, flagged INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', old_id INTEGER, old_value INTEGER,
    old_quality TEXT, old_source TEXT, old_revision INTEGER,
    old_received TEXT, conflict INTEGER NOT NULL DEFAULT 0
)
"""
_COLUMNS = ", ".join(INSERT_COLUMNS)
_INSERT_VALUES = (
    f"INSERT INTO interval_readings ({_COLUMNS}) VALUES ({', '.join('?' for _ in INSERT_COLUMNS)})"  # noqa: S608
)
_INSERT_STAGED = (
    f"INSERT INTO interval_readings ({_COLUMNS}) SELECT {_COLUMNS} FROM {STAGE} "  # noqa: S608
    "WHERE status = 'pending' ON CONFLICT (register_id, interval_start) DO NOTHING"
)
_MATCH = f"""
UPDATE {STAGE} AS s SET
    status = CASE WHEN i.value_wh = s.value_wh
                   AND NOT (i.quality = 'estimated' AND s.quality <> 'estimated')
             THEN 'dup' ELSE 'rev' END,
    old_id = i.id, old_value = i.value_wh, old_quality = i.quality, old_source = i.source,
    old_revision = i.revision, old_received = i.received_at,
    conflict = (i.received_at = s.received_at AND i.value_wh <> s.value_wh)
FROM interval_readings AS i
WHERE i.register_id = s.register_id AND i.interval_start = s.interval_start
"""  # noqa: S608
_REVISIONS = (
    "INSERT INTO interval_reading_revisions "  # noqa: S608
    "(reading_id, revision, value_wh, quality, source, reason, recorded_at) "
    f"SELECT old_id, old_revision, old_value, old_quality, old_source, ?, received_at "
    f"FROM {STAGE} WHERE status = 'rev'"
)
_REVISE = f"""
UPDATE interval_readings AS i SET
    value_wh = s.value_wh, quality = s.quality, estimation_method = s.estimation_method,
    source = s.source, revision = s.old_revision + 1, received_at = s.received_at
FROM {STAGE} AS s
WHERE i.id = s.old_id AND s.status = 'rev' AND i.revision = s.old_revision
"""  # noqa: S608
BILLED_REASON = "that interval is billed and cannot change: ask staff to cancel and rebill the bill"
_REFUSE_BILLED = f"""
UPDATE {STAGE} SET status = 'billed'
WHERE status = 'rev' AND EXISTS (
    SELECT 1 FROM billed_spans b WHERE b.register_id = {STAGE}.register_id
    AND b.starts_at <= {STAGE}.interval_start AND {STAGE}.interval_start < b.ends_at)
RETURNING row_no
"""  # noqa: S608
_SUPERSEDE = (
    "UPDATE validation_exceptions SET status = ?, resolution_reason = ?, resolved_at = ?, "  # noqa: S608
    "updated_at = ? WHERE status = ? AND interval_reading_id IN "
    f"(SELECT old_id FROM {STAGE} WHERE status = 'rev')"
)


class ConcurrentChange(RuntimeError):
    """Another writer changed the same intervals during this chunk: retry the chunk."""


@dataclass
class ChunkOutcome:
    accepted: int = 0
    duplicate: int = 0
    revised: int = 0
    exceptions: int = 0
    suspect: int = 0
    fast: bool = True
    rejected: list[tuple[int, str]] = field(default_factory=list)


async def write(
    sql: Sql,
    records: Sequence[tuple[Any, ...]],
    *,
    copy_payload: bytes,
    usage: UsageTotals,
    flags: Mapping[int, list[Flag]],
    reason: str,
    zone: ZoneInfo,
    calendar: Calendar,
    try_fast: bool,
) -> ChunkOutcome:
    """Write one chunk (inside the caller's transaction); returns what happened to it.

    ``copy_payload`` is the chunk in PostgreSQL's COPY text format (the parser builds
    it in its worker thread, so the event loop only sends bytes); unused on SQLite.
    """
    outcome = ChunkOutcome()
    if not (try_fast and await _fast_path(sql, records, copy_payload)):
        outcome.fast = False
        await _stage(sql, records)
        await _slow_path(sql, outcome, count=len(records), reason=reason)
        await aggregates.add_staged(sql, STAGE, datetime.now(UTC))
        if outcome.revised:
            await aggregates.refresh_staged_revisions(sql, STAGE, zone, calendar)
        if flags or outcome.revised:
            await _staged_exceptions(sql, outcome, flags)
    else:
        outcome.accepted = len(records)
        await aggregates.add_totals(sql, usage, datetime.now(UTC))
        if flags:
            await _fast_exceptions(sql, outcome, records, flags)
    return outcome


# --- fast path ------------------------------------------------------------------------


async def _fast_path(sql: Sql, records: Sequence[tuple[Any, ...]], copy_payload: bytes) -> bool:
    """Load the chunk straight into its table; False (nothing written) if a row exists."""
    if sql.postgres:
        import asyncpg

        async with sql.client.acquire_connection() as connection:
            await connection.execute(f"{PG_STAGE};\nSAVEPOINT gb_fast")
            try:
                await connection.copy_to_table(
                    "interval_readings", source=io.BytesIO(copy_payload),
                    columns=list(INSERT_COLUMNS), format="text",
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                await connection.execute("ROLLBACK TO SAVEPOINT gb_fast; RELEASE SAVEPOINT gb_fast")
                return False
            await connection.execute("RELEASE SAVEPOINT gb_fast")
        return True
    from tortoise.exceptions import IntegrityError

    rows = [r[:N_INSERT] for r in records]
    await sql.execute("SAVEPOINT gb_fast")
    try:
        await sql.client.execute_many(_INSERT_VALUES, rows)  # type: ignore[arg-type]
    except IntegrityError:
        await sql.execute("ROLLBACK TO SAVEPOINT gb_fast")
        await sql.execute("RELEASE SAVEPOINT gb_fast")
        return False
    await sql.execute("RELEASE SAVEPOINT gb_fast")
    return True


async def _fast_exceptions(
    sql: Sql,
    outcome: ChunkOutcome,
    records: Sequence[tuple[Any, ...]],
    flags: Mapping[int, list[Flag]],
) -> None:
    flagged = [r for r in records if r[ROW_NO] in flags]
    keys = [(r[0], r[1]) for r in flagged]
    ids = await interval_ids(sql, keys)
    rows = [
        {"row_no": r[ROW_NO], "meter_id": r[ROW_NO + 1], "interval_id": ids[(r[0], r[1])],
         "quality": r[4], "conflict": False, "old_value": None, "value_wh": r[3]}
        for r in flagged
    ]  # fmt: skip
    await _open_exceptions(sql, outcome, rows, flags)


async def interval_ids(sql: Sql, keys: Sequence[tuple[int, Any]]) -> dict[tuple[int, Any], int]:
    """Ids of the intervals with these (register id, start) keys (starts in driver form)."""
    found: dict[tuple[int, Any], int] = {}
    for start in range(0, len(keys), 5000):
        part = keys[start : start + 5000]
        if sql.postgres:
            rows = await sql.rows(
                "SELECT i.id, i.register_id, i.interval_start FROM "
                "unnest(?::int[], ?::timestamptz[]) AS k(r, t) JOIN interval_readings AS i "
                "ON i.register_id = k.r AND i.interval_start = k.t",
                [[k[0] for k in part], [k[1] for k in part]],
            )
            for r in rows:
                found[int(r["register_id"]), r["interval_start"]] = int(r["id"])
        else:
            values = ", ".join("(?, ?)" for _ in part)
            rows = await sql.rows(
                "SELECT id, register_id, interval_start FROM interval_readings "  # noqa: S608
                f"WHERE (register_id, interval_start) IN (VALUES {values})",
                [v for k in part for v in k],
            )
            for r in rows:
                found[int(r["register_id"]), str(r["interval_start"])] = int(r["id"])
    return found


# --- slow path ------------------------------------------------------------------------


async def _stage(sql: Sql, records: Sequence[tuple[Any, ...]]) -> None:
    rows = [r[:N_STAGE] for r in records]
    if sql.postgres:
        async with sql.client.acquire_connection() as connection:
            # Staging has no statistics: make the planner probe the big table's unique
            # index row by row instead of hashing millions of stored intervals.
            await connection.execute(
                f"{PG_STAGE};\nSET LOCAL enable_hashjoin = off;\nSET LOCAL enable_mergejoin = off"
            )
            await connection.copy_records_to_table(STAGE, records=rows, columns=list(STAGE_COLUMNS))
        return
    await sql.execute(_SQLITE_STAGE)
    await sql.execute(f"DELETE FROM {STAGE}")  # noqa: S608
    marks = ", ".join("?" for _ in STAGE_COLUMNS)
    await sql.client.execute_many(
        f"INSERT INTO {STAGE} ({', '.join(STAGE_COLUMNS)}) VALUES ({marks})",  # noqa: S608
        rows,  # type: ignore[arg-type]
    )


async def _insert_staged(sql: Sql) -> int:
    """Insert the pending staged rows; returns how many went in (the rest existed)."""
    if sql.postgres:  # asyncpg's status line is "INSERT 0 n": ask the rows themselves
        counted = f"WITH ins AS ({_INSERT_STAGED} RETURNING 1) SELECT COUNT(*) AS n FROM ins"  # noqa: S608
        rows = await sql.rows(counted)
        return int(rows[0]["n"])
    return await sql.execute(_INSERT_STAGED)


async def _slow_path(sql: Sql, outcome: ChunkOutcome, *, count: int, reason: str) -> None:
    await sql.execute(_MATCH)
    await _keep_resent_originals(sql)
    for r in await sql.rows(_REFUSE_BILLED):
        outcome.rejected.append((int(r["row_no"]), BILLED_REASON))
    statuses = {
        str(r["status"]): int(r["n"])
        for r in await sql.rows(f"SELECT status, COUNT(*) AS n FROM {STAGE} GROUP BY status")  # noqa: S608
    }
    pending = statuses.get("pending", 0)
    outcome.duplicate = statuses.get("dup", 0)
    outcome.revised = statuses.get("rev", 0)
    outcome.accepted = pending
    if pending + outcome.duplicate + outcome.revised + len(outcome.rejected) != count:
        raise ConcurrentChange("staged rows do not add up")
    if pending and await _insert_staged(sql) != pending:
        raise ConcurrentChange("another ingest inserted some of these intervals first")
    if not outcome.revised:
        return
    # An interval sent twice with different values in one delivery is suspect.
    await sql.execute(
        f"UPDATE {STAGE} SET quality = ?, flagged = ? WHERE status = 'rev' AND conflict = ?",  # noqa: S608
        [ReadQuality.SUSPECT.value, sql.flag(True), sql.flag(True)],
    )
    await sql.execute(_REVISIONS, [reason])
    if await sql.execute(_REVISE) != outcome.revised:
        raise ConcurrentChange("another writer revised some of these intervals first")
    now = sql.ts(datetime.now(UTC))
    await sql.execute(
        _SUPERSEDE,
        [
            ExceptionStatus.REPLACED.value,
            "superseded: the value was sent again, changed",
            now,
            now,
            ExceptionStatus.OPEN.value,
        ],
    )


async def _keep_resent_originals(sql: Sql) -> None:
    """A staff edit stands when the head-end re-sends the value staff replaced.

    "Changed" rows whose stored value is a staff edit are duplicates if the incoming value
    equals the last value the head-end itself sent (kept in the revisions).
    """
    rows = await sql.rows(
        f"SELECT row_no, old_id, value_wh FROM {STAGE} "  # noqa: S608
        "WHERE status = 'rev' AND old_quality = ?",
        [ReadQuality.EDITED.value],
    )
    if not rows:
        return
    ids = [int(r["old_id"]) for r in rows]
    latest: dict[int, int] = {}
    for r in await sql.rows(
        "SELECT reading_id, value_wh FROM interval_reading_revisions "  # noqa: S608
        f"WHERE reading_id IN ({Sql.marks(len(ids))}) AND source <> ? ORDER BY revision",
        [*ids, ReadSource.STAFF.value],
    ):
        latest[int(r["reading_id"])] = int(r["value_wh"])
    same = [int(r["row_no"]) for r in rows if latest.get(int(r["old_id"])) == int(r["value_wh"])]
    if same:
        await sql.execute(
            f"UPDATE {STAGE} SET status = 'dup' WHERE row_no IN ({Sql.marks(len(same))})",  # noqa: S608
            same,
        )


async def _staged_exceptions(
    sql: Sql, outcome: ChunkOutcome, flags: Mapping[int, list[Flag]]
) -> None:
    rows = await sql.rows(
        "SELECT s.row_no, s.meter_id, s.conflict, s.value_wh, s.old_value, s.quality, "  # noqa: S608
        f"i.id AS interval_id FROM {STAGE} AS s JOIN interval_readings AS i "
        "ON i.register_id = s.register_id AND i.interval_start = s.interval_start "
        "WHERE s.flagged = ? AND s.status <> 'dup'",
        [sql.flag(True)],
    )
    await _open_exceptions(sql, outcome, rows, flags)


async def _open_exceptions(
    sql: Sql,
    outcome: ChunkOutcome,
    rows: Sequence[Mapping[str, Any]],
    flags: Mapping[int, list[Flag]],
) -> None:
    records: list[tuple[Any, ...]] = []
    stamp = sql.ts(datetime.now(UTC))
    for r in rows:
        row_flags = list(flags.get(int(r["row_no"]), ()))
        if r["conflict"] and r["old_value"] is not None:
            duplicate = check_interval_duplicate(int(r["old_value"]), int(r["value_wh"]))
            if duplicate is not None:
                row_flags.append(duplicate)
        if r["quality"] == ReadQuality.SUSPECT.value:
            outcome.suspect += 1
        for flag in row_flags:
            if not flag.suspect:
                continue
            detail = {**flag.detail, "row": str(r["row_no"])}
            records.append(
                (flag.rule.value, ExceptionStatus.OPEN.value, int(r["interval_id"]), int(r["meter_id"]),
                 Sql.json(detail), "", stamp, stamp)
            )  # fmt: skip
    if records:
        await sql.insert(
            "validation_exceptions",
            ("rule", "status", "interval_reading_id", "meter_id", "detail", "resolution_reason",
             "created_at", "updated_at"),
            records,
        )  # fmt: skip
        outcome.exceptions += len(records)
