"""A device's edit of a read it pushed earlier: applied, refused, or outranked by the office.

Whether the edit may replace the stored value is a pure rule
(``domain.field_conflicts.decide_edit``: billed reads are final, a staff edit after the
version the device edited wins). An applied edit keeps the old value as a revision
(``services.meter_data.reads.keep_revision``, as every change of a read does), makes the
read ``pending`` for VEE again and recomputes the drop flags of the read and of its
successor. All of it, and the caller's record of the edit, is one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from domain import field_conflicts as conflicts
from domain.enums import ReadQuality, SyncItemResult
from domain.field_conflicts import Rule
from domain.field_reads import Refusal
from services.field.push_facts import EditRecord, FieldPush, register_of
from services.field.pushed_reads import neighbours, reflag_successor
from services.meter_data.reads import keep_revision
from store.models import RegisterRead


@dataclass(frozen=True)
class EditResult:
    result: SyncItemResult
    read: RegisterRead | None = None
    """The read as it stands after the edit (``None`` when it is not on the server)."""
    rule: Rule | None = None
    refusal: Refusal | None = None


RecordEdit = Callable[[Any, EditResult], Awaitable[None]]
"""Writes the caller's record of the edit, in its transaction (the connection is given)."""


async def apply_edit(push: FieldPush, item: EditRecord, record: RecordEdit) -> EditResult:
    """Apply one edit and the caller's record of it, in one transaction."""
    async with in_transaction() as conn:
        result = await _apply(push, item, conn)
        await record(conn, result)
    if result.result is SyncItemResult.ACCEPTED and result.read is not None:
        push.existing_reads[result.read.client_uuid] = result.read  # a later duplicate sees it
    return result


def _refused(code: str, message: str) -> EditResult:
    return EditResult(SyncItemResult.REJECTED, refusal=Refusal(code, message))


async def _apply(push: FieldPush, item: EditRecord, conn: Any) -> EditResult:
    found = await RegisterRead.filter(client_uuid=item.read_uuid).using_db(conn).first()
    if found is None:
        return _refused(
            "unknown_read", "the read is not on the server: push the read before its edit"
        )
    if found.device_id != push.device.id:  # type: ignore[attr-defined]
        return _refused("not_your_read", "a device may only edit reads it captured itself")
    register_id: int = found.register_id  # type: ignore[attr-defined]
    if push.postgres:  # register before read, as pushes of reads lock them
        await conn.execute_query("SELECT id FROM registers WHERE id = $1 FOR UPDATE", [register_id])
    read = await RegisterRead.filter(id=found.id).using_db(conn).select_for_update().get()
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
        return EditResult(SyncItemResult.CONFLICT_RESOLVED, read, rule)
    if verdict is conflicts.EditVerdict.UNCHANGED:
        return EditResult(SyncItemResult.ACCEPTED, read)
    register = await register_of(push, register_id)
    if item.value_milli >= register.facts.span_milli:
        return _refused(
            "too_many_digits", f"the register shows at most {register.facts.digits} digits"
        )
    await keep_revision(
        read,
        changed_by_id=push.reader_id,
        reason=f"edited on device {push.device.device_uid} (edit {item.uuid})",
        using_db=conn,
    )
    read.value_milli = item.value_milli
    read.revision += 1
    read.quality = ReadQuality.PENDING
    push.changed_at(register_id, read.read_at)
    if item.notes is not None:
        read.notes = item.notes
    point = register.point(str(read.client_uuid), read.read_at, read.value_milli, read.source)
    window = [p for p in await neighbours(register, read.read_at, conn) if p.uuid != point.uuid]
    before = [r for r in window if r.key < point.key]
    after = [r for r in window if r.key > point.key]
    read.quality_flags = conflicts.replace_flags(
        read.quality_flags or [],
        conflicts.DROP_FLAGS,
        conflicts.drop_flags(register.facts, before[-1] if before else None, point),
    )
    await read.save(
        using_db=conn,
        update_fields=[
            "value_milli",
            "revision",
            "quality",
            "notes",
            "quality_flags",
            "updated_at",
        ],
    )
    if after:
        await reflag_successor(register, point, after[0], conn)
    return EditResult(SyncItemResult.ACCEPTED, read)
