"""A visit without a read (no access, locked, dog…), recorded once by its UUID.

The visit time is moved onto the server's clock like a read's. A skip of a meter that is
no longer on the reader's routes is still recorded (the reader was there) and reported
under the ``meter_moved`` rule. The visit and the caller's record of it are one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from domain.enums import SyncItemResult
from domain.field_conflicts import Rule
from domain.field_reads import Refusal
from services.field.push_facts import FieldPush, SkipRecord
from store.models import FieldVisit


@dataclass(frozen=True)
class SkipResult:
    result: SyncItemResult
    visit_uuid: UUID | None = None
    visited_at: datetime | None = None
    """On the server's clock; ``None`` for a duplicate or a refusal."""
    rule: Rule | None = None
    refusal: Refusal | None = None


RecordSkip = Callable[[Any, SkipResult], Awaitable[None]]
"""Writes the caller's record of the skip, in its transaction (the connection is given)."""


async def record_skip(push: FieldPush, item: SkipRecord, record: RecordSkip) -> SkipResult:
    """Record one skipped visit and the caller's record of it, in one transaction."""
    async with in_transaction() as conn:
        result, visit = await _record(push, item, conn)
        await record(conn, result)
    if visit is not None:
        push.existing_visits[item.uuid] = visit
    return result


async def _record(
    push: FieldPush, item: SkipRecord, conn: Any
) -> tuple[SkipResult, FieldVisit | None]:
    existing = push.existing_visits.get(item.uuid)
    if existing is not None:
        return SkipResult(SyncItemResult.DUPLICATE, existing.client_uuid), None
    if item.meter_id not in push.known_meters:
        refusal = Refusal("unknown_meter", f"meter {item.meter_id} does not exist: pull again")
        return SkipResult(SyncItemResult.REJECTED, refusal=refusal), None
    visited_at = push.correction.correct(item.visited_at).astimezone(UTC)
    visit = await FieldVisit.create(
        using_db=conn,
        client_uuid=item.uuid,
        meter_id=item.meter_id,
        device_id=push.device.id,
        reader_id=push.reader_id,
        visited_at=visited_at,
        skip_code=item.skip_code,
        notes=item.notes,
        latitude=item.latitude,
        longitude=item.longitude,
        photo_uuid=item.photo_uuid,
    )
    if item.meter_id not in push.my_meters:
        return SkipResult(
            SyncItemResult.CONFLICT_RESOLVED, item.uuid, visited_at, Rule.METER_MOVED
        ), visit
    return SkipResult(SyncItemResult.ACCEPTED, item.uuid, visited_at), visit


async def reload(push: FieldPush, visit_uuid: UUID) -> None:
    """After a clash with a concurrent push: learn the visit it stored under ``visit_uuid``,
    so that the skip is then answered as a duplicate."""
    visit = await FieldVisit.get_or_none(client_uuid=visit_uuid)
    if visit is not None:
        push.existing_visits[visit_uuid] = visit
