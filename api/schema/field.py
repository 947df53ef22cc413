"""Field sync as staff see it: devices with their cursors, pushed batches and their per-item
results, and messages to readers (docs/sync-protocol.md, "Support view")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import ID
from strawberry.scalars import JSON

from api.context import Context
from api.schema.common import OperationError
from api.schema.decorators import field
from api.schema.identity import UserType
from sync.batches import echoed_uuid

Info = strawberry.Info[Context, None]


@strawberry.type(
    name="SyncItem", description="One record of a push and what the server did with it."
)
class SyncItemType:
    position: int
    kind: str
    result: str = strawberry.field(description="accepted, duplicate, conflict_resolved or rejected")
    rule: str = strawberry.field(description="the conflict rule that decided it, or empty")
    detail: JSON = strawberry.field(description="what the device was answered")
    payload: JSON = strawberry.field(description="the item exactly as the device sent it")
    processed_at: datetime

    @field(description="The item's uuid as sent (null when it sent none).")
    def uuid(self) -> str | None:
        return echoed_uuid(self)  # type: ignore[arg-type]


@strawberry.type(name="SyncBatch", description="One push from a device; replays answer from it.")
class SyncBatchType:
    id: ID
    received_at: datetime
    completed_at: datetime | None
    device_clock_at: datetime | None
    device_time_zone: str
    clock_offset_s: int = strawberry.field(description="server arrival time − device clock")
    item_count: int
    replay_count: int
    content_sha256: str

    @field(description="The batch id the device generated.")
    def batch_id(self) -> str:
        return str(self.batch_uuid)  # type: ignore[attr-defined]

    @field(description="Results counted by kind: {accepted, duplicate, …}.")
    async def results(self, info: Info) -> JSON:
        items = await info.context.loaders.sync_items.load(int(self.id))
        counts: dict[str, int] = {}
        for item in items:
            counts[str(item.result)] = counts.get(str(item.result), 0) + 1
        return counts  # type: ignore[return-value]

    @field(description="Every item of the batch with its result, in push order.")
    async def items(self, info: Info) -> list[SyncItemType]:
        return await info.context.loaders.sync_items.load(int(self.id))  # type: ignore[return-value]


@strawberry.type(name="FieldDevice", description="A reader's handset enrolled for field sync.")
class FieldDeviceType:
    id: ID
    device_uid: str
    name: str
    app_version: str
    created_at: datetime = strawberry.field(description="when it was enrolled")
    revoked_at: datetime | None
    last_seen_at: datetime | None = strawberry.field(description="last request (to the minute)")
    last_pull_at: datetime | None
    pull_cursor: str = strawberry.field(description="the last cursor it acknowledged")

    @strawberry.field
    async def reader(self, info: Info) -> UserType | None:
        return await info.context.loaders.user.load(self.reader_id)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="ReaderMessage", description="A note from the office, delivered by pull.")
class ReaderMessageType:
    id: ID
    body: str
    created_at: datetime = strawberry.field(description="when it was sent")
    read_at: datetime | None

    @strawberry.field
    async def reader(self, info: Info) -> UserType | None:
        return await info.context.loaders.user.load(self.reader_id)  # type: ignore[attr-defined,return-value]

    @field(description="Sent to this device only; null: every device of the reader.")
    async def device(self, info: Info) -> FieldDeviceType | None:
        device_id = self.device_id  # type: ignore[attr-defined]
        return await info.context.loaders.field_device.load(device_id) if device_id else None  # type: ignore[return-value]


@strawberry.type
class ReaderMessageSuccess:
    message: ReaderMessageType


ReaderMessageResult = Annotated[
    ReaderMessageSuccess | OperationError, strawberry.union("ReaderMessageResult")
]


@strawberry.input
class SendReaderMessageInput:
    reader_id: ID
    body: str
    device_uid: str | None = strawberry.field(
        default=None, description="only this device of the reader; omit for all of them"
    )


@strawberry.input
class ReorderRouteStopInput:
    stop_id: ID
    sequence: int = strawberry.field(description="its new place in the walk (0 to 1,000,000)")
