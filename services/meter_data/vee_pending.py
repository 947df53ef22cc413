"""VEE for register reads stored as ``pending``: field reads pushed through the sync.

Reads delivered to ``POST /ingest/readings`` are judged as they are written
(``services.meter_data.reads``). Reads pushed by field devices are stored ``pending`` with
the sync's conflict flags (``domain.field_conflicts``) and judged here, with the same rules and
the same history: :func:`services.meter_data.reads.judge_read` against the register's usable
reads (``services.meter_data.reads._history``), with the register's facts from
``services.meter_data.registers.RegisterCatalog``. A read becomes ``valid`` or ``suspect``;
its sync flags are kept and the VEE flags added to ``quality_flags``, and each suspect
flag opens a ``validation_exceptions`` row, as at ingestion.

Some sync flags say "billing does not use this read" and make it suspect for staff,
whatever the VEE rules say (:data:`SYNC_SUSPECT`, see docs/sync-protocol.md).

A push of field records calls :func:`validate_pending_reads` for the registers it touched,
once its items are committed (``services.field.pushed_reads.judge``); the periodic task ``validate_pending_reads`` (``jobs.vee``) catches
up on anything left pending (a push whose validation failed, an edit).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.enums import ExceptionStatus, ReadQuality
from domain.field_conflicts import Rule as SyncRule
from domain.readings_format import Kind, ReadingRow, SourceQuality
from domain.vee import Rule, VeeConfig
from services.meter_data.reads import Point, _history, judge_read
from services.meter_data.registers import RegisterCatalog, RegisterInfo
from store.sql import Sql, as_dt

REGISTERS_PER_PASS = 500
"""Registers judged in one transaction."""

SYNC_SUSPECT = frozenset(
    {
        SyncRule.OLDER_THAN_BILLED.value,  # the billed read stands; this one changes nothing
        SyncRule.BACKWARDS.value,  # lower than the read before and not a rollover
        SyncRule.SUPERSEDED.value,  # a later field read of the same cycle is the one billed
        SyncRule.CLOCK_SKEW.value,  # the capture time is the device's, shifted by a guess
    }
)
"""Sync conflict flags that make a read suspect (an exception each, for staff to decide)."""

VEE_FLAGS = frozenset(rule.value for rule in Rule)


@dataclass
class PendingOutcome:
    judged: int = 0
    valid: int = 0
    suspect: int = 0
    exceptions: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "judged": self.judged,
            "valid": self.valid,
            "suspect": self.suspect,
            "exceptions": self.exceptions,
        }


async def validate_pending_reads(
    register_ids: Iterable[int] | None = None,
    *,
    zone: ZoneInfo,
    config: VeeConfig,
    now: datetime | None = None,
    rejudge_from: Mapping[int, datetime] | None = None,
) -> PendingOutcome:
    """Judge the pending reads of ``register_ids`` (every register with one when None),
    :data:`REGISTERS_PER_PASS` registers a transaction. Idempotent: judged reads are no
    longer pending.

    ``rejudge_from`` (register → moment) first sends a register's judged reads from that
    moment on back to pending, in the same transaction: a read that arrives before them,
    or a sync flag that changes, changes the history they were judged against. Billed
    reads, and reads on which staff decided an exception, are left as they are.
    """
    outcome = PendingOutcome()
    sql = Sql(get_connection("default"))
    if register_ids is None:
        ids = [
            int(r["register_id"])
            for r in await sql.rows(
                "SELECT DISTINCT register_id FROM register_reads WHERE quality = ? "
                "ORDER BY register_id",
                [ReadQuality.PENDING.value],
            )
        ]
    else:
        ids = sorted(set(register_ids))
    for start in range(0, len(ids), REGISTERS_PER_PASS):
        part = ids[start : start + REGISTERS_PER_PASS]
        async with in_transaction() as client:
            tx = Sql(client)
            await _lock(tx, part)
            await _back_to_pending(tx, part, rejudge_from or {})
            await _judge_pass(tx, part, zone, config, now or datetime.now(UTC), outcome)
    return outcome


async def _lock(sql: Sql, register_ids: list[int]) -> None:
    if sql.postgres:  # the sync push locks registers the same way before writing their reads
        await sql.rows(
            f"SELECT id FROM registers WHERE id IN ({Sql.marks(len(register_ids))}) "  # noqa: S608
            "ORDER BY id FOR UPDATE",
            register_ids,
        )


async def _back_to_pending(
    sql: Sql, register_ids: list[int], rejudge_from: Mapping[int, datetime]
) -> None:
    """Send each register's judged reads from its moment on back to pending: one statement
    a register, sent together (a push touches thousands of registers)."""
    await sql.many(
        "UPDATE register_reads SET quality = ? WHERE register_id = ? AND read_at >= ? "
        "AND billed = ? AND quality IN (?, ?) AND NOT EXISTS (SELECT 1 FROM "
        "validation_exceptions e WHERE e.register_read_id = register_reads.id "
        "AND e.status IN (?, ?))",
        [
            [ReadQuality.PENDING.value, register_id, sql.ts(rejudge_from[register_id]),
             sql.flag(False), ReadQuality.VALID.value, ReadQuality.SUSPECT.value,
             ExceptionStatus.ACCEPTED.value, ExceptionStatus.REJECTED.value]
            for register_id in register_ids
            if register_id in rejudge_from
        ],
    )  # fmt: skip


def _flags(value: Any) -> list[str]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return [str(f) for f in loaded] if isinstance(loaded, list) else []


async def _judge_pass(
    sql: Sql,
    register_ids: list[int],
    zone: ZoneInfo,
    config: VeeConfig,
    now: datetime,
    outcome: PendingOutcome,
) -> None:
    reads = await sql.rows(
        "SELECT id, client_uuid, register_id, value_milli, read_at, quality_flags "  # noqa: S608
        f"FROM register_reads WHERE register_id IN ({Sql.marks(len(register_ids))}) "
        "AND quality = ? ORDER BY register_id, read_at, client_uuid"
        # Locked, so the verdicts written below in one go meet the reads as read here.
        + (" FOR UPDATE" if sql.postgres else ""),
        [*register_ids, ReadQuality.PENDING.value],
    )
    if not reads:
        return
    catalog = RegisterCatalog(sql)
    await catalog.load_ids({int(r["register_id"]) for r in reads})
    rows: list[tuple[ReadingRow, RegisterInfo]] = []
    stored: dict[int, dict[str, Any]] = {}
    for r in reads:
        info = catalog.by_id.get(int(r["register_id"]))
        if info is None:
            continue
        read_id = int(r["id"])
        stored[read_id] = r
        # A head-end's own "suspect" (a delivered read judged again) still holds.
        said = (
            SourceQuality.SUSPECT
            if Rule.HEAD_END_SUSPECT.value in _flags(r["quality_flags"])
            else SourceQuality.VALID
        )
        row = ReadingRow(
            row=read_id, serial=info.serial, obis=info.obis, at=as_dt(r["read_at"]),
            kind=Kind.REGISTER, value=int(r["value_milli"]), length_s=0, quality=said,
            client_uuid=uuid.UUID(str(r["client_uuid"])),
        )  # fmt: skip
        rows.append((row, info))
    if not rows:
        return
    history = await _history(sql, rows, set(stored), config)
    by_register: dict[int, list[tuple[ReadingRow, RegisterInfo]]] = defaultdict(list)
    for row, info in rows:
        by_register[info.id].append((row, info))
    stamp = sql.ts(now)
    exceptions: list[tuple[Any, ...]] = []
    judged: list[int] = []
    verdicts: list[list[Any]] = []
    for register_id, items in by_register.items():
        timeline: list[Point] = list(history.get(register_id, []))
        for row, info in items:  # in time order
            verdict = judge_read(row, info, timeline, now=now, config=config, zone=zone)
            r = stored[row.row]
            sync_flags = [f for f in _flags(r["quality_flags"]) if f not in VEE_FLAGS]
            held = sorted(f for f in sync_flags if f in SYNC_SUSPECT)
            suspect = verdict.quality == ReadQuality.SUSPECT.value or bool(held)
            quality = ReadQuality.SUSPECT.value if suspect else ReadQuality.VALID.value
            flags = sorted(set(sync_flags) | {f.rule.value for f in verdict.flags})
            verdicts.append([quality, Sql.json(flags), stamp, row.row, ReadQuality.PENDING.value])
            outcome.judged += 1
            judged.append(row.row)
            if not suspect:
                outcome.valid += 1
                timeline.append(Point(row.at, row.value))
                timeline.sort(key=lambda p: p.at)
                continue
            outcome.suspect += 1
            detail = {"read_uuid": str(row.client_uuid)}
            for flag in verdict.flags:
                if flag.suspect:
                    exceptions.append(
                        (flag.rule.value, ExceptionStatus.OPEN.value, row.row, info.meter_id,
                         Sql.json({**flag.detail, **detail}), "", stamp, stamp)
                    )  # fmt: skip
            for name in held:
                exceptions.append(
                    (name, ExceptionStatus.OPEN.value, row.row, info.meter_id,
                     Sql.json({"sync_rule": name, **detail}), "", stamp, stamp)
                )  # fmt: skip
    await sql.many(
        "UPDATE register_reads SET quality = ?, quality_flags = ?, updated_at = ? "
        "WHERE id = ? AND quality = ?",
        verdicts,
    )
    for start in range(0, len(judged), 5000):  # a read judged again (after an edit)
        part = judged[start : start + 5000]
        await sql.execute(
            "UPDATE validation_exceptions SET status = ?, resolution_reason = ?, "  # noqa: S608
            "resolved_at = ?, updated_at = ? WHERE status = ? "
            f"AND register_read_id IN ({Sql.marks(len(part))})",
            [ExceptionStatus.REPLACED.value, "superseded: the read was judged again",
             stamp, stamp, ExceptionStatus.OPEN.value, *part],
        )  # fmt: skip
    if exceptions:
        await sql.insert(
            "validation_exceptions",
            ("rule", "status", "register_read_id", "meter_id", "detail", "resolution_reason",
             "created_at", "updated_at"),
            exceptions,
        )  # fmt: skip
        outcome.exceptions += len(exceptions)
