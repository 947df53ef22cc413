"""What a device sent and what happened to it, for staff helping a reader (support view).

Every batch and every item is kept (``sync_batches``, ``sync_items``): the payload
exactly as the device sent it, the result, the rule applied and the detail answered.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.functions import Count

from services.errors import NotFound
from store.models import FieldDevice, SyncBatch, SyncItem


async def device_batches(*, device_uid: str, limit: int = 20) -> list[dict[str, Any]]:
    """A device's latest batches, newest first, with a count of results."""
    device = await FieldDevice.get_or_none(device_uid=device_uid)
    if device is None:
        raise NotFound(f"device {device_uid}")
    batches = (
        await SyncBatch.filter(device_id=device.id).order_by("-id").limit(max(1, min(limit, 500)))
    )
    counts: dict[int, dict[str, int]] = {}
    if batches:
        rows = (
            await SyncItem.filter(batch_id__in=[b.id for b in batches])
            .group_by("batch_id", "result")
            .annotate(n=Count("id"))
            .values("batch_id", "result", "n")
        )
        for row in rows:
            counts.setdefault(row["batch_id"], {})[str(row["result"])] = row["n"]
    return [
        {
            "batch_id": str(b.batch_uuid),
            "received_at": b.received_at,
            "completed_at": b.completed_at,
            "device_clock_at": b.device_clock_at,
            "device_time_zone": b.device_time_zone,
            "clock_offset_s": b.clock_offset_s,
            "item_count": b.item_count,
            "replay_count": b.replay_count,
            "content_sha256": b.content_sha256,
            "results": counts.get(b.id, {}),
        }
        for b in batches
    ]


async def batch_items(*, device_uid: str, batch_uuid: str | UUID) -> list[dict[str, Any]]:
    """Every item of one batch in push order: what was sent and what the server did."""
    try:
        wanted = UUID(str(batch_uuid))
    except ValueError:
        raise NotFound(f"batch {batch_uuid}") from None
    batch = await SyncBatch.get_or_none(device__device_uid=device_uid, batch_uuid=wanted)
    if batch is None:
        raise NotFound(f"batch {batch_uuid} of device {device_uid}")
    return [
        {
            "position": i.position,
            "kind": i.kind,
            "uuid": str(i.client_uuid),
            "result": str(i.result),
            "rule": i.rule,
            "detail": i.detail,
            "payload": i.payload,
            "processed_at": i.processed_at,
        }
        for i in await SyncItem.filter(batch_id=batch.id).order_by("position")
    ]
