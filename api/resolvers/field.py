"""Staff view of field sync: devices and their cursors, pushed batches and their items,
messages to readers; and the office's changes to what devices hold (messages, stop order).

A route handed over, a stop added, removed or reordered, a meter or account changed: the
next incremental pull of every affected device sends it (docs/sync-protocol.md, "Pull").
"""

from __future__ import annotations

from uuid import UUID

import strawberry

from api.context import Context
from api.errors import not_found
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, result
from api.schema.common import Connection, OperationError
from api.schema.decorators import field, mutation
from api.schema.field import (
    FieldDeviceType,
    ReaderMessageResult,
    ReaderMessageSuccess,
    ReaderMessageType,
    ReorderRouteStopInput,
    SendReaderMessageInput,
    SyncBatchType,
)
from api.schema.routes import RouteStopResult, RouteStopSuccess
from domain.access import Operation
from services.field import office
from store.models import FieldDevice, ReaderMessage, SyncBatch

Info = strawberry.Info[Context, None]


async def _device(device_uid: str) -> FieldDevice:
    found = await FieldDevice.get_or_none(device_uid=device_uid.strip()[:64])
    if found is None:
        raise not_found("device")
    return found


@strawberry.type
class FieldQueries:
    @field(
        description="Enrolled handsets, with when each last pulled and the cursor it holds (staff).",
        extensions=requires(Operation.READ_ROUTES),
    )
    async def field_devices(
        self, info: Info, reader_id: strawberry.ID | None = None, include_revoked: bool = False
    ) -> list[FieldDeviceType]:
        queryset = FieldDevice.all()
        if reader_id is not None:
            queryset = queryset.filter(reader_id=parse_id(reader_id, "reader"))
        if not include_revoked:
            queryset = queryset.filter(revoked_at__isnull=True)
        return await queryset.order_by("device_uid")  # type: ignore[return-value]

    @field(
        description="One handset by its device UID (staff).",
        extensions=requires(Operation.READ_ROUTES),
    )
    async def field_device(self, info: Info, device_uid: str) -> FieldDeviceType | None:
        return await _device(device_uid)  # type: ignore[return-value]

    @field(
        description="A device's pushes, newest first, each with its per-item results (staff).",
        extensions=requires(Operation.READ_ROUTES),
    )
    async def sync_batches(
        self, info: Info, device_uid: str, first: int | None = None, after: str | None = None
    ) -> Connection[SyncBatchType]:
        device = await _device(device_uid)
        return await paginate(SyncBatch.filter(device_id=device.id), first=first, after=after)

    @field(
        description="One push of a device by its batch id (staff).",
        extensions=requires(Operation.READ_ROUTES),
    )
    async def sync_batch(self, info: Info, device_uid: str, batch_id: str) -> SyncBatchType | None:
        device = await _device(device_uid)
        try:
            batch_uuid = UUID(batch_id[:64])
        except ValueError:
            raise not_found("batch") from None
        found = await SyncBatch.get_or_none(device_id=device.id, batch_uuid=batch_uuid)
        if found is None:
            raise not_found("batch")
        return found  # type: ignore[return-value]

    @field(
        description="Messages sent to a reader, newest first (staff).",
        extensions=requires(Operation.READ_ROUTES),
    )
    async def reader_messages(
        self,
        info: Info,
        reader_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ReaderMessageType]:
        queryset = ReaderMessage.filter(reader_id=parse_id(reader_id, "reader"))
        return await paginate(queryset, first=first, after=after)


@strawberry.type
class FieldMutations:
    @mutation(
        description="Send a note to a meter reader (all their devices, or one): the next pull delivers it.",
        extensions=requires(Operation.WRITE_ROUTES),
    )
    async def send_reader_message(
        self, info: Info, input: SendReaderMessageInput
    ) -> ReaderMessageResult:
        return await result(
            lambda: office.send_message(
                info.context.viewer,
                reader_id=id_or_refuse(input.reader_id, "meter reader", "readerId"),
                body=input.body,
                device_uid=input.device_uid,
            ),
            lambda m: ReaderMessageSuccess(message=m),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description="Move a stop to another place in its route's walk.",
        extensions=requires(Operation.WRITE_ROUTES),
    )
    async def reorder_route_stop(self, info: Info, input: ReorderRouteStopInput) -> RouteStopResult:
        return await result(
            lambda: office.reorder_stop(
                info.context.viewer,
                stop_id=id_or_refuse(input.stop_id, "route stop", "stopId"),
                sequence=input.sequence,
            ),
            lambda s: RouteStopSuccess(stop=s),  # type: ignore[arg-type]
            OperationError,
        )
