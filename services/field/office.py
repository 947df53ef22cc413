"""The office's side of field sync: messages to readers and their devices, stop order.

What a device should hold changes through these and the other staff use cases; the
database notices every such change itself (migration ``0004_sync_promises``), so the next
incremental pull sends it. Reads of devices, batches and cursors are plain queries in
the API's field resolvers.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.enums import Role
from services import audit
from services.errors import NotFound, Refused
from services.viewer import Viewer
from store.models import FieldDevice, ReaderMessage, RouteStop, User

MAX_MESSAGE = 2_000


async def send_message(
    viewer: Viewer, *, reader_id: int, body: str, device_uid: str | None = None
) -> ReaderMessage:
    """A note to a meter reader, for all their devices or for one; delivered by pull."""
    text = body.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise Refused(
            "INVALID_INPUT", f"write a message of 1 to {MAX_MESSAGE} characters", field="body"
        )
    async with in_transaction():
        reader = await User.get_or_none(id=reader_id)
        if reader is None or reader.role != Role.METER_READER:
            raise NotFound("meter reader", field="readerId")
        device = None
        if device_uid is not None:
            device = await FieldDevice.get_or_none(
                device_uid=device_uid.strip(), reader_id=reader_id
            )
            if device is None:
                raise NotFound("device of that reader", field="deviceUid")
        message = await ReaderMessage.create(
            reader_id=reader_id, device=device, body=text, sent_by_id=viewer.user_id
        )
        await audit.record(
            viewer=viewer, action="reader.message_sent", entity="user", entity_id=reader_id,
            after={"message_id": message.id, "device": device_uid, "length": len(text)},
        )  # fmt: skip
    return message


async def reorder_stop(viewer: Viewer, *, stop_id: int, sequence: int) -> RouteStop:
    """Move a stop to another place in its route's walk."""
    if not 0 <= sequence <= 1_000_000:
        raise Refused("INVALID_INPUT", "sequence must be 0 to 1,000,000", field="sequence")
    async with in_transaction():
        stop = await RouteStop.get_or_none(id=stop_id, removed_at__isnull=True)
        if stop is None:
            raise NotFound("route stop", field="stopId")
        before = stop.sequence
        stop.sequence = sequence
        await stop.save(update_fields=["sequence", "updated_at"])
        await audit.record(
            viewer=viewer, action="route.stop_reordered", entity="route",
            entity_id=stop.route_id,  # type: ignore[attr-defined]
            before={"stop_id": stop_id, "sequence": before},
            after={"stop_id": stop_id, "sequence": sequence},
        )  # fmt: skip
    return stop
