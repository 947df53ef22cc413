"""A device's edits of reads it pushed earlier: applied, refused, or outranked by the office.

Whether an edit may replace the stored value is a pure rule
(``domain.field_conflicts.decide_edit``: billed reads are final, a staff edit after the
version the device edited wins). An applied edit keeps the old value as a revision (the
row :func:`services.meter_data.reads.keep_revision` writes for every change of a read),
makes the read ``pending`` for VEE again and recomputes the drop flags of the read and of
its successor.

For speed, a run of edits shares one transaction: the reads they name and their registers
are locked (PostgreSQL, registers first, as pushes of reads lock them), the reads around
them loaded once, each edit decided in order in memory, exactly as if it had been applied
alone after the ones before it, then revisions, reads and re-flagged successors are
written in bulk. The caller records its bookkeeping of the run in the same transaction
(``record``), so an edit is either applied and recorded, or neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from domain import field_conflicts as conflicts
from domain.enums import ReadQuality, ReadSource, SyncItemResult
from domain.field_conflicts import ReadPoint, Rule
from domain.field_reads import NEIGHBOUR_WINDOW, FieldRegister, Refusal
from services.field.push_facts import EditRecord, FieldPush, PushedRead, registers_of
from store.models import RegisterRead
from store.sql import Sql


@dataclass(frozen=True)
class EditResult:
    result: SyncItemResult
    read: PushedRead | None = None
    """The read as it stands after the edit (``None`` when it is not on the server)."""
    rule: Rule | None = None
    refusal: Refusal | None = None


RecordEdits = Callable[[Any, dict[int, EditResult]], Awaitable[None]]
"""Writes the caller's record of a run of edits, in its transaction (the connection is given)."""

_COLUMNS = ("id", "client_uuid", "read_at", "value_milli", "source", "quality", "quality_flags")


@dataclass
class _Neighbourhood:
    """The stored reads of the registers a run edits, as the run has changed them so far."""

    rows: dict[int, list[dict[str, Any]]]
    """Per register, its reads (any quality) from the run's earliest window start on."""
    loaded_from: datetime
    changed: dict[int, list[str]] = field(default_factory=dict)
    """Read id → new flags, for reads re-flagged as an edited read's successor."""

    def around(self, register: FieldRegister, read: RegisterRead) -> list[dict[str, Any]]:
        """What ``neighbours`` of one read always were: the register's reads from
        ``NEIGHBOUR_WINDOW`` before it on, plus the one before that when none is before it
        in the window; rejected reads left out."""
        start = read.read_at - NEIGHBOUR_WINDOW
        rows = [r for r in self.rows[register.id] if r["read_at"] >= start]
        if not any(r["read_at"] < read.read_at for r in rows):
            earlier = [r for r in self.rows[register.id] if r["read_at"] < start]
            if earlier:
                rows.append(max(earlier, key=lambda r: (r["read_at"], str(r["client_uuid"]))))
        return [r for r in rows if r["quality"] != ReadQuality.REJECTED]

    def needs_more(self, register_id: int, read: RegisterRead) -> bool:
        """Whether the read before the window lies before what was loaded."""
        start = read.read_at - NEIGHBOUR_WINDOW
        rows = self.rows[register_id]
        return not any(start <= r["read_at"] < read.read_at for r in rows) and not any(
            r["read_at"] < start for r in rows
        )


async def apply_edits(
    push: FieldPush, items: Sequence[tuple[int, EditRecord]], record: RecordEdits
) -> dict[int, EditResult]:
    """Apply ``items`` (keyed by the caller's position, no edit UUID twice) in order, and
    the caller's record of them, in one transaction."""
    results: dict[int, EditResult] = {}
    async with in_transaction() as conn:
        sql = Sql(conn)
        found = {
            r.client_uuid: r
            for r in await RegisterRead.filter(
                client_uuid__in=list({i.read_uuid for _, i in items})
            ).using_db(conn)
        }
        mine = [r for r in found.values() if r.device_id == push.device.id]  # type: ignore[attr-defined]
        register_ids = sorted({r.register_id for r in mine})  # type: ignore[attr-defined]
        if push.postgres and register_ids:  # registers before reads, as pushes of reads lock them
            await conn.execute_query(
                "SELECT id FROM registers WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE",
                [register_ids],
            )
        locked = (
            await RegisterRead.filter(id__in=[r.id for r in mine])
            .using_db(conn)
            .select_for_update()
            .order_by("id")
            if mine
            else []
        )
        reads = {r.client_uuid: r for r in locked}
        await registers_of(push, register_ids)
        around = await _load(register_ids, list(reads.values()), conn)
        revisions: list[tuple[Any, ...]] = []
        edited: dict[int, RegisterRead] = {}
        for key, item in items:
            result = await _apply(push, item, found, reads, around, revisions, conn)
            if result.result is SyncItemResult.ACCEPTED and result.read is not None:
                read = reads[item.read_uuid]
                edited[read.id] = read
            results[key] = result
        now = datetime.now(UTC)
        await sql.insert(
            "register_read_revisions",
            ("read_id", "revision", "value_milli", "read_at", "source", "quality",
             "changed_by_id", "reason", "recorded_at"),
            [(*row[:3], sql.ts(row[3]), *row[4:], sql.ts(now)) for row in revisions],
        )  # fmt: skip
        await sql.many(
            "UPDATE register_reads SET value_milli = ?, revision = ?, quality = ?, notes = ?, "
            "quality_flags = ?, updated_at = ? WHERE id = ?",
            [
                [r.value_milli, r.revision, ReadQuality(r.quality).value, r.notes,
                 Sql.json(around.changed.pop(r.id, r.quality_flags)), sql.ts(now), r.id]
                for r in edited.values()
            ],
        )  # fmt: skip
        await sql.many(
            "UPDATE register_reads SET quality_flags = ? WHERE id = ?",
            [[Sql.json(flags), read_id] for read_id, flags in around.changed.items()],
        )
        await record(conn, results)
    for result in results.values():
        if result.result is SyncItemResult.ACCEPTED and result.read is not None:
            push.existing_reads[result.read.client_uuid] = result.read  # a later duplicate sees it
    return results


async def _load(register_ids: list[int], reads: list[RegisterRead], conn: Any) -> _Neighbourhood:
    if not reads:
        return _Neighbourhood({}, datetime.max.replace(tzinfo=UTC))
    start = min(r.read_at for r in reads) - NEIGHBOUR_WINDOW
    rows: dict[int, list[dict[str, Any]]] = {rid: [] for rid in register_ids}
    for row in (
        await RegisterRead.filter(register_id__in=register_ids, read_at__gte=start)
        .using_db(conn)
        .values("register_id", *_COLUMNS)
    ):
        rows[row["register_id"]].append(row)
    around = _Neighbourhood(rows, start)
    for read in reads:
        register_id: int = read.register_id  # type: ignore[attr-defined]
        if around.needs_more(register_id, read):  # rare: nothing within the loaded range
            before = (
                await RegisterRead.filter(register_id=register_id, read_at__lt=start)
                .using_db(conn)
                .order_by("-read_at", "-client_uuid")
                .limit(1)
                .values("register_id", *_COLUMNS)
            )
            rows[register_id] += before
    return around


def _refused(code: str, message: str) -> EditResult:
    return EditResult(SyncItemResult.REJECTED, refusal=Refusal(code, message))


def _snapshot(read: RegisterRead) -> PushedRead:
    return PushedRead(
        read.client_uuid,
        read.register_id,  # type: ignore[attr-defined]
        read.value_milli,
        read.read_at,
        read.revision,
    )


async def _apply(
    push: FieldPush,
    item: EditRecord,
    found: dict[UUID, RegisterRead],
    reads: dict[UUID, RegisterRead],
    around: _Neighbourhood,
    revisions: list[tuple[Any, ...]],
    conn: Any,
) -> EditResult:
    if item.read_uuid not in found:
        return _refused(
            "unknown_read", "the read is not on the server: push the read before its edit"
        )
    if item.read_uuid not in reads:
        return _refused("not_your_read", "a device may only edit reads it captured itself")
    read = reads[item.read_uuid]
    register_id: int = read.register_id  # type: ignore[attr-defined]
    verdict, rule = conflicts.decide_edit(
        conflicts.StoredRead(
            revision=read.revision,
            value_milli=read.value_milli,
            billed=read.billed,
            staff_edited=read.quality == ReadQuality.EDITED and read.revision > item.base_revision,
        ),
        item.base_revision,
        item.value_milli,
    )
    if verdict is conflicts.EditVerdict.SERVER_WINS:
        return EditResult(SyncItemResult.CONFLICT_RESOLVED, _snapshot(read), rule)
    if verdict is conflicts.EditVerdict.UNCHANGED:
        return EditResult(SyncItemResult.ACCEPTED, _snapshot(read))
    register = push.registers[register_id]
    if item.value_milli >= register.facts.span_milli:
        return _refused(
            "too_many_digits", f"the register shows at most {register.facts.digits} digits"
        )
    revisions.append(
        (read.id, read.revision, read.value_milli, read.read_at, ReadSource(read.source).value,
         ReadQuality(read.quality).value, push.reader_id, f"edited on device {push.device.device_uid} (edit {item.uuid})")
    )  # fmt: skip
    read.value_milli = item.value_milli
    read.revision += 1
    read.quality = ReadQuality.PENDING
    push.changed_at(register_id, read.read_at)
    if item.notes is not None:
        read.notes = item.notes
    uuid = str(read.client_uuid)
    point = register.point(uuid, read.read_at, read.value_milli, read.source)
    window = sorted(
        (
            _point(register, r)
            for r in around.around(register, read)
            if str(r["client_uuid"]) != uuid
        ),
        key=lambda p: p.key,
    )
    before = [r for r in window if r.key < point.key]
    after = [r for r in window if r.key > point.key]
    stored = around.changed.get(read.id, read.quality_flags or [])
    read.quality_flags = conflicts.replace_flags(
        stored,
        conflicts.DROP_FLAGS,
        conflicts.drop_flags(register.facts, before[-1] if before else None, point),
    )
    around.changed.pop(read.id, None)
    _remember(around, read)
    if after:
        _reflag_successor(register, point, after[0], around)
    return EditResult(SyncItemResult.ACCEPTED, _snapshot(read))


def _point(register: FieldRegister, row: dict[str, Any]) -> ReadPoint:
    return register.point(
        str(row["client_uuid"]), row["read_at"], row["value_milli"], row["source"]
    )


def _remember(around: _Neighbourhood, read: RegisterRead) -> None:
    """The edited read as later edits of the run meet it."""
    for row in around.rows[read.register_id]:  # type: ignore[attr-defined]
        if row["id"] == read.id:
            row.update(value_milli=read.value_milli, quality=read.quality,
                       quality_flags=read.quality_flags)  # fmt: skip


def _reflag_successor(
    register: FieldRegister, read: ReadPoint, successor: ReadPoint, around: _Neighbourhood
) -> None:
    """Recompute the drop flags of the read after ``read`` (its predecessor changed)."""
    new = conflicts.drop_flags(register.facts, read, successor)
    row = next(r for r in around.rows[register.id] if str(r["client_uuid"]) == successor.uuid)
    flags = conflicts.replace_flags(row["quality_flags"] or [], conflicts.DROP_FLAGS, new)
    if flags != sorted(row["quality_flags"] or []):
        row["quality_flags"] = flags
        around.changed[int(row["id"])] = flags
