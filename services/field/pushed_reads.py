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
the registers it touched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from domain.enums import ReadQuality, ReadSource
from domain.field_conflicts import DROP_FLAGS, ReadPoint, drop_flags, replace_flags
from domain.field_reads import NEIGHBOUR_WINDOW, FieldRegister, ReadDecision, Window, decide_read
from domain.vee import VeeConfig
from services.field.push_facts import BilledRead, FieldPush, ReadRecord
from services.meter_data.vee_pending import validate_pending_reads
from store.models import RegisterRead
from store.sql import Sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadResult:
    """A pushed read's decision, with the read it concerns and the billed read it met."""

    decision: ReadDecision
    read: RegisterRead | None
    """Stored now (accepted or stored under a rule) or before (a duplicate)."""
    captured_at: datetime
    """The capture time on the device's clock, as sent."""
    billed: BilledRead | None = None


RecordReads = Callable[[Any, dict[int, ReadResult]], Awaitable[None]]
"""Writes the caller's record of a run, in the run's transaction (the connection is given)."""


async def store_reads(
    push: FieldPush, reads: Sequence[tuple[int, ReadRecord]], record: RecordReads
) -> dict[int, ReadResult]:
    """Decide and store ``reads`` (keyed by the caller's position) in one transaction."""
    new_reads: dict[UUID, RegisterRead] = {}
    results: dict[int, ReadResult] = {}
    async with in_transaction() as conn:
        starts: dict[int, datetime] = {}
        for _, item in reads:
            if item.register_id in push.registers:
                at = push.correction.correct(item.captured_at).astimezone(UTC)
                starts[item.register_id] = min(at, starts.get(item.register_id, at))
        windows = await _load_windows(push, starts, conn)
        for key, item in reads:
            results[key] = _store_one(push, item, windows, new_reads)
        for read in new_reads.values():
            register = push.registers[read.register_id]  # type: ignore[attr-defined]
            read.quality_flags = windows[register.id].flags[str(read.client_uuid)]
        if new_reads:
            await RegisterRead.bulk_create(list(new_reads.values()), using_db=conn)
        sql = Sql(conn)
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
    push.existing_reads.update(new_reads)
    for read in new_reads.values():
        push.changed_at(read.register_id, read.read_at)  # type: ignore[attr-defined]
    for register_id, window in windows.items():
        for point in window.points:
            if point.uuid in window.changed:
                push.changed_at(register_id, point.read_at)
    return results


def _store_one(
    push: FieldPush,
    item: ReadRecord,
    windows: dict[int, Window],
    new_reads: dict[UUID, RegisterRead],
) -> ReadResult:
    """Decide one read against the run so far; a stored one joins ``new_reads``."""
    existing = push.existing_reads.get(item.uuid) or new_reads.get(item.uuid)
    register = push.registers.get(item.register_id)
    billed = push.last_billed.get(register.id) if register is not None else None
    read_at = push.correction.correct(item.captured_at).astimezone(UTC)
    window = windows.get(register.id) if register is not None else None
    decision = decide_read(
        uuid=str(item.uuid),
        register_id=item.register_id,
        value_milli=item.value_milli,
        read_at=read_at,
        stored_register_id=existing.register_id if existing is not None else None,  # type: ignore[attr-defined]
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
    read = RegisterRead(
        client_uuid=item.uuid,
        register_id=register.id,
        value_milli=item.value_milli,
        read_at=read_at,
        source=ReadSource(item.source),
        quality=ReadQuality.PENDING,
        quality_flags=list(decision.flags),
        captured_by_id=push.reader_id,
        device_id=push.device.id,
        device_captured_at=item.captured_at,
        received_at=push.received_at,
        latitude=item.latitude,
        longitude=item.longitude,
        raw_telegram=item.raw_telegram,
        photo_uuid=item.photo_uuid,
        notes=item.notes,
        revision=1,
        billed=False,
    )
    new_reads[item.uuid] = read
    return ReadResult(decision, read, item.captured_at, billed)


_COLUMNS = ("client_uuid", "register_id", "read_at", "value_milli", "source", "quality_flags")


async def _load_windows(
    push: FieldPush, starts: dict[int, datetime], conn: Any
) -> dict[int, Window]:
    """For each register, its reads from ``NEIGHBOUR_WINDOW`` before its earliest new read
    on, plus the read before that when none is in the window: every predecessor,
    successor and cycle mate the new reads can have. Locks the registers (PostgreSQL)."""
    if not starts:
        return {}
    ids = sorted(starts)
    if push.postgres:
        await conn.execute_query(
            "SELECT id FROM registers WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE", [ids]
        )
    start = min(starts.values()) - NEIGHBOUR_WINDOW
    rows = list(
        await RegisterRead.filter(register_id__in=ids, read_at__gte=start)
        .exclude(quality=ReadQuality.REJECTED)
        .using_db(conn)
        .values(*_COLUMNS)
    )
    earliest: dict[int, datetime] = {}
    for row in rows:
        rid = row["register_id"]
        earliest[rid] = min(row["read_at"], earliest.get(rid, row["read_at"]))
    missing = [rid for rid in ids if not (rid in earliest and earliest[rid] < starts[rid])]
    if missing:
        lasts = (
            await RegisterRead.filter(register_id__in=missing, read_at__lt=start)
            .exclude(quality=ReadQuality.REJECTED)
            .using_db(conn)
            .group_by("register_id")
            .annotate(last=Max("read_at"))
            .values("register_id", "last")
        )
        if lasts:
            rows += await (
                RegisterRead.filter(
                    Q(
                        *[Q(register_id=x["register_id"], read_at=x["last"]) for x in lasts],
                        join_type="OR",
                    )
                )
                .exclude(quality=ReadQuality.REJECTED)
                .using_db(conn)
                .values(*_COLUMNS)
            )
    windows = {rid: Window([], {}) for rid in ids}
    for row in rows:
        window = windows[row["register_id"]]
        point = _point(push.registers[row["register_id"]], row)
        window.points.append(point)
        window.flags[point.uuid] = sorted(row["quality_flags"] or [])
    for window in windows.values():
        window.points.sort(key=lambda p: p.key)
    return windows


def _point(register: FieldRegister, row: dict[str, Any]) -> ReadPoint:
    return register.point(
        str(row["client_uuid"]), row["read_at"], row["value_milli"], row["source"]
    )


async def neighbours(register: FieldRegister, read_at: datetime, conn: Any) -> list[ReadPoint]:
    """The register's reads from ``NEIGHBOUR_WINDOW`` before ``read_at`` on (plus the one
    before that, if none is in the window): a read's predecessor, successor and cycle mates."""
    start = read_at - NEIGHBOUR_WINDOW
    columns = ("client_uuid", "read_at", "value_milli", "source", "quality")
    rows = (
        await RegisterRead.filter(register_id=register.id, read_at__gte=start)
        .using_db(conn)
        .values(*columns)
    )
    if not any(r["read_at"] < read_at for r in rows):
        rows += (
            await RegisterRead.filter(register_id=register.id, read_at__lt=start)
            .using_db(conn)
            .order_by("-read_at", "-client_uuid")
            .limit(1)
            .values(*columns)
        )
    return sorted(
        (_point(register, r) for r in rows if r["quality"] != ReadQuality.REJECTED),
        key=lambda p: p.key,
    )


async def reflag_successor(
    register: FieldRegister, read: ReadPoint, successor: ReadPoint, conn: Any
) -> None:
    """Recompute the drop flags of the read after ``read`` (its predecessor changed)."""
    new = drop_flags(register.facts, read, successor)
    stored = (
        await RegisterRead.filter(client_uuid=successor.uuid)
        .using_db(conn)
        .only("id", "quality_flags")
        .first()
    )
    if stored is None:
        return
    flags = replace_flags(stored.quality_flags or [], DROP_FLAGS, new)
    if flags != sorted(stored.quality_flags or []):
        await RegisterRead.filter(id=stored.id).using_db(conn).update(quality_flags=flags)


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
