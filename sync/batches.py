"""The bookkeeping of pushes: one ``sync_batches`` row per batch, one ``sync_items`` row per item.

These rows are what makes a push exactly-once. The batch row (unique per device and
batch id, with the SHA-256 of its items) is created first, in its own transaction; each
item's row is written in the transaction of the service that applies the item, so an
item either happened and is recorded, or neither. Pushing a batch again answers the
items already recorded from their rows (marked ``replayed``) and applies the rest: a
resend answers the same. These are the transport's own tables; the records themselves
(reads, revisions, visits) are written by ``services/field/`` only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.fields.data import JSON_DUMPS
from tortoise.transactions import in_transaction

from domain import field_conflicts as conflicts
from domain.enums import SyncItemResult
from domain.nesting import without_nul
from store.models import FieldDevice, SyncBatch, SyncItem
from store.sql import Sql
from sync.protocol import NIL_UUID, Batch, sent_uuid


class BatchConflict(Exception):
    """The batch id was pushed before with different items (HTTP 409)."""


@dataclass
class Outcome:
    """An item's result as the wire gives it (``sync_items`` stores the same)."""

    result: SyncItemResult
    rule: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


async def open_batch(
    device: FieldDevice, batch: Batch, received_at: datetime
) -> tuple[SyncBatch, bool]:
    """The batch's row, created now or found (then ``True``: the push is a replay).

    Raises :class:`BatchConflict` when the batch id was pushed before with other items.
    """
    existing = await SyncBatch.get_or_none(device_id=device.id, batch_uuid=batch.batch_uuid)
    if existing is None:
        correction = conflicts.clock_correction(received_at, batch.device_clock)
        try:
            async with in_transaction():
                created = await SyncBatch.create(
                    device_id=device.id,
                    batch_uuid=batch.batch_uuid,
                    content_sha256=batch.content_sha256,
                    device_clock_at=batch.device_clock,
                    device_time_zone=batch.time_zone,
                    clock_offset_s=correction.offset_s,
                    received_at=received_at,
                    item_count=len(batch.items),
                )
            return created, False
        except IntegrityError:  # the same batch arrived twice at once: the other one won
            existing = await SyncBatch.get(device_id=device.id, batch_uuid=batch.batch_uuid)
    if existing.content_sha256 != batch.content_sha256:
        raise BatchConflict(
            f"batch {batch.batch_uuid} was pushed before with different items: "
            "a new set of records needs a new batch_id"
        )
    await SyncBatch.filter(id=existing.id).update(replay_count=existing.replay_count + 1)
    return existing, True


def correction_of(stored: SyncBatch) -> conflicts.ClockCorrection:
    """The batch's clock correction, measured at its first push (a retry keeps it)."""
    return conflicts.ClockCorrection(
        stored.clock_offset_s, abs(stored.clock_offset_s) > conflicts.CLOCK_SKEW_LIMIT_S
    )


async def recorded_items(stored: SyncBatch) -> dict[int, SyncItem]:
    """The items of the batch already applied, by position."""
    return {i.position: i for i in await SyncItem.filter(batch_id=stored.id)}


async def recorded_item(stored: SyncBatch, position: int) -> SyncItem | None:
    return await SyncItem.get_or_none(batch_id=stored.id, position=position)


async def applied_edits(
    device: FieldDevice, edit_uuids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Outcome]:
    """Edits of this device already applied in an earlier batch: a resend answers the same."""
    if not edit_uuids:
        return {}
    return {
        item.client_uuid: Outcome(SyncItemResult(item.result), item.rule, item.detail)
        for item in await SyncItem.filter(
            client_uuid__in=list(edit_uuids), kind="edit", batch__device_id=device.id
        ).exclude(result=SyncItemResult.REJECTED)
    }


async def finish(stored: SyncBatch, replayed: bool, item_count: int) -> None:
    """Mark the batch complete (its first completion time is kept)."""
    if stored.completed_at is None or replayed:
        await SyncBatch.filter(id=stored.id).update(
            completed_at=stored.completed_at or datetime.now(UTC),
            item_count=item_count,
        )


@dataclass(frozen=True)
class ItemRow:
    """An item's ``sync_items`` row as written (the columns :class:`SyncItem` reads back)."""

    position: int
    kind: str
    client_uuid: uuid.UUID
    payload: Any
    result: SyncItemResult
    rule: str
    detail: dict[str, Any]


def item_row(
    position: int,
    kind: str,
    item_uuid: uuid.UUID,
    raw: Any,
    outcome: Outcome,
    *,
    nul_free: bool = False,
) -> ItemRow:
    return ItemRow(
        position, kind, item_uuid, stored_payload(raw, nul_free=nul_free), outcome.result,
        outcome.rule, outcome.detail,
    )  # fmt: skip


ITEM_COLUMNS = (
    ("batch_id", "int8"), ("position", "int4"), ("kind", "text"), ("client_uuid", "uuid"),
    ("payload", "jsonb"), ("result", "text"), ("rule", "text"), ("detail", "jsonb"),
    ("processed_at", "timestamptz"),
)  # fmt: skip


async def write_items(conn: Any, stored: SyncBatch, rows: Sequence[ItemRow]) -> None:
    """The rows of applied items, in one insert on the items' transaction (one array a
    column on PostgreSQL; JSON encoded as the ORM encodes it, so a row reads back as if
    saved through the model)."""
    sql = Sql(conn)
    now = sql.ts(datetime.now(UTC))
    await sql.insert_columns(
        "sync_items",
        ITEM_COLUMNS,
        [
            (stored.id, r.position, r.kind, sql.uuid(r.client_uuid), JSON_DUMPS(r.payload),
             r.result.value, r.rule, JSON_DUMPS(r.detail), now)
            for r in rows
        ],
    )  # fmt: skip


def stored_payload(raw: Any, *, nul_free: bool = False) -> Any:
    """An item as sent, for the support view. One that is not an object or a list (a
    string, a number, ``null``) is kept wrapped as ``{"item": …}``: the JSON column would
    read a bare string as JSON text. ``nul_free``: the caller knows it holds no NUL."""
    payload = raw if isinstance(raw, dict | list) else {"item": raw}
    return payload if nul_free else without_nul(payload)


def echoed_uuid(item: SyncItem | ItemRow) -> str | None:
    """The item's uuid as the device sent it: an invalid one is stored as the nil UUID
    but answered as sent, so the device can match the result to its record."""
    return str(item.client_uuid) if item.client_uuid != NIL_UUID else sent_uuid(item.payload)


def item_json(item: SyncItem | ItemRow, replayed: bool) -> dict[str, Any]:
    """An item's result on the wire."""
    return {
        "position": item.position,
        "uuid": echoed_uuid(item),
        "kind": item.kind,
        "result": SyncItemResult(item.result).value,
        "rule": item.rule,
        "detail": item.detail,
        "replayed": replayed,
    }
