"""Storing reads pushed from the field: each decided as if alone, a run of them written together.

The decision is pure (``domain.field_reads.decide_read``); this module loads what it
needs and writes what it says. For speed, a run of reads shares one transaction: their
registers are locked in id order (PostgreSQL), the reads around them loaded once, each
read decided in order in memory, then the new reads and the re-flagged older ones written
in bulk. The caller records its own bookkeeping of the run in the same transaction
(``record``), so a read is either stored and recorded, or neither. A run that fails at the
database (a read UUID taken by a concurrent push) raises ``IntegrityError`` with nothing
written; the caller may then store its reads one by one.

Once a push's records are committed, :func:`judge` runs the register-read VEE rules over
the registers it touched. A new read sends the register's judged reads back to be judged
again (``FieldPush.rejudge``) only when a read is stored at or after it: the run's window
holds every such read, and a read after the last one changes no verdict already given (a
no-op ``UPDATE`` a register, thousands a push, saved).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from domain.enums import ReadQuality, ReadSource, ReadType
from domain.field_conflicts import ReadPoint
from domain.field_reads import NEIGHBOUR_WINDOW, FieldRegister, ReadDecision, Window, decide_read
from domain.vee import VeeConfig
from services.field.push_facts import BilledRead, FieldPush, PushedRead, ReadRecord, rows_in
from services.meter_data.vee_pending import validate_pending_reads
from store.models import RegisterRead
from store.sql import Sql, as_dt, as_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadResult:
    """A pushed read's decision, with the read it concerns and the billed read it met."""

    decision: ReadDecision
    read: RegisterRead | PushedRead | None
    """Stored now (accepted or stored under a rule) or before (a duplicate)."""
    captured_at: datetime
    """The capture time on the device's clock, as sent."""
    billed: BilledRead | None = None


RecordReads = Callable[[Any, dict[int, ReadResult]], Awaitable[None]]
"""Writes the caller's record of a run, in the run's transaction (the connection is given)."""

READ_COLUMNS = (
    ("client_uuid", "uuid"), ("register_id", "int8"), ("value_milli", "int8"),
    ("read_at", "timestamptz"), ("read_type", "text"), ("source", "text"), ("quality", "text"),
    ("quality_flags", "jsonb"), ("estimation_method", "text"), ("captured_by_id", "int8"),
    ("device_id", "int8"), ("device_captured_at", "timestamptz"), ("received_at", "timestamptz"),
    ("latitude", "float8"), ("longitude", "float8"), ("raw_telegram", "text"),
    ("photo_uuid", "uuid"), ("notes", "text"), ("revision", "int4"), ("billed", "bool"),
    ("created_at", "timestamptz"), ("updated_at", "timestamptz"),
)  # fmt: skip
"""The columns of a new read (PostgreSQL types: :meth:`store.sql.Sql.insert_columns`
sends them as one array a column, one statement a run whatever its length)."""


async def store_reads(
    push: FieldPush, reads: Sequence[tuple[int, ReadRecord]], record: RecordReads
) -> dict[int, ReadResult]:
    """Decide and store ``reads`` (keyed by the caller's position) in one transaction."""
    new_reads: dict[UUID, tuple[PushedRead, ReadRecord]] = {}
    results: dict[int, ReadResult] = {}
    async with in_transaction() as conn:
        sql = Sql(conn)
        starts: dict[int, datetime] = {}
        for _, item in reads:
            if item.register_id in push.registers:
                at = push.correction.correct(item.captured_at).astimezone(UTC)
                starts[item.register_id] = min(at, starts.get(item.register_id, at))
        windows = await _load_windows(push, starts, conn)
        last_stored = {
            rid: max(p.read_at for p in window.points)
            for rid, window in windows.items()
            if window.points
        }
        for key, item in reads:
            results[key] = _store_one(push, item, windows, new_reads)
        now = datetime.now(UTC)
        await sql.insert_columns(
            "register_reads",
            READ_COLUMNS,
            [
                _row(sql, push, read, item, windows[read.register_id].flags, now)
                for read, item in new_reads.values()
            ],
        )
        await sql.many(
            "UPDATE register_reads SET quality_flags = ? WHERE client_uuid = ?",
            [
                [Sql.json(window.flags[read_uuid]), sql.uuid(UUID(read_uuid))]
                for window in windows.values()
                for read_uuid in sorted(window.changed)
                if UUID(read_uuid) not in new_reads
            ],
        )
        await record(conn, results)
    for read, _ in new_reads.values():
        push.existing_reads[read.client_uuid] = read
        last = last_stored.get(read.register_id)
        if last is not None and read.read_at <= last:  # reads judged after it: judge again
            push.changed_at(read.register_id, read.read_at)
    for register_id, window in windows.items():
        for point in window.points:
            if point.uuid in window.changed:
                push.changed_at(register_id, point.read_at)
    return results


def _row(
    sql: Sql,
    push: FieldPush,
    read: PushedRead,
    item: ReadRecord,
    flags: dict[str, list[str]],
    now: datetime,
) -> tuple[Any, ...]:
    """A new read's ``register_reads`` row (:data:`READ_COLUMNS`), its flags as the run
    left them: pending for VEE, captured by the device's reader."""
    return (
        sql.uuid(read.client_uuid), read.register_id, read.value_milli, sql.ts(read.read_at),
        ReadType.REGULAR.value, ReadSource(item.source).value, ReadQuality.PENDING.value,
        Sql.json(flags[str(read.client_uuid)]), "", push.reader_id, push.device.id,
        sql.ts(item.captured_at), sql.ts(push.received_at), item.latitude, item.longitude,
        item.raw_telegram, None if item.photo_uuid is None else sql.uuid(item.photo_uuid),
        item.notes, read.revision, sql.flag(False), sql.ts(now), sql.ts(now),
    )  # fmt: skip


def _store_one(
    push: FieldPush,
    item: ReadRecord,
    windows: dict[int, Window],
    new_reads: dict[UUID, tuple[PushedRead, ReadRecord]],
) -> ReadResult:
    """Decide one read against the run so far; a stored one joins ``new_reads``."""
    earlier = new_reads.get(item.uuid)
    existing = push.existing_reads.get(item.uuid) or (earlier[0] if earlier else None)
    register = push.registers.get(item.register_id)
    billed = push.last_billed.get(register.id) if register is not None else None
    read_at = push.correction.correct(item.captured_at).astimezone(UTC)
    window = windows.get(register.id) if register is not None else None
    decision = decide_read(
        uuid=str(item.uuid),
        register_id=item.register_id,
        value_milli=item.value_milli,
        read_at=read_at,
        stored_register_id=existing.register_id if existing is not None else None,  # type: ignore[union-attr]
        register=register,
        window=window,
        received_at=push.received_at,
        correction=push.correction,
        on_my_routes=register is not None and register.meter_id in push.my_meters,
        last_billed_at=billed.read_at if billed is not None else None,
    )
    if not decision.stored:
        return ReadResult(decision, existing, item.captured_at)
    assert register is not None and window is not None
    window.admit(decision)
    read = PushedRead(item.uuid, register.id, item.value_milli, read_at)
    new_reads[item.uuid] = (read, item)
    return ReadResult(decision, read, item.captured_at, billed)


_WINDOW = (
    "SELECT client_uuid, register_id, read_at, value_milli, source, quality_flags "
    "FROM register_reads r WHERE quality <> ? AND "
)


async def _load_windows(
    push: FieldPush, starts: dict[int, datetime], conn: Any
) -> dict[int, Window]:
    """For each register, its reads from ``NEIGHBOUR_WINDOW`` before its earliest new read
    on, plus the read before that when none is in the window: every predecessor,
    successor and cycle mate the new reads can have. Locks the registers (PostgreSQL)."""
    if not starts:
        return {}
    ids = sorted(starts)
    sql = Sql(conn)
    if push.postgres:
        await conn.execute_query(
            "SELECT id FROM registers WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE", [ids]
        )
    start = min(starts.values()) - NEIGHBOUR_WINDOW
    rejected = ReadQuality.REJECTED.value
    rows = await rows_in(
        sql, _WINDOW + "read_at >= ?", "register_id", ids, [rejected, sql.ts(start)]
    )
    earliest: dict[int, datetime] = {}
    for row in rows:
        rid, row["read_at"] = int(row["register_id"]), as_dt(row["read_at"])
        earliest[rid] = min(row["read_at"], earliest.get(rid, row["read_at"]))
    missing = [rid for rid in ids if not (rid in earliest and earliest[rid] < starts[rid])]
    for row in await rows_in(  # the last read before the window, where none is in it
        sql,
        _WINDOW + "read_at = (SELECT MAX(b.read_at) FROM register_reads b WHERE "  # noqa: S608
        "b.register_id = r.register_id AND b.read_at < ? AND b.quality <> ?)",
        "register_id",
        missing,
        [rejected, sql.ts(start), rejected],
    ):
        row["read_at"] = as_dt(row["read_at"])
        rows.append(row)
    windows = {rid: Window([], {}) for rid in ids}
    for row in rows:
        rid = int(row["register_id"])
        point = _point(push.registers[rid], row)
        windows[rid].points.append(point)
        windows[rid].flags[point.uuid] = sorted(as_json(row["quality_flags"]) or [])
    for window in windows.values():
        window.points.sort(key=lambda p: p.key)
    return windows


def _point(register: FieldRegister, row: dict[str, Any]) -> ReadPoint:
    return register.point(
        str(row["client_uuid"]), row["read_at"], row["value_milli"], row["source"]
    )


async def reload(push: FieldPush, read_uuid: UUID) -> None:
    """After a clash with a concurrent push: learn what it stored under ``read_uuid``, so
    that the read is then answered as a duplicate."""
    found = await RegisterRead.get_or_none(client_uuid=read_uuid)
    if found is not None:
        push.existing_reads[read_uuid] = found


async def judge(
    register_ids: set[int],
    rejudge: dict[int, datetime],
    *,
    zone: ZoneInfo,
    config: VeeConfig,
) -> None:
    """Judge the pending reads of the registers a push touched; never fail the push.

    A failure is logged: the periodic task ``validate_pending_reads`` judges them later.
    """
    if not register_ids:
        return
    try:
        await validate_pending_reads(register_ids, zone=zone, config=config, rejudge_from=rejudge)
    except Exception:
        log.exception(
            "validating the pushed reads of %d registers failed: the periodic task "
            "validate_pending_reads will judge them",
            len(register_ids),
        )
