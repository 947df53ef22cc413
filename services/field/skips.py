"""A visit without a read (no access, locked, dog…), recorded once by its UUID.

The visit time is moved onto the server's clock like a read's. A skip of a meter that is
no longer on the reader's routes is still recorded (the reader was there) and reported
under the ``meter_moved`` rule. A run of visits and the caller's record of them are one
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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


RecordSkips = Callable[[Any, dict[int, SkipResult]], Awaitable[None]]
"""Writes the caller's record of a run of skips, in its transaction (the connection is given)."""


async def record_skips(
    push: FieldPush, items: Sequence[tuple[int, SkipRecord]], record: RecordSkips
) -> dict[int, SkipResult]:
    """Record a run of skipped visits (keyed by the caller's position) in order, and the
    caller's record of them, in one transaction: each decided as if recorded alone after
    the ones before it, the new visits written together."""
    results: dict[int, SkipResult] = {}
    visits: dict[UUID, FieldVisit] = {}
    async with in_transaction() as conn:
        for key, item in items:
            results[key], visit = _record(push, item, visits)
            if visit is not None:
                visits[item.uuid] = visit
        if visits:
            await FieldVisit.bulk_create(list(visits.values()), using_db=conn)
        await record(conn, results)
    push.existing_visits.update(visits)
    return results


def _record(
    push: FieldPush, item: SkipRecord, visits: dict[UUID, FieldVisit]
) -> tuple[SkipResult, FieldVisit | None]:
    existing = push.existing_visits.get(item.uuid) or visits.get(item.uuid)
    if existing is not None:
        return SkipResult(SyncItemResult.DUPLICATE, existing.client_uuid), None
    if item.meter_id not in push.known_meters:
        refusal = Refusal("unknown_meter", f"meter {item.meter_id} does not exist: pull again")
        return SkipResult(SyncItemResult.REJECTED, refusal=refusal), None
    visited_at = push.correction.correct(item.visited_at).astimezone(UTC)
    visit = FieldVisit(
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
